package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

func connectForm(token string) url.Values {
	return url.Values{"waba_id": {apptest.SandboxWABAID}, "name": {"Lucky Shrub"},
		"access_token": {token}, "app_secret": {apptest.SandboxAppSecret}, "verify_token": {apptest.SandboxVerify}}
}

// A token Meta refuses (the simulator answers error 190, as Meta does) is not stored: the form
// shows Meta's answer and offers "Save anyway", which stores it only when chosen.
func TestAnAccountWithAWrongTokenIsStoredOnlyWhenSavedAnyway(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	const wrong = "EAAGwrong-token-typed-by-hand-0000"
	r := admin.PostForm("/settings/whatsapp/wabas", connectForm(wrong))
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("connect with a wrong token: %d, want 422", r.Status)
	}
	for _, want := range []string{"The Cloud API refused these credentials", "Meta error 190", "Save anyway", "Nothing was saved", apptest.SandboxWABAID} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the refusal page does not say %q", want)
		}
	}
	for _, secret := range []string{wrong, apptest.SandboxAppSecret, apptest.SandboxVerify} {
		if strings.Contains(r.Body, secret) {
			t.Errorf("the refusal page sends a secret back to the browser")
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas`); n != 0 {
		t.Fatalf("%d accounts stored after a failed connection test", n)
	}
	if ev := secEvents(t, in, "waba.connection_tested"); len(ev) != 1 || ev[0].Outcome != "failed" {
		t.Errorf("the failed test is not in the activity log: %+v", ev)
	}

	// Another member's session cannot save what this one was refused.
	_, other := signedIn(t, in, "other@example.com", authz.RoleAdministrator)
	if r := other.PostForm("/settings/whatsapp/wabas/save-anyway", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("save anyway without a refused connection: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas`); n != 0 {
		t.Fatalf("another session saved the refused account")
	}

	if r := admin.PostForm("/settings/whatsapp/wabas/save-anyway", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("save anyway: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas WHERE waba_id = ? AND access_token_last4 = ?`, apptest.SandboxWABAID, wrong[len(wrong)-4:]); n != 1 {
		t.Fatalf("save anyway stored %d accounts with the token as entered", n)
	}
	ev := secEvents(t, in, "waba.connected")
	if len(ev) != 1 || !strings.Contains(fmt.Sprint(ev[0].Changes), "failed, saved anyway") {
		t.Errorf("the activity log does not say the account was saved despite the failed test: %+v", ev)
	}
	if page := admin.Get("/settings/whatsapp"); !strings.Contains(page.Body, "Saved without a working connection") {
		t.Error("the page does not warn that the saved account does not work")
	}
	// The pending connection is used once.
	if r := admin.PostForm("/settings/whatsapp/wabas/save-anyway", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("second save anyway: %d", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas`); n != 1 {
		t.Errorf("%d accounts after saving twice", n)
	}
}

// The account saved with a wrong token can be removed: Disconnect needs a recent sign-in and
// access to all numbers, is recorded, takes the numbers out of service, keeps the
// conversations read-only and refuses the account's webhooks.
func TestDisconnectingAnAccount(t *testing.T) {
	in := apptest.Start(t)
	ref := in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Do you deliver olive trees?"); err != nil {
		t.Fatal(err)
	}
	conv := "/conversations/" + strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	path := "/settings/whatsapp/wabas/" + strconv.FormatInt(ref, 10) + "/disconnect"

	// Refused: without a recent sign-in, for a number-scoped administrator, for a Developer.
	scoped, scopedC := signedIn(t, in, "scoped@example.com", authz.RoleAdministrator)
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	if err := in.App.Members.SetNumberScope(ctx, adminP, scoped.ID, false, []int64{numberRef(t, in, apptest.SandboxNumberA)}); err != nil {
		t.Fatal(err)
	}
	scopedC.SignIn("scoped@example.com", ownerPassword)
	if r := scopedC.PostForm(path, nil); r.Status != http.StatusForbidden {
		t.Errorf("number-scoped administrator: %d, want 403", r.Status)
	}
	_, dev := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	if r := dev.PostForm(path, nil); r.Status != http.StatusForbidden {
		t.Errorf("Developer: %d, want 403", r.Status)
	}
	in.Clock.Advance(11 * time.Minute)
	if r := adminC.PostForm(path, nil); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/reauth") {
		t.Errorf("without a recent sign-in: %d %s, want the re-authentication page", r.Status, r.Location())
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas WHERE disconnected_at IS NOT NULL`); n != 0 {
		t.Fatal("a refused disconnect changed the account")
	}
	if len(secEvents(t, in, "waba.disconnected")) != 0 {
		t.Fatal("a refused disconnect was recorded as done")
	}

	if r := adminC.PostForm("/reauth", url.Values{"password": {ownerPassword}, "next": {path}}); r.Status != http.StatusSeeOther {
		t.Fatalf("re-authenticate: %d", r.Status)
	}
	page := adminC.Get(path)
	for _, want := range []string{"2 phone numbers are no longer served", "Webhooks for it are refused", "stay in the inbox, read-only", "erased"} {
		if page.Status != http.StatusOK || !strings.Contains(page.Body, want) {
			t.Errorf("the confirmation page (%d) does not say %q", page.Status, want)
		}
	}
	if r := adminC.PostForm(path, nil); r.Status != http.StatusSeeOther || r.Location() != "/settings/whatsapp" {
		t.Fatalf("disconnect: %d %s", r.Status, r.Location())
	}
	if ev := secEvents(t, in, "waba.disconnected"); len(ev) != 1 || ev[0].Target.ID != strconv.FormatInt(ref, 10) {
		t.Errorf("the disconnect is not in the activity log: %+v", ev)
	}
	if n := secCount(t, in, `SELECT count(*) FROM wabas WHERE access_token_enc IS NOT NULL OR app_secret_enc IS NOT NULL OR verify_token_enc IS NOT NULL`); n != 0 {
		t.Error("the disconnected account's secrets are still stored")
	}
	settings := adminC.Get("/settings/whatsapp")
	if !strings.Contains(settings.Body, "Disconnected accounts") || strings.Contains(settings.Body, "Test connection") {
		t.Error("the settings page still shows the account as connected")
	}
	if strings.Contains(adminC.Get("/numbers").Body, "+1 555-078-3881") {
		t.Error("the numbers page still lists a number of the disconnected account")
	}

	// The conversation and its history stay, read-only.
	cp := adminC.Get(conv)
	if cp.Status != http.StatusOK || !strings.Contains(cp.Body, "Do you deliver olive trees?") || !strings.Contains(cp.Body, "read-only") {
		t.Errorf("conversation after disconnect: %d, history or read-only notice missing", cp.Status)
	}
	if strings.Contains(cp.Body, `action="`+conv+`/text"`) {
		t.Error("the conversation still offers a reply form")
	}
	sent := len(in.Sim.Sent())
	if r := adminC.PostForm(conv+"/text", url.Values{"body": {"We do!"}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "disconnected") {
		t.Errorf("sending after disconnect: %d", r.Status)
	}
	if len(in.Sim.Sent()) != sent {
		t.Error("a message went out for a disconnected account")
	}

	// Its webhooks are refused and store nothing.
	messages := secCount(t, in, `SELECT count(*) FROM messages`)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + apptest.SandboxWABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + apptest.SandboxNumberA + `"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.AFTER","timestamp":"1749416383","type":"text","text":{"body":"Hello?"}}]}}]}]}`)
	req, _ := http.NewRequest(http.MethodPost, adminC.URL("/webhooks/whatsapp"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(apptest.SandboxAppSecret), body))
	if r := in.Client().Do(req); r.Status != http.StatusUnauthorized {
		t.Errorf("webhook for the disconnected account: %d, want 401", r.Status)
	}
	q := url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"42"}, "hub.verify_token": {apptest.SandboxVerify}}
	if r := in.Client().Get("/webhooks/whatsapp?" + q.Encode()); r.Status != http.StatusForbidden {
		t.Errorf("verify handshake for the disconnected account: %d, want 403", r.Status)
	}
	if n := secCount(t, in, `SELECT count(*) FROM messages`); n != messages {
		t.Error("a message for the disconnected account was stored")
	}

	// Connecting the same account again brings its numbers back.
	if r := adminC.PostForm("/settings/whatsapp/wabas", connectForm(apptest.SandboxToken)); r.Status != http.StatusSeeOther {
		t.Fatalf("reconnect: %d", r.Status)
	}
	if !strings.Contains(adminC.Get("/numbers").Body, "+1 555-078-3881") {
		t.Error("the numbers did not come back after reconnecting")
	}
	if cp := adminC.Get(conv); !strings.Contains(cp.Body, `action="`+conv+`/text"`) {
		t.Error("the conversation is still read-only after reconnecting")
	}
}
