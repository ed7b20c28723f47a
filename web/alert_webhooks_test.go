package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// An alert rule routed to webhooks reaches the outgoing webhooks subscribed to alert.raised,
// signed as Standard Webhooks says, and in Slack's format where the endpoint asks for it; a
// rule with its webhook route off sends nothing there, though the alert is raised.
func TestAlertRulesRouteToOutgoingWebhooks(t *testing.T) {
	in := apptest.StartWith(t, apptest.Options{Sandbox: true})
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	in.CreateMember("carol@example.com", "Carol", authz.RoleAgent, ownerPassword)
	standard, slack := newReceiver(t, nil), newReceiver(t, nil)
	_, secret := addEndpoint(t, in, admin, url.Values{"url": {standard.URL + "/siem"}, "description": {"SIEM"},
		"event": {"alert.raised"}, "format": {"standard"}, "scope_numbers": {"all"}})
	addEndpoint(t, in, admin, url.Values{"url": {slack.URL + "/slack"}, "description": {"#security"},
		"event": {"alert.raised"}, "format": {"slack"}, "scope_numbers": {"all"}})

	rule := func(kind string, form url.Values) {
		t.Helper()
		if r := admin.PostForm("/settings/alerts/"+kind, form); r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
			t.Fatalf("save rule %s: %d %s", kind, r.Status, r.Body)
		}
	}
	rule("repeated_sign_in_failures", url.Values{"enabled": {"1"}, "threshold": {"3"}, "window": {"15"}, "email": {"chosen"}, "webhook": {"1"}})
	rule("webhook_signature_failures", url.Values{"enabled": {"1"}, "threshold": {"2"}, "window": {"5"}, "email": {"chosen"}})

	// Off the webhook route: wrong Cloud API signatures raise an alert, sent nowhere.
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, in.URL+"/webhooks/whatsapp", strings.NewReader(`{"object":"whatsapp_business_account"}`))
		req.Header.Set("X-Hub-Signature-256", "sha256=00")
		in.Client().Do(req)
	}
	// On it: three failed sign-ins on Carol's account.
	for range 3 {
		in.Client().PostForm("/login", url.Values{"email": {"carol@example.com"}, "password": {"not the password at all"}})
	}
	waitFor(t, "the alert on both endpoints", func() bool { return len(standard.deliveries()) >= 1 && len(slack.deliveries()) >= 1 })
	time.Sleep(500 * time.Millisecond) // room for a wrongly routed second alert to arrive
	if n := secCount(t, in, `SELECT count(*) FROM alerts WHERE kind = 'webhook_signature_failures'`); n != 1 {
		t.Fatalf("%d signature-failure alerts, want 1 (raised, but not routed to webhooks)", n)
	}

	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	got := standard.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries to the standard endpoint, want 1 (only the routed rule)", len(got))
	}
	if err := wh.Verify(got[0].body, got[0].header); err != nil {
		t.Fatalf("the Standard Webhooks library refuses the alert: %v", err)
	}
	v := decode(t, got[0].body)
	data, _ := v["data"].(map[string]any)
	if v["type"] != "alert.raised" || data["kind"] != "repeated_sign_in_failures" {
		t.Errorf("delivered %s", got[0].body)
	}
	s := slack.deliveries()
	if len(s) != 1 || !strings.Contains(string(s[0].body), `"text"`) {
		t.Errorf("Slack endpoint got %d deliveries: %s", len(s), s)
	}
	page := admin.Get("/alerts")
	if !strings.Contains(page.Body, "webhook") && !strings.Contains(page.Body, "Webhook") {
		t.Error("the alerts page does not show the webhook delivery")
	}
}
