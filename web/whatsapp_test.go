package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

func TestConnectingAWABAShowsSecretsOnlyByTheirLastFour(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	r := admin.PostForm("/settings/whatsapp/wabas", url.Values{"waba_id": {"not a number"}, "access_token": {"x"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "WhatsApp Business Account ID") {
		t.Fatalf("bad input: %d", r.Status)
	}
	r = admin.PostForm("/settings/whatsapp/wabas", url.Values{"waba_id": {apptest.SandboxWABAID}, "name": {"Lucky Shrub"},
		"access_token": {apptest.SandboxToken}, "app_secret": {apptest.SandboxAppSecret}, "verify_token": {apptest.SandboxVerify}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("connect: %d", r.Status)
	}
	page := admin.Get("/settings/whatsapp")
	if !strings.Contains(page.Body, "2 phone numbers found") || !strings.Contains(page.Body, "+49 30 9018 2044") {
		t.Errorf("the numbers were not fetched on connect")
	}
	for _, secret := range []string{apptest.SandboxToken, apptest.SandboxAppSecret, apptest.SandboxVerify} {
		if strings.Contains(page.Body, secret) {
			t.Errorf("the settings page shows a secret in full")
		}
	}
	if !strings.Contains(page.Body, "ending in "+apptest.SandboxToken[len(apptest.SandboxToken)-4:]) {
		t.Error("the token's last four characters are not shown")
	}
	if r := admin.PostForm("/settings/whatsapp/wabas/1/test", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("test connection: %d", r.Status)
	}
	if !strings.Contains(admin.Get("/settings/whatsapp").Body, "The connection works") {
		t.Error("a working connection was not reported")
	}
	// A Developer may see numbers but not change the connection.
	_, dev := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	if r := dev.PostForm("/settings/whatsapp/wabas/1", url.Values{"access_token": {"EAAGstolen"}}); r.Status != http.StatusForbidden {
		t.Errorf("a Developer changed the token: %d", r.Status)
	}
	if r := dev.Get("/numbers"); r.Status != http.StatusOK || !strings.Contains(r.Body, "+1 555-078-3881") {
		t.Errorf("numbers page for a Developer: %d", r.Status)
	}
}

func TestWebhookVerificationAndSignature(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	c := in.Client()
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1158201444"}, "hub.verify_token": {apptest.SandboxVerify}}
	if r := c.Get("/webhooks/whatsapp?" + q.Encode()); r.Status != http.StatusOK || r.Body != "1158201444" {
		t.Errorf("handshake: %d %q", r.Status, r.Body)
	}
	q.Set("hub.verify_token", "wrong")
	if r := c.Get("/webhooks/whatsapp?" + q.Encode()); r.Status != http.StatusForbidden {
		t.Errorf("wrong verify token: %d", r.Status)
	}

	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.TEST1","timestamp":"1749416383","type":"text","text":{"body":"Hi"}}]}}]}]}`)
	good := whatsapp.Sign([]byte(apptest.SandboxAppSecret), body)
	flipped := bytes.Clone(body)
	flipped[len(flipped)-10] ^= 1
	reencoded := bytes.ReplaceAll(body, []byte(`","`), []byte(`", "`))
	for name, tc := range map[string]struct {
		body []byte
		sig  string
	}{
		"one flipped byte": {flipped, good},
		"re-encoded JSON":  {reencoded, good},
		"missing header":   {body, ""},
		"another secret":   {body, whatsapp.Sign([]byte("not the app secret"), body)},
		"malformed header": {body, "sha1=abc"},
	} {
		req, _ := http.NewRequest(http.MethodPost, c.URL("/webhooks/whatsapp"), bytes.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		if tc.sig != "" {
			req.Header.Set(whatsapp.SignatureHeader, tc.sig)
		}
		if r := c.Do(req); r.Status != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, r.Status)
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM webhook_events`); n != 0 {
		t.Errorf("%d webhook bodies stored from unsigned requests", n)
	}
	big := bytes.Repeat([]byte("x"), whatsapp.MaxWebhookBody+1)
	req, _ := http.NewRequest(http.MethodPost, c.URL("/webhooks/whatsapp"), bytes.NewReader(big))
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(apptest.SandboxAppSecret), big))
	if r := c.Do(req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 3 MB: %d, want 413", r.Status)
	}
}
