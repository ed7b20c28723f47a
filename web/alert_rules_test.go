package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/mail/mailtest"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// httpPublisher stands where the outgoing webhooks will be wired: it posts each alert as JSON to
// a real HTTP server on loopback, which keeps what it receives.
type httpPublisher struct{ url string }

func (p httpPublisher) PublishAlert(ctx context.Context, a alerts.Alert) error {
	b, _ := json.Marshal(map[string]string{"kind": string(a.Kind), "title": a.Title})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

type hookSink struct {
	mu    sync.Mutex
	kinds []string
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]string
	_ = json.NewDecoder(r.Body).Decode(&m)
	h.mu.Lock()
	h.kinds = append(h.kinds, m["kind"])
	h.mu.Unlock()
}

func (h *hookSink) count(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, k := range h.kinds {
		if k == kind {
			n++
		}
	}
	return n
}

// Every alert rule, once it fires, raises one alert that is shown on the Alerts page, e-mailed
// (through a real SMTP server) to the member the rule chose and to nobody else, and passed to
// the outgoing webhooks; each delivery is recorded. The three rules with thresholds are driven
// through the real paths: failed sign-ins, wrong webhook signatures and exports.
func TestEveryAlertRuleFiresOnceAndIsRouted(t *testing.T) {
	smtpSrv := mailtest.Start(t, mailtest.Options{})
	in := apptest.StartWith(t, apptest.Options{SMTP: smtpSrv})
	in.ConnectSandbox()
	sink := &hookSink{}
	hooks := httptest.NewServer(sink)
	defer hooks.Close()
	in.App.Alerts.SetWebhookPublisher(httpPublisher{url: hooks.URL})
	ctx := context.Background()

	_, admin := signedIn(t, in, "ada@example.com", authz.RoleAdministrator)
	bob := in.CreateMember("bob@example.com", "Bob Auditor", authz.RoleAuditor, ownerPassword)
	carol := in.CreateMember("carol@example.com", "Carol Agent", authz.RoleAgent, ownerPassword)
	_ = carol

	// Negative: a member without security.manage cannot change a rule.
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm("/settings/alerts/api_key_created", url.Values{"enabled": {}}); r.Status != http.StatusForbidden {
		t.Errorf("agent saving a rule: %d", r.Status)
	}
	// Bad input is refused with a message and changes nothing.
	if r := admin.PostForm("/settings/alerts/mass_export", url.Values{"enabled": {"1"}, "threshold": {"many"}, "threshold2": {"5"}, "window": {"10"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "whole number") {
		t.Errorf("bad threshold: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'alert_rule.changed'`); n != 0 {
		t.Fatalf("%d rule changes after refusals", n)
	}

	thresholds := map[alerts.Kind]url.Values{
		alerts.KindRepeatedSignInFailures:   {"threshold": {"3"}, "window": {"15"}},
		alerts.KindWebhookSignatureFailures: {"threshold": {"3"}, "window": {"5"}},
		alerts.KindMassExport:               {"threshold": {"2"}, "threshold2": {"50"}, "window": {"10"}},
	}
	for _, k := range alerts.Kinds() {
		form := url.Values{"enabled": {"1"}, "email": {"chosen"}, "email_to": {strconv.FormatInt(bob.ID, 10)}, "webhook": {"1"}}
		for f, v := range thresholds[k] {
			form[f] = v
		}
		if r := admin.PostForm("/settings/alerts/"+string(k), form); r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
			t.Fatalf("save rule %s: %d %s", k, r.Status, r.Body)
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'alert_rule.changed'`); n != len(alerts.Kinds()) {
		t.Errorf("%d rule change events, want %d", n, len(alerts.Kinds()))
	}

	alertsOf := func(k alerts.Kind) int {
		return secCount(t, in, `SELECT count(*) FROM alerts WHERE kind = ?`, string(k))
	}
	// Failed sign-ins: two are below the threshold, the third fires, a fourth counts on it.
	wrong := in.Client()
	for i := 1; i <= 4; i++ {
		wrong.PostForm("/login", url.Values{"email": {"carol@example.com"}, "password": {"not the password at all"}})
		if want := map[bool]int{true: 1, false: 0}[i >= 3]; alertsOf(alerts.KindRepeatedSignInFailures) != want {
			t.Fatalf("after %d failures: %d alerts, want %d", i, alertsOf(alerts.KindRepeatedSignInFailures), want)
		}
	}
	// Wrong webhook signatures.
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, in.URL+"/webhooks/whatsapp", strings.NewReader(`{"object":"whatsapp_business_account"}`))
		req.Header.Set(whatsapp.SignatureHeader, "sha256=00")
		in.Client().Do(req)
	}
	// Exports: one is normal, the second within ten minutes fires.
	for i := 0; i < 2; i++ {
		if r := admin.Get("/activity/export?format=jsonl"); r.Status != http.StatusOK {
			t.Fatalf("export: %d", r.Status)
		}
		if _, err := in.App.Alerts.WatchActivity(ctx); err != nil {
			t.Fatal(err)
		}
		if want := i; alertsOf(alerts.KindMassExport) != want {
			t.Fatalf("after %d exports: %d mass-export alerts", i+1, alertsOf(alerts.KindMassExport))
		}
	}
	// The kinds that fire on each occurrence, raised as their code paths raise them.
	for _, k := range alerts.Kinds() {
		if _, ok := thresholds[k]; ok {
			continue
		}
		a, err := in.App.Alerts.Record(ctx, alerts.Alert{Kind: k, Subject: alerts.MemberSubject(carol.ID)})
		if err != nil || a.ID == 0 {
			t.Fatalf("raise %s: %v", k, err)
		}
	}

	msgs := smtpSrv.WaitFor(len(alerts.Kinds()), 20*time.Second)
	for _, k := range alerts.Kinds() {
		if n := alertsOf(k); n != 1 {
			t.Errorf("%s: %d alerts, want 1", k, n)
		}
		mailed := 0
		for _, m := range msgs {
			if m.Subject == "Security alert: "+k.Label() {
				mailed++
				if m.To != "bob@example.com" {
					t.Errorf("%s mailed to %s, the rule chose bob only", k, m.To)
				}
			}
		}
		if mailed != 1 {
			t.Errorf("%s: %d e-mails, want 1", k, mailed)
		}
		if n := sink.count(string(k)); n != 1 {
			if _, err := in.App.Alerts.PublishQueued(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if n = sink.count(string(k)); n != 1 {
				t.Errorf("%s: %d webhook deliveries, want 1", k, n)
			}
		}
		for _, ch := range []string{"page", "email", "webhook"} {
			if n := secCount(t, in, `SELECT count(*) FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE a.kind = ? AND d.channel = ?`, string(k), ch); n != 1 {
				t.Errorf("%s: %d %s deliveries recorded", k, n, ch)
			}
		}
	}
	page := admin.Get("/alerts")
	if !strings.Contains(page.Body, "E-mail to bob@example.com") || !strings.Contains(page.Body, "Outgoing webhooks: sent") {
		t.Error("the alerts page does not say where alerts went")
	}

	// A rule turned off raises nothing.
	if r := admin.PostForm("/settings/alerts/api_key_created", url.Values{"email": {"everyone"}}); r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		t.Fatalf("turn off: %d", r.Status)
	}
	if _, err := in.App.Alerts.Record(ctx, alerts.Alert{Kind: alerts.KindAPIKeyCreated, Subject: alerts.MemberSubject(bob.ID)}); err != nil {
		t.Fatal(err)
	}
	if n := alertsOf(alerts.KindAPIKeyCreated); n != 1 {
		t.Errorf("a rule turned off still raised: %d alerts", n)
	}
}

// An invitation accepted as Administrator raises "Role raised to Administrator" once, like a
// promotion does; one accepted as Agent raises nothing.
func TestInvitationAcceptedAsAdministratorAlerts(t *testing.T) {
	in := apptest.Start(t)
	ctx := context.Background()
	ada := in.CreateMember("ada@example.com", "Ada", authz.RoleAdministrator, ownerPassword)
	p, _, err := in.App.Members.Store().Principal(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := in.App.Members.Store().Roles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roleID := map[string]int64{}
	for _, r := range roles {
		roleID[r.Key] = r.ID
	}
	for _, c := range []struct{ email, role string }{{"agent@example.com", authz.RoleAgent}, {"new-admin@example.com", authz.RoleAdministrator}} {
		_, token, err := in.App.Members.Invite(ctx, p, members.InviteInput{Email: c.email, RoleID: roleID[c.role], AllNumbers: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.App.Members.AcceptInvitation(ctx, token, "New "+c.role, ownerPassword); err != nil {
			t.Fatal(err)
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM alerts WHERE kind = 'role_raised_to_administrator'`); n != 1 {
		t.Errorf("%d alerts for one administrator joining", n)
	}
	if n := secCount(t, in, `SELECT count(*) FROM alerts WHERE kind = 'role_raised_to_administrator' AND title LIKE 'New administrator joined as an Administrator%'`); n != 1 {
		t.Error("the alert does not name the new Administrator")
	}
}
