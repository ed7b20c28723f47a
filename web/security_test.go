package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/members"
)

const secPassword = "a long and unguessable passphrase"

// secCount runs a count(*) query on the instance's database.
func secCount(t *testing.T, in *apptest.Instance, query string, args ...any) int {
	t.Helper()
	var n int
	if err := in.App.DB.R.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// secEvents returns the activity events with the given action, oldest first.
func secEvents(t *testing.T, in *apptest.Instance, action string) []audit.Event {
	t.Helper()
	events, _, err := in.App.Audit.List(context.Background(), audit.ListQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Action == action {
			out = append(out, events[i])
		}
	}
	return out
}

// secPost sends a form to path with extra headers; the form is sent as given (no token added).
func secPost(t *testing.T, in *apptest.Instance, c *apptest.Client, path string, form url.Values, headers map[string]string) apptest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, in.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.Do(req)
}

func secSessionCookies(h http.Header) []*http.Cookie {
	var out []*http.Cookie
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "switchboard_session" {
			out = append(out, ck)
		}
	}
	return out
}

func secDashboardStatus(t *testing.T, c *apptest.Client) int {
	t.Helper()
	return c.Get("/").Status
}

func TestCSRFMissingTokenIsRefusedAndChangesNothing(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	creds := url.Values{"email": {"ada@example.com"}, "password": {secPassword}}

	// Sign-in without a token: no session, no sign-in recorded, the refusal recorded.
	for _, tc := range []struct {
		name  string
		visit bool // load the sign-in page first, so the client holds the CSRF cookie
		form  url.Values
	}{
		{"no cookie, no token", false, creds},
		{"cookie, no token", true, creds},
		{"cookie, wrong token", true, url.Values{"email": creds["email"], "password": creds["password"], "_csrf": {"forged"}}},
	} {
		t.Run("login "+tc.name, func(t *testing.T) {
			// Refusals from one client are recorded once a minute (TestRefusalFloodsAreRecordedThinly).
			in.Clock.Advance(time.Minute)
			c := in.Client()
			if tc.visit {
				c.CSRFToken()
			}
			sessions := secCount(t, in, `SELECT count(*) FROM sessions`)
			refused := len(secEvents(t, in, "request.csrf_refused"))
			r := c.PostFormRaw("/login", tc.form)
			if r.Status != http.StatusForbidden {
				t.Errorf("status %d, want 403", r.Status)
			}
			if len(secSessionCookies(r.Header)) != 0 || c.Cookie("switchboard_session") != "" {
				t.Error("a session cookie was set")
			}
			if n := secCount(t, in, `SELECT count(*) FROM sessions`); n != sessions {
				t.Errorf("sessions %d → %d", sessions, n)
			}
			if n := len(secEvents(t, in, "member.signed_in")); n != 0 {
				t.Errorf("%d sign-ins recorded", n)
			}
			ev := secEvents(t, in, "request.csrf_refused")
			if len(ev) != refused+1 {
				t.Fatalf("%d request.csrf_refused events, want %d", len(ev), refused+1)
			}
			if last := ev[len(ev)-1]; last.Outcome != audit.OutcomeDenied || last.Target.ID != "POST /login" {
				t.Errorf("event %+v", last)
			}
			if secDashboardStatus(t, c) != http.StatusSeeOther {
				t.Error("the client is signed in")
			}
		})
	}

	// Sign-out without a token: still signed in, no sign-out recorded.
	c := in.Client()
	c.SignIn("ada@example.com", secPassword)
	refused := len(secEvents(t, in, "request.csrf_refused"))
	r := c.PostFormRaw("/logout", url.Values{})
	if r.Status != http.StatusForbidden {
		t.Errorf("logout without token: %d, want 403", r.Status)
	}
	if s := secDashboardStatus(t, c); s != http.StatusOK {
		t.Errorf("after a refused sign-out the dashboard answers %d, want 200", s)
	}
	if n := len(secEvents(t, in, "member.signed_out")); n != 0 {
		t.Errorf("%d sign-outs recorded", n)
	}
	ev := secEvents(t, in, "request.csrf_refused")
	if len(ev) != refused+1 {
		t.Fatalf("%d request.csrf_refused events, want %d", len(ev), refused+1)
	}
	if last := ev[len(ev)-1]; last.Actor.Type != audit.ActorMember || last.Target.ID != "POST /logout" {
		t.Errorf("refused sign-out event %+v, want the member as actor", last)
	}
	// With the token it works.
	if r := c.PostForm("/logout", nil); r.Status != http.StatusSeeOther {
		t.Errorf("logout with token: %d", r.Status)
	}
}

// echo's CSRF middleware trusts the browser's Fetch Metadata: same-origin passes without a token,
// cross-site is refused outright, same-site falls back to the token.
func TestCSRFFetchMetadata(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAuditor, secPassword)
	creds := url.Values{"email": {"ada@example.com"}, "password": {secPassword}}

	for _, site := range []string{"cross-site", "same-site"} {
		c := in.Client()
		r := secPost(t, in, c, "/login", creds, map[string]string{"Sec-Fetch-Site": site})
		if r.Status != http.StatusForbidden {
			t.Errorf("Sec-Fetch-Site %s sign-in without token: %d, want 403", site, r.Status)
		}
		if c.Cookie("switchboard_session") != "" || secDashboardStatus(t, c) != http.StatusSeeOther {
			t.Errorf("Sec-Fetch-Site %s: signed in", site)
		}
	}
	if n := len(secEvents(t, in, "member.signed_in")); n != 0 {
		t.Errorf("%d sign-ins recorded", n)
	}

	// A cross-site sign-out of a signed-in member is refused, even with the right token.
	victim := in.Client()
	victim.SignIn("ada@example.com", secPassword)
	r := secPost(t, in, victim, "/logout", url.Values{"_csrf": {victim.CSRFToken()}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if r.Status != http.StatusForbidden {
		t.Errorf("cross-site sign-out: %d, want 403", r.Status)
	}
	if secDashboardStatus(t, victim) != http.StatusOK || len(secEvents(t, in, "member.signed_out")) != 0 {
		t.Error("a cross-site request signed the member out")
	}

	c := in.Client()
	r = secPost(t, in, c, "/login", creds, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("same-origin sign-in without token: %d, want 303", r.Status)
	}
	if secDashboardStatus(t, c) != http.StatusOK {
		t.Error("same-origin sign-in did not sign in")
	}
}

// Every refusal of a cross-site request is a denied access, recorded like a missing token.
func TestCSRFCrossSiteRefusalIsRecorded(t *testing.T) {
	in := apptest.Start(t)
	c := in.Client()
	r := secPost(t, in, c, "/login", url.Values{"email": {"ada@example.com"}, "password": {"x"}},
		map[string]string{"Sec-Fetch-Site": "cross-site"})
	if r.Status != http.StatusForbidden {
		t.Fatalf("status %d", r.Status)
	}
	if n := len(secEvents(t, in, "request.csrf_refused")); n != 1 {
		t.Errorf("%d request.csrf_refused events for a cross-site POST, want 1", n)
	}
}

var (
	secScriptTag  = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	secInlineAttr = regexp.MustCompile(`(?i)\s(on[a-z]+|style)\s*=`)
)

func TestSecurityHeadersOnPages(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	anon := in.Client()
	member := in.Client()
	member.SignIn("ada@example.com", secPassword)
	pages := map[string]apptest.Response{
		"sign-in page":  anon.Get("/login"),
		"dashboard":     member.Get("/"),
		"members":       member.Get("/members"),
		"activity":      member.Get("/activity"),
		"404 page":      member.Get("/does-not-exist"),
		"refused login": anon.PostForm("/login", url.Values{"email": {"x@example.com"}, "password": {"wrong password here"}}),
	}
	for name, r := range pages {
		if r.Status == 0 || !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: status %d, content type %q", name, r.Status, r.Header.Get("Content-Type"))
			continue
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline or eval", name, csp)
		}
		for header, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
			if got := r.Header.Get(header); got != want {
				t.Errorf("%s: %s = %q, want %q", name, header, got, want)
			}
		}
		switch rp := r.Header.Get("Referrer-Policy"); rp {
		case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
		default:
			t.Errorf("%s: Referrer-Policy %q", name, rp)
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS sent over plain http", name)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store on a page", name, cc)
		}
		// The policy only holds if the pages need nothing it forbids.
		for _, tag := range secScriptTag.FindAllString(r.Body, -1) {
			if !strings.Contains(tag, "src=") {
				t.Errorf("%s: inline script %s", name, tag)
			}
		}
		if m := secInlineAttr.FindString(r.Body); m != "" {
			t.Errorf("%s: inline style or event handler attribute %q (blocked by the CSP)", name, m)
		}
	}
}

func TestOversizeFormIsRefusedAndChangesNothing(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	c := in.Client()
	events := secCount(t, in, `SELECT count(*) FROM audit_events`)
	form := url.Values{"email": {"ada@example.com"}, "password": {secPassword}, "padding": {strings.Repeat("x", 2<<20)}}
	r := c.PostForm("/login", form)
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(strings.ToLower(r.Body), "too large") {
		t.Errorf("2 MB form: status %d, want 413 with a page that says so", r.Status)
	}
	if c.Cookie("switchboard_session") != "" || secDashboardStatus(t, c) != http.StatusSeeOther {
		t.Error("the oversize sign-in signed in")
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events`); n != events {
		t.Errorf("activity events %d → %d", events, n)
	}
}

// secChunked hides a body's length, so the limit has to be enforced while reading.
type secChunked struct{ io.Reader }

func TestOversizeChunkedFormIsRefusedAndChangesNothing(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	c := in.Client()
	events := secCount(t, in, `SELECT count(*) FROM audit_events`)
	body := url.Values{"email": {"ada@example.com"}, "password": {secPassword}, "padding": {strings.Repeat("x", 2<<20)}}.Encode()
	req, err := http.NewRequest(http.MethodPost, in.URL+"/login", secChunked{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	r := c.Do(req)
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MB chunked form: status %d, want 413", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events`); n != events {
		t.Errorf("activity events %d → %d", events, n)
	}
}

func TestHostileMemberNameIsShownInert(t *testing.T) {
	in := apptest.Start(t)
	eve := in.CreateMember("eve@example.com", "Eve Example", authz.RoleAuditor, secPassword)
	const hostile = "Eve \"\n<script>alert(1)</script><img src=x onerror=alert(2)>"
	if _, err := in.App.DB.W.Exec(`UPDATE members SET name = ? WHERE id = ?`, hostile, eve.ID); err != nil {
		t.Fatal(err)
	}
	c := in.Client()
	c.SignIn("eve@example.com", secPassword) // records an event with the hostile name as actor
	for _, path := range []string{"/", "/members", "/activity", "/does-not-exist"} {
		r := c.Get(path)
		if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
			t.Errorf("%s: status %d", path, r.Status)
			continue
		}
		if strings.Contains(r.Body, "<script>alert(1)") || strings.Contains(r.Body, "<img src=x") {
			t.Errorf("%s: the name is rendered as markup", path)
		}
		if !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the name is not shown (escaped)", path)
		}
	}
}

// scs wrapped with echo.WrapMiddleware can send the session cookie twice when a handler returns
// an error; the session middleware commits once, before the error page is written.
func TestErrorPagesSendAtMostOneSessionCookie(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, secPassword)
	for _, tc := range []struct {
		name   string
		email  string
		method string
		path   string
		status int
	}{
		{"not found", "ada@example.com", http.MethodGet, "/does-not-exist", http.StatusNotFound},
		{"forbidden", "grace@example.com", http.MethodGet, "/members", http.StatusForbidden},
		{"method not allowed", "ada@example.com", http.MethodPut, "/login", http.StatusMethodNotAllowed},
		{"HEAD not found", "ada@example.com", http.MethodHead, "/does-not-exist", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := in.Client()
			c.SignIn(tc.email, secPassword)
			// Two minutes on, the request rewrites the session's last-seen time: the session is
			// modified on a request that ends in an error page.
			in.Clock.Advance(2 * time.Minute)
			req, err := http.NewRequest(tc.method, in.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-CSRF-Token", c.CSRFToken())
			r := c.Do(req)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d", r.Status, tc.status)
			}
			if n := len(secSessionCookies(r.Header)); n > 1 {
				t.Errorf("%d session Set-Cookie headers: %q", n, r.Header.Values("Set-Cookie"))
			}
			// The last-seen time written on the error page was kept: 29 minutes later the session
			// is still inside its 30-minute idle time-out (31 minutes after the sign-in).
			in.Clock.Advance(29 * time.Minute)
			if s := secDashboardStatus(t, c); s != http.StatusOK {
				t.Errorf("the session write on the error page was lost: dashboard %d, want 200", s)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	in := apptest.Start(t)
	c := in.Client()
	r := c.Get("/healthz")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q", r.Status, r.Header.Get("Content-Type"))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["status"] != "ok" {
		t.Errorf("body %q (%v), want {\"status\":\"ok\"}", r.Body, err)
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("/healthz sets cookies: %q", r.Header.Values("Set-Cookie"))
	}
}

func TestMetricsAreLabelledByRoute(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	c := in.Client()
	login := c.Get("/login")
	css := regexp.MustCompile(`/static/css/app\.([0-9a-f]+)\.css`).FindStringSubmatch(login.Body)
	if css == nil {
		t.Fatal("no stylesheet link on the sign-in page")
	}
	c.Get(css[0])
	c.Get("/static/js/nothing-8271635.js")
	c.Get("/members/918273645/edit")
	c.Get("/does-not-exist/918273645")
	c.SignIn("ada@example.com", secPassword)
	c.Get("/?page=918273645")

	r := c.Get("/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.Status)
	}
	var lines []string
	for _, l := range strings.Split(r.Body, "\n") {
		if strings.HasPrefix(l, "switchboard_http_") {
			lines = append(lines, l)
		}
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		`switchboard_http_requests_total{method="GET",route="/login",status="200"} 1`,
		`switchboard_http_requests_total{method="POST",route="/login",status="303"} 1`,
		`switchboard_http_requests_total{method="GET",route="/",status="200"}`,
		`route="/static/*"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("metrics lack %s:\n%s", want, all)
		}
	}
	for _, raw := range []string{"918273645", "8271635", css[1], "does-not-exist", "ada@example.com"} {
		if strings.Contains(all, raw) {
			t.Errorf("metrics contain the raw value %q:\n%s", raw, all)
		}
	}
}

func TestDeniedAccessIsRecorded(t *testing.T) {
	in := apptest.Start(t)
	agent := in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, secPassword)
	c := in.Client()
	c.SignIn("grace@example.com", secPassword)
	req, err := http.NewRequest(http.MethodGet, in.URL+"/members", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without a declared proxy, a client-written X-Forwarded-For is not believed.
	req.Header.Set("X-Forwarded-For", "203.0.113.66")
	r := c.Do(req)
	if r.Status != http.StatusForbidden {
		t.Fatalf("agent GET /members: %d, want 403", r.Status)
	}
	if strings.Contains(r.Body, "ada@example.com") || strings.Contains(r.Body, "<table") {
		t.Error("the refusal page shows the members list")
	}
	ev := secEvents(t, in, "access.denied")
	if len(ev) != 1 {
		t.Fatalf("%d access.denied events, want 1", len(ev))
	}
	e := ev[0]
	if e.Outcome != audit.OutcomeDenied || e.Actor.Type != audit.ActorMember || e.Actor.ID != secItoa(agent.ID) {
		t.Errorf("event outcome %q actor %+v, want denied with the agent (member %d) as actor", e.Outcome, e.Actor, agent.ID)
	}
	if e.Target.ID != "GET /members" || e.RequestID == "" || e.ClientAddr != "127.0.0.1" {
		t.Errorf("event target %+v, request id %q, client %q", e.Target, e.RequestID, e.ClientAddr)
	}
}

func secItoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDeactivationAndSessionEpochEndSessionsAtOnce(t *testing.T) {
	in := apptest.Start(t)
	grace := in.CreateMember("grace@example.com", "Grace Hopper", authz.RoleAgent, secPassword)
	alan := in.CreateMember("alan@example.com", "Alan Turing", authz.RoleAgent, secPassword)
	laptop, phone, other := in.Client(), in.Client(), in.Client()
	laptop.SignIn("grace@example.com", secPassword)
	phone.SignIn("grace@example.com", secPassword)
	other.SignIn("alan@example.com", secPassword)

	if _, err := in.App.DB.W.Exec(`UPDATE members SET status = 'deactivated' WHERE id = ?`, grace.ID); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*apptest.Client{"laptop": laptop, "phone": phone} {
		r := c.Get("/")
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("deactivated member's %s: %d %q, want a redirect to /login", name, r.Status, r.Location())
		}
	}
	if r := laptop.PostForm("/logout", nil); r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location(), "/login?signed_out") {
		t.Error("a deactivated member's session could still sign out as the member")
	}
	// The session is gone for good: reactivating does not bring it back.
	if _, err := in.App.DB.W.Exec(`UPDATE members SET status = 'active' WHERE id = ?`, grace.ID); err != nil {
		t.Fatal(err)
	}
	if r := phone.Get("/"); r.Status != http.StatusSeeOther {
		t.Errorf("the ended session works again after reactivation: %d", r.Status)
	}
	if r := other.Get("/"); r.Status != http.StatusOK {
		t.Errorf("another member was signed out: %d", r.Status)
	}

	if _, err := in.App.DB.W.Exec(`UPDATE members SET session_epoch = session_epoch + 1 WHERE id = ?`, alan.ID); err != nil {
		t.Fatal(err)
	}
	if r := other.Get("/"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("after raising the session epoch: %d %q, want a redirect to /login", r.Status, r.Location())
	}
	// Signing in again gives a session with the new epoch.
	other.SignIn("alan@example.com", secPassword)
	if r := other.Get("/"); r.Status != http.StatusOK {
		t.Errorf("a fresh sign-in after the epoch was raised: %d", r.Status)
	}
}

func TestStaticAssets(t *testing.T) {
	in := apptest.Start(t)
	c := in.Client()
	page := c.Get("/login")
	href := regexp.MustCompile(`/static/css/app\.[0-9a-f]+\.css`).FindString(page.Body)
	if href == "" {
		t.Fatal("no hashed stylesheet URL on the sign-in page")
	}
	r := c.Get(href)
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") || len(r.Body) == 0 {
		t.Fatalf("GET %s: %d %q, %d bytes", href, r.Status, r.Header.Get("Content-Type"), len(r.Body))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q, want a year and immutable", cc)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff on a static asset")
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("a static asset sets cookies: %q", r.Header.Values("Set-Cookie"))
	}

	req, _ := http.NewRequest(http.MethodHead, in.URL+href, nil)
	head := c.Do(req)
	if head.Status != http.StatusOK || head.Body != "" || head.Header.Get("Content-Length") != secItoa(int64(len(r.Body))) {
		t.Errorf("HEAD %s: %d, body %d bytes, Content-Length %q (GET gave %d)", href, head.Status, len(head.Body),
			head.Header.Get("Content-Length"), len(r.Body))
	}

	req, _ = http.NewRequest(http.MethodGet, in.URL+href, nil)
	req.Header.Set("If-None-Match", r.Header.Get("ETag"))
	if again := c.Do(req); again.Status != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", again.Status)
	}

	for _, path := range []string{"/static/css/app.css", "/static/css/app.0000000000.css", "/static/nope.js", "/static/", "/static/css/"} {
		if r := c.Get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.Status)
		}
		req, _ := http.NewRequest(http.MethodHead, in.URL+path, nil)
		if r := c.Do(req); r.Status != http.StatusNotFound {
			t.Errorf("HEAD %s: %d, want 404", path, r.Status)
		}
	}
}

// Served over TLS (an https base URL), both cookies carry the __Host- prefix and Secure, and
// browsers are told to stay on https.
func TestCookiesOverTLS(t *testing.T) {
	f := config.ServeFlags{
		Common: config.Common{DataDir: t.TempDir(), LogLevel: "info", LogFormat: "text"},
		Addr:   "127.0.0.1:8080", BaseURL: "https://switchboard.example.com",
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
	}
	cfg, err := config.Serve(f)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{
		Clock:  clock.NewFake(time.Now()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Members.Create(context.Background(), members.NewMember{Email: "ada@example.com", Name: "Ada Lovelace",
		Password: secPassword, RoleKey: authz.RoleAdministrator}); err != nil {
		t.Fatal(err)
	}
	serve := func(req *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		a.Server.Handler().ServeHTTP(rec, req)
		return rec.Result()
	}
	cookie := func(resp *http.Response, name string) *http.Cookie {
		for _, ck := range resp.Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		t.Fatalf("no %s cookie in %q", name, resp.Header.Values("Set-Cookie"))
		return nil
	}
	checkHostCookie := func(ck *http.Cookie) {
		t.Helper()
		if !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s: Secure=%v HttpOnly=%v Path=%q Domain=%q SameSite=%v", ck.Name, ck.Secure, ck.HttpOnly, ck.Path, ck.Domain, ck.SameSite)
		}
	}

	page := serve(httptest.NewRequest(http.MethodGet, "https://switchboard.example.com/login", nil))
	if hsts := page.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", hsts)
	}
	csrf := cookie(page, "__Host-switchboard_csrf")
	checkHostCookie(csrf)
	body, _ := io.ReadAll(page.Body)
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}

	form := url.Values{"email": {"ada@example.com"}, "password": {secPassword}, "_csrf": {string(m[1])}}
	req := httptest.NewRequest(http.MethodPost, "https://switchboard.example.com/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	resp := serve(req)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in over TLS: %d", resp.StatusCode)
	}
	session := cookie(resp, "__Host-switchboard_session")
	checkHostCookie(session)
	if len(session.Value) < 43 {
		t.Errorf("session token of %d characters", len(session.Value))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "switchboard_session" {
			t.Error("an unprefixed session cookie was also set")
		}
	}
}

// A static asset is cached publicly for a year, so its response must never carry a member's
// session cookie: a shared cache told to ignore Set-Cookie on /static/ (a common proxy setting
// for immutable files) would hand the token to everyone. Machine endpoints have no use for it
// either.
func TestPublicResponsesNeverCarryTheSessionCookie(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	c := in.Client()
	c.SignIn("ada@example.com", secPassword)
	href := regexp.MustCompile(`/static/css/app\.[0-9a-f]+\.css`).FindString(c.Get("/").Body)
	if href == "" {
		t.Fatal("no hashed stylesheet URL on the dashboard")
	}
	for _, path := range []string{href, "/healthz", "/metrics"} {
		in.Clock.Advance(2 * time.Minute) // past the last-seen resolution: a page would rewrite the session
		r := c.Get(path)
		if r.Status != http.StatusOK {
			t.Errorf("GET %s: %d", path, r.Status)
		}
		if ck := secSessionCookies(r.Header); len(ck) != 0 {
			t.Errorf("GET %s sets the session cookie (Cache-Control %q)", path, r.Header.Values("Cache-Control"))
		}
	}
}

func TestClientRequestIDsAreBoundedBeforeTheyReachTheLog(t *testing.T) {
	in := apptest.Start(t)
	c := in.Client()
	for id, kept := range map[string]bool{"abc-123_x.y": true, strings.Repeat("a", 200): false, "has space": false, "<script>": false} {
		req, _ := http.NewRequest(http.MethodGet, c.URL("/healthz"), nil)
		req.Header.Set("X-Request-Id", id)
		r := c.Do(req)
		if got := r.Header.Get("X-Request-Id"); (got == id) != kept {
			t.Errorf("X-Request-Id %q answered as %q", id, got)
		}
	}
}

func TestRefusalFloodsAreRecordedThinly(t *testing.T) {
	in := apptest.Start(t)
	c := in.Client()
	for i := 0; i < 50; i++ {
		if r := c.PostFormRaw("/login", url.Values{"email": {"x@example.com"}}); r.Status != http.StatusForbidden {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	if n := len(secEvents(t, in, "request.csrf_refused")); n != 1 {
		t.Fatalf("%d events for 50 refusals in a minute, want 1", n)
	}
	in.Clock.Advance(time.Minute)
	c.PostFormRaw("/login", url.Values{"email": {"x@example.com"}})
	ev := secEvents(t, in, "request.csrf_refused")
	if len(ev) != 2 {
		t.Fatalf("%d events after the minute, want 2", len(ev))
	}
	found := false
	for _, ch := range ev[1].Changes {
		if ch.Field == "refusals_not_recorded_before" && ch.After == float64(49) {
			found = true
		}
	}
	if !found {
		t.Errorf("the second event does not count the 49 left out: %+v", ev[1].Changes)
	}
}

// A CSRF token is taken from the form body or the header only: one in the URL would land in
// logs and history. The same valid token in the query string is refused and changes nothing.
func TestCSRFTokenInTheQueryStringIsRefused(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada Lovelace", authz.RoleAdministrator, secPassword)
	c := in.Client()
	c.SignIn("ada@example.com", secPassword)
	token := c.CSRFToken()
	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		req, err := http.NewRequest(method, in.URL+"/logout?_csrf="+url.QueryEscape(token), strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if r := c.Do(req); r.Status != http.StatusForbidden && r.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s with the token in the query: %d, want 403", method, r.Status)
		}
	}
	// Even beside a wrong token in the body, the query's token does not count.
	r := secPost(t, in, c, "/logout?_csrf="+url.QueryEscape(token), url.Values{"_csrf": {"forged"}}, nil)
	if r.Status != http.StatusForbidden {
		t.Errorf("query token beside a forged body token: %d, want 403", r.Status)
	}
	if s := secDashboardStatus(t, c); s != http.StatusOK {
		t.Fatalf("the member was signed out by a refused request: dashboard %d", s)
	}
	if n := len(secEvents(t, in, "member.signed_out")); n != 0 {
		t.Errorf("%d sign-outs recorded", n)
	}
	if r := secPost(t, in, c, "/logout", url.Values{"_csrf": {token}}, nil); r.Status != http.StatusSeeOther {
		t.Errorf("the same token in the body: %d, want 303", r.Status)
	}
}
