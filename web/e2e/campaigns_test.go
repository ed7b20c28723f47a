package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/consent"
)

// A campaign created and run in the browser, at desktop width and on a phone: the author fills
// the form (the template's variables load when it is chosen), previews who is left out and
// creates it; a second administrator approves it and watches the progress bar move to the end
// without reloading (htmx polling).
func TestCreateAndRunCampaign(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	in.ApprovedSandboxTemplate("delivery_update", "Hi {{1}}, deliveries resume on Monday.", "Pablo")
	for i, who := range []string{"Sheena Nelson", "Pablo Morales", "Jonas Weber", "Maria Rossi"} {
		wa := "4915112340" + strconv.Itoa(i)
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, wa, who, "Hello"); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			var id int64
			in.App.DB.R.QueryRow(`SELECT id FROM contacts WHERE wa_id = ?`, wa).Scan(&id)
			if _, err := in.App.Consent.Set(ctx, id, "Admin", consent.Change{Status: consent.StatusOptedOut, Source: consent.SourceForm}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var template, number int64
	in.App.DB.R.QueryRow(`SELECT id FROM templates WHERE name = 'delivery_update'`).Scan(&template)
	in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&number)
	in.CreateMember("ada@example.com", "Ada Author", authz.RoleAdministrator, adminPassword)
	in.CreateMember("bo@example.com", "Bo Approver", authz.RoleAdministrator, adminPassword)

	author, approver := browserFor(t, 4*time.Minute), browserFor(t, 4*time.Minute)
	signIn(t, author, in, "ada@example.com", adminPassword)
	signIn(t, approver, in, "bo@example.com", adminPassword)
	for _, width := range []int64{1366, 390} {
		name := fmt.Sprintf("Deliveries resume (%d px)", width)
		run(t, author, "width", chromedp.EmulateViewport(width, 900))
		run(t, approver, "width", chromedp.EmulateViewport(width, 900))
		run(t, author, "new campaign form",
			chromedp.Navigate(in.URL+"/campaigns"),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/campaigns/new"]`)),
			chromedp.Click(chromedp.CSS(`a[href="/campaigns/new"]`)),
			chromedp.WaitVisible(chromedp.CSS("#field-name")),
			chromedp.SendKeys(chromedp.CSS("#field-name"), name),
			chromedp.SetValue(chromedp.CSS("#field-phone_number"), strconv.FormatInt(number, 10)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.querySelector('#field-template');
				s.value = '%d'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`, template)),
			chromedp.WaitVisible(chromedp.CSS("#var-source-1")),
			chromedp.Click(chromedp.CSS(`button[hx-post="/campaigns/preview"]`)),
			chromedp.WaitVisible(chromedp.CSS("#campaign-preview-summary")),
		)
		if s := text(t, author, "#campaign-preview-summary"); s != "3 recipients, 1 left out: opted out" {
			t.Errorf("preview at %d px: %q", width, s)
		}
		screenshot(t, author, fmt.Sprintf("%d-new-campaign", width))
		fits(t, author, width)
		run(t, author, "create",
			chromedp.Click(chromedp.CSS(`#campaign-form button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("#campaign-approve-note")),
		)
		url, err := chromedp.Run(author, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		run(t, approver, "approve",
			chromedp.Navigate(url),
			chromedp.WaitVisible(chromedp.CSS("#campaign-approve")),
			chromedp.Click(chromedp.CSS("#campaign-approve")),
			chromedp.WaitVisible(chromedp.CSS("#campaign-progress-bar")),
		)
		// The page is not reloaded: the progress part polls itself until the campaign is done.
		deadline := time.Now().Add(60 * time.Second)
		// (When it ends, the page reloads once: the badge may be missing for a moment.)
		for status, _ := chromedp.Run(approver, chromedp.Text(chromedp.CSS("#campaign-status"), chromedp.AtLeast(0))); status != "Completed"; status, _ = chromedp.Run(approver, chromedp.Text(chromedp.CSS("#campaign-status"), chromedp.AtLeast(0))) {
			if time.Now().After(deadline) {
				screenshot(t, approver, "failed-progress")
				t.Fatalf("the campaign page did not reach Completed at %d px", width)
			}
			time.Sleep(250 * time.Millisecond)
		}
		run(t, approver, "final page", chromedp.WaitVisible(chromedp.CSS("#campaign-recipients")))
		if s := text(t, approver, "#campaign-progress-label"); !strings.HasPrefix(s, "3 of 3 recipients done (100 %)") {
			t.Errorf("progress label %q", s)
		}
		screenshot(t, approver, fmt.Sprintf("%d-campaign-completed", width))
		fits(t, approver, width)
	}
	run(t, approver, "desktop list", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(in.URL+"/campaigns"),
		chromedp.WaitVisible(chromedp.CSS("#campaigns-table")))
	screenshot(t, approver, "1366-campaigns")
}

// fits fails when the current page scrolls sideways at width.
func fits(t *testing.T, ctx context.Context, width int64) {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if int64(w) > width {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Errorf("%s is %v px wide at %d px: it scrolls sideways", loc, w, width)
	}
}
