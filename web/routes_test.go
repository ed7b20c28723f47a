package web_test

import (
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// Every route on the router must come from the routes table with a declared requirement: a
// route added any other way, or without one, fails here.
func TestEveryRegisteredRouteDeclaresAccess(t *testing.T) {
	in := apptest.Start(t)
	declared := map[string]authz.Requirement{}
	for _, r := range in.App.Server.Routes() {
		declared[r.Method+" "+r.Path] = r.Access
	}
	routes := in.App.Server.Echo().Routes()
	if len(routes) == 0 {
		t.Fatal("no routes registered")
	}
	for _, r := range routes {
		req, ok := declared[r.Method+" "+r.Path]
		if !ok {
			t.Errorf("%s %s is registered outside the routes table", r.Method, r.Path)
			continue
		}
		if !req.Declared() {
			t.Errorf("%s %s declares no access requirement", r.Method, r.Path)
		}
	}
}

// publicRoutes is the allow-list of routes anyone may call; any other public route is a mistake.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /metrics": true, "GET /static/*": true, "HEAD /static/*": true,
	"GET /setup": true, "POST /setup": true, "GET /login": true, "POST /login": true, "GET /login/2fa": true, "POST /login/2fa": true,
	"GET /webhooks/whatsapp": true, "POST /webhooks/whatsapp": true, "GET /invitations/:token": true, "POST /invitations/:token": true,
	"GET /password-reset": true, "POST /password-reset": true, "GET /password-reset/:token": true, "POST /password-reset/:token": true,
	"GET /api/v1/openapi.json": true, "GET /api/v1/docs": true,
}

func TestOnlyAllowListedRoutesArePublic(t *testing.T) {
	in := apptest.Start(t)
	for _, r := range in.App.Server.Routes() {
		key := r.Method + " " + r.Path
		if r.Access.IsPublic() != publicRoutes[key] {
			t.Errorf("%s: public = %v, allow-list says %v", key, r.Access.IsPublic(), publicRoutes[key])
		}
	}
}

// For every route guarded by a permission and every built-in role, a member of that role is let
// through exactly when the role holds the permission. The cases come from the routes table and
// the role definitions, so a new route is covered without editing this test. API routes are
// tried with an API key whose scopes are the role's permissions (made by an Administrator), so
// the same matrix covers every API scope.
func TestEveryRouteForEveryBuiltinRole(t *testing.T) {
	in := apptest.Start(t)
	const password = "a long and unguessable passphrase"
	clients := map[string]*apptest.Client{}
	for _, role := range authz.BuiltinRoles() {
		in.CreateMember(role.Key+"@example.com", "Test "+role.Name, role.Key, password)
		c := in.Client()
		c.SignIn(role.Key+"@example.com", password)
		clients[role.Key] = c
	}
	var adminID int64
	in.App.DB.R.QueryRow(`SELECT id FROM members WHERE email = ?`, authz.RoleAdministrator+"@example.com").Scan(&adminID)
	keys := map[string]*apiClient{}
	for _, role := range authz.BuiltinRoles() {
		_, secret := makeKey(t, in, adminID, role.Permissions)
		keys[role.Key] = newAPIClient(t, in, secret)
	}
	anonymous := in.Client()
	routes := in.App.Server.Routes()
	// Signing out ends the session the other routes are tried with, and revoking key 1 the
	// Administrator's API key: try them last.
	last := func(p string) int {
		switch p {
		case "/logout":
			return 2
		case "/developers/keys/:id/revoke":
			return 1
		}
		return 0
	}
	sort.SliceStable(routes, func(i, j int) bool { return last(routes[i].Path) < last(routes[j].Path) })
	for _, r := range routes {
		path := concretePath(r.Path)
		perms := r.Access.Permissions()
		guarded := len(perms) > 0
		for _, role := range authz.BuiltinRoles() {
			var resp apptest.Response
			if strings.HasPrefix(path, "/api/") {
				ar := keys[role.Key].do(r.Method, path, map[bool]string{true: "{}"}[r.Method == http.MethodPost])
				resp = apptest.Response{Status: ar.Status, Header: ar.Header, Body: ar.Body}
				if ar.Status == http.StatusUnauthorized {
					t.Errorf("%s %s: the key of %s was refused: %s", r.Method, path, role.Name, ar.Body)
				}
			} else {
				resp = send(clients[role.Key], r.Method, path)
			}
			denied := resp.Status == http.StatusForbidden && routeRefusal(resp)
			holds := false
			for _, p := range perms {
				holds = holds || role.Permissions.Has(p)
			}
			switch {
			case guarded && holds && denied:
				t.Errorf("%s %s: %s holds %s but was refused", r.Method, path, role.Name, r.Access)
			case guarded && !holds && !denied:
				t.Errorf("%s %s: %s lacks %s but got %d", r.Method, path, role.Name, r.Access, resp.Status)
			case !guarded && denied:
				t.Errorf("%s %s (%s): %s was refused", r.Method, path, r.Access, role.Name)
			}
		}
		if !r.Access.IsPublic() {
			resp := send(anonymous, r.Method, path)
			if resp.Status != http.StatusSeeOther && resp.Status != http.StatusUnauthorized && resp.Status != http.StatusForbidden {
				t.Errorf("%s %s: anonymous got %d, want a redirect to sign-in or a refusal", r.Method, path, resp.Status)
			}
			if resp.Status == http.StatusSeeOther && !strings.HasPrefix(resp.Location(), "/login") {
				t.Errorf("%s %s: anonymous redirected to %q", r.Method, path, resp.Location())
			}
		}
	}
}

// routeRefusal tells the guard's refusal ("Your role does not allow this") from a refusal by a
// domain rule further in (an escalation check, a built-in role), which is not the router's doing.
func routeRefusal(r apptest.Response) bool {
	return strings.Contains(r.Body, "Your role does not allow this") || strings.Contains(r.Body, "#problem-missing-scope")
}

func concretePath(p string) string {
	var parts []string
	for _, seg := range strings.Split(p, "/") {
		switch {
		case strings.HasPrefix(seg, ":"):
			seg = "1"
		case seg == "*":
			seg = "x"
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, "/")
}

func send(c *apptest.Client, method, path string) apptest.Response {
	if method != http.MethodGet {
		return c.PostForm(path, url.Values{})
	}
	resp, err := c.HTTP.Get(c.URL(path))
	if err != nil {
		return apptest.Response{Status: -1, Body: err.Error()}
	}
	defer resp.Body.Close()
	r := apptest.Response{Status: resp.StatusCode, Header: resp.Header}
	// An event stream never ends: its status and headers answer the question.
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		r.Body = string(b)
	}
	return r
}
