package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The Cloud API call log shows every call with who caused it and Meta's error, and keeps no
// access token, app secret, message text or customer number, in the table or on the page.
func TestCloudAPICallLogKeepsNoTokenAndNoMessageText(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Where is my parcel?"); err != nil {
		t.Fatal(err)
	}
	admin, ac := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	conv := strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	const text = "Your parcel 4711 ships today, Sheena"
	if r := ac.PostForm("/conversations/"+conv+"/text", url.Values{"body": {text}}); r.Status >= 400 {
		t.Fatalf("send: %d", r.Status)
	}
	in.Sim.FailNext(whatsapp.APIError{Code: whatsapp.CodeOutsideWindow, Message: "Re-engagement message to +16505551234"})
	ac.PostForm("/conversations/"+conv+"/text", url.Values{"body": {text + " (again)"}})
	if err := in.App.CloudAPICalls.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	rows, err := in.App.DB.R.Query(`SELECT method || ' ' || path || ' ' || status || ' ' || coalesce(error_code, '') || ' ' ||
		error_message || ' ' || actor_type || ' ' || actor_name FROM cloud_api_calls ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		all = append(all, s)
	}
	rows.Close()
	dump := strings.Join(all, "\n")
	if len(all) < 3 {
		t.Fatalf("%d calls logged:\n%s", len(all), dump)
	}
	for _, secret := range []string{apptest.SandboxToken, apptest.SandboxAppSecret, "Bearer", "parcel", "Sheena", "16505551234", "appsecret_proof=" + "a"} {
		if strings.Contains(dump, secret) {
			t.Errorf("the call log keeps %q:\n%s", secret, dump)
		}
	}
	if !strings.Contains(dump, "POST /v23.0/"+apptest.SandboxNumberA+"/messages?appsecret_proof=… 200   member "+admin.Name) {
		t.Errorf("the message call is not logged with who caused it:\n%s", dump)
	}
	if !strings.Contains(dump, "400 131047 Re-engagement message to +•••1234") {
		t.Errorf("Meta's error is not logged, or the number in it not masked:\n%s", dump)
	}

	_, dev := signedIn(t, in, "dev@example.com", authz.RoleDeveloper)
	page := dev.Get("/developers/api-log")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "/messages") || !strings.Contains(page.Body, admin.Name) || !strings.Contains(page.Body, "#131047") {
		t.Fatalf("the Cloud API log page: %d", page.Status)
	}
	if strings.Contains(page.Body, apptest.SandboxToken) || strings.Contains(page.Body, "parcel") {
		t.Error("the page shows the token or the message text")
	}
	failed := dev.Get("/developers/api-log?outcome=failed").Body
	if !strings.Contains(failed, "#131047") || strings.Contains(failed, ">200<") {
		t.Error("the failed-calls filter does not keep failed calls only")
	}
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.Get("/developers/api-log"); r.Status != http.StatusForbidden {
		t.Errorf("an Agent opening the Cloud API log: %d", r.Status)
	}
}
