package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
)

// The Campaigns pages end to end over HTTP: bad input is refused on the form and stores nothing,
// the preview counts who is left out, the author cannot approve their own campaign (the refusal
// shows on the page and changes nothing), another administrator starts it, the progress part
// polls until done, and the CSV export streams the recipients.
func TestCampaignPages(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	sale := approvedTemplate(t, in, "spring_sale", "MARKETING", "Spring sale: 20% off every plant this week.")
	for i, who := range []string{"Sheena Nelson", "Pablo Morales", "Jonas Weber"} {
		wa := "4915112340" + strconv.Itoa(i)
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, wa, who, "Hello"); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			var id int64
			in.App.DB.R.QueryRow(`SELECT id FROM contacts WHERE wa_id = ?`, wa).Scan(&id)
			if _, err := in.App.Consent.Set(ctx, id, "Admin", consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceForm, Text: "Yes"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var number int64
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	_, author := signedIn(t, in, "author@example.com", authz.RoleAdministrator)
	_, approver := signedIn(t, in, "approver@example.com", authz.RoleAdministrator)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)

	if r := author.Get("/campaigns/new"); r.Status != http.StatusOK || !strings.Contains(r.Body, "spring_sale") {
		t.Fatalf("new campaign page: %d", r.Status)
	}
	form := url.Values{"name": {"Spring sale"}, "template": {sale}, "phone_number": {strconv.FormatInt(number, 10)},
		"time_zone": {"Europe/Berlin"}}
	// Preview: two recipients, one left out for want of consent.
	if r := author.PostForm("/campaigns/preview", form); !strings.Contains(r.Body, "2 recipients, 1 left out: no marketing consent") {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	// Bad input: no name, a start in the past. 422 with the messages, nothing stored.
	bad := url.Values{"template": {sale}, "phone_number": {strconv.FormatInt(number, 10)}, "time_zone": {"Europe/Berlin"}, "start_at": {"2001-01-01T09:00"}}
	if r := author.PostForm("/campaigns", bad); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Give the campaign a name") ||
		!strings.Contains(r.Body, "Choose a time in the future") {
		t.Fatalf("bad campaign: %d", r.Status)
	}
	// An agent may not create one: refused by the route, nothing stored.
	if r := agent.PostForm("/campaigns", form); r.Status != http.StatusForbidden {
		t.Fatalf("agent creating: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM campaigns`); n != 0 {
		t.Fatalf("%d campaigns stored by refused requests", n)
	}
	r := author.PostForm("/campaigns", form)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	page := r.Location()
	// The author sees why they cannot start it, and a forged approval is refused.
	if r := author.Get(page); !strings.Contains(r.Body, "someone else who may approve campaigns must start it") || strings.Contains(r.Body, "campaign-approve\"") {
		t.Errorf("author's page does not explain four eyes")
	}
	author.PostForm(page+"/approve", url.Values{})
	if r := author.Get(page); !strings.Contains(r.Body, "someone else must approve it") {
		t.Errorf("the refusal is not shown")
	}
	if n := secCount(t, in, `SELECT count(*) FROM campaigns WHERE status = 'awaiting_approval'`); n != 1 {
		t.Fatal("the author's approval changed the campaign")
	}
	// Without the CSRF token the approval is refused before anything happens.
	if r := approver.PostFormRaw(page+"/approve", url.Values{}); r.Status != http.StatusForbidden {
		t.Errorf("approve without CSRF: %d", r.Status)
	}
	if r := approver.Get(page); !strings.Contains(r.Body, "Approve and start") {
		t.Fatal("the approver is not offered the approval")
	}
	if r := approver.PostForm(page+"/approve", url.Values{}); r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.Status)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := approver.Get(page + "/progress")
		if strings.Contains(r.Body, "Completed") {
			if strings.Contains(r.Body, "hx-trigger") {
				t.Error("a completed campaign still polls")
			}
			break
		}
		if !strings.Contains(r.Body, `hx-trigger="every 2s"`) {
			t.Fatalf("a running campaign's progress does not poll: %s", r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatal("the campaign did not complete")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := approver.Get("/campaigns"); !strings.Contains(r.Body, "Spring sale") || !strings.Contains(r.Body, "Completed") {
		t.Errorf("list: %d", r.Status)
	}
	csv := approver.Get(page + "/recipients.csv")
	if csv.Status != http.StatusOK || strings.Count(csv.Body, "\n") != 3 || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("export: %d %q", csv.Status, csv.Body)
	}
	// The figures feed the Analytics page.
	if r := approver.Get("/analytics"); !strings.Contains(r.Body, `id="analytics-campaigns"`) || !strings.Contains(r.Body, "Spring sale") {
		t.Errorf("analytics has no campaign section: %d", r.Status)
	}
	if r := agent.Get(page); r.Status != http.StatusForbidden {
		t.Errorf("agent viewing a campaign: %d", r.Status)
	}
}
