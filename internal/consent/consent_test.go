package consent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/consent"
)

// Opt-out keywords are the workspace's to choose; only a message that is exactly a keyword
// opts out, and at least one keyword always stays.
func TestOptOutKeywords(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	cs := in.App.Consent
	var fe consent.FieldErrors
	if err := cs.SaveKeywords(ctx, " , "); !errors.As(err, &fe) {
		t.Fatalf("empty keywords: %v", err)
	}
	if err := cs.SaveKeywords(ctx, "stop, abmelden"); err != nil {
		t.Fatal(err)
	}
	if k, _ := cs.Keywords(ctx); len(k) != 2 || k[1] != "ABMELDEN" {
		t.Fatalf("keywords %v", k)
	}
	say := func(text string) {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "4915112341234", "Jonas Weber", text); err != nil {
			t.Fatal(err)
		}
	}
	var contactID int64
	say("Hallo")
	if err := in.App.DB.R.QueryRow(`SELECT id FROM contacts`).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Set(ctx, contactID, "Ada", consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceForm, Text: "Ja, gern."}); err != nil {
		t.Fatal(err)
	}
	say("Please stop the deliveries until Monday") // not a keyword on its own
	if r, _ := cs.Current(ctx, contactID); r.Status != consent.StatusOptedIn {
		t.Fatalf("a sentence containing stop opted out: %+v", r)
	}
	say("Abmelden.")
	r, _ := cs.Current(ctx, contactID)
	if r.Status != consent.StatusOptedOut || r.Source != consent.SourceKeyword || r.Text != "Abmelden." {
		t.Fatalf("after the keyword: %+v", r)
	}
	say("STOP") // already opted out: no second record
	if h, _ := cs.History(ctx, contactID); len(h) != 2 {
		t.Errorf("history %d records, want 2", len(h))
	}
	var actor string
	if err := in.App.DB.R.QueryRow(`SELECT actor_name FROM audit_events WHERE action = 'contact.consent_changed' AND actor_type = 'system'`).Scan(&actor); err != nil || actor != "opt-out keyword" {
		t.Errorf("keyword opt-out event: %q %v", actor, err)
	}
}
