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

const adminPassword = "lighthouse keeper morning tide"

// An administrator invites an Analyst, who joins and sees only what an Analyst may; then the
// administrator builds a custom role by ticking cells of the matrix.
func TestInviteAnalystAndBuildACustomRole(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	ctx := browser(t)
	t.Cleanup(func() {
		if t.Failed() {
			l := in.Logs.String()
			t.Log(l[max(0, len(l)-4000):])
		}
	})
	signIn(t, ctx, in, "ada@example.com", adminPassword)

	run(t, ctx, "open the invitation form",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/members"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/members/invite"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/members/invite"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-email")),
	)
	analystID := roleOption(t, in, authz.RoleAnalyst)
	run(t, ctx, "invite an analyst",
		chromedp.SendKeys(chromedp.CSS("#field-email"), "ana@example.com"),
		chromedp.SetValue(chromedp.CSS("#field-role"), analystID),
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("#invitation-link")),
	)
	screenshot(t, ctx, "invitation")
	link, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#invitation-link")))
	if err != nil || !strings.Contains(link, "/invitations/") {
		t.Fatalf("invitation link %q: %v", link, err)
	}
	signOut(t, ctx)

	run(t, ctx, "accept the invitation",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#field-name")),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Ana Analyst"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "quiet meadow under stars"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".page-header__title")),
	)
	if h := text(t, ctx, ".page-header__title"); h != "Welcome, Ana" {
		t.Errorf("analyst dashboard heading %q", h)
	}
	nav := text(t, ctx, ".sidebar nav")
	if strings.Contains(nav, "Members") || strings.Contains(nav, "Roles") || strings.Contains(nav, "Activity") {
		t.Errorf("an Analyst's navigation offers %q", nav)
	}
	screenshot(t, ctx, "analyst-dashboard")
	run(t, ctx, "open Members by URL",
		chromedp.Navigate(in.URL+"/members"),
		chromedp.WaitVisible(chromedp.CSS(".empty-state__title")),
	)
	if h := text(t, ctx, ".empty-state__title"); h != "Not allowed" {
		t.Errorf("direct URL to Members shows %q", h)
	}
	signOut(t, ctx)

	signIn(t, ctx, in, "ada@example.com", adminPassword)
	run(t, ctx, "create a custom role",
		chromedp.Navigate(in.URL+"/roles/new"),
		chromedp.WaitVisible(chromedp.CSS("#field-name")),
		chromedp.SendKeys(chromedp.CSS("#field-name"), "Campaign managers"),
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS(".matrix")),
	)
	roles, err := in.App.Members.Store().Roles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, r := range roles {
		if r.Name == "Campaign managers" {
			id = strconv.FormatInt(r.ID, 10)
		}
	}
	if id == "" {
		t.Fatal("the new role is not stored")
	}
	for _, perm := range []authz.Permission{authz.TemplatesView, authz.TemplatesCreate, authz.AnalyticsView} {
		cell := "#cell-" + id + "-" + strings.ReplaceAll(perm.ID(), ".", "_") + " input"
		run(t, ctx, "tick "+perm.ID(),
			chromedp.Click(chromedp.CSS(cell)),
			// The checked attribute comes only from the server's answer (a click sets the property).
			chromedp.WaitVisible(chromedp.CSS(cell+"[checked]")),
		)
		msg := text(t, ctx, "#matrix-status")
		if !strings.Contains(msg, "now grants “"+perm.Label()+"”") {
			t.Errorf("after ticking %s the status says %q", perm, msg)
		}
	}
	screenshot(t, ctx, "matrix")
	roles, err = in.App.Members.Store().Roles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Name == "Campaign managers" && r.Permissions.String() != "templates.view templates.create analytics.view" {
			t.Errorf("the role grants %q", r.Permissions.String())
		}
	}
}

func roleOption(t *testing.T, in *apptest.Instance, key string) string {
	t.Helper()
	r, err := in.App.Members.Store().RoleByKey(context.Background(), in.App.DB.R, key)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatInt(r.ID, 10)
}
