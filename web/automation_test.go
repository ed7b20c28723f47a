package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// The automation forms over HTTP: bad input is a 422 with the reason on the page and changes
// nothing; an Agent is refused and changes nothing; a good form is saved and recorded.
func TestAutomationFormsRefuseBadInputAndOtherRoles(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	number := strconv.FormatInt(numberRef(t, in, apptest.SandboxNumberA), 10)
	count := func(q string) int {
		var n int
		if err := in.App.DB.R.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := admin.PostForm("/automation/numbers/"+number, url.Values{"time_zone": {"Mars/Olympus"}, "day1": {"25:00-26:00"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Choose a time zone such as Europe/Berlin") ||
		!strings.Contains(r.Body, "Monday:") || !strings.Contains(r.Body, "Mars/Olympus") {
		t.Errorf("bad hours: %d, the page does not say what is wrong or lost the input", r.Status)
	}
	r = admin.PostForm("/automation/rules", url.Values{"name": {"Broken"}, "match": {"regex"}, "pattern": {"[a-"}, "reply_kind": {"canned"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "not a valid regular expression") {
		t.Errorf("bad rule: %d", r.Status)
	}
	r = admin.PostForm("/automation/teams", url.Values{"name": {""}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Name the team") {
		t.Errorf("nameless team: %d", r.Status)
	}
	if r := agent.PostForm("/automation/numbers/"+number, url.Values{"time_zone": {"UTC"}}); r.Status != http.StatusForbidden {
		t.Errorf("an Agent changes automation: %d, want 403", r.Status)
	}
	if r := agent.Get("/automation"); r.Status != http.StatusForbidden {
		t.Errorf("an Agent opens Automation: %d, want 403", r.Status)
	}
	for _, table := range []string{"automation_numbers", "automation_rules", "automation_teams"} {
		if n := count(`SELECT count(*) FROM ` + table); n != 0 {
			t.Errorf("%s has %d rows after refused forms", table, n)
		}
	}
	// A good form.
	r = admin.PostForm("/automation/numbers/"+number, url.Values{"time_zone": {"Europe/Berlin"}, "day1": {"09:00-17:00"},
		"away_enabled": {"1"}, "away_message": {"We are closed."}, "assign_limit": {"5"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("good hours: %d %s", r.Status, r.Body)
	}
	if n := count(`SELECT count(*) FROM automation_numbers WHERE time_zone = 'Europe/Berlin' AND assign_limit = 5 AND away_enabled = 1`); n != 1 {
		t.Error("the settings were not stored")
	}
	if n := len(secEvents(t, in, "automation.number_updated")); n != 1 {
		t.Errorf("%d automation.number_updated events, want 1", n)
	}
	// Members set themselves available; the account page says so.
	if r := agent.PostForm("/account/availability", url.Values{"available": {"1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("availability: %d", r.Status)
	}
	if r := agent.Get("/account"); !strings.Contains(r.Body, `id="availability-status">Available`) {
		t.Error("the account page does not show the agent available")
	}
	if n := len(secEvents(t, in, "member.availability_changed")); n != 1 {
		t.Errorf("%d availability events, want 1", n)
	}
}
