// Package apptest starts a real Switchboard for tests: a real SQLite file in a temporary
// directory, a real HTTP server on a random loopback port, and a fake clock the test moves.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db/dbcheck"
	"github.com/switchboard/switchboard/internal/mail"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/webhooks"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
	"github.com/switchboard/switchboard/internal/workspace"
)

// Instance is a running server.
type Instance struct {
	URL     string
	App     *app.App
	Clock   *clock.Fake
	DataDir string
	Logs    *LogBuffer
	Sim     *simulator.Simulator
	t       testing.TB

	mu          sync.Mutex
	totpSecrets map[string]string // e-mail → seed, for members enrolled by CreateMember
	lastStep    map[string]int64
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Instance {
	t.Helper()
	return StartWith(t, Options{})
}

// Options adjust the server StartWith runs.
type Options struct {
	// SMTP, when set, is the mail server: e-mail is on, delivered to it.
	SMTP *mailtest.Server
	// Sandbox runs the server as --demo does (without the demo's data): webhooks may then go
	// to receivers on 127.0.0.1.
	Sandbox bool
	// WebhookLookup resolves webhook receivers' host names.
	WebhookLookup webhooks.LookupFunc
	// SimulatorClock, when set, is the simulator's clock instead of the server's fake one (a
	// test that measures pacing reads the real time of each send from the simulator's record).
	SimulatorClock clock.Clock
}

// MailFrom is the from-address of instances started with a mail server.
const MailFrom = "Switchboard <switchboard@example.com>"

// StartWith runs a server with opts until the test ends.
func StartWith(t testing.TB, opts Options) *Instance {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var f config.ServeFlags
	f.Addr, f.DataDir, f.LogLevel, f.LogFormat = l.Addr().String(), dir, "debug", "text"
	f.IdleTimeout, f.AbsoluteTimeout = 30*time.Minute, 12*time.Hour
	f.Demo = opts.Sandbox
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	// The local Cloud API stand-in answers for Meta, and plays customers against our webhook.
	var simClock clock.Clock = clk
	if opts.SimulatorClock != nil {
		simClock = opts.SimulatorClock
	}
	sim := simulator.New(simulator.Options{Clock: simClock, AccessToken: SandboxToken, AppSecret: SandboxAppSecret,
		WABAs: []simulator.WABA{SandboxWABA()}, WebhookURL: "http://" + l.Addr().String() + "/webhooks/whatsapp",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	simServer := httptest.NewServer(sim.Handler())
	t.Cleanup(simServer.Close)
	f.GraphURL = simServer.URL
	if opts.SMTP != nil {
		f.SMTPURL, f.SMTPFrom = opts.SMTP.URL(), MailFrom
	}
	cfg, err := config.Serve(f)
	if err != nil {
		t.Fatal(err)
	}
	var sender mail.Sender
	if opts.SMTP != nil {
		s := mail.NewSMTP(cfg.SMTP)
		s.TLS = opts.SMTP.ClientTLS()
		sender = s
	}
	logs := &LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	checker := dbcheck.New()
	a, err := app.New(ctx, cfg, app.Options{Clock: clk, MailSender: sender, WebhookLookup: opts.WebhookLookup, DB: checker.Options(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		failOnPoolWaits(t, checker)
	})
	return &Instance{URL: "http://" + l.Addr().String(), App: a, Clock: clk, DataDir: dir, Logs: logs, t: t, Sim: sim,
		totpSecrets: map[string]string{}, lastStep: map[string]int64{}}
}

// The sandbox WABA the simulator knows.
const (
	SandboxToken     = "EAAGsandboxtoken0000switchboard"
	SandboxAppSecret = "sandbox-app-secret-0123456789abcdef"
	SandboxVerify    = "sandbox-verify-token-0123456789"
	SandboxWABAID    = "102290129340398"
	SandboxNumberA   = "106540352242922"
	SandboxNumberB   = "106540352242923"
)

// SandboxWABA is the WhatsApp Business Account the simulator serves in tests.
func SandboxWABA() simulator.WABA {
	return simulator.WABA{ID: SandboxWABAID, Name: "Lucky Shrub", PhoneNumbers: []whatsapp.PhoneNumber{
		{ID: SandboxNumberA, DisplayPhoneNumber: "+1 555-078-3881", VerifiedName: "Lucky Shrub", QualityRating: "GREEN", MessagingLimit: "TIER_1K"},
		{ID: SandboxNumberB, DisplayPhoneNumber: "+49 30 9018 2044", VerifiedName: "Lucky Shrub Berlin", QualityRating: "YELLOW", MessagingLimit: "TIER_250"},
	}}
}

// ApprovedSandboxTemplate creates a template at Meta (the simulator) outside Switchboard, has
// Meta approve it, and imports it with "Sync from Meta", as for a template made in WhatsApp
// Manager. The sandbox must be connected.
func (in *Instance) ApprovedSandboxTemplate(name, body string, examples ...string) {
	in.t.Helper()
	ctx := context.Background()
	creds, err := in.App.Workspace.CredentialsForWABA(ctx, SandboxWABAID)
	if err != nil {
		in.t.Fatal(err)
	}
	created, err := in.App.WhatsApp.CreateTemplate(ctx, creds, SandboxWABAID, whatsapp.TemplateDefinition{
		Name: name, Language: "en_US", Category: "UTILITY",
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: body, Example: &whatsapp.TemplateExample{BodyText: [][]string{examples}}}},
	})
	if err != nil {
		in.t.Fatalf("create template at the simulator: %v", err)
	}
	if err := in.Sim.SetTemplateStatus(ctx, created.ID, "APPROVED", ""); err != nil {
		in.t.Fatal(err)
	}
	if _, err := in.App.Templates.SyncFromMeta(ctx, SandboxWABAID); err != nil {
		in.t.Fatalf("sync sandbox templates: %v", err)
	}
}

// ConnectSandbox connects the simulator's WABA, as an administrator would on the WhatsApp
// settings page, and fetches its phone numbers. It returns the WABA's id.
func (in *Instance) ConnectSandbox() int64 {
	in.t.Helper()
	ctx := context.Background()
	w, err := in.App.Workspace.Connect(ctx, workspace.WABAInput{WABAID: SandboxWABAID, Name: "Lucky Shrub",
		AccessToken: SandboxToken, AppSecret: SandboxAppSecret, VerifyToken: SandboxVerify})
	if err != nil {
		in.t.Fatalf("connect the sandbox WABA: %v", err)
	}
	if _, err := in.App.Workspace.SyncNumbers(ctx, w.ID); err != nil {
		in.t.Fatalf("sync sandbox numbers: %v", err)
	}
	return w.ID
}

// CreateMember adds a member directly through the domain service. A member whose role requires
// two-factor authentication is enrolled too, as they would be at their first sign-in, and
// Client.SignIn then answers the code step for them.
func (in *Instance) CreateMember(email, name, roleKey, password string) members.Member {
	in.t.Helper()
	m, err := in.App.Members.Create(context.Background(), members.NewMember{Email: email, Name: name, Password: password, RoleKey: roleKey})
	if err != nil {
		in.t.Fatalf("create member %s: %v", email, err)
	}
	st, err := in.App.TwoFactor.State(context.Background(), m.ID)
	if err != nil {
		in.t.Fatal(err)
	}
	if st.Required {
		in.EnrolTOTP(m)
	}
	return m
}

// CreateMemberWithout2FA adds a member and leaves them without two-factor authentication, even
// if their role requires it (to test enforcement).
func (in *Instance) CreateMemberWithout2FA(email, name, roleKey, password string) members.Member {
	in.t.Helper()
	m, err := in.App.Members.Create(context.Background(), members.NewMember{Email: email, Name: name, Password: password, RoleKey: roleKey})
	if err != nil {
		in.t.Fatalf("create member %s: %v", email, err)
	}
	return m
}

// EnrolTOTP turns on two-factor authentication for m and remembers the seed.
func (in *Instance) EnrolTOTP(m members.Member) string {
	in.t.Helper()
	ctx := context.Background()
	key, err := in.App.TwoFactor.BeginEnrolment(ctx, m)
	if err != nil {
		in.t.Fatal(err)
	}
	in.mu.Lock()
	in.totpSecrets[strings.ToLower(m.Email)] = key.Secret()
	in.mu.Unlock()
	if _, err := in.App.TwoFactor.ConfirmEnrolment(ctx, m.ID, in.TOTPCode(m.Email)); err != nil {
		in.t.Fatalf("enrol %s: %v", m.Email, err)
	}
	return key.Secret()
}

// RememberTOTP registers a seed the test read from the enrolment page, for TOTPCode.
func (in *Instance) RememberTOTP(email, secret string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.totpSecrets[strings.ToLower(email)] = strings.ReplaceAll(secret, " ", "")
}

// TOTPCode returns a valid, unused authenticator code for an enrolled member, moving the fake
// clock to the next 30-second step when the current one was used already.
func (in *Instance) TOTPCode(email string) string {
	in.t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	key := strings.ToLower(email)
	secret, ok := in.totpSecrets[key]
	if !ok {
		in.t.Fatalf("%s has no authenticator enrolled by the test", email)
	}
	for auth.TOTPStep(in.Clock.Now()) <= in.lastStep[key] {
		in.Clock.Advance(auth.TOTPPeriod * time.Second)
	}
	in.lastStep[key] = auth.TOTPStep(in.Clock.Now())
	code, err := totp.GenerateCodeCustom(secret, in.Clock.Now(), totp.ValidateOpts{Period: auth.TOTPPeriod, Digits: auth.TOTPDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		in.t.Fatal(err)
	}
	return code
}

// Client is a browser-like HTTP client: it keeps cookies and does not follow redirects, so
// tests see each answer as it is.
type Client struct {
	HTTP *http.Client
	in   *Instance
}

// Client returns a new client with an empty cookie jar.
func (in *Instance) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{in: in, HTTP: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is an answer with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Location is the redirect target.
func (r Response) Location() string { return r.Header.Get("Location") }

// Do sends req and reads the answer.
func (c *Client) Do(req *http.Request) Response {
	c.in.t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.in.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.in.t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// URL is the absolute address of path on the server.
func (c *Client) URL(path string) string { return c.in.URL + path }

// Get fetches path.
func (c *Client) Get(path string) Response {
	c.in.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.in.URL+path, nil)
	if err != nil {
		c.in.t.Fatal(err)
	}
	return c.Do(req)
}

// PostForm posts a form with the CSRF token a page would carry (fetching a page first if the
// client has no token yet).
func (c *Client) PostForm(path string, form url.Values) Response {
	c.in.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("_csrf", c.CSRFToken())
	return c.PostFormRaw(path, f)
}

// PostFormRaw posts a form exactly as given: no CSRF token is added.
func (c *Client) PostFormRaw(path string, form url.Values) Response {
	c.in.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.in.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// CSRFToken returns the token of the client's CSRF cookie, loading the sign-in page to get one.
func (c *Client) CSRFToken() string {
	c.in.t.Helper()
	if tok := c.Cookie("switchboard_csrf"); tok != "" {
		return tok
	}
	page := c.Get("/login")
	m := csrfField.FindStringSubmatch(page.Body)
	if m == nil {
		c.in.t.Fatalf("no CSRF token on the sign-in page (status %d)", page.Status)
	}
	return m[1]
}

// Cookie returns the value of the named cookie for the server, or "".
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.in.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// SignIn signs in, answering the 2FA step for members enrolled by the test, and fails the test
// unless it worked.
func (c *Client) SignIn(email, password string) {
	c.in.t.Helper()
	r := c.PostForm("/login", url.Values{"email": {email}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		c.in.t.Fatalf("sign in as %s: status %d", email, r.Status)
	}
	if strings.HasPrefix(r.Location(), "/login/2fa") {
		r = c.PostForm("/login/2fa", url.Values{"code": {c.in.TOTPCode(email)}})
		if r.Status != http.StatusSeeOther {
			c.in.t.Fatalf("2FA step for %s: status %d", email, r.Status)
		}
	}
}

// LogBuffer collects the server's log lines.
type LogBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything logged so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failOnPoolWaits fails the test when the server read through a reader inside a write
// transaction or waited for the writer while holding a read (see internal/db/dbcheck).
func failOnPoolWaits(t testing.TB, checker *dbcheck.Checker) {
	t.Helper()
	found, more := checker.Violations()
	for _, v := range found {
		t.Errorf("database pools: %s", v)
	}
	if more > 0 {
		t.Errorf("database pools: %d more like these", more)
	}
}
