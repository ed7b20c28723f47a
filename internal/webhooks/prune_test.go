package webhooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/webhooks"
)

// The delivery log keeps 30 days: older deliveries that are done go, pending ones stay
// whatever their age, and so does everything newer.
func TestDeliveryLogKeepsThirtyDays(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	ctx := context.Background()
	m := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, "a long and unguessable passphrase")
	p, _, err := in.App.Members.Store().Principal(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := in.App.Webhooks.Create(ctx, p, webhooks.NewEndpoint{URL: "https://crm.example.com/hook", Events: []string{webhooks.AlertRaised},
		Format: webhooks.FormatStandard, AllNumbers: true})
	if err != nil {
		t.Fatal(err)
	}
	now := in.Clock.Now()
	// Written in time order, as the outbox is: 40 days ago to yesterday.
	rows := []struct {
		age   time.Duration
		state string
		kept  bool
	}{
		{40 * 24 * time.Hour, "delivered", false},
		{35 * 24 * time.Hour, "failed", false},
		{33 * 24 * time.Hour, "pending", true}, // a retry can still be due: pending is never pruned
		{31 * 24 * time.Hour, "delivered", false},
		{29 * 24 * time.Hour, "delivered", true},
		{24 * time.Hour, "failed", true},
	}
	for i, r := range rows {
		at := now.Add(-r.age).UnixMilli()
		next := now.Add(time.Hour).UnixMilli() // not due: the sender leaves it alone
		if _, err := in.App.DB.W.Exec(`INSERT INTO webhook_deliveries (endpoint_id, msg_id, event_type, dedupe_key, payload, state,
			next_attempt_at, retry_until, created_at) VALUES (?, ?, 'alert.raised', ?, '{}', ?, ?, ?, ?)`,
			e.ID, fmt.Sprintf("msg_prune%d", i), fmt.Sprintf("prune:%d", i), r.state, next, next, at); err != nil {
			t.Fatal(err)
		}
	}
	// The sender prunes once an hour of its clock.
	in.Clock.Advance(2 * time.Hour)
	in.App.Webhooks.Wake()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left int
		if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_deliveries`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, r := range rows {
		var n int
		if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE msg_id = ?`, fmt.Sprintf("msg_prune%d", i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 1) != r.kept {
			t.Errorf("a %s delivery %v old: kept %v, want %v", r.state, r.age, n == 1, r.kept)
		}
	}
}
