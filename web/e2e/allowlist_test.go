package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// A security manager adds their office network to the IP allow-list in the browser; an attempt
// that would lock them out is refused on the page. The page fits a phone.
func TestAllowListInTheBrowser(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	run(t, ctx, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open the allow-list from the security settings",
		chromedp.Navigate(in.URL+"/settings/security"),
		chromedp.Click(chromedp.CSS(`a[href="/settings/security/allowlist"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-cidr")),
		chromedp.SendKeys(chromedp.CSS("#field-cidr"), "203.0.113.0/24"),
		chromedp.Click(chromedp.CSS("form button.btn--primary")),
		chromedp.WaitVisible(chromedp.CSS(".alert--error")),
	)
	if s := text(t, ctx, ".alert--error"); !strings.Contains(s, "lock you out") {
		t.Errorf("lock-out message: %q", s)
	}
	screenshot(t, ctx, "desktop-lockout")
	run(t, ctx, "allow this machine and an office",
		chromedp.SetValue(chromedp.CSS("#field-cidr"), "127.0.0.0/8"),
		chromedp.SendKeys(chromedp.CSS("#field-note"), "This server"),
		chromedp.Click(chromedp.CSS("form button.btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	if _, err := in.App.AllowList.Add(context.Background(), "2001:db8:abcd::/48", "Office Berlin (VPN)", "Ada Admin", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table")))
	screenshot(t, ctx, "desktop-list")
	fitsPhoneWidth(t, ctx, in.URL+"/settings/security/allowlist")
}
