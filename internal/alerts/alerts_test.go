package alerts_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

type fixture struct {
	svc      *alerts.Service
	log      *audit.Log
	db       *db.DB
	clk      *clock.Fake
	notifier *recordingNotifier
}

// recordingNotifier keeps what it is given and checks that the alert is committed by then.
type recordingNotifier struct {
	mu        sync.Mutex
	db        *db.DB
	got       []alerts.Alert
	committed []bool
	err       error
}

func (n *recordingNotifier) Notify(ctx context.Context, a alerts.Alert) error {
	var c int
	if err := n.db.R.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE id = ?`, a.ID).Scan(&c); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, a)
	n.committed = append(n.committed, c == 1)
	return n.err
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	d, err := db.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	log := audit.New(d, clk)
	n := &recordingNotifier{db: d}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &fixture{svc: alerts.New(d, log, clk, alerts.WithNotifier(n), alerts.WithLogger(quiet)), log: log, db: d, clk: clk, notifier: n}
}

func (f *fixture) record(t *testing.T, a alerts.Alert) alerts.Alert {
	t.Helper()
	out, err := f.svc.Record(context.Background(), a)
	if err != nil {
		t.Fatalf("record %s: %v", a.Kind, err)
	}
	return out
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.R.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// eventRow is one activity event as stored.
type eventRow struct {
	Actor      audit.Actor
	Action     string
	Target     audit.Target
	Changes    map[string]any // field → after
	ClientAddr string
	RequestID  string
	Outcome    string
}

func (f *fixture) events(t *testing.T, action string) []eventRow {
	t.Helper()
	rows, err := f.db.R.Query(`SELECT actor_type, actor_id, actor_name, action, target_type, target_id, changes,
		client_addr, request_id, outcome FROM audit_events WHERE action = ? ORDER BY id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []eventRow
	for rows.Next() {
		var (
			e       eventRow
			typ     string
			changes string
		)
		if err := rows.Scan(&typ, &e.Actor.ID, &e.Actor.Name, &e.Action, &e.Target.Type, &e.Target.ID, &changes,
			&e.ClientAddr, &e.RequestID, &e.Outcome); err != nil {
			t.Fatal(err)
		}
		e.Actor.Type = audit.ActorType(typ)
		var cs []audit.Change
		if err := json.Unmarshal([]byte(changes), &cs); err != nil {
			t.Fatal(err)
		}
		e.Changes = map[string]any{}
		for _, c := range cs {
			e.Changes[c.Field] = c.After
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// addMember inserts a member row (the sign-in address table refers to members).
func (f *fixture) addMember(t *testing.T, email string) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.W.ExecContext(ctx, `INSERT OR IGNORE INTO roles (key, name, created_at, updated_at) VALUES ('r', 'R', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	res, err := f.db.W.ExecContext(ctx, `INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at)
		VALUES (?, ?, 'x', (SELECT id FROM roles WHERE key = 'r'), 0, 0)`, email, email)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

func TestRaiseCountsRepeatsWithinTheWindow(t *testing.T) {
	ada, grace := alerts.MemberSubject(1), alerts.MemberSubject(2)
	steps := []struct {
		advance time.Duration
		kind    alerts.Kind
		subject alerts.Subject
		alert   int // which alert (in order of creation) it lands on
		count   int
	}{
		{0, alerts.KindRepeatedSignInFailures, ada, 0, 1},
		{time.Minute, alerts.KindRepeatedSignInFailures, ada, 0, 2},
		{14 * time.Minute, alerts.KindRepeatedSignInFailures, ada, 0, 3},   // 14 min after the last repeat
		{time.Second, alerts.KindRepeatedSignInFailures, grace, 1, 1},      // another subject
		{time.Second, alerts.KindSignInFromNewAddress, ada, 2, 1},          // another kind
		{14 * time.Minute, alerts.KindRepeatedSignInFailures, ada, 0, 4},   // the window slides with each repeat
		{alerts.DedupWindow, alerts.KindRepeatedSignInFailures, ada, 3, 1}, // exactly the window after: new
		{alerts.DedupWindow + time.Second, alerts.KindRepeatedSignInFailures, ada, 4, 1},
		{0, alerts.KindMassExport, alerts.Subject{}, 5, 1},
		{time.Minute, alerts.KindMassExport, alerts.Subject{}, 5, 2},
	}
	f := newFixture(t)
	var ids []int64
	var created []time.Time
	for i, s := range steps {
		f.clk.Advance(s.advance)
		a := f.record(t, alerts.Alert{Kind: s.kind, Subject: s.subject})
		if s.alert == len(ids) {
			ids = append(ids, a.ID)
			created = append(created, f.clk.Now())
		}
		if a.ID != ids[s.alert] || a.Count != s.count {
			t.Fatalf("step %d: alert %d count %d, want alert %d count %d", i, a.ID, a.Count, ids[s.alert], s.count)
		}
		if !a.LastSeenAt.Equal(f.clk.Now()) || !a.CreatedAt.Equal(created[s.alert]) {
			t.Fatalf("step %d: created %v last seen %v", i, a.CreatedAt, a.LastSeenAt)
		}
		stored, err := f.svc.Get(context.Background(), a.ID)
		if err != nil || !reflect.DeepEqual(stored, a) {
			t.Fatalf("step %d: stored %+v (%v), returned %+v", i, stored, err, a)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM alerts`); n != len(ids) {
		t.Fatalf("%d rows, want %d", n, len(ids))
	}
}

func TestRepeatKeepsTheHighestSeverityAndTheLatestFacts(t *testing.T) {
	f := newFixture(t)
	s := alerts.Subject{Type: "address", ID: "203.0.113.7"}
	f.record(t, alerts.Alert{Kind: alerts.KindWebhookSignatureFailures, Subject: s, Title: "Bad signatures",
		Details: map[string]string{"failures": "5", "number": "+1 555"}})
	a := f.record(t, alerts.Alert{Kind: alerts.KindWebhookSignatureFailures, Subject: s, Severity: alerts.SeverityCritical,
		Title: "Many bad signatures", Details: map[string]string{"failures": "50"}})
	b := f.record(t, alerts.Alert{Kind: alerts.KindWebhookSignatureFailures, Subject: s, Severity: alerts.SeverityInfo})
	if b.ID != a.ID || b.Count != 3 || b.Severity != alerts.SeverityCritical {
		t.Fatalf("repeat: %+v", b)
	}
	if want := map[string]string{"failures": "50", "number": "+1 555"}; !reflect.DeepEqual(b.Details, want) {
		t.Fatalf("details %v, want %v", b.Details, want)
	}
	if b.Title != "Many bad signatures" {
		t.Fatalf("title %q", b.Title)
	}
}

func TestRaiseWritesOneActivityEventPerAlert(t *testing.T) {
	f := newFixture(t)
	ctx := audit.WithRequest(context.Background(), audit.Request{ClientAddr: "203.0.113.7", RequestID: "req-1"})
	ctx = audit.WithActor(ctx, audit.MemberActor(9, "Ada"))
	var first alerts.Alert
	for i := range 5 {
		a, err := f.svc.Record(ctx, alerts.Alert{Kind: alerts.KindRepeatedSignInFailures, Subject: alerts.MemberSubject(7),
			Title: "Repeated failed sign-ins for Grace", Details: map[string]string{"failures": fmt.Sprint(5 + i)}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = a
		}
	}
	if n := f.count(t, `SELECT count(*) FROM audit_events`); n != 1 {
		t.Fatalf("%d events for one alert raised 5 times, want 1", n)
	}
	events := f.events(t, "alert.raised")
	if len(events) != 1 {
		t.Fatalf("%d alert.raised events", len(events))
	}
	ev := events[0]
	if ev.Actor.Type != audit.ActorSystem || ev.Outcome != "success" ||
		ev.Target != (audit.Target{Type: "alert", ID: fmt.Sprint(first.ID)}) || ev.RequestID != "req-1" || ev.ClientAddr != "203.0.113.7" {
		t.Fatalf("event %+v", ev)
	}
	c := ev.Changes
	if c["kind"] != "repeated_sign_in_failures" || c["subject"] != "member 7" || c["severity"] != "warning" ||
		c["title"] != "Repeated failed sign-ins for Grace" {
		t.Fatalf("changes %+v", ev.Changes)
	}
	rep, err := f.log.Verify(context.Background())
	if err != nil || !rep.Intact {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestRaiseIsPartOfTheCallersTransaction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	boom := errors.New("the change failed")
	err := f.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := f.svc.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindAPIKeyCreated, Subject: alerts.Subject{Type: "api_key", ID: "3"}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := f.count(t, `SELECT count(*) FROM alerts`) + f.count(t, `SELECT count(*) FROM audit_events`); n != 0 {
		t.Fatalf("a rolled-back raise left %d rows", n)
	}

	var a alerts.Alert
	err = f.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = f.svc.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindAPIKeyCreated, Subject: alerts.Subject{Type: "api_key", ID: "3"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.notifier.got) != 0 {
		t.Fatal("Raise notified by itself")
	}
	if err := f.svc.Notify(ctx, a); err != nil {
		t.Fatal(err)
	}
	if len(f.notifier.got) != 1 || f.notifier.got[0].ID != a.ID || !f.notifier.committed[0] {
		t.Fatalf("notified %+v (committed %v)", f.notifier.got, f.notifier.committed)
	}
}

func TestRecordNotifiesNewAlertsOnceAfterCommit(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		f.record(t, alerts.Alert{Kind: alerts.KindTOTPReplay, Subject: alerts.MemberSubject(4)})
	}
	f.record(t, alerts.Alert{Kind: alerts.KindTOTPReplay, Subject: alerts.MemberSubject(5)})
	if len(f.notifier.got) != 2 || f.notifier.got[0].Subject.ID != "4" || f.notifier.got[1].Subject.ID != "5" {
		t.Fatalf("notified %+v, want the two new alerts", f.notifier.got)
	}
	for i, c := range f.notifier.committed {
		if !c {
			t.Fatalf("notification %d came before the commit", i)
		}
	}

	// A failing notifier does not fail the raise: the alert is on the page either way.
	f.notifier.err = errors.New("webhook down")
	if a := f.record(t, alerts.Alert{Kind: alerts.KindTOTPReplay, Subject: alerts.MemberSubject(6)}); a.ID == 0 {
		t.Fatal("no alert")
	}

	// No notifier at all.
	plain := alerts.New(f.db, f.log, f.clk, alerts.WithNotifier(nil))
	if _, err := plain.Record(context.Background(), alerts.Alert{Kind: alerts.KindMassExport}); err != nil {
		t.Fatal(err)
	}
}

func TestAcknowledge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.record(t, alerts.Alert{Kind: alerts.KindRoleRaisedToAdministrator, Subject: alerts.MemberSubject(3)})
	b := f.record(t, alerts.Alert{Kind: alerts.KindMassExport})
	if n, err := f.svc.OpenCount(ctx); err != nil || n != 2 {
		t.Fatalf("open count %d %v, want 2", n, err)
	}
	f.clk.Advance(time.Minute)
	if err := f.svc.Acknowledge(ctx, a.ID, 1, "Ada"); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Open() || !got.AcknowledgedAt.Equal(f.clk.Now()) || got.AcknowledgedBy != 1 || got.AcknowledgedByName != "Ada" {
		t.Fatalf("acknowledged alert %+v", got)
	}
	if n, _ := f.svc.OpenCount(ctx); n != 1 {
		t.Fatalf("open count %d, want 1", n)
	}

	// Twice is a no-op: no second event, the first acknowledgement stands.
	f.clk.Advance(time.Minute)
	if err := f.svc.Acknowledge(ctx, a.ID, 2, "Grace"); err != nil {
		t.Fatal(err)
	}
	again, _ := f.svc.Get(ctx, a.ID)
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("second acknowledgement changed %+v into %+v", got, again)
	}
	events := f.events(t, "alert.acknowledged")
	if len(events) != 1 {
		t.Fatalf("%d alert.acknowledged events, want 1", len(events))
	}
	if ev := events[0]; ev.Actor != audit.MemberActor(1, "Ada") || ev.Target != (audit.Target{Type: "alert", ID: fmt.Sprint(a.ID)}) {
		t.Fatalf("event %+v", ev)
	}

	// An acknowledged alert collects no more repeats.
	if c := f.record(t, alerts.Alert{Kind: alerts.KindRoleRaisedToAdministrator, Subject: alerts.MemberSubject(3)}); c.ID == a.ID || c.Count != 1 {
		t.Fatalf("raise after acknowledgement: %+v", c)
	}

	if err := f.svc.Acknowledge(ctx, b.ID+100, 1, "Ada"); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	if err := f.svc.Acknowledge(ctx, b.ID, 0, ""); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("no member: %v", err)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var all, open []int64
	for i := range 11 {
		a := f.record(t, alerts.Alert{Kind: alerts.KindAPIKeyCreated, Subject: alerts.Subject{Type: "api_key", ID: fmt.Sprint(i)}})
		all = append([]int64{a.ID}, all...)
		if i%3 == 0 {
			if err := f.svc.Acknowledge(ctx, a.ID, 1, "Ada"); err != nil {
				t.Fatal(err)
			}
		} else {
			open = append([]int64{a.ID}, open...)
		}
	}
	tests := []struct {
		name  string
		open  bool
		limit int
		want  []int64
	}{
		{"all, pages of 4", false, 4, all},
		{"open, pages of 3", true, 3, open},
		{"open, one page", true, 0, open},
		{"all, pages of 1", false, 1, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []int64
			q := alerts.ListQuery{Open: tc.open, Limit: tc.limit}
			for pages := 0; ; pages++ {
				if pages > len(tc.want) {
					t.Fatal("paging does not end")
				}
				p, err := f.svc.List(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if tc.limit > 0 && len(p.Alerts) > tc.limit {
					t.Fatalf("page of %d, limit %d", len(p.Alerts), tc.limit)
				}
				for _, a := range p.Alerts {
					if tc.open && !a.Open() {
						t.Fatalf("acknowledged alert %d in the open list", a.ID)
					}
					got = append(got, a.ID)
				}
				if !p.More {
					break
				}
				q.BeforeID = p.NextBeforeID
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
		})
	}
	if n, _ := f.svc.OpenCount(ctx); n != len(open) {
		t.Fatalf("open count %d, want %d", n, len(open))
	}
}

// The badge shows on every page: its count and the open list read the partial index of open
// alerts only, and finding the alert a repeat belongs to is one index seek.
func TestQueriesUseTheirIndexes(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ query, index string }{
		{`SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL`, "alerts_open_idx"},
		{`SELECT id FROM alerts WHERE id < 10 AND acknowledged_at IS NULL ORDER BY id DESC LIMIT 5`, "alerts_open_idx"},
		{`SELECT id FROM alerts WHERE kind = 'x' AND subject_type = 'member' AND subject_id = '7'
			AND acknowledged_at IS NULL AND last_seen_at > 5 ORDER BY last_seen_at DESC LIMIT 1`, "alerts_dedup_idx"},
	}
	for _, tc := range tests {
		rows, err := f.db.R.Query(`EXPLAIN QUERY PLAN ` + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, tc.index) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want %s without a sort", tc.query, p, tc.index)
		}
	}
}

func TestRaiseValidates(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		a    alerts.Alert
	}{
		{"unknown kind", alerts.Alert{Kind: "coffee_spilled"}},
		{"no kind", alerts.Alert{}},
		{"bad severity", alerts.Alert{Kind: alerts.KindMassExport, Severity: "urgent"}},
		{"subject id without type", alerts.Alert{Kind: alerts.KindMassExport, Subject: alerts.Subject{ID: "7"}}},
		{"password detail", alerts.Alert{Kind: alerts.KindRepeatedSignInFailures, Details: map[string]string{"password": "hunter2hunter2"}}},
		{"code detail", alerts.Alert{Kind: alerts.KindTOTPReplay, Details: map[string]string{"totp_code": "123456"}}},
		{"token detail", alerts.Alert{Kind: alerts.KindAPIKeyCreated, Details: map[string]string{"api_token": "sk_live"}}},
		{"detail key shape", alerts.Alert{Kind: alerts.KindMassExport, Details: map[string]string{"Rows Exported": "9"}}},
	}
	for _, tc := range tests {
		if _, err := f.svc.Record(context.Background(), tc.a); !errors.Is(err, alerts.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM alerts`); n != 0 {
		t.Fatalf("%d alerts stored", n)
	}
}

func TestRaiseCleansTheTitle(t *testing.T) {
	f := newFixture(t)
	a := f.record(t, alerts.AccountLocked(7, "Eve\n<script>alert(1)</script>", 5, "203.0.113.7"))
	if strings.ContainsAny(a.Title, "\r\n") || a.Title != "Repeated failed sign-ins for Eve <script>alert(1)</script>" {
		t.Fatalf("title %q", a.Title)
	}
	long := f.record(t, alerts.Alert{Kind: alerts.KindMassExport, Title: strings.Repeat("é", 300)})
	if n := len([]rune(long.Title)); n != 200 {
		t.Fatalf("title of %d characters", n)
	}
	if d := f.record(t, alerts.Alert{Kind: alerts.KindAPIKeyCreated}); d.Title != "API key created" || d.Severity != alerts.SeverityInfo {
		t.Fatalf("defaults: %+v", d)
	}
}

func TestSignInAlertsNeverCarryTheTypedAddress(t *testing.T) {
	f := newFixture(t)
	const typed = "hunter2@oops.example"
	a := f.record(t, alerts.AccountLocked(0, "", 5, "203.0.113.7"))
	b := f.record(t, alerts.AccountLocked(0, "", 5, "198.51.100.1"))
	if a.ID != b.ID || b.Count != 2 || a.Subject != (alerts.Subject{Type: "account"}) {
		t.Fatalf("non-member lockouts: %+v %+v", a, b)
	}
	rows := f.count(t, `SELECT count(*) FROM alerts WHERE title LIKE ? OR details LIKE ?`, "%"+typed+"%", "%"+typed+"%")
	if rows != 0 || strings.Contains(a.Title, "@") {
		t.Fatalf("typed e-mail in an alert: %q", a.Title)
	}
	m := f.record(t, alerts.AccountLocked(7, "Grace Hopper", 6, "203.0.113.7"))
	if m.Subject != alerts.MemberSubject(7) || m.Title != "Repeated failed sign-ins for Grace Hopper" || m.Details["failures"] != "6" {
		t.Fatalf("member lockout: %+v", m)
	}
	// IPv6 addresses in one /64 are one subject.
	x := f.record(t, alerts.AddressLocked("2001:db8:1:2::a", 20))
	y := f.record(t, alerts.AddressLocked("2001:db8:1:2::b", 21))
	if x.ID != y.ID || y.Count != 2 || y.Details["address"] != "2001:db8:1:2::b" {
		t.Fatalf("address lockouts: %+v %+v", x, y)
	}
}

func TestSignInFromANewAddress(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ada, grace := f.addMember(t, "ada@example.com"), f.addMember(t, "grace@example.com")
	steps := []struct {
		member int64
		addr   string
		alert  bool
		why    string
	}{
		{ada, "203.0.113.7", false, "first sign-in ever"},
		{ada, "203.0.113.7", false, "same address"},
		{ada, "198.51.100.1", true, "new address after signing in elsewhere"},
		{ada, "198.51.100.1", false, "that address again"},
		{ada, "203.0.113.7:5555", false, "the first address with a port"},
		{ada, "", false, "unknown address"},
		{ada, "2001:db8:1:2::10", true, "new IPv6 network"},
		{ada, "2001:db8:1:2:aaaa::77", false, "another address in the same /64"},
		{ada, "2001:db8:1:3::10", true, "another /64"},
		{grace, "198.51.100.1", false, "Grace's first sign-in, from Ada's address"},
		{grace, "203.0.113.7", true, "Grace from a new address"},
	}
	for i, s := range steps {
		known, err := f.svc.KnownAddress(ctx, f.db.R, s.member, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		var alert bool
		err = f.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			alert, err = f.svc.SignedInFrom(ctx, tx, s.member, s.addr)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if alert != s.alert {
			t.Errorf("step %d (%s): alert = %v, want %v", i, s.why, alert, s.alert)
		}
		if s.alert && known {
			t.Errorf("step %d (%s): new address reported known", i, s.why)
		}
		known, err = f.svc.KnownAddress(ctx, f.db.R, s.member, s.addr)
		if err != nil || !known {
			t.Errorf("step %d (%s): not known after the sign-in: %v", i, s.why, err)
		}
		f.clk.Advance(time.Minute)
	}
	var stored string
	if err := f.db.R.QueryRow(`SELECT address FROM member_sign_in_addresses WHERE member_id = ? AND network = '2001:db8:1:2::/64'`, ada).
		Scan(&stored); err != nil || stored != "2001:db8:1:2:aaaa::77" {
		t.Fatalf("stored address %q %v, want the last one as given", stored, err)
	}
}

func TestRememberAddressKeepsTheMostRecent50(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ada := f.addMember(t, "ada@example.com")
	for i := range 60 {
		if err := f.svc.RememberAddress(ctx, f.db.W, ada, fmt.Sprintf("10.0.0.%d", i)); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Second)
	}
	if n := f.count(t, `SELECT count(*) FROM member_sign_in_addresses WHERE member_id = ?`, ada); n != 50 {
		t.Fatalf("%d addresses kept", n)
	}
	for addr, want := range map[string]bool{"10.0.0.9": false, "10.0.0.10": true, "10.0.0.59": true} {
		if known, _ := f.svc.KnownAddress(ctx, f.db.R, ada, addr); known != want {
			t.Errorf("KnownAddress(%s) = %v, want %v", addr, known, want)
		}
	}
}

func TestKindsCatalogue(t *testing.T) {
	if len(alerts.Kinds()) != 14 { // 13 and campaign_paused
		t.Fatalf("%d kinds", len(alerts.Kinds()))
	}
	for _, k := range alerts.Kinds() {
		if !k.Valid() || !k.DefaultSeverity().Valid() || k.Label() == "" {
			t.Errorf("kind %q incomplete", k)
		}
	}
}

func BenchmarkOpenCount(b *testing.B) {
	d, err := db.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc := alerts.New(d, audit.New(d, clk), clk)
	// 10,000 alerts, 100 of them open.
	if _, err := d.W.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
		INSERT INTO alerts (kind, severity, title, subject_type, subject_id, created_at, last_seen_at, acknowledged_at)
		SELECT 'mass_export', 'warning', 'Large export', 'member', i, i, i, CASE WHEN i % 100 = 0 THEN NULL ELSE i END FROM n`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if n, err := svc.OpenCount(ctx); err != nil || n != 100 {
			b.Fatal(n, err)
		}
	}
}
