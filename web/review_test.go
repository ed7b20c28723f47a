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

// A session cannot swap in its own authenticator: enrolment is refused once 2FA is on.
func TestEnrolledMembersCannotEnrolAnotherAuthenticator(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.PostForm("/account/2fa", url.Values{"code": {"000000"}}); r.Status != http.StatusSeeOther || r.Location() != "/account" {
		t.Fatalf("enrolment while enrolled: %d %s", r.Status, r.Location())
	}
	if r := admin.Get("/account/2fa"); r.Status != http.StatusSeeOther {
		t.Errorf("the enrolment page shows a new secret to an enrolled member: %d", r.Status)
	}
	// The original authenticator still works.
	in.Client().SignIn("admin@example.com", ownerPassword)
}

func TestReauthenticationIsThrottled(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("aud@example.com", "Audra", authz.RoleAuditor, ownerPassword)
	c := in.Client()
	c.SignIn("aud@example.com", ownerPassword)
	for i := 0; i < 5; i++ {
		if r := c.PostForm("/reauth", url.Values{"password": {"guess number " + strconv.Itoa(i)}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, r.Status)
		}
	}
	if r := c.PostForm("/reauth", url.Values{"password": {ownerPassword}}); r.Status != http.StatusTooManyRequests {
		t.Errorf("the right password after 5 wrong ones: %d, want 429", r.Status)
	}
}

// Entering the password again must not clear the lock the code step earned.
func TestThePasswordDoesNotResetTheCodeStepsLock(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("admin@example.com", "Ada", authz.RoleAdministrator, ownerPassword)
	c := in.Client()
	wrong := 0
	for round := 0; round < 3; round++ {
		r := c.PostForm("/login", url.Values{"email": {"admin@example.com"}, "password": {ownerPassword}})
		if r.Status == http.StatusTooManyRequests {
			break
		}
		if !strings.HasPrefix(r.Location(), "/login/2fa") {
			t.Fatalf("round %d: password step answered %d %s", round, r.Status, r.Location())
		}
		for i := 0; i < 4; i++ {
			r := c.PostForm("/login/2fa", url.Values{"code": {"000000"}})
			if r.Status == http.StatusTooManyRequests {
				break
			}
			wrong++
		}
	}
	if wrong > 5 {
		t.Errorf("%d wrong codes were checked across password re-entries, want at most 5 before a lock", wrong)
	}
	if n := len(secEvents(t, in, "member.signed_in")); n != 0 {
		t.Errorf("%d sign-ins recorded for password-only steps", n)
	}
}

func TestInvitationTokensStayOutOfLogsAndTheActivityLog(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	r := admin.PostForm("/members/invitations", url.Values{"email": {"new@example.com"},
		"role": {strconv.FormatInt(roleID(t, in, authz.RoleAuditor), 10)}, "scope": {"all"}})
	token := regexp.MustCompile(`/invitations/([A-Z0-9]{20,})`).FindStringSubmatch(r.Body)
	if token == nil {
		t.Fatal("no invitation link")
	}
	guest := in.Client()
	guest.Get("/invitations/" + token[1])
	guest.PostFormRaw("/invitations/"+token[1], url.Values{"name": {"X"}}) // no CSRF token: refused and recorded
	if strings.Contains(in.Logs.String(), token[1]) {
		t.Error("the invitation token is in the server log")
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE instr(target_id, ?) > 0 OR instr(changes, ?) > 0`, token[1], token[1]); n != 0 {
		t.Errorf("the invitation token is in %d activity events", n)
	}
}

func TestSignInRedirectCannotLeaveTheSite(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("aud@example.com", "Audra", authz.RoleAuditor, ownerPassword)
	c := in.Client()
	c.SignIn("aud@example.com", ownerPassword)
	for _, next := range []string{"/%09/evil.example/x", "/%0A/evil.example", "/%5Cevil.example", "/\\evil.example", "//evil.example"} {
		r := c.Get("/login?next=" + next)
		if r.Location() != "/" {
			t.Errorf("next=%s redirected to %q", next, r.Location())
		}
	}
}

func TestAnInvitationLapsesWithItsInviter(t *testing.T) {
	in := apptest.Start(t)
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	other, _ := signedIn(t, in, "other@example.com", authz.RoleAdministrator)
	_ = admin
	r := adminC.PostForm("/members/invitations", url.Values{"email": {"new@example.com"},
		"role": {strconv.FormatInt(roleID(t, in, authz.RoleAdministrator), 10)}, "scope": {"all"}})
	token := regexp.MustCompile(`/invitations/([A-Z0-9]{20,})`).FindStringSubmatch(r.Body)
	if token == nil {
		t.Fatal("no invitation link")
	}
	otherP, _, _ := in.App.Members.Store().Principal(context.Background(), other.ID)
	if err := in.App.Members.Deactivate(context.Background(), otherP, admin.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Members.AcceptInvitation(context.Background(), token[1], "New Admin", ownerPassword); err != members.ErrInvitationInvalid {
		t.Errorf("accepting the invitation of a deactivated inviter: %v", err)
	}
}

func TestNumberScopedSettingsManagersSeeOnlyTheirNumbers(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	admin, _ := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	scoped, scopedC := signedIn(t, in, "scoped@example.com", authz.RoleAdministrator)
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	if err := in.App.Members.SetNumberScope(ctx, adminP, scoped.ID, false, []int64{numberRef(t, in, apptest.SandboxNumberA)}); err != nil {
		t.Fatal(err)
	}
	scopedC.SignIn("scoped@example.com", ownerPassword)
	page := scopedC.Get("/settings/whatsapp")
	if !strings.Contains(page.Body, "+1 555-078-3881") || strings.Contains(page.Body, "+49 30 9018 2044") {
		t.Error("the settings page shows numbers outside the member's scope")
	}
	b := strconv.FormatInt(numberRef(t, in, apptest.SandboxNumberB), 10)
	if r := scopedC.PostForm("/settings/whatsapp/numbers/"+b, url.Values{"label": {"mine now"}}); r.Status != http.StatusNotFound {
		t.Errorf("editing a number outside the scope: %d, want 404", r.Status)
	}
	if strings.Contains(scopedC.Get("/members/invite").Body, "+49 30 9018 2044") {
		t.Error("the invitation form offers a number outside the inviter's scope")
	}
}
