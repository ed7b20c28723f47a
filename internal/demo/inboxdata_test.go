package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The demo shows labels, contacts with custom fields, and customers sending media and the other
// kinds of message; seeding twice adds nothing.
func TestSeedInboxData(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.App.Members.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ number, waID, name string }{{demo.NumberSales, "16505551234", "Sheena Nelson"}, {demo.NumberCare, "4915112341234", "Jonas Weber"}} {
		if _, err := in.Sim.CustomerSays(ctx, c.number, c.waID, c.name, "Hello"); err != nil {
			t.Fatal(err)
		}
	}
	sb := &demo.Sandbox{Sim: in.Sim}
	for range 2 {
		if err := sb.SeedInboxData(ctx, in.App.Members, in.App.Inbox); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		var n int
		if err := in.App.DB.R.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM labels`); n != 5 {
		t.Errorf("labels: %d", n)
	}
	if n := count(`SELECT count(*) FROM contact_fields`); n != 4 {
		t.Errorf("contact fields: %d", n)
	}
	if n := count(`SELECT count(*) FROM contact_field_values`); n < 6 {
		t.Errorf("field values: %d", n)
	}
	if n := count(`SELECT count(*) FROM messages WHERE edited_at IS NOT NULL AND reaction <> ''`); n != 1 {
		t.Errorf("edited message with a reaction: %d", n)
	}
	deadline := time.Now().Add(20 * time.Second)
	for count(`SELECT count(*) FROM media WHERE state = 'stored'`) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("media stored: %d of 3", count(`SELECT count(*) FROM media WHERE state = 'stored'`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Meta's news about numbers and accounts, sent by the simulator as signed webhooks, is applied
// to the number and the account and recorded.
func TestNumberAndAccountUpdates(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	row := func(q string, dest ...any) {
		t.Helper()
		if err := in.App.DB.R.QueryRow(q).Scan(dest...); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.Sim.PhoneNumberQualityChanges(ctx, apptest.SandboxNumberB, "FLAGGED", "TIER_250"); err != nil {
		t.Fatal(err)
	}
	var quality, limit string
	row(`SELECT quality_rating, messaging_limit FROM phone_numbers WHERE phone_number_id = '`+apptest.SandboxNumberB+`'`, &quality, &limit)
	if quality != "RED" || limit != "TIER_250" {
		t.Fatalf("after FLAGGED: %s %s", quality, limit)
	}
	if err := in.Sim.PhoneNumberQualityChanges(ctx, apptest.SandboxNumberB, "UPGRADE", "TIER_1K"); err != nil {
		t.Fatal(err)
	}
	row(`SELECT messaging_limit FROM phone_numbers WHERE phone_number_id = '`+apptest.SandboxNumberB+`'`, &limit)
	if limit != "TIER_1K" {
		t.Fatalf("after UPGRADE: %s", limit)
	}
	if err := in.Sim.PhoneNumberNameDecided(ctx, apptest.SandboxNumberB, "APPROVED", "Lucky Shrub Care", ""); err != nil {
		t.Fatal(err)
	}
	var name, status string
	row(`SELECT verified_name, name_status FROM phone_numbers WHERE phone_number_id = '`+apptest.SandboxNumberB+`'`, &name, &status)
	if name != "Lucky Shrub Care" || status != "APPROVED" {
		t.Fatalf("after the name decision: %s %s", name, status)
	}
	if err := in.Sim.AccountUpdates(ctx, apptest.SandboxWABAID, whatsapp.AccountUpdate{Event: "ACCOUNT_VIOLATION",
		ViolationInfo: &whatsapp.ViolationInfo{ViolationType: "SCAM"}}); err != nil {
		t.Fatal(err)
	}
	var detail string
	row(`SELECT account_status, account_status_detail FROM wabas`, &status, &detail)
	if status != "ACCOUNT_VIOLATION" || detail != "violation: SCAM" {
		t.Fatalf("account %s %s", status, detail)
	}
	var events int
	row(`SELECT count(*) FROM audit_events WHERE action IN ('phone_number.meta_updated', 'waba.account_updated') AND actor_type = 'system'`, &events)
	if events != 4 {
		t.Fatalf("%d activity events, want 4", events)
	}
}
