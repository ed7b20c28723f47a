package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/demo"
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
