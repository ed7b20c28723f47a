package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
)

const resetPassword = "a quiet walk along the river"

// bothWidths looks at the current page at 1366 px and at 390 px (a phone, where it must not
// scroll sideways), with a screenshot of each, and returns to the desktop width. With part, only
// that element is held to the phone's width (the rest of the page is another change's).
func bothWidths(t *testing.T, ctx context.Context, name string, part ...string) {
	t.Helper()
	run(t, ctx, "desktop "+name, chromedp.EmulateViewport(1366, 900))
	screenshot(t, ctx, name+"-1366")
	run(t, ctx, "phone "+name, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	js := `document.documentElement.scrollWidth`
	if len(part) > 0 {
		js = `document.querySelector(` + strconv.Quote(part[0]) + `).getBoundingClientRect().right`
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
	if err != nil || width > 390 {
		t.Errorf("%s is %v px wide on a 390 px phone (%v)", name, width, err)
	}
	screenshot(t, ctx, name+"-390")
	run(t, ctx, "back to desktop "+name, chromedp.EmulateViewport(1366, 900))
}

// A member who forgot their password gets a link by e-mail from the sign-in page and sets a new
// one; an administrator sends a test e-mail from the settings and turns alert e-mail off on
// their account page.
func TestForgottenPasswordAndMailSettings(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	in.CreateMember("sam@example.com", "Sam Agent", authz.RoleAgent, adminPassword)
	ctx := browser(t)

	run(t, ctx, "forgot password link",
		chromedp.Navigate(in.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.Click(chromedp.CSS(`a[href="/password-reset"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
	)
	bothWidths(t, ctx, "forgot-password")
	run(t, ctx, "ask for a link",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "sam@example.com"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert--success")),
	)
	if s := text(t, ctx, ".alert--success"); !strings.Contains(s, "a reset link is on its way") {
		t.Errorf("answer: %q", s)
	}
	bothWidths(t, ctx, "forgot-password-sent")

	msg := srv.WaitFor(1, 10*time.Second)[0]
	link := regexp.MustCompile(`http://\S+/password-reset/[A-Z2-7]+`).FindString(msg.Text)
	if link == "" {
		t.Fatalf("no link in %q", msg.Text)
	}
	run(t, ctx, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#field-password")))
	bothWidths(t, ctx, "reset-form")
	run(t, ctx, "set a new password",
		chromedp.SendKeys(chromedp.CSS("#field-password"), resetPassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert--success")),
	)
	bothWidths(t, ctx, "reset-done")
	run(t, ctx, "to sign-in", chromedp.Click(chromedp.CSS(`a[href="/login"]`)), chromedp.WaitVisible(chromedp.CSS("#field-email")))
	signIn(t, ctx, in, "sam@example.com", resetPassword)
	signOut(t, ctx)

	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "security settings", chromedp.Navigate(in.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS("#mail-title")))
	run(t, ctx, "send a test e-mail",
		chromedp.Click(chromedp.CSS(`form[action="/settings/security/test-email"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "test e-mail is on its way to ada@example.com") {
		t.Errorf("flash: %q", s)
	}
	srv.WaitFor(2, 10*time.Second)
	run(t, ctx, "reload settings", chromedp.Navigate(in.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS("#mail-title")))
	run(t, ctx, "scroll to e-mail", chromedp.ScrollIntoView(chromedp.CSS("#mail-title")))
	bothWidths(t, ctx, "security-settings-mail")

	run(t, ctx, "account", chromedp.Navigate(in.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#alert-mail-title")))
	run(t, ctx, "turn alert mail off",
		chromedp.Click(chromedp.CSS(`form[action="/account/alert-mail"] input[type=checkbox]`)),
		chromedp.Click(chromedp.CSS(`form[action="/account/alert-mail"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "turned off") {
		t.Errorf("flash: %q", s)
	}
	run(t, ctx, "scroll to alert mail", chromedp.ScrollIntoView(chromedp.CSS("#alert-mail-title")))
	bothWidths(t, ctx, "account-alert-mail", `section[aria-labelledby="alert-mail-title"]`)
}

// Without a mail server: the forgot page says to ask an administrator, and an administrator gets
// the reset link to copy from the member page.
func TestPasswordResetWithoutMail(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	sam := in.CreateMember("sam@example.com", "Sam Agent", authz.RoleAgent, adminPassword)
	ctx := browser(t)
	run(t, ctx, "forgot page", chromedp.Navigate(in.URL+"/password-reset"), chromedp.WaitVisible(chromedp.CSS("main")))
	if s := text(t, ctx, "main"); !strings.Contains(s, "Ask an administrator") {
		t.Errorf("page: %q", s)
	}
	bothWidths(t, ctx, "forgot-password-no-mail")

	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "member page", chromedp.Navigate(in.URL+"/members/"+itoa(sam.ID)), chromedp.WaitVisible(chromedp.CSS("main")),
		chromedp.ScrollIntoView(chromedp.CSS("#access-actions-title")))
	bothWidths(t, ctx, "member-page-reset-button", `section[aria-labelledby="access-actions-title"]`)
	run(t, ctx, "issue a reset link",
		chromedp.Click(chromedp.CSS(`form[action$="/password-reset"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#reset-link")),
	)
	bothWidths(t, ctx, "reset-link-issued")
	run(t, ctx, "settings", chromedp.Navigate(in.URL+"/settings/security"), chromedp.WaitVisible(chromedp.CSS("#mail-title")),
		chromedp.ScrollIntoView(chromedp.CSS("#mail-title")))
	bothWidths(t, ctx, "security-settings-no-mail")
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
