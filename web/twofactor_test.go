package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

func TestFailedSignInsLockTheAccountAndRaiseAnAlert(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("aud@example.com", "Audra", authz.RoleAuditor, ownerPassword)
	c := in.Client()
	for i := 1; i <= 5; i++ {
		if r := c.PostForm("/login", url.Values{"email": {"aud@example.com"}, "password": {"wrong password number " + strconv.Itoa(i)}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	r := c.PostForm("/login", url.Values{"email": {"aud@example.com"}, "password": {ownerPassword}})
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many failed attempts") || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password during the lock: %d", r.Status)
	}
	// An unknown account is locked the same way: the answer tells nothing about existence.
	for i := 0; i < 5; i++ {
		c.PostForm("/login", url.Values{"email": {"ghost@example.com"}, "password": {"wrong password again"}})
	}
	if r := c.PostForm("/login", url.Values{"email": {"ghost@example.com"}, "password": {"wrong password again"}}); r.Status != http.StatusTooManyRequests {
		t.Errorf("unknown account after 5 failures: %d, want 429 like a real one", r.Status)
	}
	// Other accounts are not locked by it.
	in.CreateMember("other@example.com", "Otto", authz.RoleAuditor, ownerPassword)
	in.Client().SignIn("other@example.com", ownerPassword)

	in.Clock.Advance(31 * time.Second)
	c.SignIn("aud@example.com", ownerPassword)

	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	page := admin.Get("/alerts")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Repeated failed sign-ins for Audra") {
		t.Fatalf("alerts page: %d", page.Status)
	}
	if strings.Contains(page.Body, "ghost@example.com") {
		t.Error("the typed e-mail of an unknown account is shown in an alert")
	}
	if !strings.Contains(admin.Get("/").Body, `class="nav__badge"`) {
		t.Error("no open-alerts badge in the navigation")
	}
}

func TestMembersWhoMustUse2FAAreTakenToEnrolmentEverywhere(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMemberWithout2FA("dev@example.com", "Devi", authz.RoleDeveloper, ownerPassword)
	c := in.Client()
	c.SignIn("dev@example.com", ownerPassword)
	for _, path := range []string{"/", "/account", "/roles", "/members"} {
		if r := c.Get(path); r.Status != http.StatusSeeOther || r.Location() != "/account/2fa" {
			t.Errorf("GET %s before enrolment: %d %s", path, r.Status, r.Location())
		}
	}
	if r := c.PostForm("/account/sessions/x/end", nil); r.Status != http.StatusForbidden {
		t.Errorf("a POST before enrolment: %d, want 403", r.Status)
	}
	page := c.Get("/account/2fa")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "data:image/png;base64,") {
		t.Fatalf("enrolment page: %d", page.Status)
	}
	// The key is shown in groups of four, each in its own element.
	secret := regexp.MustCompile(`<[^>]*>|\s`).ReplaceAllString(between(page.Body, `id="totp-secret">`, "</p>"), "")
	in.RememberTOTP("dev@example.com", secret)
	before := c.Cookie("switchboard_session")
	r := c.PostForm("/account/2fa", url.Values{"code": {in.TOTPCode("dev@example.com")}})
	if r.Status != http.StatusOK || strings.Count(r.Body, "<li>") < 10 {
		t.Fatalf("confirm enrolment: %d", r.Status)
	}
	if c.Cookie("switchboard_session") == before {
		t.Error("the session token was not renewed when 2FA was turned on")
	}
	if r := c.Get("/"); r.Status != http.StatusOK {
		t.Errorf("after enrolment the dashboard answers %d", r.Status)
	}
	// The seed is encrypted at rest: the database file does not contain it.
	in.App.DB.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	raw, err := os.ReadFile(filepath.Join(in.DataDir, db.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) {
		t.Error("the TOTP seed is stored in clear")
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func TestSensitiveActionsNeedARecentSignIn(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	m := in.CreateMember("m@example.com", "Mo", authz.RoleAgent, ownerPassword)
	in.Clock.Advance(11 * time.Minute)
	path := "/members/" + strconv.FormatInt(m.ID, 10) + "/role"
	r := admin.PostForm(path, url.Values{"role": {strconv.FormatInt(roleID(t, in, authz.RoleAnalyst), 10)}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Fatalf("role change 11 minutes after sign-in: %d %s", r.Status, r.Location())
	}
	if got, _ := in.App.Members.Store().ByID(context.Background(), m.ID); got.RoleKey != authz.RoleAgent {
		t.Fatal("the role changed without re-authentication")
	}
	if r := admin.PostForm("/reauth", url.Values{"password": {"not the password"}, "next": {"/members"}}); r.Status != http.StatusUnauthorized {
		t.Errorf("re-authentication with a wrong password: %d", r.Status)
	}
	before := admin.Cookie("switchboard_session")
	if r := admin.PostForm("/reauth", url.Values{"password": {ownerPassword}, "next": {"/members"}}); r.Status != http.StatusSeeOther || r.Location() != "/members" {
		t.Fatalf("re-authenticate: %d %s", r.Status, r.Location())
	}
	if admin.Cookie("switchboard_session") == before {
		t.Error("the session token was not renewed at re-authentication")
	}
	if r := admin.PostForm(path, url.Values{"role": {strconv.FormatInt(roleID(t, in, authz.RoleAnalyst), 10)}}); r.Status != http.StatusSeeOther || r.Location() != "/members/"+strconv.FormatInt(m.ID, 10) {
		t.Fatalf("role change after re-authentication: %d %s", r.Status, r.Location())
	}
	if got, _ := in.App.Members.Store().ByID(context.Background(), m.ID); got.RoleKey != authz.RoleAnalyst {
		t.Error("the role did not change after re-authentication")
	}
}

func TestMembersSeeAndEndTheirSessions(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("aud@example.com", "Audra", authz.RoleAuditor, ownerPassword)
	laptop, phone := in.Client(), in.Client()
	laptop.SignIn("aud@example.com", ownerPassword)
	phone.SignIn("aud@example.com", ownerPassword)
	page := laptop.Get("/account")
	if n := strings.Count(page.Body, "/account/sessions/"); n != 2 {
		t.Fatalf("%d sessions listed, want 2", n)
	}
	sessions, err := in.App.Members.Store().Sessions(context.Background(), 1)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("sessions: %v %v", sessions, err)
	}
	var other string
	for _, s := range sessions {
		if !strings.Contains(page.Body, `This browser`) {
			t.Fatal("the current session is not marked")
		}
		other = s.ID // the list is newest first: the phone's session comes first
		break
	}
	if r := laptop.PostForm("/account/sessions/"+other+"/end", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("end session: %d", r.Status)
	}
	if r := phone.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("the ended session still works: %d", r.Status)
	}
	if r := laptop.Get("/"); r.Status != http.StatusOK {
		t.Errorf("the laptop was signed out too: %d", r.Status)
	}
	// Someone else's session is not even found.
	in.CreateMember("x@example.com", "Xena", authz.RoleAuditor, ownerPassword)
	xc := in.Client()
	xc.SignIn("x@example.com", ownerPassword)
	xs, _ := in.App.Members.Store().Sessions(context.Background(), 2)
	if r := laptop.PostForm("/account/sessions/"+xs[0].ID+"/end", nil); r.Status != http.StatusNotFound {
		t.Errorf("ending another member's session without members.manage: %d, want 404", r.Status)
	}
	if r := xc.Get("/"); r.Status != http.StatusOK {
		t.Error("another member's session was ended")
	}
}

func TestAdministratorResetsAnotherMembers2FA(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	dev, devClient := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	path := "/members/" + strconv.FormatInt(dev.ID, 10) + "/2fa/reset"
	if r := admin.PostForm(path, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("reset: %d", r.Status)
	}
	if r := devClient.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("the member's session survived the reset: %d %s", r.Status, r.Location())
	}
	st, _ := in.App.TwoFactor.State(context.Background(), dev.ID)
	if st.Enabled {
		t.Error("2FA still enabled after the reset")
	}
	if !strings.Contains(admin.Get("/alerts").Body, "reset the two-factor authentication of dev") {
		t.Error("no alert for the 2FA reset")
	}
	// An Agent may not reset anyone's 2FA.
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm("/members/1/2fa/reset", nil); r.Status != http.StatusForbidden {
		t.Errorf("an Agent reset 2FA: %d", r.Status)
	}
}

func TestSecurityPolicyForEveryoneAndTimeouts(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.Get("/"); r.Status != http.StatusOK {
		t.Fatalf("agent before the policy: %d", r.Status)
	}
	form := url.Values{"two_factor": {"everyone"}, "idle_minutes": {"15"}, "absolute_hours": {"8"},
		"role_2fa": {strconv.FormatInt(roleID(t, in, authz.RoleAdministrator), 10)}}
	if r := admin.PostForm("/settings/security", url.Values{"two_factor": {"everyone"}, "idle_minutes": {"1"}, "absolute_hours": {"8"}}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a 1-minute idle time-out was accepted: %d", r.Status)
	}
	if r := admin.PostForm("/settings/security", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save policy: %d", r.Status)
	}
	if r := agent.Get("/"); r.Status != http.StatusSeeOther || r.Location() != "/account/2fa" {
		t.Errorf("agent after 2FA became required for everyone: %d %s", r.Status, r.Location())
	}
	in.Clock.Advance(16 * time.Minute)
	if r := admin.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("16 idle minutes under a 15-minute policy: %d %s", r.Status, r.Location())
	}
}

func TestChangingThePasswordEndsTheOtherSessions(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("aud@example.com", "Audra", authz.RoleAuditor, ownerPassword)
	laptop, phone := in.Client(), in.Client()
	laptop.SignIn("aud@example.com", ownerPassword)
	phone.SignIn("aud@example.com", ownerPassword)
	if r := laptop.PostForm("/account/password", url.Values{"current_password": {"wrong password here"}, "new_password": {"a completely new passphrase"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "not your current password") {
		t.Fatalf("wrong current password: %d", r.Status)
	}
	if r := laptop.PostForm("/account/password", url.Values{"current_password": {ownerPassword}, "new_password": {"password1234"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("common new password: %d", r.Status)
	}
	if r := phone.Get("/"); r.Status != http.StatusOK {
		t.Fatal("a refused change ended the other session")
	}
	before := laptop.Cookie("switchboard_session")
	if r := laptop.PostForm("/account/password", url.Values{"current_password": {ownerPassword}, "new_password": {"a completely new passphrase"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("change: %d", r.Status)
	}
	if laptop.Cookie("switchboard_session") == before {
		t.Error("the session token was not renewed")
	}
	if r := laptop.Get("/"); r.Status != http.StatusOK {
		t.Errorf("the browser that changed the password was signed out: %d", r.Status)
	}
	if r := phone.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("another session survived the password change: %d", r.Status)
	}
	if r := in.Client().PostForm("/login", url.Values{"email": {"aud@example.com"}, "password": {ownerPassword}}); r.Status != http.StatusUnauthorized {
		t.Errorf("the old password still signs in: %d", r.Status)
	}
	in.Client().SignIn("aud@example.com", "a completely new passphrase")
	if n := len(secEvents(t, in, "member.password_changed")); n != 1 {
		t.Errorf("%d password_changed events", n)
	}
}

func TestManagersEndAMembersSessionFromTheMemberPage(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	aud, audC := signedIn(t, in, "aud@example.com", authz.RoleAuditor)
	page := admin.Get("/members/" + strconv.FormatInt(aud.ID, 10))
	sid := between(page.Body, `action="/account/sessions/`, `/end"`)
	if sid == "" {
		t.Fatal("the member page lists no session of the member")
	}
	r := admin.PostForm("/account/sessions/"+sid+"/end", url.Values{"back": {"/members/" + strconv.FormatInt(aud.ID, 10)}})
	if r.Status != http.StatusSeeOther || r.Location() != "/members/"+strconv.FormatInt(aud.ID, 10) {
		t.Fatalf("end the member's session: %d %s", r.Status, r.Location())
	}
	if r := audC.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("the ended session still works: %d", r.Status)
	}
}
