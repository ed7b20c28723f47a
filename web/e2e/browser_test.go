// Package e2e drives the real server with headless Chromium, as a person would.
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for one test. Without Chromium the test is skipped, unless
// SWITCHBOARD_E2E=1 (as in CI) says browser tests must run, in which case it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserFor(t, 90*time.Second)
}

// browserFor is browser with a longer time limit, for a test that walks many pages.
func browserFor(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else if os.Getenv("SWITCHBOARD_E2E") == "1" {
			t.Fatalf("SWITCHBOARD_E2E=1 but Chromium is missing at %s: install it (apt-get install -y chromium)", chromiumPath)
		} else {
			t.Skipf("Chromium not installed at %s; set SWITCHBOARD_E2E=1 to make this a failure", chromiumPath)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// run runs browser actions and fails the test with the step's name if one fails.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+step)
		t.Fatalf("%s: %v", step, err)
	}
}

// screenshot saves the page as PNG in $SWITCHBOARD_SCREENSHOTS (when set) so a person can look
// at what the test saw.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// text reads the visible text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		screenshot(t, ctx, "failed-read")
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// signIn signs in through the sign-in form, answering the 2FA step with a code from the test's
// authenticator when the member has one, and waits for the dashboard.
func signIn(t *testing.T, ctx context.Context, in *apptest.Instance, email, password string) {
	t.Helper()
	run(t, ctx, "sign in as "+email,
		chromedp.Navigate(in.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
		chromedp.SendKeys(chromedp.CSS("#field-email"), email),
		chromedp.SendKeys(chromedp.CSS("#field-password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title, #field-code")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, "/login/2fa") {
		run(t, ctx, "2FA code for "+email,
			chromedp.SendKeys(chromedp.CSS("#field-code"), in.TOTPCode(email)),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
		)
	}
}

// signOut uses the sign-out button in the sidebar.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	run(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(".sidebar .user-menu button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
	)
}

// fitsPhoneWidth loads url at 390 px wide (an iPhone's width) and fails when the page scrolls
// sideways: every page must work on a phone.
func fitsPhoneWidth(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	run(t, ctx, "phone width "+url,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("main")),
	)
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		t.Errorf("%s is %v px wide at a 390 px viewport: it scrolls sideways on a phone", url, width)
	}
	screenshot(t, ctx, "phone-"+strings.Trim(strings.ReplaceAll(strings.TrimPrefix(url, "http://"), "/", "_"), "_"))
	run(t, ctx, "back to desktop width", chromedp.EmulateViewport(1280, 860))
}
