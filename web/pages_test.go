package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
)

// The invitation form preselects no role and leads with the least privileged ones; inviting
// without choosing one is refused with a clear message and creates nothing.
func TestInvitationRoleMustBeChosenLeastPrivilegedFirst(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	leads := createRole(t, admin, "Leads")
	toggle(t, admin, leads, "templates.view", true)
	page := admin.Get("/members/invite")
	sel := between(page.Body, `id="field-role"`, "</select>")
	opts := regexp.MustCompile(`<option value="([^"]*)"([^>]*)>([^<]*)</option>`).FindAllStringSubmatch(sel, -1)
	if len(opts) < 2 || opts[0][1] != "" || !strings.Contains(opts[0][2], "selected") {
		t.Fatalf("the first option is not an empty, selected choice: %v", opts)
	}
	for _, o := range opts[1:] {
		if strings.Contains(o[2], "selected") {
			t.Errorf("role %q is preselected", o[3])
		}
	}
	roles, err := in.App.Members.Store().Roles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	size := map[string]int{}
	for _, r := range roles {
		size[r.Name] = r.Permissions.Len()
	}
	var names []string
	for i, o := range opts[1:] {
		names = append(names, o[3])
		if i > 0 && size[o[3]] < size[opts[i][3]] {
			t.Errorf("%s (%d permissions) is listed after %s (%d)", o[3], size[o[3]], opts[i][3], size[opts[i][3]])
		}
	}
	if names[0] != "Leads" || names[len(names)-1] != "Administrator" {
		t.Errorf("roles in the order %v, want the one-permission custom role first and Administrator last", names)
	}

	r := admin.PostForm("/members/invitations", url.Values{"email": {"newbie@example.com"}, "scope": {"all"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Choose a role for the new member.") {
		t.Fatalf("invitation without a role: %d", r.Status)
	}
	if !strings.Contains(r.Body, `value="newbie@example.com"`) {
		t.Error("the refused form lost the e-mail address")
	}
	if n := secCount(t, in, `SELECT count(*) FROM invitations`); n != 0 {
		t.Errorf("%d invitations created without a role", n)
	}
}

func currentBox(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`<a class="inbox-tabs__tab" href="/inbox\?box=(\w+)" aria-current="page"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no current box on the inbox page")
	}
	return m[1]
}

// The inbox opens the first box with work (Mine, Escalated, Unassigned, All) unless the member
// chose a box that still has conversations.
func TestTheInboxOpensTheFirstBoxWithWork(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	for _, c := range []struct{ waID, name string }{{"16505551234", "Sheena"}, {"16505559876", "Pablo"}} {
		if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, c.waID, c.name, "Hello"); err != nil {
			t.Fatal(err)
		}
	}
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if box := currentBox(t, admin.Get("/inbox").Body); box != "unassigned" {
		t.Fatalf("with two unassigned conversations and nothing assigned, the inbox opened %q", box)
	}
	conv := strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	if r := admin.PostForm("/conversations/"+conv+"/escalate", url.Values{"reason": {"Angry customer"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("escalate: %d", r.Status)
	}
	if box := currentBox(t, admin.Get("/inbox").Body); box != "escalated" {
		t.Errorf("with an escalated conversation, the inbox opened %q", box)
	}
	// An explicit choice is remembered while it has conversations.
	admin.Get("/inbox?box=all")
	if box := currentBox(t, admin.Get("/inbox").Body); box != "all" {
		t.Errorf("after choosing All, the inbox opened %q", box)
	}
	// A chosen box that is empty does not hide waiting work.
	admin.Get("/inbox?box=mine")
	if box := currentBox(t, admin.Get("/inbox").Body); box != "escalated" {
		t.Errorf("after choosing the empty Mine, the inbox opened %q", box)
	}
	// The list refreshing itself (htmx) is not a choice.
	admin.Get("/inbox?box=all")
	htmxGet(t, admin, "/inbox?box=unassigned", admin.URL("/inbox?box=unassigned"))
	if box := currentBox(t, admin.Get("/inbox").Body); box != "all" {
		t.Errorf("a refresh of Unassigned replaced the member's choice: %q", box)
	}
}

// Refused forms keep what was typed: an escalation without a usable reason, a canned reply edit.
func TestRefusedFormsKeepWhatWasTyped(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena", "Hello"); err != nil {
		t.Fatal(err)
	}
	conv := "/conversations/" + strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	long := strings.Repeat("The customer threatens to cancel. ", 20)
	r := admin.PostForm(conv+"/escalate", url.Values{"reason": {long}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Use at most 500 characters.") {
		t.Fatalf("escalation with a long reason: %d", r.Status)
	}
	if !strings.Contains(r.Body, strings.TrimSpace(long)) {
		t.Error("the refused escalation lost its reason")
	}
	if n := secCount(t, in, `SELECT count(*) FROM conversations WHERE escalated_at IS NOT NULL`); n != 0 {
		t.Error("a refused escalation changed the conversation")
	}

	if r := admin.PostForm("/canned", url.Values{"title": {"Hours"}, "body": {"9 to 5"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("add canned reply: %d", r.Status)
	}
	id := strconv.Itoa(secCount(t, in, `SELECT max(id) FROM canned_responses`))
	r = admin.PostForm("/canned/"+id, url.Values{"title": {""}, "body": {"Monday to Saturday, 9:00 to 18:00"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("canned edit without a title: %d", r.Status)
	}
	edit := between(r.Body, `action="/canned/`+id+`"`, "</form>")
	if !strings.Contains(edit, "Monday to Saturday, 9:00 to 18:00") || !strings.Contains(edit, "field__error") {
		t.Error("the refused canned edit lost the text or does not say what is wrong")
	}
}

// Counts are written with the right noun: "1 member", not "1 members".
func TestCountsArePluralisedCorrectly(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	for _, path := range []string{"/roles", "/settings/security"} {
		body := admin.Get(path).Body
		if regexp.MustCompile(`\b1 members\b`).MatchString(body) {
			t.Errorf("%s says \"1 members\"", path)
		}
		if !strings.Contains(body, "1 member") {
			t.Errorf("%s does not count the one Administrator as \"1 member\"", path)
		}
	}
}

// Without a connected account, the Templates page tells a member who cannot connect one who can.
func TestTemplatesWithoutAnAccountNameWhoConnectsOne(t *testing.T) {
	in := apptest.Start(t)
	_, ana := signedIn(t, in, "ana@example.com", authz.RoleAnalyst)
	body := between(ana.Get("/templates").Body, `id="tpl-no-account"`, "</div>")
	if !strings.Contains(body, "An administrator") || strings.Contains(body, `href="/settings/whatsapp"`) {
		t.Errorf("an Analyst is told %q", body)
	}
	// The numbers page likewise: a link for who can connect, a name for who cannot.
	if strings.Contains(ana.Get("/numbers").Body, `href="/settings/whatsapp">Connect`) {
		t.Error("an Analyst is offered to connect an account")
	}
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	if !strings.Contains(admin.Get("/numbers").Body, `href="/settings/whatsapp">Connect`) {
		t.Error("an Administrator is not offered a link to connect an account")
	}
}

// Deactivating a member is confirmed on a page of its own; the page changes nothing.
func TestDeactivationAsksFirst(t *testing.T) {
	in := apptest.Start(t)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	m, _ := signedIn(t, in, "sam@example.com", authz.RoleAnalyst)
	url := "/members/" + strconv.FormatInt(m.ID, 10)
	if strings.Contains(admin.Get(url).Body, `action="`+url+`/deactivate"`) {
		t.Error("the member page deactivates at one click")
	}
	page := admin.Get(url + "/deactivate")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Deactivate sam?") || !strings.Contains(page.Body, `action="`+url+`/deactivate"`) {
		t.Fatalf("confirmation page: %d", page.Status)
	}
	got, err := in.App.Members.Store().ByID(context.Background(), m.ID)
	if err != nil || !got.Active() {
		t.Fatal("opening the confirmation deactivated the member")
	}
	_, ana := signedIn(t, in, "ana@example.com", authz.RoleAnalyst)
	if r := ana.Get(url + "/deactivate"); r.Status != http.StatusForbidden {
		t.Errorf("an Analyst opened the deactivation page: %d", r.Status)
	}
}

// A refused template or media send keeps the chosen template, its values, the link and caption.
func TestRefusedTemplateAndMediaSendsKeepTheirValues(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	in.ApprovedSandboxTemplate("shipping_notice", "Hi {{1}}, your order {{2}} is on its way.", "Pablo", "860198")
	ctx := context.Background()
	if _, err := in.Sim.CustomerSays(ctx, apptest.SandboxNumberA, "16505551234", "Sheena", "Hello"); err != nil {
		t.Fatal(err)
	}
	conv := "/conversations/" + strconv.FormatInt(conversationOf(t, in, "16505551234", apptest.SandboxNumberA), 10)
	_, admin := signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	tpl := regexp.MustCompile(`<option value="(\d+)"[^>]*>shipping_notice`).FindStringSubmatch(admin.Get(conv).Body)
	if tpl == nil {
		t.Fatal("the approved template is not offered")
	}
	sent := len(in.Sim.Sent())
	r := admin.PostForm(conv+"/template", url.Values{"template": {tpl[1]}, "body_1": {"Sheena"}, "body_2": {""}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="send-error"`) {
		t.Fatalf("template with a missing value: %d", r.Status)
	}
	if !regexp.MustCompile(`<option value="` + tpl[1] + `" selected>`).MatchString(r.Body) {
		t.Error("the refused template form lost the chosen template")
	}
	if !strings.Contains(r.Body, `name="body_1" type="text" value="Sheena"`) {
		t.Error("the refused template form lost the value typed for {{1}}")
	}
	// Files are uploaded (handlers_media.go); a send without one keeps the caption and the
	// attach form open.
	r = admin.PostForm(conv+"/media", url.Values{"caption": {"Our spring catalogue"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "Choose a file to send.") {
		t.Fatalf("media without a file: %d", r.Status)
	}
	for _, want := range []string{`value="Our spring catalogue"`, `id="media-dialog" aria-labelledby="media-dialog-title" data-open-on-load="true"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the refused media form lost %s", want)
		}
	}
	if len(in.Sim.Sent()) != sent {
		t.Error("a refused send went out")
	}
}
