package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// A member of a custom role holding only webhooks.manage finds Developers in the navigation and
// lands on the parts they may use; API keys are not offered and their page refuses. A Slack
// endpoint's URL is then shown only masked, while its events go to the whole URL.
func TestWebhooksOnlyRoleFindsDevelopersAndSlackURLIsMasked(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	ctx0 := context.Background()
	admin := in.CreateMember("admin@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	adminP, _, _ := in.App.Members.Store().Principal(ctx0, admin.ID)
	role, err := in.App.Members.CreateRole(ctx0, adminP, members.RoleInput{Name: "Webhook operator"}, authz.NewSet(authz.WebhooksManage))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := in.App.Members.Store().RoleByID(ctx0, role.ID)
	in.CreateMember("hooks@example.com", "Hana Hooks", full.Key, adminPassword)

	const secretPart = "vQ7xK2mN9pR4sT6uW8yZ"
	var hits atomic.Int64
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/"+secretPart+"aBcD") {
			hits.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer slack.Close()

	ctx := browser(t)
	signIn(t, ctx, in, "hooks@example.com", adminPassword)
	run(t, ctx, "open Developers from the navigation",
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(in.URL+"/"),
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/developers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.btn[href="/developers/webhooks"]`)),
	)
	page := text(t, ctx, "main")
	if strings.Contains(page, "Create API key") || strings.Contains(page, "Cloud API log") {
		t.Errorf("the Developers page of a webhooks-only role offers more: %q", page)
	}
	atBothWidths(t, ctx, "developers-webhooks-only")

	run(t, ctx, "the API keys form refuses", chromedp.Navigate(in.URL+"/developers/keys/new"), chromedp.WaitVisible(chromedp.CSS("main")))
	if body := text(t, ctx, "main"); !strings.Contains(body, "Your role does not allow this") {
		t.Errorf("/developers/keys/new for a webhooks-only role: %q", body)
	}
	run(t, ctx, "the webhooks tab", chromedp.Navigate(in.URL+"/developers/webhooks"), chromedp.WaitVisible(chromedp.CSS(`.page-header a[href="/developers/webhooks/new"]`)))
	if tabs := text(t, ctx, ".tabs"); strings.Contains(tabs, "API keys") {
		t.Errorf("the webhooks-only role is offered the API keys tab: %q", tabs)
	}

	// The Slack format is for member changes and alerts, which need members.view and
	// alerts.view: an Administrator adds the channel.
	signOut(t, ctx)
	signIn(t, ctx, in, "admin@example.com", adminPassword)
	run(t, ctx, "open the webhooks", chromedp.EmulateViewport(1366, 900), chromedp.Navigate(in.URL+"/developers/webhooks"),
		chromedp.WaitVisible(chromedp.CSS(`.page-header a[href="/developers/webhooks/new"]`)))
	run(t, ctx, "add a Slack endpoint",
		chromedp.Click(chromedp.CSS(`.page-header a[href="/developers/webhooks/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-url")),
		chromedp.SendKeys(chromedp.CSS("#field-url"), slack.URL+"/services/T0123ABCD/B0456EFGH/"+secretPart+"aBcD"),
		chromedp.SendKeys(chromedp.CSS("#field-description"), "#ops channel"),
		chromedp.Click(chromedp.CSS(`input[name=format][value=slack]`)),
		chromedp.Click(chromedp.CSS(`input[name=event][value="member.changed"]`)),
		chromedp.Click(chromedp.CSS("form button[type=submit].btn--primary")),
		chromedp.WaitVisible(chromedp.CSS("#new-webhook-secret")),
	)
	run(t, ctx, "send a test event",
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#delivery-log .badge--green`)),
	)
	if hits.Load() != 1 {
		t.Errorf("the Slack receiver got %d events at the whole URL, want 1", hits.Load())
	}
	title := text(t, ctx, "#endpoint-title")
	if strings.Contains(title, secretPart) || !strings.HasSuffix(title, "/services/T0123ABCD/B0456EFGH/…aBcD") {
		t.Errorf("the endpoint's page shows %q", title)
	}
	atBothWidths(t, ctx, "developers-slack-endpoint")
	run(t, ctx, "the list", chromedp.Navigate(in.URL+"/developers/webhooks"), chromedp.WaitVisible(chromedp.CSS(".hook-url")))
	if list := text(t, ctx, "main"); strings.Contains(list, secretPart) || !strings.Contains(list, "…aBcD") {
		t.Errorf("the webhooks list shows %q", list)
	}
	atBothWidths(t, ctx, "developers-webhooks-list")

}
