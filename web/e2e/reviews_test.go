package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// An administrator starts an access review in the browser, revokes a member's access with a
// comment, closes the review and reads its report; every review page fits a phone.
func TestAccessReviewInTheBrowser(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	in.CreateMember("bea@example.com", "Bea Admin", authz.RoleAdministrator, adminPassword)
	gus := in.CreateMember("gus@example.com", "Gus Agent", authz.RoleAgent, adminPassword)
	in.CreateMember("ana@example.com", "Ana Analyst", authz.RoleAnalyst, adminPassword)
	ctx := browser(t)
	t.Cleanup(func() {
		if t.Failed() {
			l := in.Logs.String()
			t.Log(l[max(0, len(l)-4000):])
		}
	})
	run(t, ctx, "desktop width", chromedp.EmulateViewport(1366, 900))
	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "open access reviews",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/reviews"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/reviews/new"]`)),
	)
	screenshot(t, ctx, "desktop-reviews")
	run(t, ctx, "start a review",
		chromedp.Click(chromedp.CSS(`a[href="/reviews/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-title")),
		chromedp.SendKeys(chromedp.CSS("#field-title"), "Q3 access review"),
		chromedp.Click(chromedp.CSS(`input[name=reviewer]:nth-of-type(1)`)),
	)
	// Tick both administrators as reviewers.
	run(t, ctx, "choose reviewers", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=reviewer]').forEach(b => b.checked = true)`))
	screenshot(t, ctx, "desktop-new")
	run(t, ctx, "submit the review",
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("#items-title")),
	)
	item := "#item-" + itemOf(t, in, gus.ID)
	run(t, ctx, "revoke Gus",
		chromedp.Click(chromedp.CSS(item+` input[value=revoke]`)),
		chromedp.SendKeys(chromedp.CSS(item+" textarea"), "Moved to another team"),
		chromedp.Click(chromedp.CSS(item+" button[type=submit]")),
		// The flash of the review opening is still up: wait for the one naming the decision.
		chromedp.WaitVisible(chromedp.Search(`//*[contains(@class,"alert") and contains(., "Gus Agent")]`)),
	)
	if s := text(t, ctx, item); !strings.Contains(s, "Deactivated; sessions ended") || !strings.Contains(s, "Moved to another team") {
		t.Errorf("Gus's item after the decision: %q", s)
	}
	screenshot(t, ctx, "desktop-campaign")
	run(t, ctx, "close the review",
		chromedp.Click(chromedp.CSS(`form[action$="/close"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#report-title")),
	)
	screenshot(t, ctx, "desktop-report")
	if s := text(t, ctx, "table"); !strings.Contains(s, "Revoke") || !strings.Contains(s, "Not reviewed") {
		t.Errorf("report table: %q", s)
	}
	base := in.URL + "/reviews/1"
	for _, u := range []string{in.URL + "/reviews", in.URL + "/reviews/new", base, base + "/report"} {
		fitsPhoneWidth(t, ctx, u)
	}
}

func itemOf(t *testing.T, in *apptest.Instance, memberID int64) string {
	t.Helper()
	var id string
	if err := in.App.DB.R.QueryRow(`SELECT id FROM access_review_items WHERE member_id = ?`, memberID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
