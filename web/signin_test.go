package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

const ownerPassword = "correct horse battery staple"

func withOwner(t *testing.T) (*apptest.Instance, *apptest.Client) {
	t.Helper()
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, ownerPassword)
	return in, in.Client()
}

var volatile = regexp.MustCompile(`value="[^"]*"|"X-CSRF-Token":"[^"]*"|content="[A-Za-z0-9_]{20,}"`)

func TestWrongPasswordAndUnknownAccountGetTheSameAnswer(t *testing.T) {
	in, c := withOwner(t)
	wrong := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {"not the right one at all"}})
	unknown := c.PostForm("/login", url.Values{"email": {"nobody@example.com"}, "password": {"not the right one at all"}})
	if wrong.Status != http.StatusUnauthorized || unknown.Status != http.StatusUnauthorized {
		t.Fatalf("statuses %d and %d, want 401 for both", wrong.Status, unknown.Status)
	}
	if !strings.Contains(wrong.Body, "do not match an active account") {
		t.Error("the refusal does not say what went wrong")
	}
	a := volatile.ReplaceAllString(wrong.Body, "")
	b := volatile.ReplaceAllString(unknown.Body, "")
	if a != b {
		t.Error("the page for a wrong password differs from the page for an unknown account")
	}
	if r := c.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("dashboard after failed sign-ins: %d, want a redirect to sign in", r.Status)
	}
	events := listEvents(t, in)
	failures := 0
	for _, e := range events {
		if e.Action == "member.sign_in_failed" && e.Outcome == audit.OutcomeFailed {
			failures++
		}
	}
	if failures != 2 {
		t.Errorf("%d sign-in failures in the activity log, want 2", failures)
	}
}

func TestSignInRenewsTheSessionAndSignOutKillsIt(t *testing.T) {
	in, c := withOwner(t)
	c.SignIn("ada@example.com", ownerPassword)
	first := c.Cookie("switchboard_session")
	if first == "" {
		t.Fatal("no session cookie after sign-in")
	}
	// Signing in again on the same client must not keep the token it had.
	c.SignIn("ada@example.com", ownerPassword)
	second := c.Cookie("switchboard_session")
	if second == first {
		t.Error("the session token was not renewed at sign-in")
	}
	stale := in.Client()
	stale.HTTP.Jar.SetCookies(mustURL(in.URL), []*http.Cookie{{Name: "switchboard_session", Value: first}})
	if r := stale.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("the pre-renewal token still works: %d", r.Status)
	}

	if r := c.PostForm("/logout", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	replay := in.Client()
	replay.HTTP.Jar.SetCookies(mustURL(in.URL), []*http.Cookie{{Name: "switchboard_session", Value: second}})
	if r := replay.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("the signed-out token still works: %d %s", r.Status, r.Location())
	}
	actions := map[string]int{}
	for _, e := range listEvents(t, in) {
		actions[e.Action]++
	}
	if actions["member.signed_in"] != 2 || actions["member.signed_out"] != 1 {
		t.Errorf("activity log has %v", actions)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	_, c := withOwner(t)
	r := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {ownerPassword}})
	var session *http.Cookie
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == "switchboard_session" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie set")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" {
		t.Errorf("cookie attributes: HttpOnly=%v SameSite=%v Path=%q", session.HttpOnly, session.SameSite, session.Path)
	}
	if len(session.Value) < 43 { // 32 random bytes, base64
		t.Errorf("session token %d characters, want ≥ 43 (256 bits)", len(session.Value))
	}
}

func TestIdleAndAbsoluteTimeOuts(t *testing.T) {
	in, c := withOwner(t)
	c.SignIn("ada@example.com", ownerPassword)
	in.Clock.Advance(29 * time.Minute)
	if r := c.Get("/"); r.Status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d, want 200", r.Status)
	}
	in.Clock.Advance(31 * time.Minute)
	if r := c.Get("/"); r.Status != http.StatusSeeOther {
		t.Fatalf("after 31 idle minutes: %d, want a redirect to sign in", r.Status)
	}

	c.SignIn("ada@example.com", ownerPassword)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
		in.Clock.Advance(20 * time.Minute)
		if r := c.Get("/"); r.Status != http.StatusOK && elapsed+20*time.Minute <= 12*time.Hour {
			t.Fatalf("active member signed out after %v", elapsed+20*time.Minute)
		}
	}
	in.Clock.Advance(2 * time.Minute)
	if r := c.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("past the 12-hour absolute time-out: %d, want a redirect to sign in", r.Status)
	}
}

func TestSignInRedirectsOnlyWithinTheSite(t *testing.T) {
	_, c := withOwner(t)
	for next, want := range map[string]string{
		"/activity": "/activity", "https://evil.example": "/", "//evil.example": "/", "/\\evil.example": "/",
	} {
		r := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {ownerPassword}, "next": {next}})
		// The owner is an Administrator, so the code step comes first and carries next along.
		if r.Location() != "/login/2fa?next="+url.QueryEscape(want) {
			t.Errorf("next=%q redirected to %q, want %q", next, r.Location(), want)
		}
	}
}

func listEvents(t *testing.T, in *apptest.Instance) []audit.Event {
	t.Helper()
	events, _, err := in.App.Audit.List(context.Background(), audit.ListQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
