package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

var secretOnPage = regexp.MustCompile(`value="(sb_live_[A-Za-z0-9_-]{43})"`)

// createKeyOnPage creates a key through the Developers page as c and returns its secret.
func createKeyOnPage(t *testing.T, c *apptest.Client, form url.Values) string {
	t.Helper()
	r := c.PostForm("/developers/keys", form)
	if r.Status != http.StatusOK {
		t.Fatalf("create key: %d %s", r.Status, r.Location())
	}
	m := secretOnPage.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no secret on the page after creating a key")
	}
	return m[1]
}

func TestDevelopersPageCreatesAKeyAfterReauthenticationAndShowsItOnce(t *testing.T) {
	in := apptest.Start(t)
	dev, c := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	if r := c.Get("/"); !strings.Contains(r.Body, `href="/developers"`) {
		t.Error("no Developers link in the navigation of a Developer")
	}
	form := url.Values{"name": {"Zapier templates"}, "scope": {"templates.view"}, "scope_numbers": {"all"}, "expiry": {"30"}}

	// Eleven minutes after sign-in the form and the POST both send to re-authentication.
	in.Clock.Advance(11 * time.Minute)
	if r := c.Get("/developers/keys/new"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Fatalf("form without a fresh sign-in: %d %s", r.Status, r.Location())
	}
	if r := c.PostForm("/developers/keys", form); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Fatalf("create without a fresh sign-in: %d %s", r.Status, r.Location())
	}
	if keys, _ := in.App.APIKeys.Store().List(context.Background()); len(keys) != 0 {
		t.Fatal("a key was created without re-authentication")
	}
	if r := c.PostForm("/reauth", url.Values{"code": {in.TOTPCode("dev@example.com")}, "next": {"/developers/keys/new"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("re-authenticate: %d", r.Status)
	}
	page := c.Get("/developers/keys/new")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="templates.view"`) {
		t.Fatalf("form: %d", page.Status)
	}
	if strings.Contains(page.Body, `value="conversations.view_all"`) {
		t.Error("the form offers a permission the Developer does not hold")
	}
	if strings.Contains(page.Body, `value="never"`) {
		t.Error("the form offers keys that never expire, which the workspace does not allow")
	}

	// Bad input: a clear message, nothing stored.
	bad := c.PostForm("/developers/keys", url.Values{"name": {""}, "scope": {"conversations.view_all"}, "scope_numbers": {"all"}, "expiry": {"400"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "permissions you hold yourself") || !strings.Contains(bad.Body, "Name the key") {
		t.Errorf("refused form: %d", bad.Status)
	}
	secret := createKeyOnPage(t, c, form)
	if !strings.Contains(c.Get("/developers").Body, "Zapier templates") {
		t.Error("the new key is not listed")
	}
	list := c.Get("/developers")
	if strings.Contains(list.Body, secret) || strings.Contains(list.Body, secret[8:20]) {
		t.Fatal("the secret is shown again on the list")
	}
	for _, want := range []string{"sb_live_…" + secret[len(secret)-4:], "Templates: view", "dev", "Never", "All numbers"} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if !strings.Contains(in.Logs.String(), "/developers/keys") || strings.Contains(in.Logs.String(), secret) {
		t.Error("the secret is in the server log")
	}
	var events int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'api_key.created' AND actor_type = 'member' AND actor_id = ?`, strconv.FormatInt(dev.ID, 10)).Scan(&events)
	if events != 1 {
		t.Errorf("api_key.created events: %d", events)
	}

	// The key works on the API, then is revoked and refused at once.
	api := newAPIClient(t, in, secret)
	if r := api.get("/api/v1/templates"); r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/templates with the new key: %d %s", r.Status, r.Body)
	}
	if r := c.Get("/developers"); !strings.Contains(r.Body, "127.0.0.1") {
		t.Error("the list does not show the address the key was last used from")
	}
	keys, _ := in.App.APIKeys.Store().List(context.Background())
	if r := c.PostForm("/developers/keys/"+strconv.FormatInt(keys[0].ID, 10)+"/revoke", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.Status)
	}
	if r := api.get("/api/v1/templates"); r.Status != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", r.Status)
	}
}

func TestOnlyAnAdministratorAllowsKeysThatNeverExpire(t *testing.T) {
	in := apptest.Start(t)
	_, dev := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	form := url.Values{"name": {"forever"}, "scope": {"templates.view"}, "scope_numbers": {"all"}, "expiry": {"never"}}
	if r := dev.PostForm("/developers/keys", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "never expire are switched off") {
		t.Errorf("never-expiring key while not allowed: %d", r.Status)
	}
	if r := dev.PostForm("/developers/settings", url.Values{"allow_no_expiry": {"1"}}); r.Status != http.StatusForbidden {
		t.Errorf("a Developer changed the key policy: %d", r.Status)
	}
	if r := admin.PostForm("/developers/settings", url.Values{"allow_no_expiry": {"1"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("administrator allows keys without expiry: %d", r.Status)
	}
	createKeyOnPage(t, dev, form)
	if !strings.Contains(dev.Get("/developers").Body, "Never") {
		t.Error("the key does not show that it never expires")
	}
}
