package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

func htmxGet(t *testing.T, c *apptest.Client, path, currentURL string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	if currentURL != "" {
		req.Header.Set("HX-Current-URL", currentURL)
	}
	return c.Do(req)
}

// A session that times out during an htmx action sends the member to sign in with a word about
// why, and back to the page they were on (not the partial the action fetched), through the 2FA
// step too.
func TestAnExpiredSessionSaysSoAndReturnsToThePage(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	in.Clock.Advance(31 * time.Minute) // past the idle time-out

	r := htmxGet(t, admin, "/inbox?box=all", admin.URL("/inbox?box=unassigned&q=olive"))
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("htmx request after the time-out: %d, want 401", r.Status)
	}
	to := r.Header.Get("HX-Redirect")
	want := "/login?expired=1&next=" + url.QueryEscape("/inbox?box=unassigned&q=olive")
	if to != want {
		t.Fatalf("HX-Redirect %q, want %q", to, want)
	}
	page := admin.Get(to)
	if !strings.Contains(page.Body, "Your session expired. Sign in again to continue.") {
		t.Error("the sign-in page does not say the session expired")
	}
	if !strings.Contains(page.Body, `name="next" value="/inbox?box=unassigned&amp;q=olive"`) {
		t.Error("the sign-in form does not carry the page to return to")
	}
	r = admin.PostForm("/login", url.Values{"email": {"admin@example.com"}, "password": {ownerPassword}, "next": {"/inbox?box=unassigned&q=olive"}})
	if r.Status != http.StatusSeeOther || r.Location() != "/login/2fa?next="+url.QueryEscape("/inbox?box=unassigned&q=olive") {
		t.Fatalf("password step: %d %s", r.Status, r.Location())
	}
	second := admin.Get(r.Location())
	if !strings.Contains(second.Body, `name="next" value="/inbox?box=unassigned&amp;q=olive"`) {
		t.Error("the 2FA step lost the page to return to")
	}
	if !strings.Contains(second.Body, `recovery=1&amp;next=`+url.QueryEscape("/inbox?box=unassigned&q=olive")) {
		t.Error("the recovery-code link loses the page to return to")
	}
	r = admin.PostForm("/login/2fa", url.Values{"code": {in.TOTPCode("admin@example.com")}, "next": {"/inbox?box=unassigned&q=olive"}})
	if r.Status != http.StatusSeeOther || r.Location() != "/inbox?box=unassigned&q=olive" {
		t.Errorf("after the 2FA step: %d %s, want the inbox page the member was on", r.Status, r.Location())
	}
}

func TestAnExpiredSessionOnAPageLoadSaysSoToo(t *testing.T) {
	in := apptest.Start(t)
	_, aud := signedIn(t, in, "aud@example.com", authz.RoleAuditor)
	in.Clock.Advance(13 * time.Hour) // past the absolute time-out
	r := aud.Get("/activity?action=member")
	if r.Status != http.StatusSeeOther || r.Location() != "/login?expired=1&next="+url.QueryEscape("/activity?action=member") {
		t.Fatalf("page load after the time-out: %d %s", r.Status, r.Location())
	}
	// A visitor who was never signed in is not told about an expired session.
	r = in.Client().Get("/members")
	if r.Location() != "/login?next=%2Fmembers" {
		t.Errorf("a visitor without a session is sent to %q", r.Location())
	}
	// A member who signed out is not told their session expired either.
	_, c := signedIn(t, in, "sam@example.com", authz.RoleAnalyst)
	c.PostForm("/logout", nil)
	if r := c.Get("/"); strings.Contains(r.Location(), "expired") {
		t.Errorf("after signing out: %s", r.Location())
	}
}

// The page to return to is only ever a path on this site: another origin, a scheme-relative or
// backslash path, or credentials in the URL are dropped.
func TestTheReturnPageCannotLeaveTheSite(t *testing.T) {
	in := apptest.Start(t)
	host := strings.TrimPrefix(in.URL, "http://")
	for _, current := range []string{
		"https://evil.example/inbox",
		"http://evil.example/inbox",
		"//evil.example/inbox",
		"http://" + host + "//evil.example/x",
		"http://" + host + "/\\evil.example",
		"http://" + host + "/%5Cevil.example",
		"http://user@" + host + "/inbox",
		"javascript:alert(1)",
		"/inbox", // not an absolute URL: htmx always sends one
		"http://" + host + ".evil.example/inbox",
	} {
		r := htmxGet(t, in.Client(), "/inbox", current)
		to := r.Header.Get("HX-Redirect")
		if to != "/login" {
			t.Errorf("HX-Current-URL %q: HX-Redirect %q, want /login", current, to)
		}
	}
	// The next field of the sign-in form.
	in.CreateMember("ana@example.com", "Ana", authz.RoleAnalyst, ownerPassword)
	for _, next := range []string{"//evil.example", "https://evil.example", "/\\evil.example", "/%5Cevil.example", "http:evil.example", "/\t/evil.example"} {
		r := in.Client().PostForm("/login", url.Values{"email": {"ana@example.com"}, "password": {ownerPassword}, "next": {next}})
		if r.Status != http.StatusSeeOther || r.Location() != "/" {
			t.Errorf("next=%q: signed in to %q, want /", next, r.Location())
		}
	}
	// The 2FA step likewise.
	in.CreateMember("adm@example.com", "Adm", authz.RoleAdministrator, ownerPassword)
	c := in.Client()
	if r := c.PostForm("/login", url.Values{"email": {"adm@example.com"}, "password": {ownerPassword}, "next": {"//evil.example"}}); r.Location() != "/login/2fa?next=%2F" {
		t.Errorf("password step with a foreign next: %s", r.Location())
	}
	if r := c.PostForm("/login/2fa", url.Values{"code": {in.TOTPCode("adm@example.com")}, "next": {"https://evil.example"}}); r.Location() != "/" {
		t.Errorf("2FA step with a foreign next: %s", r.Location())
	}
}

// The live stream that reconnects after the time-out is refused without ending the session:
// ended there, the stream (which the browser follows) would take the sign-in page's notice,
// and the page's next request would find a signed-out visitor and say nothing about why.
func TestAnExpiredSessionOnTheLiveStreamLeavesTheNoticeToThePage(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	in.Clock.Advance(31 * time.Minute) // past the idle time-out

	req, err := http.NewRequest(http.MethodGet, admin.URL("/inbox/live"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if r := admin.Do(req); r.Status != http.StatusUnauthorized || r.Location() != "" {
		t.Fatalf("the stream after the time-out: %d to %q, want a plain 401", r.Status, r.Location())
	}
	r := htmxGet(t, admin, "/inbox?box=all", admin.URL("/inbox?box=all"))
	if r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("HX-Redirect"), "/login?expired=1") {
		t.Fatalf("the page's next refresh: %d to %q, want the sign-in page saying the session expired", r.Status, r.Header.Get("HX-Redirect"))
	}
}

// Reading pages writes nothing to the database: a session's activity is recorded at most once
// a minute (every commit empties the readers' page caches and costs a flush to disk, so a write
// per page view and per poll would slow every member's pages). The idle time-out still ends
// the session.
func TestPageViewsDoNotWriteTheSessionEachTime(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	admin.Get("/inbox") // the first view may record activity
	session := func() string {
		t.Helper()
		var data string
		var expiry float64
		if err := in.App.DB.R.QueryRow(`SELECT hex(data), expiry FROM sessions`).Scan(&data, &expiry); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(data, expiry)
	}
	before := session()
	for _, path := range []string{"/inbox", "/", "/members", "/inbox"} {
		in.Clock.Advance(5 * time.Second)
		if r := admin.Get(path); r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, r.Status)
		}
		if after := session(); after != before {
			t.Fatalf("GET %s rewrote the session row", path)
		}
	}
	in.Clock.Advance(31 * time.Minute)
	if r := htmxGet(t, admin, "/inbox", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("after the idle time-out: %d, want 401", r.Status)
	}
}
