package alerts_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// queueingMailer writes a row per alert in the raising transaction, as the outbox does.
type queueingMailer struct{ fail error }

func (m queueingMailer) AlertRaised(ctx context.Context, q db.Querier, a alerts.Alert, _ []int64) ([]alerts.MailDelivery, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	res, err := q.ExecContext(ctx, `INSERT INTO mail_outbox (message_id, kind, recipient, subject, created_at, next_attempt_at)
		VALUES (?, 'alert', 'admin@example.com', ?, 0, 0)`, a.Title+time.Now().String(), a.Title)
	if err != nil {
		return nil, err
	}
	id, _ := res.LastInsertId()
	return []alerts.MailDelivery{{Recipient: "admin@example.com", MailID: id}}, nil
}

func outboxRows(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.R.QueryRow(`SELECT count(*) FROM mail_outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A new alert is mailed in its own transaction; repeats counted on an open alert are not (a
// brute-force run is one e-mail), and a mailer's failure rolls the alert back with it.
func TestNewAlertsAreMailedOnceInTheirTransaction(t *testing.T) {
	d, err := db.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	svc := alerts.New(d, audit.New(d, clk), clk, alerts.WithMailer(queueingMailer{}))
	ctx := context.Background()
	a := alerts.Alert{Kind: alerts.KindRepeatedSignInFailures, Subject: alerts.MemberSubject(7)}
	for i := 0; i < 5; i++ {
		if _, err := svc.Record(ctx, a); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	if n := outboxRows(t, d); n != 1 {
		t.Errorf("%d e-mails for one alert raised five times", n)
	}

	boom := errors.New("outbox full")
	failing := alerts.New(d, audit.New(d, clk), clk, alerts.WithMailer(queueingMailer{fail: boom}))
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		_, err := failing.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindMassExport, Subject: alerts.MemberSubject(8)})
		return err
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Raise = %v", err)
	}
	open, err := svc.OpenCount(ctx)
	if err != nil || open != 1 {
		t.Errorf("open alerts %d (%v): the alert whose mail failed was kept", open, err)
	}
}
