package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// customRoleMember signs in a member of a new custom role holding exactly perms.
func customRoleMember(t *testing.T, in *apptest.Instance, name, email string, perms ...authz.Permission) *apptest.Client {
	t.Helper()
	ctx := context.Background()
	admin := in.CreateMember("admin-"+email, "Ada Admin", authz.RoleAdministrator, ownerPassword)
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	role, err := in.App.Members.CreateRole(ctx, adminP, membersRoleInput(name), authz.NewSet(perms...))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := in.App.Members.Store().RoleByID(ctx, role.ID)
	in.CreateMember(email, name+" member", full.Key, ownerPassword)
	c := in.Client()
	c.SignIn(email, ownerPassword)
	return c
}

// A custom role with only webhooks.manage finds the Developers entry and the webhooks there,
// and nothing of the API keys: their page is not offered and their routes still refuse.
func TestDevelopersOpenToAWebhooksOnlyRole(t *testing.T) {
	in := apptest.Start(t)
	c := customRoleMember(t, in, "Webhook operator", "hooks@example.com", authz.WebhooksManage)

	home := c.Get("/")
	if home.Status != http.StatusOK || !strings.Contains(home.Body, `href="/developers"`) {
		t.Fatalf("the navigation of a webhooks-only role has no Developers entry: %d", home.Status)
	}
	dev := c.Get("/developers")
	if dev.Status != http.StatusOK {
		t.Fatalf("/developers: %d", dev.Status)
	}
	if !strings.Contains(dev.Body, `href="/developers/webhooks"`) || !strings.Contains(dev.Body, "Open webhooks") {
		t.Error("the Developers page does not offer the webhooks")
	}
	for _, absent := range []string{"Create API key", "/developers/keys/new", ">API keys<", "Cloud API log", "Key policy"} {
		if strings.Contains(dev.Body, absent) {
			t.Errorf("the Developers page of a webhooks-only role shows %q", absent)
		}
	}
	if r := c.Get("/developers/webhooks"); r.Status != http.StatusOK || strings.Contains(r.Body, ">API keys<") {
		t.Errorf("webhooks page: %d (API keys tab shown: %v)", r.Status, strings.Contains(r.Body, ">API keys<"))
	}
	for _, r := range []apptest.Response{
		c.Get("/developers/keys/new"),
		c.PostForm("/developers/keys", url.Values{"name": {"sneaky"}, "scope": {"webhooks.manage"}}),
		c.PostForm("/developers/keys/1/revoke", nil),
		c.Get("/developers/api-log"),
	} {
		if r.Status != http.StatusForbidden {
			t.Errorf("a webhooks-only role reached an API keys or call log route: %d", r.Status)
		}
	}
	var n int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM api_keys`).Scan(&n)
	if n != 0 {
		t.Errorf("%d API keys exist after the refused requests", n)
	}
}

// Only api_logs.view: the Developers page offers the call log, not webhooks or keys.
func TestDevelopersOpenToACallLogOnlyRole(t *testing.T) {
	in := apptest.Start(t)
	c := customRoleMember(t, in, "Log reader", "logs@example.com", authz.APILogsView)
	dev := c.Get("/developers")
	if dev.Status != http.StatusOK || !strings.Contains(dev.Body, `href="/developers/api-log"`) {
		t.Fatalf("/developers: %d", dev.Status)
	}
	if strings.Contains(dev.Body, "Open webhooks") || strings.Contains(dev.Body, "Create API key") {
		t.Error("the call-log-only role is offered webhooks or API keys")
	}
	if r := c.Get("/developers/webhooks"); r.Status != http.StatusForbidden {
		t.Errorf("webhooks page: %d", r.Status)
	}
	if r := c.Get("/developers/api-log"); r.Status != http.StatusOK {
		t.Errorf("call log: %d", r.Status)
	}
}
