package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
)

// The owner claims a fresh instance with the link from the log, lands on the dashboard, signs
// out and signs back in.
func TestSetupSignOutSignIn(t *testing.T) {
	in := apptest.Start(t)
	token, err := in.App.Members.IssueSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)

	run(t, ctx, "open set-up",
		chromedp.Navigate(in.URL+"/setup?token="+token),
		chromedp.WaitVisible(chromedp.CSS("#field-name")),
	)
	screenshot(t, ctx, "setup")
	run(t, ctx, "fill set-up",
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "password1234"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-password-error")),
	)
	if msg := text(t, ctx, "#field-password-error"); !strings.Contains(msg, "commonly used") {
		t.Errorf("common password error reads %q", msg)
	}
	screenshot(t, ctx, "setup-error")
	run(t, ctx, "retry with a good password",
		chromedp.SendKeys(chromedp.CSS("#field-password"), "compass lantern orchard river"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	if h := text(t, ctx, ".page-header__title"); h != "Welcome, Grace" {
		t.Errorf("dashboard heading %q", h)
	}
	screenshot(t, ctx, "dashboard")

	run(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(".sidebar .user-menu button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
	)
	if info := text(t, ctx, ".alert"); !strings.Contains(info, "signed out") {
		t.Errorf("sign-out notice %q", info)
	}

	run(t, ctx, "wrong password",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "not my password at all"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert--error")),
	)
	screenshot(t, ctx, "signin-error")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#field-password"), "compass lantern orchard river"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	if h := text(t, ctx, ".page-header__title"); h != "Welcome, Grace" {
		t.Errorf("dashboard heading after sign-in %q", h)
	}
	run(t, ctx, "open activity",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/activity"]`)),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	body := text(t, ctx, "table")
	for _, action := range []string{"setup.completed", "member.signed_out", "member.sign_in_failed", "member.signed_in"} {
		if !strings.Contains(body, action) {
			t.Errorf("activity page lacks %s", action)
		}
	}
	screenshot(t, ctx, "activity")
}
