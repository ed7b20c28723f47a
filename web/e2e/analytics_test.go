package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

const analystPassword = "numbers tell the story"

// An analyst opens Analytics from the navigation, sees every chart drawn (the SVG images load
// under the strict CSP), opens a chart's table from the keyboard, and the page fits a phone, in
// light and in dark mode.
func TestAnalyticsPage(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	gen, err := analyticsgen.Generate(context.Background(), in.App.DB, analyticsgen.Options{Conversations: 600, Days: 90, Now: in.Clock.Now(), Seed: 5,
		Labels: []string{"VIP"}})
	if err != nil {
		t.Fatal(err)
	}
	in.CreateMember("nadia@example.com", "Nadia Analyst", authz.RoleAnalyst, analystPassword)
	ctx := browser(t)
	signIn(t, ctx, in, "nadia@example.com", analystPassword)
	run(t, ctx, "open analytics",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/analytics"]`)),
		chromedp.WaitVisible(chromedp.CSS(".analytics-chart")),
	)
	chartsDrawn(t, ctx, 4)
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll(".analytics-figure__img")).every(i => !i.currentSrc.includes("size=narrow"))`))
	if err != nil || !wide {
		t.Errorf("a desktop gets the phone-width charts: %v", err)
	}
	screenshot(t, ctx, "desktop")

	// Keyboard: tab to the first chart's table toggle and open it with Enter.
	run(t, ctx, "open a table from the keyboard",
		chromedp.Focus(chromedp.CSS(".analytics-table summary")),
		chromedp.KeyEvent("\r"),
	)
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(".analytics-table").open`))
	if err != nil || !open {
		t.Fatalf("the table did not open from the keyboard: %v", err)
	}

	run(t, ctx, "dark mode", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	}), chromedp.Navigate(in.URL+"/analytics?range=90d&tz=Europe/Berlin"), chromedp.WaitVisible(chromedp.CSS(".analytics-chart")))
	chartsDrawn(t, ctx, 4)
	dark, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`Array.from(document.querySelectorAll(".analytics-figure__img")).every(i => i.currentSrc.includes("theme=dark"))`))
	if err != nil || !dark {
		t.Errorf("dark mode does not use the dark charts: %v", err)
	}
	// A full-page capture resets the emulated media; the window as the member sees it keeps it.
	if dir := os.Getenv("SWITCHBOARD_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			_ = os.WriteFile(filepath.Join(dir, t.Name()+"-desktop-dark.png"), png, 0o644)
		}
	}
	run(t, ctx, "light again", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
		return err
	}))
	fitsPhoneWidth(t, ctx, in.URL+"/analytics?range=30d")
	fitsPhoneWidth(t, ctx, in.URL+"/analytics?range=today")
	// The label filter: chosen in the form, kept in the URL, and the page says what it narrows.
	labelled := in.URL + "/analytics?range=90d&label=" + strconv.FormatInt(gen.Labels[0], 10)
	fitsPhoneWidth(t, ctx, labelled)
	note, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[role="note"]') || {}).textContent || ""`))
	if err != nil || !strings.Contains(note, "label filter applies to conversations") {
		t.Fatalf("no note on what the label filter narrows: %q %v", note, err)
	}
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("field-label").selectedOptions[0].textContent`))
	if err != nil || strings.TrimSpace(selected) != "VIP" {
		t.Fatalf("label select shows %q: %v", selected, err)
	}
	run(t, ctx, "templates table at desktop", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(labelled),
		chromedp.WaitVisible(chromedp.CSS("#chart-templates")), chromedp.ScrollIntoView(chromedp.CSS("#chart-templates")))
	screenshot(t, ctx, "desktop-label")
}

// An administrator (billing.view and billing.manage) opens Usage and cost: billable messages,
// limits and quality, the rate card and its form; on a desktop and on a phone.
func TestUsagePage(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	if _, err := analyticsgen.Generate(context.Background(), in.App.DB, analyticsgen.Options{Conversations: 300, Days: 60, Now: in.Clock.Now(), Seed: 6}); err != nil {
		t.Fatal(err)
	}
	var meta string
	in.App.DB.R.QueryRow(`SELECT phone_number_id FROM phone_numbers ORDER BY id LIMIT 1`).Scan(&meta)
	for i := range 40 {
		status := 200
		if i%9 == 0 {
			status = 400
		}
		in.App.CloudAPICalls.Record(context.Background(), whatsapp.Call{At: in.Clock.Now(), Method: "POST", Path: "/v21.0/" + meta + "/messages", Status: status})
	}
	if err := in.App.CloudAPICalls.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	in.CreateMember("olga@example.com", "Olga Owner", authz.RoleAdministrator, "owner of the whole shop")
	signIn(t, ctx, in, "olga@example.com", "owner of the whole shop")
	run(t, ctx, "open usage",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/usage"]`)),
		chromedp.WaitVisible(chromedp.CSS("#rate-form-title")),
	)
	screenshot(t, ctx, "usage")
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("api-title").closest("section").textContent`)); err != nil ||
		!strings.Contains(text, "POST /{phone-number-id}/messages") || !strings.Contains(text, "Error rate") {
		t.Fatalf("Cloud API usage section: %q %v", text, err)
	}
	fitsPhoneWidth(t, ctx, in.URL+"/usage")
}

// chartsDrawn waits until at least n chart images have loaded with content.
func chartsDrawn(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	waitFor(t, ctx, "the charts", func() bool {
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll(".analytics-figure__img")).filter(i => { i.loading = "eager"; return i.complete && i.naturalWidth > 0 }).length`))
		return err == nil && loaded >= n
	})
}
