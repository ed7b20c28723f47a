package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

var (
	shortcutLink = regexp.MustCompile(`class="shortcut__link" href="([^"]+)"`)
	navLink      = regexp.MustCompile(`class="nav__link" href="([^"]+)"`)
)

// The dashboard promises nothing that does not exist: no "coming soon", and every shortcut is a
// page of the member's own navigation (or their account) that opens for them.
func TestDashboardShortcutsAreTrueForEveryRole(t *testing.T) {
	in := apptest.Start(t)
	for _, role := range []string{authz.RoleAdministrator, authz.RoleAgent, authz.RoleSupport,
		authz.RoleDeveloper, authz.RoleAnalyst, authz.RoleAuditor} {
		_, c := signedIn(t, in, role+"@example.com", role)
		r := c.Get("/")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: dashboard %d", role, r.Status)
		}
		for _, promise := range []string{"Coming soon", "coming-soon", "being built"} {
			if strings.Contains(r.Body, promise) {
				t.Errorf("%s: the dashboard still promises %q", role, promise)
			}
		}
		// What the inbox shortcut offers is what the role may do there.
		answers := strings.Contains(r.Body, "answer customers")
		if want := role != authz.RoleAnalyst; answers != want && strings.Contains(r.Body, `href="/inbox"`) {
			t.Errorf("%s: the inbox shortcut offers to answer customers: %v, want %v", role, answers, want)
		}
		nav := map[string]bool{"/account": true}
		for _, m := range navLink.FindAllStringSubmatch(r.Body, -1) {
			nav[m[1]] = true
		}
		shortcuts := shortcutLink.FindAllStringSubmatch(r.Body, -1)
		if len(shortcuts) == 0 {
			t.Errorf("%s: the dashboard has no shortcuts", role)
		}
		for _, m := range shortcuts {
			href := m[1]
			if !nav[href] {
				t.Errorf("%s: shortcut to %s, which is not in the member's navigation", role, href)
			}
			if p := c.Get(href); p.Status != http.StatusOK {
				t.Errorf("%s: shortcut to %s answers %d", role, href, p.Status)
			}
		}
	}
}
