package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// An administrator records a customer's marketing opt-in on the conversation's contact panel;
// the panel shows it and its history, on a desktop and on a phone.
func TestConsentOnTheContactPanel(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi! Do you deliver olive trees?"); err != nil {
		t.Fatal(err)
	}
	var conv int64
	if err := in.App.DB.R.QueryRow(`SELECT id FROM conversations`).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	b := browser(t)
	run(t, b, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, b, in, "ada@example.com", adminPassword)
	url := in.URL + "/conversations/" + strconv.FormatInt(conv, 10)
	run(t, b, "record an opt-in",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("#consent-title")),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.card details').forEach(d => d.open = true)`),
		chromedp.SetValue(chromedp.CSS("#consent-new-status"), "opted_in"),
		chromedp.SetValue(chromedp.CSS("#consent-source"), "conversation"),
		chromedp.SendKeys(chromedp.CSS("#consent-text"), "Yes, send me offers on WhatsApp."),
		chromedp.Click(chromedp.CSS(`form[action$="/consent"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".alert")),
	)
	if s := text(t, b, "#consent-status"); !strings.Contains(s, "Opted in") {
		t.Errorf("consent status %q", s)
	}
	run(t, b, "open the history", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.card details').forEach(d => d.open = true)`))
	screenshot(t, b, "desktop-conversation")
	fitsPhoneWidth(t, b, url)
}

// The privacy settings page (opt-out keywords) at desktop and phone width. A test of its own:
// each browser test has one 90-second budget.
func TestPrivacySettingsPage(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	b := browser(t)
	run(t, b, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, b, in, "ada@example.com", adminPassword)
	run(t, b, "privacy settings",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/settings/privacy"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-keywords")))
	screenshot(t, b, "desktop-privacy")
	fitsPhoneWidth(t, b, in.URL+"/settings/privacy")
}
