package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

func allowListCIDRs(t *testing.T, in *apptest.Instance) []string {
	t.Helper()
	entries, err := in.App.AllowList.Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.CIDR)
	}
	return out
}

// The lock-out guard: a change that would shut out the member making it (their address as the
// server sees it) is refused and changes nothing.
func TestAllowListRefusesToLockOutTheMemberMakingTheChange(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.Get("/settings/security/allowlist"); r.Status != http.StatusOK || !strings.Contains(r.Body, "127.0.0.1") {
		t.Fatalf("allow-list page: %d", r.Status)
	}
	r := admin.PostForm("/settings/security/allowlist", url.Values{"cidr": {"203.0.113.0/24"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "lock you out") {
		t.Fatalf("adding a network without the admin's address: %d", r.Status)
	}
	if got := allowListCIDRs(t, in); len(got) != 0 {
		t.Fatalf("list after a refused change: %v", got)
	}
	if r := admin.PostForm("/settings/security/allowlist", url.Values{"cidr": {"not a network"}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "Enter a network") {
		t.Errorf("bad network: %d", r.Status)
	}
	for _, cidr := range []string{"127.0.0.1", "203.0.113.7/24"} {
		if r := admin.PostForm("/settings/security/allowlist", url.Values{"cidr": {cidr}, "note": {"office"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("add %s: %d %s", cidr, r.Status, r.Body)
		}
	}
	got := allowListCIDRs(t, in)
	if strings.Join(got, " ") != "127.0.0.1/32 203.0.113.0/24" {
		t.Fatalf("list %v (canonical, masked)", got)
	}
	entries, _ := in.App.AllowList.Entries(context.Background())
	r = admin.PostForm("/settings/security/allowlist/"+strconv.FormatInt(entries[0].ID, 10)+"/delete", nil)
	if r.Status != http.StatusConflict || !strings.Contains(r.Body, "lock you out") {
		t.Errorf("removing the admin's own network: %d", r.Status)
	}
	if got := allowListCIDRs(t, in); len(got) != 2 {
		t.Errorf("list after refused removal: %v", got)
	}
	// Someone without security.manage cannot change it at all.
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm("/settings/security/allowlist/"+strconv.FormatInt(entries[1].ID, 10)+"/delete", nil); r.Status != http.StatusForbidden {
		t.Errorf("agent removing a network: %d", r.Status)
	}
	if got := allowListCIDRs(t, in); len(got) != 2 {
		t.Errorf("list after agent's attempt: %v", got)
	}
	var n int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'security.allowlist_changed'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("allow-list events: %d %v", n, err)
	}
}

// With the loopback address outside the list: a sign-in is refused exactly like a wrong
// password (and recorded), a forged X-Forwarded-For from an untrusted peer changes nothing,
// and a session opened before the change ends on its next request.
func TestAllowListRefusesSignInAndEndsSessionsFromOutside(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("admin@example.com", "Admin", authz.RoleAdministrator, ownerPassword)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.Get("/"); r.Status != http.StatusOK {
		t.Fatalf("agent before: %d", r.Status)
	}
	wrong := in.Client().PostForm("/login", url.Values{"email": {"agent@example.com"}, "password": {"not the password at all"}})

	// Made from an address inside the new network, as an administrator at the office would.
	if _, err := in.App.AllowList.Add(context.Background(), "203.0.113.0/24", "office", "Admin", "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	refused := in.Client().PostForm("/login", url.Values{"email": {"agent@example.com"}, "password": {ownerPassword}})
	if refused.Status != wrong.Status || !strings.Contains(refused.Body, "do not match an active account") {
		t.Errorf("sign-in from outside: %d, want the wrong-password answer %d", refused.Status, wrong.Status)
	}
	unknown := in.Client().PostForm("/login", url.Values{"email": {"nobody@example.com"}, "password": {ownerPassword}})
	if unknown.Status != refused.Status {
		t.Errorf("unknown account from outside: %d", unknown.Status)
	}
	c := in.Client()
	form := url.Values{"email": {"agent@example.com"}, "password": {ownerPassword}, "_csrf": {c.CSRFToken()}}
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.5")
	if r := c.Do(req); r.Status != wrong.Status || !strings.Contains(r.Body, "do not match an active account") {
		t.Errorf("a forged X-Forwarded-For from an untrusted peer: %d", r.Status)
	}
	if r := agent.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("existing session from outside: %d %s, want signed out", r.Status, r.Location())
	}
	var denied, ended int
	if err := in.App.DB.R.QueryRow(`SELECT
		(SELECT count(*) FROM audit_events WHERE action = 'member.sign_in_failed' AND outcome = 'denied' AND changes LIKE '%allow-list%'),
		(SELECT count(*) FROM audit_events WHERE action = 'access.address_refused')`).Scan(&denied, &ended); err != nil {
		t.Fatal(err)
	}
	if denied < 2 || ended != 1 {
		t.Errorf("recorded: %d refused sign-ins, %d ended sessions", denied, ended)
	}
}
