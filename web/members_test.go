package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

func signedIn(t *testing.T, in *apptest.Instance, email, roleKey string) (members.Member, *apptest.Client) {
	t.Helper()
	m := in.CreateMember(email, strings.Split(email, "@")[0], roleKey, ownerPassword)
	c := in.Client()
	c.SignIn(email, ownerPassword)
	return m, c
}

func roleID(t *testing.T, in *apptest.Instance, key string) int64 {
	t.Helper()
	r, err := in.App.Members.Store().RoleByKey(context.Background(), in.App.DB.R, key)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestDeactivationEndsTheMembersSessionsAtOnce(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	auditor, c := signedIn(t, in, "aud@example.com", authz.RoleAuditor)
	if r := c.Get("/activity"); r.Status != http.StatusOK {
		t.Fatalf("auditor before deactivation: %d", r.Status)
	}
	if r := admin.PostForm("/members/"+strconv.FormatInt(auditor.ID, 10)+"/deactivate", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", r.Status)
	}
	if r := c.Get("/activity"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("deactivated member's next request: %d %s", r.Status, r.Location())
	}
	if r := in.Client().PostForm("/login", url.Values{"email": {"aud@example.com"}, "password": {ownerPassword}}); r.Status != http.StatusUnauthorized {
		t.Errorf("deactivated member signed in again: %d", r.Status)
	}
}

func TestARevokedPermissionIsRefusedOnTheNextRequest(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	readers := createRole(t, admin, "Log readers")
	toggle(t, admin, readers, "audit.view", true)
	m, c := signedIn(t, in, "reader@example.com", authz.RoleAgent)
	if r := admin.PostForm("/members/"+strconv.FormatInt(m.ID, 10)+"/role", url.Values{"role": {strconv.FormatInt(readers, 10)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("change role: %d %s", r.Status, r.Body)
	}
	// A role change renews the member's sessions; they sign in again and hold the new role.
	c.SignIn("reader@example.com", ownerPassword)
	if r := c.Get("/activity"); r.Status != http.StatusOK {
		t.Fatalf("with audit.view: %d", r.Status)
	}
	toggle(t, admin, readers, "audit.view", false)
	if r := c.Get("/activity"); r.Status != http.StatusForbidden {
		t.Errorf("after the permission was revoked: %d, want 403", r.Status)
	}
}

func createRole(t *testing.T, c *apptest.Client, name string) int64 {
	t.Helper()
	r := c.PostForm("/roles", url.Values{"name": {name}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create role %q: %d", name, r.Status)
	}
	m := regexp.MustCompile(`role=(\d+)`).FindStringSubmatch(r.Location())
	if m == nil {
		t.Fatalf("no role id in %q", r.Location())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func toggle(t *testing.T, c *apptest.Client, roleID int64, perm string, granted bool) apptest.Response {
	t.Helper()
	form := url.Values{"_csrf": {c.CSRFToken()}}
	if granted {
		form.Set("granted", "on")
	}
	req, _ := http.NewRequest(http.MethodPost, c.URL("/roles/"+strconv.FormatInt(roleID, 10)+"/permissions/"+perm), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	r := c.Do(req)
	if r.Status != http.StatusOK {
		t.Fatalf("toggle %s: %d", perm, r.Status)
	}
	return r
}

var matrixStatus = regexp.MustCompile(`(?s)<div id="matrix-status".*?</div>`)

func TestMatrixRefusesToGrantWhatTheEditorLacks(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	managers := createRole(t, admin, "Role managers")
	for _, p := range []string{"members.view", "roles.manage"} {
		toggle(t, admin, managers, p, true)
	}
	m, c := signedIn(t, in, "rm@example.com", authz.RoleAgent)
	if r := admin.PostForm("/members/"+strconv.FormatInt(m.ID, 10)+"/role", url.Values{"role": {strconv.FormatInt(managers, 10)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("change role: %d", r.Status)
	}
	c.SignIn("rm@example.com", ownerPassword)
	own := createRole(t, c, "Mine")
	r := toggle(t, c, own, "billing.manage", true)
	if !strings.Contains(r.Body, "permissions you do not hold") || strings.Contains(r.Body, "checked") {
		t.Errorf("escalation through the matrix was not refused: %s", r.Body)
	}
	// The refusal names the permission as people know it, not by its id.
	if status := matrixStatus.FindString(r.Body); !strings.Contains(status, "Manage billing") || strings.Contains(status, "billing.manage") {
		t.Errorf("the refusal reads %q: want the label “Manage billing”, not the id", status)
	}
	role, err := in.App.Members.Store().RoleByID(context.Background(), own)
	if err != nil {
		t.Fatal(err)
	}
	if role.Permissions.Has(authz.BillingManage) {
		t.Error("billing.manage was granted")
	}
	r = toggle(t, c, own, "members.view", true)
	if !strings.Contains(r.Body, "checked") {
		t.Errorf("a held permission was not granted: %s", r.Body)
	}
	// Without htmx the refusal is a plain 403.
	form := url.Values{"granted": {"on"}}
	if r := c.PostForm("/roles/"+strconv.FormatInt(own, 10)+"/permissions/audit.export", form); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Body, "Export the activity log") || strings.Contains(r.Body, "audit.export") {
		t.Errorf("plain POST escalation: %d, want 403 naming “Export the activity log” and not its id: %s", r.Status, r.Body)
	}
	// Built-in roles are read-only even for an administrator.
	if r := admin.PostForm("/roles/"+strconv.FormatInt(roleID(t, in, authz.RoleAgent), 10)+"/permissions/billing.view", form); r.Status != http.StatusConflict {
		t.Errorf("editing a built-in role: %d, want 409", r.Status)
	}
}

func TestInvitationFlowOverHTTP(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	r := admin.PostForm("/members/invitations", url.Values{"email": {"ana@example.com"},
		"role": {strconv.FormatInt(roleID(t, in, authz.RoleAnalyst), 10)}, "scope": {"all"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("invite: %d", r.Status)
	}
	link := regexp.MustCompile(`value="(http://[^"]+/invitations/[A-Z0-9]+)"`).FindStringSubmatch(r.Body)
	if link == nil {
		t.Fatal("the invitation page shows no link")
	}
	path := strings.TrimPrefix(link[1], in.URL)
	guest := in.Client()
	if r := guest.Get(path); r.Status != http.StatusOK || !strings.Contains(r.Body, "ana@example.com") {
		t.Fatalf("invitation page: %d", r.Status)
	}
	if r := guest.PostForm(path, url.Values{"name": {"Ana"}, "password": {"password1234"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("common password accepted on the invitation: %d", r.Status)
	}
	if r := guest.PostForm(path, url.Values{"name": {"Ana Analyst"}, "password": {ownerPassword}}); r.Status != http.StatusSeeOther {
		t.Fatalf("accept: %d", r.Status)
	}
	if r := guest.Get("/"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Analyst") {
		t.Errorf("the new member is not signed in as Analyst: %d", r.Status)
	}
	if r := guest.Get("/members"); r.Status != http.StatusForbidden {
		t.Errorf("an Analyst opened /members: %d", r.Status)
	}
	if r := in.Client().Get(path); r.Status != http.StatusNotFound {
		t.Errorf("used invitation link: %d, want 404", r.Status)
	}
	if r := in.Client().PostForm(path, url.Values{"name": {"Mallory"}, "password": {ownerPassword}}); r.Status != http.StatusNotFound {
		t.Errorf("reused invitation: %d, want 404", r.Status)
	}
}

func TestHostileRoleAndMemberNamesAreShownInert(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	createRole(t, admin, `<img src=x onerror=alert(1)>`)
	body := admin.Get("/roles").Body
	if strings.Contains(body, "<img src=x") {
		t.Error("a role name was rendered as HTML")
	}
	if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the role name is not shown escaped")
	}
}
