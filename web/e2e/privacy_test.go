package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// An administrator finds a customer by number on the privacy requests page and asks for their
// erasure (four eyes on, so it waits); the alert rules, the privacy settings with the retention
// jobs and the records of processing open at desktop width and fit a phone.
func TestPrivacyPagesInTheBrowser(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	bg := context.Background()
	if _, err := in.Sim.CustomerSays(bg, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Please delete my data"); err != nil {
		t.Fatal(err)
	}
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	if _, err := in.App.Alerts.Record(bg, alerts.Alert{Kind: alerts.KindAPIKeyCreated, Title: "Ada Admin created the API key “CRM sync”"}); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	run(t, ctx, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "turn on four eyes",
		chromedp.Navigate(in.URL+"/settings/privacy"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="four_eyes"]`)),
		chromedp.Click(chromedp.CSS(`input[name="four_eyes"]`)),
		chromedp.Click(chromedp.CSS(`form[action="/settings/privacy/retention"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	screenshot(t, ctx, "desktop-settings")
	run(t, ctx, "find the customer",
		chromedp.Navigate(in.URL+"/privacy/requests"),
		chromedp.WaitVisible(chromedp.CSS("#field-number")),
		chromedp.SendKeys(chromedp.CSS("#field-number"), "+1 650 555 1234"),
		chromedp.Click(chromedp.CSS(`form[action="/privacy/requests"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#contact-title")),
	)
	if s := text(t, ctx, "#contact-title"); !strings.Contains(s, "Sheena Nelson") {
		t.Errorf("found %q", s)
	}
	run(t, ctx, "ask to erase",
		chromedp.SendKeys(chromedp.CSS("#field-reference"), "Ticket 4711"),
		chromedp.Click(chromedp.CSS(`form[action$="/erase"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if s := text(t, ctx, `section[aria-labelledby="erasures-title"] table`); !strings.Contains(s, "Waiting for a second person") || !strings.Contains(s, "Ticket 4711") {
		t.Errorf("requests table: %q", s)
	}
	screenshot(t, ctx, "desktop-requests")
	for _, page := range []string{"/settings/alerts", "/privacy", "/alerts"} {
		run(t, ctx, "open "+page, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(in.URL+page), chromedp.WaitVisible(chromedp.CSS("main")))
		screenshot(t, ctx, "desktop"+strings.ReplaceAll(page, "/", "-"))
	}
	for _, page := range []string{"/privacy/requests", "/settings/alerts", "/privacy", "/settings/privacy", "/alerts"} {
		fitsPhoneWidth(t, ctx, in.URL+page)
	}
}
