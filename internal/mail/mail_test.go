package mail_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/mail"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
	"github.com/switchboard/switchboard/internal/secrets"
)

type fixture struct {
	db     *db.DB
	clock  *clock.Fake
	audit  *audit.Log
	outbox *mail.Outbox
	mailer *mail.Mailer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d, err := db.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	box, err := secrets.NewBox(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	log := audit.New(d, clk)
	o := mail.NewOutbox(d, box, clk, "example.com")
	return &fixture{db: d, clock: clk, audit: log, outbox: o, mailer: mail.NewMailer(d, o, log, "https://sb.example.com")}
}

func smtpConfig(t *testing.T, srv *mailtest.Server) config.SMTP {
	t.Helper()
	c, err := config.ParseSMTP(srv.URL(), "Switchboard <switchboard@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sender(t *testing.T, srv *mailtest.Server) *mail.SMTP {
	s := mail.NewSMTP(smtpConfig(t, srv))
	s.TLS = srv.ClientTLS()
	return s
}

func (f *fixture) worker(s mail.Sender) *mail.Worker {
	return mail.NewWorker(f.outbox, s, f.audit, mail.WorkerOptions{MaxAttempts: 3, FirstRetry: time.Minute, MaxRetry: 10 * time.Minute})
}

func (f *fixture) invite(t *testing.T, to string) {
	t.Helper()
	err := f.db.Tx(context.Background(), func(tx *sql.Tx) error {
		return f.mailer.SendInvitation(context.Background(), tx, to, "Grace Hopper", "Agent", "/invitations/TOKEN123SECRET", f.clock.Now().Add(72*time.Hour))
	})
	if err != nil {
		t.Fatal(err)
	}
}

type row struct {
	messageID     string
	attempts      int
	sent, givenUp bool
	bodyKept      bool
	nextAttempt   int64
	lastError     string
}

func (f *fixture) rows(t *testing.T) []row {
	t.Helper()
	rs, err := f.db.R.Query(`SELECT message_id, attempts, sent_at IS NOT NULL, given_up_at IS NOT NULL, body IS NOT NULL, next_attempt_at, last_error FROM mail_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.messageID, &r.attempts, &r.sent, &r.givenUp, &r.bodyKept, &r.nextAttempt, &r.lastError); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (f *fixture) events(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := f.db.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Every TLS mode of --smtp-url delivers to a real SMTP server, with authentication where the
// server asks for it, and the message is what a member would want to read.
func TestDeliversInEveryTLSMode(t *testing.T) {
	for _, tc := range []mailtest.Options{
		{TLS: mailtest.StartTLS, Username: "switchboard", Password: "s3cret pass"},
		{TLS: mailtest.Implicit, Username: "switchboard", Password: "s3cret pass"},
		{TLS: mailtest.None},
	} {
		t.Run(tc.TLS, func(t *testing.T) {
			srv := mailtest.Start(t, tc)
			f := newFixture(t)
			f.invite(t, "ada@example.com")
			n, err := f.worker(sender(t, srv)).DeliverDue(context.Background())
			if err != nil || n != 1 {
				t.Fatalf("DeliverDue = %d, %v", n, err)
			}
			got := srv.WaitFor(1, 5*time.Second)[0]
			rows := f.rows(t)
			if got.MessageID != rows[0].messageID || !strings.HasSuffix(got.MessageID, "@example.com") {
				t.Errorf("Message-ID %q, outbox row has %q", got.MessageID, rows[0].messageID)
			}
			if got.To != "ada@example.com" || got.From != "switchboard@example.com" || got.Subject != "You are invited to Switchboard" {
				t.Errorf("envelope/subject: %+v", got)
			}
			link := "https://sb.example.com/invitations/TOKEN123SECRET"
			if !strings.Contains(got.Text, link) || !strings.Contains(got.HTML, `href="`+link+`"`) {
				t.Errorf("the link is missing from a part:\ntext: %s\nhtml: %s", got.Text, got.HTML)
			}
			if !strings.Contains(got.Text, "Grace Hopper invited you") {
				t.Errorf("text part: %s", got.Text)
			}
			// No tracking: no images or remote resources, and links exactly as the app serves them.
			for _, bad := range []string{"<img", "utm_", "src=", "?"} {
				if strings.Contains(got.HTML, bad) {
					t.Errorf("HTML part contains %q", bad)
				}
			}
			if !bytes.Contains(got.Raw, []byte("Auto-Submitted: auto-generated")) {
				t.Error("no Auto-Submitted header")
			}
			if r := rows[0]; !r.sent || r.bodyKept || r.attempts != 1 {
				t.Errorf("row after delivery: %+v", r)
			}
			if f.events(t, "mail.sent") != 1 {
				t.Error("no mail.sent activity event")
			}
		})
	}
}

func TestWrongPasswordIsNotDelivered(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "switchboard", Password: "right"})
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	cfg := smtpConfig(t, srv)
	cfg.Password = "wrong"
	s := mail.NewSMTP(cfg)
	s.TLS = srv.ClientTLS()
	if _, err := f.worker(s).DeliverDue(context.Background()); err == nil {
		t.Fatal("delivered with a wrong password")
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("the server accepted mail without authentication")
	}
	r := f.rows(t)[0]
	if r.sent || r.givenUp || r.attempts != 1 || r.lastError == "" || strings.Contains(r.lastError, "wrong") {
		t.Errorf("row: %+v (the attempt is recorded, the password is not)", r)
	}
}

// STARTTLS is required, not hoped for: a server that does not offer it gets nothing.
func TestStartTLSIsRequired(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.None})
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	cfg := smtpConfig(t, srv)
	cfg.TLS = config.SMTPStartTLS
	if _, err := f.worker(mail.NewSMTP(cfg)).DeliverDue(context.Background()); err == nil {
		t.Fatal("delivered in clear text although STARTTLS was required")
	}
	if len(srv.Messages()) != 0 {
		t.Fatal("a message crossed without TLS")
	}
}

// A message queued in a transaction that rolls back never leaves.
func TestRolledBackChangeSendsNothing(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := newFixture(t)
	boom := errors.New("the change failed")
	err := f.db.Tx(context.Background(), func(tx *sql.Tx) error {
		if err := f.mailer.SendInvitation(context.Background(), tx, "ada@example.com", "G", "Agent", "/invitations/X", f.clock.Now()); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n, err := f.worker(sender(t, srv)).DeliverDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	if len(f.rows(t)) != 0 {
		t.Error("an outbox row survived the rollback")
	}
}

// An unreachable server: each attempt is recorded, the waits grow, and after MaxAttempts the
// message is given up with an activity event (and its body, a credential, is erased).
func TestRetriesWithGrowingWaitsThenGivesUp(t *testing.T) {
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	l := mailtest.Start(t, mailtest.Options{})
	cfg := smtpConfig(t, l)
	cfg.Port = 1 // nothing listens there
	cfg.Timeout = time.Second
	w := f.worker(mail.NewSMTP(cfg))
	ctx := context.Background()

	var waits []time.Duration
	for attempt := 1; attempt <= 3; attempt++ {
		before := f.clock.Now()
		if _, err := w.DeliverDue(ctx); err == nil {
			t.Fatal("delivered to a closed port")
		}
		r := f.rows(t)[0]
		if r.attempts != attempt || r.lastError == "" {
			t.Fatalf("after attempt %d: %+v", attempt, r)
		}
		if attempt < 3 {
			if r.givenUp {
				t.Fatalf("given up after %d attempts", attempt)
			}
			wait := time.UnixMilli(r.nextAttempt).Sub(before)
			waits = append(waits, wait)
			// Not due before the wait is over.
			f.clock.Advance(wait - time.Second)
			if n, _ := w.DeliverDue(ctx); n != 0 {
				t.Fatalf("retried before the back-off ended")
			}
			f.clock.Advance(time.Second)
		}
	}
	if waits[0] != time.Minute || waits[1] != 2*time.Minute {
		t.Errorf("waits %v, want 1m then 2m", waits)
	}
	r := f.rows(t)[0]
	if !r.givenUp || r.sent || r.bodyKept {
		t.Errorf("after the last attempt: %+v", r)
	}
	if f.events(t, "mail.given_up") != 1 {
		t.Error("giving up wrote no activity event")
	}
	f.clock.Advance(24 * time.Hour)
	if n, _ := w.DeliverDue(ctx); n != 0 {
		t.Error("a given-up message was tried again")
	}
}

// A permanent refusal (the server has no such mailbox: 550) is given up at once, and the next
// message on the same connection still goes.
func TestPermanentRefusalIsGivenUpAtOnce(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := newFixture(t)
	f.invite(t, "nobody@example.com")
	f.invite(t, "ada@example.com")
	if _, err := f.worker(sender(t, srv)).DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := f.rows(t)
	if !rows[0].givenUp || rows[0].attempts != 1 || !strings.Contains(rows[0].lastError, "550") {
		t.Errorf("refused message: %+v", rows[0])
	}
	if !rows[1].sent {
		t.Errorf("the next message: %+v", rows[1])
	}
	if f.events(t, "mail.given_up") != 1 {
		t.Error("no mail.given_up event")
	}
}

// The at-least-once window: if the process dies after the server accepted a message and before
// the row is marked, the message goes again, with the same Message-ID, so it is recognisable.
func TestRedeliveryCarriesTheSameMessageID(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	ctx := context.Background()
	// Deliver once without marking: what a crash right after DATA leaves behind.
	conn, err := sender(t, srv).Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	row := f.rows(t)[0]
	if err := conn.Send(ctx, mail.Queued{MessageID: row.messageID, Message: mail.Message{To: "ada@example.com", Subject: "s", Text: "t"}}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := f.worker(sender(t, srv)).DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(2, 5*time.Second)
	if got[0].MessageID != row.messageID || got[1].MessageID != row.messageID {
		t.Errorf("Message-IDs %q and %q, want both %q", got[0].MessageID, got[1].MessageID, row.messageID)
	}
}

// A reset or invitation link is a credential: the database file holds it only sealed, and not
// at all once the message left.
func TestLinksAreNotReadableInTheDatabase(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	raw := func() []byte {
		var buf []byte
		for _, p := range []string{f.db.Path, f.db.Path + "-wal"} {
			b, _ := os.ReadFile(p)
			buf = append(buf, b...)
		}
		return buf
	}
	if bytes.Contains(raw(), []byte("TOKEN123SECRET")) {
		t.Fatal("the queued link is readable in the database file")
	}
	if _, err := f.worker(sender(t, srv)).DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.rows(t)[0].bodyKept {
		t.Error("the body was kept after delivery")
	}
}

// Figures: how fast the outbox drains to a local SMTP server (one connection per batch, one
// commit per message).
func TestOutboxThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("figures")
	}
	srv := mailtest.Start(t, mailtest.Options{TLS: mailtest.StartTLS, Username: "u", Password: "p"})
	f := newFixture(t)
	const n = 500
	ctx := context.Background()
	start := time.Now()
	err := f.db.Tx(ctx, func(tx *sql.Tx) error {
		for i := 0; i < n; i++ {
			if err := f.mailer.SendAlert(ctx, tx, []string{"ada@example.com"}, mail.Alert{Title: "t " + rand.Text(), Kind: "k", Severity: "info", At: f.clock.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	queued := time.Since(start)
	w := mail.NewWorker(f.outbox, sender(t, srv), f.audit, mail.WorkerOptions{})
	start = time.Now()
	for total := 0; total < n; {
		k, err := w.DeliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += k
	}
	took := time.Since(start)
	srv.WaitFor(n, 10*time.Second)
	t.Logf("queued %d messages in one transaction in %v (%.0f/s); delivered over STARTTLS+AUTH in %v: %.0f messages/s",
		n, queued.Round(time.Millisecond), float64(n)/queued.Seconds(), took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// Settled rows go after KeepSettled; waiting ones never.
func TestPruneKeepsWaitingMail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	f := newFixture(t)
	f.invite(t, "ada@example.com")
	if _, err := f.worker(sender(t, srv)).DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.invite(t, "bob@example.com")
	f.clock.Advance(mail.KeepSettled + time.Hour)
	n, err := f.outbox.Prune(context.Background(), f.clock.Now().Add(-mail.KeepSettled))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if rows := f.rows(t); len(rows) != 1 || rows[0].sent {
		t.Errorf("left: %+v", rows)
	}
}
