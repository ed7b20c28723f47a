package demo_test

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/demo"
)

// The demo shows an access review in progress and consent records, and seeding twice adds
// nothing.
func TestSeedCompliance(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.App.Members.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ waID, name string }{{"16505551234", "Sheena Nelson"}, {"4915112341234", "Jonas Weber"}} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, c.waID, c.name, "Hello"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := demo.SeedCompliance(ctx, in.App.Members, in.App.Reviews, in.App.Consent, in.App.Inbox); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := in.App.Reviews.Campaigns(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns %v %v", cs, err)
	}
	if c := cs[0]; c.Status != "open" || c.Decided != 1 || c.Total < 3 {
		t.Errorf("campaign %+v: want open with one decision", c)
	}
	var consents int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM contact_consents`).Scan(&consents); err != nil || consents != 2 {
		t.Errorf("consent records: %d %v", consents, err)
	}
}
