package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
)

const gracePassword = "compass lantern orchard river"

// The owner claims a fresh instance with the link from the log, is taken to 2FA enrolment
// (Administrators must use it), enrols with a code computed from the key on the page, keeps the
// recovery codes, signs out and in with a code; a replayed code and a reused recovery code are
// refused.
func TestSetupEnrolSignOutSignIn(t *testing.T) {
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
	run(t, ctx, "fill set-up with a common password",
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#field-email"), "grace@example.com"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "password1234"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-password-error")),
	)
	if msg := text(t, ctx, "#field-password-error"); !strings.Contains(msg, "commonly used") {
		t.Errorf("common password error reads %q", msg)
	}
	run(t, ctx, "retry with a good password",
		chromedp.SendKeys(chromedp.CSS("#field-password"), gracePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#totp-secret")),
	)
	screenshot(t, ctx, "enrol")
	in.RememberTOTP("grace@example.com", text(t, ctx, "#totp-secret"))
	run(t, ctx, "a wrong code is refused",
		chromedp.SendKeys(chromedp.CSS("#field-code"), "000000"),
		chromedp.Click(chromedp.CSS(`form[action="/account/2fa"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#field-code-error")),
	)
	run(t, ctx, "enrol with the right code",
		chromedp.SendKeys(chromedp.CSS("#field-code"), in.TOTPCode("grace@example.com")),
		chromedp.Click(chromedp.CSS(`form[action="/account/2fa"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	)
	screenshot(t, ctx, "recovery-codes")
	codes := strings.Fields(text(t, ctx, "#recovery-codes"))
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	run(t, ctx, "continue to the dashboard",
		chromedp.Click(chromedp.CSS(`a[href="/"].btn--primary`)),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	if h := text(t, ctx, ".page-header__title"); h != "Welcome, Grace" {
		t.Errorf("dashboard heading %q", h)
	}
	screenshot(t, ctx, "dashboard")
	signOut(t, ctx)
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
	code := in.TOTPCode("grace@example.com")
	passwordStep(t, ctx, in, "grace@example.com")
	screenshot(t, ctx, "code-step")
	run(t, ctx, "sign in with a code",
		chromedp.SendKeys(chromedp.CSS("#field-code"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	signOut(t, ctx)

	passwordStep(t, ctx, in, "grace@example.com")
	run(t, ctx, "replay the same code",
		chromedp.SendKeys(chromedp.CSS("#field-code"), code),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert--error")),
	)
	if msg := text(t, ctx, ".alert--error"); !strings.Contains(msg, "already used") {
		t.Errorf("replayed code answered %q", msg)
	}
	run(t, ctx, "use a recovery code",
		chromedp.Click(chromedp.CSS(`a[href*="recovery=1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-code-hint")),
		chromedp.SendKeys(chromedp.CSS("#field-code"), codes[0]),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	signOut(t, ctx)

	passwordStep(t, ctx, in, "grace@example.com")
	run(t, ctx, "reuse the recovery code",
		chromedp.Click(chromedp.CSS(`a[href*="recovery=1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-code-hint")),
		chromedp.SendKeys(chromedp.CSS("#field-code"), codes[0]),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".alert--error")),
	)
	if msg := text(t, ctx, ".alert--error"); !strings.Contains(msg, "already used") {
		t.Errorf("reused recovery code answered %q", msg)
	}

	run(t, ctx, "sign in with another recovery code and open the activity log",
		chromedp.SendKeys(chromedp.CSS("#field-code"), codes[1]),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/activity"]`)),
		chromedp.WaitVisible(chromedp.CSS("table")),
	)
	body := text(t, ctx, "table")
	// The list says what happened in words (audit.ActionLabel); the codes are on each event's page.
	for _, action := range []string{"setup.completed", "member.2fa_enabled", "member.totp_replayed", "member.recovery_code_used", "member.sign_in_failed"} {
		if !strings.Contains(body, audit.ActionLabel(action)) {
			t.Errorf("activity page lacks %s (%q)", action, audit.ActionLabel(action))
		}
	}
	screenshot(t, ctx, "activity")
}

// passwordStep enters the password on the sign-in page and waits for the code step.
func passwordStep(t *testing.T, ctx context.Context, in *apptest.Instance, email string) {
	t.Helper()
	run(t, ctx, "password step",
		chromedp.Navigate(in.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), email),
		chromedp.SendKeys(chromedp.CSS("#field-password"), gracePassword),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-code")),
	)
}
