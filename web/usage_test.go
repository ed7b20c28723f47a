package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

func rateCount(t *testing.T, in *apptest.Instance) (n int) {
	t.Helper()
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM billing_rates`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func auditCount(t *testing.T, in *apptest.Instance, action string) (n int) {
	t.Helper()
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The rate card: billing.manage edits it and every change is in the activity log; bad input
// is refused with a readable message; billing.view alone (or no billing permission) cannot
// change it; the usage table prices billable messages with it.
func TestRateCardChangesAreAuditedAndPriced(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	if _, err := analyticsgen.Generate(context.Background(), in.App.DB, analyticsgen.Options{Conversations: 300, Days: 20, Now: in.Clock.Now(), Seed: 9}); err != nil {
		t.Fatal(err)
	}
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	viewers := customRole(t, in, admin, "Finance viewers", authz.BillingView)
	in.CreateMember("fin@example.com", "Fin Viewer", viewers.Key, ownerPassword)
	finC := in.Client()
	finC.SignIn("fin@example.com", ownerPassword)
	_, analystC := signedIn(t, in, "ana@example.com", authz.RoleAnalyst)

	page := adminC.Get("/usage")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "marketing") || !strings.Contains(page.Body, "Set a rate") {
		t.Fatalf("usage page: %d", page.Status)
	}
	today := in.Clock.Now().Format("2006-01-02")
	good := url.Values{"category": {"marketing"}, "country": {"*"}, "currency": {"USD"}, "price": {"0.0250"}, "effective_from": {"2020-01-01"}}

	before, audited := rateCount(t, in), auditCount(t, in, "billing.rate_set")
	for who, c := range map[string]*apptest.Client{"billing.view only": finC, "analyst": analystC} {
		if r := c.PostForm("/usage/rates", good); r.Status != http.StatusForbidden {
			t.Fatalf("%s set a rate: %d", who, r.Status)
		}
	}
	bad := url.Values{"category": {"marketing"}, "country": {"Germany"}, "currency": {"dollars"}, "price": {"-1"}, "effective_from": {today}}
	if r := adminC.PostForm("/usage/rates", bad); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "two-letter country code") ||
		!strings.Contains(r.Body, "three-letter currency code") || !strings.Contains(r.Body, "price of one message") {
		t.Fatalf("bad rate: %d", r.Status)
	}
	if rateCount(t, in) != before || auditCount(t, in, "billing.rate_set") != audited {
		t.Fatal("a refused rate changed the card or the log")
	}

	if r := adminC.PostForm("/usage/rates", good); r.Status != http.StatusSeeOther {
		t.Fatalf("set rate: %d %.300s", r.Status, r.Body)
	}
	if auditCount(t, in, "billing.rate_set") != audited+1 {
		t.Fatal("the rate change is not in the activity log")
	}
	var changes string
	in.App.DB.R.QueryRow(`SELECT changes FROM audit_events WHERE action = 'billing.rate_set' ORDER BY id DESC LIMIT 1`).Scan(&changes)
	if !strings.Contains(changes, "0.0250") || !strings.Contains(changes, "marketing") {
		t.Fatalf("audited changes: %s", changes)
	}
	// Marketing messages delivered this month are priced at 0.025 each.
	var billable int64
	in.App.DB.R.QueryRow(`SELECT count(*) FROM message_statuses WHERE billable = 1 AND pricing_category = 'marketing'
		AND at >= ?`, monthStart(in)).Scan(&billable)
	page = finC.Get("/usage")
	if page.Status != http.StatusOK || strings.Contains(page.Body, "Set a rate") {
		t.Fatalf("billing.view page: %d, offers the form: %v", page.Status, strings.Contains(page.Body, "Set a rate"))
	}
	if billable > 0 && !strings.Contains(page.Body, "USD ") {
		t.Fatal("no estimated cost shown")
	}
	if r := analystC.Get("/usage"); r.Status != http.StatusForbidden {
		t.Fatalf("analyst usage page: %d", r.Status)
	}
}

func monthStart(in *apptest.Instance) int64 {
	n := in.Clock.Now().UTC()
	return n.AddDate(0, 0, 1-n.Day()).Truncate(24 * 60 * 60 * 1e9).UnixMilli()
}
