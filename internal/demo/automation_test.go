package demo_test

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The demo's automation: hours on both numbers, two keyword rules, a welcome menu routing to
// two teams, ratings on past closings; the history gets no automated answers, seeding twice
// adds nothing, and a demo customer's order question is answered.
func TestSeedAutomation(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.App.Members.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	var adminID int64
	in.App.DB.R.QueryRow(`SELECT id FROM members WHERE email = 'administrator@demo.switchboard.test'`).Scan(&adminID)
	admin, _, _ := in.App.Members.Store().Principal(ctx, adminID)
	if _, err := in.App.Inbox.CreateCanned(ctx, admin, inbox.CannedInput{Title: "Opening hours", Body: "We are open 9 to 18."}); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedHistory(ctx, in.App.DB, in.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := demo.SeedAutomation(ctx, in.App.DB, in.App.Members, in.App.Automation, in.App.Inbox); err != nil {
			t.Fatal(err)
		}
	}
	if err := in.App.Automation.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var n int
		if err := in.App.DB.R.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM automation_numbers WHERE away_enabled = 1 AND auto_assign = 1 AND rating_enabled = 1`: 2,
		`SELECT count(*) FROM automation_rules`:        2,
		`SELECT count(*) FROM automation_teams`:        2,
		`SELECT count(*) FROM automation_menu_options`: 5,
		`SELECT count(*) FROM automation_jobs`:         0,
	} {
		if got := count(q); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
	if n := count(`SELECT count(*) FROM conversation_ratings WHERE score IS NOT NULL`); n < 50 {
		t.Errorf("%d ratings on past closings, want dozens", n)
	}
	if _, err := in.Sim.CustomerSays(ctx, demo.NumberSales, "16505559876", "Ravi", "Is my order 860198 on its way?"); err != nil {
		t.Fatal(err)
	}
	if err := in.App.Automation.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range in.Sim.Sent() {
		found = found || (m.To == "16505559876" && m.Type == whatsapp.TypeInteractive && len(m.Message.Interactive.Action.Buttons) == 3)
	}
	if !found {
		t.Error("the order-number rule did not answer with its three buttons")
	}
}
