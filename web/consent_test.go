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

// approvedTemplate creates a template of the given category at the simulator, has Meta approve
// it and imports it, returning Switchboard's id for it.
func approvedTemplate(t *testing.T, in *apptest.Instance, name, category, body string) string {
	t.Helper()
	ctx := context.Background()
	creds, err := in.App.Workspace.CredentialsForWABA(ctx, apptest.SandboxWABAID)
	if err != nil {
		t.Fatal(err)
	}
	created, err := in.App.WhatsApp.CreateTemplate(ctx, creds, apptest.SandboxWABAID, whatsapp.TemplateDefinition{
		Name: name, Language: "en_US", Category: category,
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: body}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Sim.SetTemplateStatus(ctx, created.ID, "APPROVED", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Templates.SyncFromMeta(ctx, apptest.SandboxWABAID); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := in.App.DB.R.QueryRow(`SELECT id FROM templates WHERE name = ?`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Marketing consent end to end: a MARKETING template is refused without an opt-in (utility
// templates are not), an opt-in recorded on the contact panel lets it through, an inbound STOP
// opts the customer out again, and the history keeps every step.
func TestMarketingTemplatesNeedConsent(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi, do you ship to Berlin?"); err != nil {
		t.Fatal(err)
	}
	conv := conversationOf(t, in, "16505551234", apptest.SandboxNumberA)
	path := "/conversations/" + strconv.FormatInt(conv, 10)
	sale := approvedTemplate(t, in, "spring_sale", "MARKETING", "Spring sale: 20% off every plant this week.")
	shipped := approvedTemplate(t, in, "order_shipped", "UTILITY", "Your order is on its way.")
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	sent := func() int { return secCount(t, in, `SELECT count(*) FROM messages WHERE direction = 'out'`) }

	// Refused with the reason on the conversation page (the form shown again, 422).
	if r := admin.PostForm(path+"/template", url.Values{"template": {sale}}); r.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.Body, "has not opted in to marketing messages") {
		t.Fatalf("send marketing without consent: %d", r.Status)
	}
	if n := sent(); n != 0 {
		t.Fatalf("%d messages stored after a refused marketing template", n)
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'message.sent' AND outcome = 'denied' AND changes LIKE '%opted in%'`); n != 1 {
		t.Errorf("refusal events: %d", n)
	}
	// Utility templates need no marketing consent.
	admin.PostForm(path+"/template", url.Values{"template": {shipped}})
	if n := sent(); n != 1 {
		t.Fatalf("utility template: %d messages", n)
	}

	// An opt-in without the wording agreed to is refused and records nothing.
	admin.PostForm(path+"/consent", url.Values{"status": {"opted_in"}, "source": {"conversation"}})
	if n := secCount(t, in, `SELECT count(*) FROM contact_consents`); n != 0 {
		t.Fatalf("%d consent records after an opt-in without wording", n)
	}
	if r := admin.PostForm(path+"/consent", url.Values{"status": {"opted_in"}, "source": {"conversation"},
		"text": {"Yes, send me offers on WhatsApp."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("record opt-in: %d", r.Status)
	}
	if page := admin.Get(path).Body; !strings.Contains(page, `id="consent-status">Opted in`) || !strings.Contains(page, "Yes, send me offers") {
		t.Error("the contact panel does not show the opt-in")
	}
	admin.PostForm(path+"/template", url.Values{"template": {sale}})
	if n := sent(); n != 2 {
		t.Fatalf("marketing template after opt-in: %d messages", n)
	}

	// The customer answers STOP: opted out by keyword, and marketing is refused again.
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", " Stop! "); err != nil {
		t.Fatal(err)
	}
	var status, source, text string
	if err := in.App.DB.R.QueryRow(`SELECT status, source, text FROM contact_consents ORDER BY id DESC LIMIT 1`).Scan(&status, &source, &text); err != nil {
		t.Fatal(err)
	}
	if status != "opted_out" || source != "keyword" || text != "Stop!" {
		t.Errorf("after STOP: %s %s %q", status, source, text)
	}
	admin.PostForm(path+"/template", url.Values{"template": {sale}})
	if n := sent(); n != 2 {
		t.Errorf("marketing template after STOP: %d messages", n)
	}
	// History is append-only.
	if _, err := in.App.DB.W.Exec(`UPDATE contact_consents SET status = 'opted_in'`); err == nil {
		t.Error("a consent record was edited")
	}
	if n := secCount(t, in, `SELECT count(*) FROM audit_events WHERE action = 'contact.consent_changed'`); n != 2 {
		t.Errorf("consent events: %d, want 2 (opt-in, keyword opt-out)", n)
	}
}

// Only members who may work a conversation they see may record consent.
func TestConsentIsChangedOnlyByMembersWhoWorkTheConversation(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena Nelson", "Hi"); err != nil {
		t.Fatal(err)
	}
	path := "/conversations/" + strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	form := url.Values{"status": {"opted_in"}, "source": {"form"}, "text": {"Yes please"}}
	in.CreateMember("admin@example.com", "Admin", authz.RoleAdministrator, ownerPassword)
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent) // not assigned: does not see it
	if r := agent.PostForm(path+"/consent", form); r.Status != http.StatusNotFound {
		t.Errorf("agent outside the conversation: %d, want 404", r.Status)
	}
	_, analyst := signedIn(t, in, "analyst@example.com", authz.RoleAnalyst) // sees it, cannot send
	if r := analyst.PostForm(path+"/consent", form); r.Status != http.StatusForbidden {
		t.Errorf("analyst: %d, want 403", r.Status)
	}
	if page := analyst.Get(path).Body; !strings.Contains(page, "Marketing consent") || strings.Contains(page, "Save consent") {
		t.Error("the analyst should see the consent status without the form")
	}
	if n := secCount(t, in, `SELECT count(*) FROM contact_consents`); n != 0 {
		t.Errorf("%d consent records", n)
	}
}

// The opt-out keywords are set on the Privacy page; an empty list is refused and changes nothing.
func TestOptOutKeywordsOnThePrivacyPage(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if r := admin.Get("/settings/privacy"); r.Status != http.StatusOK || !strings.Contains(r.Body, "STOP UNSUBSCRIBE") {
		t.Fatalf("privacy page: %d", r.Status)
	}
	if r := admin.PostForm("/settings/privacy", url.Values{"keywords": {"  "}}); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "at least one keyword") {
		t.Errorf("empty keywords: %d", r.Status)
	}
	if r := admin.PostForm("/settings/privacy", url.Values{"keywords": {"stop, abmelden"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d", r.Status)
	}
	if k, _ := in.App.Consent.Keywords(context.Background()); strings.Join(k, " ") != "STOP ABMELDEN" {
		t.Errorf("keywords %v", k)
	}
	_, agent := signedIn(t, in, "agent@example.com", authz.RoleAgent)
	if r := agent.PostForm("/settings/privacy", url.Values{"keywords": {"x"}}); r.Status != http.StatusForbidden {
		t.Errorf("agent: %d", r.Status)
	}
}
