package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// conversationOf returns the id of the conversation with a customer on a sandbox number.
func conversationOf(t *testing.T, in *apptest.Instance, waID, number string) int64 {
	t.Helper()
	var id int64
	err := in.App.DB.R.QueryRow(`SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
		JOIN phone_numbers p ON p.id = c.phone_number_id WHERE ct.wa_id = ? AND p.phone_number_id = ?`, waID, number).Scan(&id)
	if err != nil {
		t.Fatalf("conversation of %s on %s: %v", waID, number, err)
	}
	return id
}

func numberRef(t *testing.T, in *apptest.Instance, metaID string) int64 {
	t.Helper()
	var id int64
	if err := in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, metaID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTheSameWebhookTenTimesIsOneMessage(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + apptest.SandboxWABAID + `","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + apptest.SandboxNumberA + `"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.DUP1","timestamp":"1749416383","type":"text","text":{"body":"Hi"}}]}}]}]}`)
	sig := whatsapp.Sign([]byte(apptest.SandboxAppSecret), body)
	c := in.Client()
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest(http.MethodPost, c.URL("/webhooks/whatsapp"), bytes.NewReader(body))
		req.Header.Set(whatsapp.SignatureHeader, sig)
		req.Header.Set("Content-Type", "application/json")
		if r := c.Do(req); r.Status != http.StatusOK {
			t.Fatalf("delivery %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if n := secCount(t, in, `SELECT count(*) FROM messages WHERE wamid = 'wamid.DUP1'`); n != 1 {
		t.Errorf("%d messages after 10 deliveries, want 1", n)
	}
	if n := secCount(t, in, `SELECT count(*) FROM webhook_events`); n != 10 {
		t.Errorf("%d raw bodies kept, want all 10 deliveries", n)
	}
}

func TestInboxAccessPerRoleAndNumber(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	for _, m := range []struct{ number, waID, name string }{
		{apptest.SandboxNumberA, "16505551234", "Sheena Nelson"},
		{apptest.SandboxNumberB, "4915112341234", "Jonas Weber"},
	} {
		if _, err := in.Sim.CustomerSays(ctx, m.number, m.waID, m.name, "Hello from "+m.name); err != nil {
			t.Fatal(err)
		}
	}
	convA := conversationOf(t, in, "16505551234", apptest.SandboxNumberA)
	convB := conversationOf(t, in, "4915112341234", apptest.SandboxNumberB)
	admin, adminC := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	agent, agentC := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	adminP, _, _ := in.App.Members.Store().Principal(ctx, admin.ID)
	// The agent works in number A only.
	if err := in.App.Members.SetNumberScope(ctx, adminP, agent.ID, false, []int64{numberRef(t, in, apptest.SandboxNumberA)}); err != nil {
		t.Fatal(err)
	}
	agentC.SignIn("agent@example.com", ownerPassword)
	pathA, pathB := "/conversations/"+strconv.FormatInt(convA, 10), "/conversations/"+strconv.FormatInt(convB, 10)

	// Unassigned, the agent sees neither; assigned, only A; B stays invisible even when assigned.
	if r := agentC.Get(pathA); r.Status != http.StatusNotFound {
		t.Errorf("agent opens an unassigned conversation: %d, want 404", r.Status)
	}
	if r := adminC.PostForm(pathA+"/assign", url.Values{"member": {strconv.FormatInt(agent.ID, 10)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("assign A: %d", r.Status)
	}
	if r := agentC.Get(pathA); r.Status != http.StatusOK || !strings.Contains(r.Body, "Hello from Sheena Nelson") {
		t.Errorf("agent opens their conversation: %d", r.Status)
	}
	in.Clock.Advance(time.Minute) // refusals on one route are recorded once a minute per member
	if r := agentC.Get(pathB); r.Status != http.StatusNotFound {
		t.Errorf("agent opens a conversation of another number: %d, want 404", r.Status)
	}
	probes := 0
	for _, e := range secEvents(t, in, "access.not_found") {
		if e.Actor.ID == strconv.FormatInt(agent.ID, 10) && e.Target.ID == "GET "+pathB {
			probes++
		}
	}
	if probes != 1 {
		t.Errorf("the agent's attempt on another number's conversation is recorded %d times, want 1", probes)
	}
	if r := agentC.PostForm(pathB+"/text", url.Values{"body": {"hi"}}); r.Status != http.StatusNotFound {
		t.Errorf("agent replies in another number's conversation: %d, want 404", r.Status)
	}
	list := agentC.Get("/inbox?box=all")
	if strings.Contains(list.Body, pathB) || !strings.Contains(list.Body, pathA) {
		t.Error("the agent's inbox does not list exactly their own conversation")
	}
	if r := agentC.Get("/inbox?box=all&q=Jonas"); strings.Contains(r.Body, pathB) {
		t.Error("search finds another number's conversation")
	}
	// Without contacts.view_pii the number is masked and a full-number search is refused.
	if strings.Contains(agentC.Get(pathA).Body, "16505551234") {
		t.Error("the agent sees the customer's full number")
	}
	if r := agentC.Get("/inbox?box=all&q=%2B16505551234"); !strings.Contains(r.Body, "by the last 4 digits") || strings.Contains(r.Body, pathA) {
		t.Error("a full-number search without contacts.view_pii was not refused with an explanation")
	}

	// An Analyst reads everything but cannot send; Support cannot send free text.
	_, analystC := signedIn(t, in, "analyst@example.com", authz.RoleAnalyst)
	if r := analystC.Get(pathB); r.Status != http.StatusOK {
		t.Errorf("analyst opens a conversation: %d", r.Status)
	}
	if r := analystC.PostForm(pathB+"/text", url.Values{"body": {"hi"}}); r.Status != http.StatusForbidden {
		t.Errorf("analyst sends: %d, want 403", r.Status)
	}
	_, supportC := signedIn(t, in, "support@example.com", authz.RoleSupport)
	if r := supportC.PostForm(pathA+"/text", url.Values{"body": {"hi"}}); r.Status != http.StatusForbidden {
		t.Errorf("support sends free text: %d, want 403", r.Status)
	}
	before := len(in.Sim.Sent())
	if r := agentC.PostForm(pathA+"/text", url.Values{"body": {"Your tree ships today."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("agent replies: %d", r.Status)
	}
	if sent := in.Sim.Sent(); len(sent) != before+1 || sent[len(sent)-1].Text != "Your tree ships today." {
		t.Errorf("the reply did not reach the simulator")
	}
	// The administrator may reveal the number; doing so is recorded.
	r := adminC.PostForm(pathA+"/reveal", nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "+16505551234") {
		t.Errorf("reveal: %d", r.Status)
	}
	if n := len(secEvents(t, in, "contact.revealed")); n != 1 {
		t.Errorf("%d reveal events, want 1", n)
	}
	if r := agentC.PostForm(pathA+"/reveal", nil); r.Status != http.StatusForbidden {
		t.Errorf("an agent reveals a number: %d, want 403", r.Status)
	}
	_ = inbox.BoxAll
}

func TestNothingIsSentFromADisabledNumber(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi"); err != nil {
		t.Fatal(err)
	}
	conv := conversationOf(t, in, "16505551234", apptest.SandboxNumberA)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	num := strconv.FormatInt(numberRef(t, in, apptest.SandboxNumberA), 10)
	if r := admin.PostForm("/settings/whatsapp/numbers/"+num, url.Values{"label": {"Sales"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("disable the number: %d", r.Status)
	}
	before := len(in.Sim.Sent())
	path := "/conversations/" + strconv.FormatInt(conv, 10)
	r := admin.PostForm(path+"/text", url.Values{"body": {"hello"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("send: %d", r.Status)
	}
	if len(in.Sim.Sent()) != before {
		t.Error("a message went out from a disabled number")
	}
	if !strings.Contains(r.Body, "switched off") {
		t.Error("the conversation does not say why nothing was sent")
	}
	if n := secCount(t, in, `SELECT count(*) FROM messages WHERE direction = 'out'`); n != 0 {
		t.Errorf("%d outgoing messages stored", n)
	}
}
