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
	"github.com/switchboard/switchboard/internal/mail/mailtest"
	"github.com/switchboard/switchboard/internal/members"
)

const newPassword = "a brand new passphrase for me"

var resetLinkRE = regexp.MustCompile(`http://[^\s"<]+/password-reset/[A-Z2-7]+`)

// resetLink is the reset link of the last mail to addr.
func resetLink(t *testing.T, srv *mailtest.Server, n int, to string) string {
	t.Helper()
	msgs := srv.WaitFor(n, 10*time.Second)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == to {
			link := resetLinkRE.FindString(msgs[i].Text)
			if link == "" {
				t.Fatalf("no reset link in %q", msgs[i].Text)
			}
			return link
		}
	}
	t.Fatalf("no mail to %s", to)
	return ""
}

func countEvents(t *testing.T, in *apptest.Instance, action string) int {
	t.Helper()
	var n int
	if err := in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = ?`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func signInStatus(c *apptest.Client, email, password string) (int, string) {
	r := c.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	return r.Status, r.Location()
}

// The whole self-service path: a member with 2FA forgets their password, gets the link by
// e-mail, sets a new one; every session ends, the old password and the link stop working, and
// signing in still asks for the code.
func TestPasswordResetByEmail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("owner@example.com", "Owner", authz.RoleAdministrator, ownerPassword)
	m := in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, ownerPassword)
	other := in.Client()
	other.SignIn("ada@example.com", ownerPassword)
	if r := other.Get("/account"); r.Status != http.StatusOK {
		t.Fatalf("second session: %d", r.Status)
	}

	c := in.Client()
	if r := c.Get("/login"); !strings.Contains(r.Body, `href="/password-reset"`) {
		t.Error("the sign-in page does not offer a password reset")
	}
	if r := c.Get("/password-reset"); r.Status != http.StatusOK || !strings.Contains(r.Body, "E-mail me a reset link") {
		t.Fatalf("forgot page: %d", r.Status)
	}
	r := c.PostForm("/password-reset", url.Values{"email": {"ada@example.com"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Check your inbox") {
		t.Fatalf("request: %d", r.Status)
	}
	link := resetLink(t, srv, 1, "ada@example.com")
	path := strings.TrimPrefix(link, in.URL)
	if r := c.Get(path); r.Status != http.StatusOK || !strings.Contains(r.Body, "ada@example.com") {
		t.Fatalf("reset form: %d", r.Status)
	}
	// A weak password is refused and the link still works.
	if r := c.PostForm(path, url.Values{"password": {"password"}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("weak password: %d", r.Status)
	}
	r = c.PostForm(path, url.Values{"password": {newPassword}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "a code from your authenticator app") {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	// Every session ended.
	if r := other.Get("/account"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
		t.Errorf("the other session still works after the reset: %d %s", r.Status, r.Location())
	}
	// The link is single use.
	if r := c.Get(path); r.Status != http.StatusNotFound {
		t.Errorf("used link, GET: %d", r.Status)
	}
	if r := c.PostForm(path, url.Values{"password": {"yet another passphrase here"}}); r.Status != http.StatusNotFound {
		t.Errorf("used link, POST: %d", r.Status)
	}
	// The old password is gone; the new one leads to the code step, not into the app.
	if st, _ := signInStatus(in.Client(), "ada@example.com", ownerPassword); st != http.StatusUnauthorized {
		t.Errorf("old password after reset: %d", st)
	}
	fresh := in.Client()
	st, loc := signInStatus(fresh, "ada@example.com", newPassword)
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login/2fa") {
		t.Fatalf("sign-in after reset went to %d %q, want the 2FA step", st, loc)
	}
	if r := fresh.Get("/account"); r.Status == http.StatusOK {
		t.Error("the reset gave a session without the code step")
	}
	if got, _ := in.App.TwoFactor.State(context.Background(), m.ID); !got.Enabled {
		t.Error("the reset removed 2FA")
	}
	for _, action := range []string{"member.password_reset_requested", "member.password_reset", "mail.sent", "member.password_reset_refused"} {
		if countEvents(t, in, action) == 0 {
			t.Errorf("no %s event", action)
		}
	}
	// The link was in the mail only: not in the log, not in the database.
	token := path[strings.LastIndex(path, "/")+1:]
	if strings.Contains(in.Logs.String(), token) {
		t.Error("the reset token is in the server log")
	}
	var n int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM audit_events WHERE changes LIKE ?`, "%"+token+"%").Scan(&n)
	if n > 0 {
		t.Error("the reset token is in the activity log")
	}
}

func TestResetLinkExpiresAfter30Minutes(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	c := in.Client()
	c.PostForm("/password-reset", url.Values{"email": {"ada@example.com"}})
	path := strings.TrimPrefix(resetLink(t, srv, 1, "ada@example.com"), in.URL)
	in.Clock.Advance(members.PasswordResetLifetime + time.Second)
	if r := c.PostForm(path, url.Values{"password": {newPassword}}); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "does not work") {
		t.Fatalf("expired link: %d", r.Status)
	}
	if st, _ := signInStatus(in.Client(), "ada@example.com", ownerPassword); st != http.StatusSeeOther {
		t.Errorf("the expired link changed the password: sign-in %d", st)
	}
}

// A link resets its own member's password only, whoever's browser uses it.
func TestResetLinkActsOnItsOwnMemberOnly(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	in.CreateMember("bob@example.com", "Bob", authz.RoleAgent, ownerPassword)
	bob := in.Client()
	bob.SignIn("bob@example.com", ownerPassword)
	in.Client().PostForm("/password-reset", url.Values{"email": {"ada@example.com"}})
	path := strings.TrimPrefix(resetLink(t, srv, 1, "ada@example.com"), in.URL)
	// Bob, signed in, submits Ada's link with extra fields naming himself.
	r := bob.PostForm(path, url.Values{"password": {newPassword}, "email": {"bob@example.com"}, "member_id": {"2"}, "username": {"bob@example.com"}})
	if r.Status != http.StatusOK {
		t.Fatalf("reset: %d", r.Status)
	}
	if st, _ := signInStatus(in.Client(), "bob@example.com", ownerPassword); st != http.StatusSeeOther {
		t.Error("Bob's password changed with Ada's link")
	}
	if st, _ := signInStatus(in.Client(), "ada@example.com", newPassword); st != http.StatusSeeOther {
		t.Error("Ada's password did not change")
	}
}

// Known and unknown addresses get the same page and status, and the same work: one activity
// event each, no more; only the known one gets mail.
func TestForgotPasswordAnswersTheSameForUnknownAddresses(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	csrfRE := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)
	normalise := func(body, email string) string {
		body = strings.ReplaceAll(body, email, "EMAIL")
		if m := csrfRE.FindStringSubmatch(body); m != nil {
			body = strings.ReplaceAll(body, m[1], "CSRF")
		}
		return body
	}
	var bodies []string
	var took []time.Duration
	for _, email := range []string{"ada@example.com", "nobody-here@example.com"} {
		before := countEvents(t, in, "member.password_reset_requested")
		start := time.Now()
		r := in.Client().PostForm("/password-reset", url.Values{"email": {email}})
		took = append(took, time.Since(start))
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", email, r.Status)
		}
		bodies = append(bodies, normalise(r.Body, email))
		if got := countEvents(t, in, "member.password_reset_requested") - before; got != 1 {
			t.Errorf("%s: %d events", email, got)
		}
	}
	if bodies[0] != bodies[1] {
		t.Errorf("the answers differ:\n%s\n----\n%s", bodies[0], bodies[1])
	}
	t.Logf("request time: known address %v, unknown address %v", took[0], took[1])
	srv.WaitFor(1, 5*time.Second)
	time.Sleep(1500 * time.Millisecond) // a mail to the unknown address would have left by now
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To != "ada@example.com" {
		t.Errorf("mail sent: %+v", msgs)
	}
}

// Reset requests are throttled like sign-ins, the same for a known and an unknown address.
func TestForgotPasswordIsThrottled(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	for _, email := range []string{"ada@example.com", "nobody-here@example.com"} {
		var last apptest.Response
		for i := 0; i < 6; i++ {
			last = in.Client().PostForm("/password-reset", url.Values{"email": {email}})
		}
		if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" || !strings.Contains(last.Body, "Too many reset requests") {
			t.Errorf("%s: 6th request answered %d", email, last.Status)
		}
		in.Clock.Advance(time.Hour)
	}
	// The reset throttle keeps to itself: Ada can still sign in.
	if st, _ := signInStatus(in.Client(), "ada@example.com", ownerPassword); st != http.StatusSeeOther {
		t.Errorf("reset requests locked the sign-in: %d", st)
	}
}

// Without a mail server the page says so, no link is made, and nothing is recorded as sent.
func TestForgotPasswordWithoutMailServer(t *testing.T) {
	in := apptest.Start(t)
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	c := in.Client()
	if r := c.Get("/password-reset"); !strings.Contains(r.Body, "does not send e-mail") {
		t.Error("the page does not say e-mail is off")
	}
	r := c.PostForm("/password-reset", url.Values{"email": {"ada@example.com"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "does not send e-mail") {
		t.Errorf("request without mail: %d", r.Status)
	}
	var n int
	in.App.DB.R.QueryRow(`SELECT count(*) FROM password_resets`).Scan(&n)
	if n != 0 {
		t.Error("a reset link was made that nobody can receive")
	}
}

// An administrator issues a reset link: shown to copy without a mail server, e-mailed with one;
// refused for members outside what they may manage, for themselves, and without members.manage.
func TestAdministratorIssuesAResetLink(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	m := in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	path := "/members/" + strconv.FormatInt(m.ID, 10) + "/password-reset"
	r := admin.PostForm(path, nil)
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, "does not send e-mail") {
		t.Fatalf("issue: %d", r.Status)
	}
	link := resetLinkRE.FindString(r.Body)
	if link == "" {
		t.Fatal("no link shown")
	}
	c := in.Client()
	if r := c.PostForm(strings.TrimPrefix(link, in.URL), url.Values{"password": {newPassword}}); r.Status != http.StatusOK {
		t.Fatalf("use the link: %d", r.Status)
	}
	if countEvents(t, in, "member.password_reset_issued") != 1 {
		t.Error("no member.password_reset_issued event")
	}

	// Refusals change nothing.
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm(path, nil); r.Status != http.StatusForbidden {
		t.Errorf("an agent issued a reset link: %d", r.Status)
	}
	self := "/members/" + strconv.FormatInt(memberByEmail(t, in, "admin@example.com").ID, 10) + "/password-reset"
	if r := admin.PostForm(self, nil); r.Status != http.StatusConflict {
		t.Errorf("own reset link: %d", r.Status)
	}
	// A supervisor with members.manage cannot issue one for an Administrator.
	sup := createRole(t, admin, "Supervisor")
	for _, p := range []string{"members.view", "members.manage"} {
		toggle(t, admin, sup, p, true)
	}
	in.CreateMember("sup@example.com", "Sup", authz.RoleAgent, ownerPassword)
	setRole(t, in, "sup@example.com", sup)
	supC := in.Client()
	supC.SignIn("sup@example.com", ownerPassword)
	if r := supC.PostForm(self, nil); r.Status != http.StatusForbidden {
		t.Errorf("a supervisor issued a reset link for an Administrator: %d", r.Status)
	}
	if countEvents(t, in, "member.password_reset_issued") != 1 {
		t.Error("a refused request made a reset link")
	}
	// Stale sign-in: re-authentication first.
	in.Clock.Advance(11 * time.Minute)
	if r := admin.PostForm(path, nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Errorf("issue without a recent sign-in: %d %s", r.Status, r.Location())
	}
}

func TestAdministratorResetLinkIsEmailedWhenMailIsOn(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	m := in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	r := admin.PostForm("/members/"+strconv.FormatInt(m.ID, 10)+"/password-reset", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("issue: %d", r.Status)
	}
	if page := admin.Get(r.Location()); !strings.Contains(page.Body, "e-mailed to ada@example.com") || resetLinkRE.MatchString(page.Body) {
		t.Error("the member page does not say the link was e-mailed, or shows it")
	}
	msgs := srv.WaitFor(1, 5*time.Second)
	if !strings.Contains(msgs[0].Text, "admin, an administrator of your workspace") {
		t.Errorf("mail: %s", msgs[0].Text)
	}
}

// The test e-mail button: for those who manage security settings, recorded, and it arrives.
func TestSendTestEmail(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.Get("/settings/security"); !strings.Contains(r.Body, "Send test e-mail to me") || !strings.Contains(r.Body, "127.0.0.1") {
		t.Fatal("the security settings do not offer a test e-mail")
	}
	r := admin.PostForm("/settings/security/test-email", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("test e-mail: %d", r.Status)
	}
	got := srv.WaitFor(1, 5*time.Second)[0]
	if got.To != "admin@example.com" || got.Subject != "Switchboard test e-mail" || got.HTML == "" || got.Text == "" {
		t.Errorf("test mail: %+v", got)
	}
	if countEvents(t, in, "mail.test_requested") != 1 {
		t.Error("no activity event")
	}
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm("/settings/security/test-email", nil); r.Status != http.StatusForbidden {
		t.Errorf("an agent sent a test e-mail: %d", r.Status)
	}
	if countEvents(t, in, "mail.test_requested") != 1 {
		t.Error("the refused request queued mail")
	}
}

func TestSettingsSayWhenMailIsOff(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.Get("/settings/security"); !strings.Contains(r.Body, "does not send e-mail") || strings.Contains(r.Body, "Send test e-mail") {
		t.Error("the settings do not say e-mail is off")
	}
	if r := admin.PostForm("/settings/security/test-email", nil); r.Status != http.StatusConflict {
		t.Errorf("test e-mail without a server: %d", r.Status)
	}
}

// Alerts are e-mailed to members who may see them, unless they opted out on /account.
func TestAlertsAreEmailedToWhoeverSeesThemUnlessOptedOut(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	_, auditor := signedIn(t, in, "auditor@example.com", authz.RoleAuditor)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.Get("/account"); strings.Contains(r.Body, "Security alert e-mails") {
		t.Error("a member who cannot see alerts is offered alert mail")
	}
	if r := auditor.Get("/account"); !strings.Contains(r.Body, "Security alert e-mails") {
		t.Fatal("the account page does not offer the alert mail choice")
	}
	if r := auditor.PostForm("/account/alert-mail", url.Values{"alert_mail": {"0"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("opt out: %d", r.Status)
	}
	if countEvents(t, in, "member.alert_mail_changed") != 1 {
		t.Error("the opt-out is not in the activity log")
	}
	// Raise an alert: make the agent an Administrator.
	m := memberByEmail(t, in, "agent@example.com")
	if r := admin.PostForm("/members/"+strconv.FormatInt(m.ID, 10)+"/role", url.Values{"role": {strconv.FormatInt(roleID(t, in, authz.RoleAdministrator), 10)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("promote: %d", r.Status)
	}
	msgs := srv.WaitFor(1, 5*time.Second)
	time.Sleep(1500 * time.Millisecond)
	msgs = srv.Messages()
	var to []string
	for _, msg := range msgs {
		to = append(to, msg.To)
		if !strings.Contains(msg.Subject, "Role raised to Administrator") || !strings.Contains(msg.Text, "/alerts") || !strings.Contains(msg.Text, "/account") {
			t.Errorf("alert mail: %s / %s", msg.Subject, msg.Text)
		}
	}
	// The admin gets it, and so does the promoted member, an Administrator as the alert is
	// raised (they learn of it too); the auditor opted out.
	if strings.Join(to, ",") != "admin@example.com,agent@example.com" {
		t.Errorf("alert mail went to %v", to)
	}
}

// Invitations go by e-mail when a mail server is configured, and the link is then not shown.
func TestInvitationIsEmailed(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	r := admin.PostForm("/members/invitations", url.Values{"email": {"new@example.com"}, "role": {strconv.FormatInt(roleID(t, in, authz.RoleAgent), 10)}, "all_numbers": {"1"}})
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, "e-mailed to new@example.com") || strings.Contains(r.Body, "/invitations/") {
		t.Fatalf("invite: %d", r.Status)
	}
	msg := srv.WaitFor(1, 5*time.Second)[0]
	link := regexp.MustCompile(`http://[^\s"<]+/invitations/[A-Z2-7]+`).FindString(msg.Text)
	if msg.To != "new@example.com" || link == "" {
		t.Fatalf("invitation mail: %+v", msg)
	}
	if r := in.Client().Get(strings.TrimPrefix(link, in.URL)); r.Status != http.StatusOK {
		t.Errorf("the e-mailed link: %d", r.Status)
	}
}

// A mail server that stalls (it takes the message and never answers DATA) holds no request:
// the request only writes the outbox.
func TestAStalledMailServerDoesNotHoldRequests(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{Hold: func(int) bool { return true }})
	in := apptest.StartWith(t, apptest.Options{SMTP: srv})
	in.CreateMember("ada@example.com", "Ada", authz.RoleAgent, ownerPassword)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	c := in.Client()
	c.PostForm("/password-reset", url.Values{"email": {"ada@example.com"}})
	srv.Held(10 * time.Second) // the worker is now stuck in DATA with the mail server
	var worst time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		r := admin.PostForm("/settings/security/test-email", nil)
		took := time.Since(start)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("test e-mail: %d", r.Status)
		}
		worst = max(worst, took)
		start = time.Now()
		if r := admin.Get("/settings/security"); r.Status != http.StatusOK {
			t.Fatalf("settings: %d", r.Status)
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("slowest request while the mail server stalls: %v", worst)
	if worst > time.Second {
		t.Errorf("a request waited %v for a stalled mail server", worst)
	}
	if r := admin.Get("/settings/security"); !strings.Contains(r.Body, "6 waiting") {
		t.Error("the outbox does not show the waiting mail")
	}
}

func memberByEmail(t *testing.T, in *apptest.Instance, email string) members.Member {
	t.Helper()
	m, err := in.App.Members.Store().ByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// setRole gives a member a role directly (set-up for a test, not the behaviour under test).
func setRole(t *testing.T, in *apptest.Instance, email string, roleID int64) {
	t.Helper()
	if _, err := in.App.DB.W.Exec(`UPDATE members SET role_id = ? WHERE email = ?`, roleID, email); err != nil {
		t.Fatal(err)
	}
}
