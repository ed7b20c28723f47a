package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
)

const templatePassword = "paper lanterns over the harbour"

// An author composes a template in the browser, watching the live preview fill in the sample
// values; another member approves it and submits it to Meta; Meta (the simulator) approves it;
// the author's dashboard says so; an agent then sends it to a customer from the inbox, where
// templates Meta has not approved are not offered.
func TestTemplateComposeApproveAndSend(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	authors := templateRole(t, in, admin, "Template authors", authz.TemplatesView, authz.TemplatesCreate)
	approvers := templateRole(t, in, admin, "Template approvers", authz.TemplatesView, authz.TemplatesApprove)
	author := in.CreateMember("ana@example.com", "Ana Author", authors.Key, templatePassword)
	approver := in.CreateMember("bea@example.com", "Bea Approver", approvers.Key, templatePassword)
	t.Cleanup(func() {
		if t.Failed() {
			l := in.Logs.String()
			t.Log(l[max(0, len(l)-4000):])
		}
	})

	ctx := browser(t)
	signIn(t, ctx, in, "ana@example.com", templatePassword)
	run(t, ctx, "open the templates page",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/templates"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty-state__title`)),
	)
	screenshot(t, ctx, "list-empty")
	run(t, ctx, "open the compose form",
		chromedp.Click(chromedp.CSS(`.page-header__actions a[href="/templates/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tf-name")),
	)

	htmxReady(t, ctx)
	// Rules are checked as the author types, beside the field.
	run(t, ctx, "type a name Meta refuses",
		chromedp.SendKeys(chromedp.CSS("#tf-name"), "Order update"),
	)
	tplWaitFor(t, ctx, "the name's message", func() bool {
		return strings.Contains(liveText(ctx, "#tf-name-error"), "lower-case letters")
	})
	screenshot(t, ctx, "live-validation")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector("#tf-name").value = "") === ""`)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "correct the name",
		chromedp.SendKeys(chromedp.CSS("#tf-name"), "order_update"),
		chromedp.SetValue(chromedp.CSS("#tf-language"), "en_US"),
		chromedp.Click(chromedp.CSS(`input[name="category"][value="UTILITY"]`)),
	)
	choose(t, ctx, "#tf-header-format", "TEXT")
	run(t, ctx, "write the header and the message",
		chromedp.WaitVisible(chromedp.CSS("#tf-header-text")),
		chromedp.SendKeys(chromedp.CSS("#tf-header-text"), "Your order {{1}}"),
		chromedp.SendKeys(chromedp.CSS("#tf-body-text"), "Hi {{1}}, your order {{2}} has shipped and arrives tomorrow."),
		// The sample-value fields appear for the variables just typed.
		chromedp.WaitVisible(chromedp.CSS("#tf-body-examples-2")),
		chromedp.SendKeys(chromedp.CSS("#tf-header-example"), "#860198"),
		chromedp.SendKeys(chromedp.CSS("#tf-body-examples-1"), "Pablo"),
		chromedp.SendKeys(chromedp.CSS("#tf-body-examples-2"), "860198"),
		chromedp.SendKeys(chromedp.CSS("#tf-footer"), "Lucky Shrub · Reply STOP to opt out"),
	)
	// A link per customer: the agent fills in the end of the address when sending.
	choose(t, ctx, "#tf-buttons-0-type", "URL")
	run(t, ctx, "add a URL button",
		chromedp.WaitVisible(chromedp.CSS("#tf-buttons-0-url")),
		chromedp.SendKeys(chromedp.CSS("#tf-buttons-0-text"), "Track order"),
		chromedp.SendKeys(chromedp.CSS("#tf-buttons-0-url"), "https://luckyshrub.example/track/{{1}}"),
		chromedp.SendKeys(chromedp.CSS("#tf-buttons-0-example"), "860198"),
	)
	choose(t, ctx, "#tf-buttons-1-type", "QUICK_REPLY")
	run(t, ctx, "add a quick reply",
		chromedp.WaitVisible(chromedp.CSS("#tf-buttons-1-text")),
		chromedp.SendKeys(chromedp.CSS("#tf-buttons-1-text"), "Stop updates"),
	)
	tplWaitFor(t, ctx, "the corrected name's message to go", func() bool { return liveText(ctx, "#tf-name-error") == "" })
	tplWaitFor(t, ctx, "the preview with the sample values", func() bool {
		p := liveText(ctx, "#tpl-preview")
		return strings.Contains(p, "Hi Pablo, your order 860198 has shipped") && strings.Contains(p, "Your order #860198") &&
			strings.Contains(p, "Stop updates") && strings.Contains(liveText(ctx, "#tpl-check"), "Meets Meta's rules")
	})
	screenshot(t, ctx, "compose")

	run(t, ctx, "save and submit for review",
		chromedp.Click(chromedp.CSS(`button[name="then"][value="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".tpl-stage__text")),
	)
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "submitted for review") {
		t.Errorf("after submitting the flash says %q", f)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	id, err := strconv.ParseInt(strings.TrimPrefix(u.Path, "/templates/"), 10, 64)
	if err != nil {
		t.Fatalf("the template's page is at %s", loc)
	}
	screenshot(t, ctx, "submitted")
	signOut(t, ctx)

	signIn(t, ctx, in, "bea@example.com", templatePassword)
	run(t, ctx, "find the template in review",
		chromedp.Navigate(in.URL+"/templates?status=in_review"),
		chromedp.WaitVisible(chromedp.CSS(".tpl-table")),
	)
	screenshot(t, ctx, "list-in-review")
	run(t, ctx, "review it",
		chromedp.Click(chromedp.CSS(`.tpl-table a[href="/templates/`+strconv.FormatInt(id, 10)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tpl-comment")),
		chromedp.SendKeys(chromedp.CSS("#tpl-comment"), "Clear and friendly. Approved."),
	)
	screenshot(t, ctx, "review")
	run(t, ctx, "approve",
		chromedp.Click(chromedp.CSS(`.tpl-review button.btn--primary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/submit-to-meta"] button`)),
	)
	screenshot(t, ctx, "approved")
	run(t, ctx, "submit to Meta", chromedp.Click(chromedp.CSS(`form[action$="/submit-to-meta"] button`)))
	waitText(t, ctx, ".tpl-stage__text", "Submitted to Meta")
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "Submitted to Meta") {
		t.Errorf("after submitting to Meta the flash says %q", f)
	}

	metaApprovesTemplate(t, in, id)
	run(t, ctx, "see Meta's verdict",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(".tpl-stage__text")),
	)
	if s := text(t, ctx, ".tpl-detail__badges"); !strings.Contains(s, "Meta: Approved") {
		t.Errorf("the badges say %q", s)
	}
	screenshot(t, ctx, "meta-approved")
	signOut(t, ctx)

	signIn(t, ctx, in, "ana@example.com", templatePassword)
	card := text(t, ctx, ".tpl-changes")
	for _, want := range []string{"order_update", "Meta approved it: it can be sent", "Bea Approver approved it in review", "Clear and friendly."} {
		if !strings.Contains(card, want) {
			t.Errorf("the author's dashboard card lacks %q:\n%s", want, card)
		}
	}
	screenshot(t, ctx, "author-dashboard")
	signOut(t, ctx)

	agentSendsTemplate(t, ctx, in, admin, author, approver, id)
}

// agentSendsTemplate continues TestTemplateComposeApproveAndSend: an agent answers a customer
// with the template id that Meta just approved. Beside it the reply box holds another approved
// template (so picking is a real choice) and must not hold a draft or a template Meta is still
// reviewing.
func agentSendsTemplate(t *testing.T, ctx context.Context, in *apptest.Instance, admin, author, approver members.Member, id int64) {
	t.Helper()
	bg := context.Background()
	in.ApprovedSandboxTemplate("appointment_reminder", "Hi {{1}}, your repotting appointment is tomorrow.", "Maria")
	principal := func(m members.Member) *authz.Principal {
		p, _, err := in.App.Members.Store().Principal(bg, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	authorP, approverP, adminP := principal(author), principal(approver), principal(admin)
	draft := func(name string) templates.Template {
		tpl, err := in.App.Templates.CreateDraft(bg, authorP, templates.Draft{WABAID: apptest.SandboxWABAID, Name: name, Language: "en_US",
			Content: templates.Content{Category: templates.CategoryUtility, ParameterFormat: templates.ParameterFormatPositional,
				Body: templates.Body{Text: "Hi {{1}}, the plant you asked about is back in stock.", Examples: map[string]string{"1": "Pablo"}}}})
		if err != nil {
			t.Fatalf("draft %s: %v", name, err)
		}
		return tpl
	}
	draft("restock_alert")
	pending := draft("restock_reminder")
	if _, err := in.App.Templates.SubmitForReview(bg, authorP, pending.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := in.App.Templates.Approve(bg, approverP, pending.ID, "Fine."); err != nil {
		t.Fatal(err)
	}
	if pending, err := in.App.Templates.SubmitToMeta(bg, approverP, pending.ID); err != nil || pending.MetaStatus != templates.MetaPending {
		t.Fatalf("restock_reminder at Meta: %q, %v", pending.MetaStatus, err)
	}

	agent := in.CreateMember("aga@example.com", "Aga Agent", authz.RoleAgent, templatePassword)
	const waID = "16505551234"
	if _, err := in.Sim.CustomerSays(bg, apptest.SandboxNumberA, waID, "Sheena Nelson", "Hi! Where is my order?"); err != nil {
		t.Fatal(err)
	}
	convs, err := in.App.Inbox.List(bg, adminP, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil || len(convs.Conversations) != 1 {
		t.Fatalf("the customer's message did not make a conversation: %v %v", convs.Conversations, err)
	}
	if err := in.App.Inbox.Assign(bg, adminP, convs.Conversations[0].ID, agent.ID); err != nil {
		t.Fatal(err)
	}

	signIn(t, ctx, in, "aga@example.com", templatePassword)
	run(t, ctx, "open the inbox",
		chromedp.Click(chromedp.CSS(`.sidebar a[href="/inbox"]`)),
		chromedp.WaitVisible(chromedp.CSS(".conversation-item__link")),
	)
	run(t, ctx, "open the conversation and its template dialog",
		chromedp.Click(chromedp.CSS(".conversation-item__link")),
		chromedp.WaitVisible(chromedp.CSS(`#composer button[data-dialog-open="template-dialog"]`)),
		chromedp.Click(chromedp.CSS(`#composer button[data-dialog-open="template-dialog"]`)),
		chromedp.WaitVisible(chromedp.CSS("#reply-template")),
	)
	htmxReady(t, ctx)
	offered, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#reply-template option"), o => o.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"appointment_reminder (en_US)", "order_update (en_US)"}; !slices.Equal(offered, want) {
		t.Errorf("the reply box offers %q, want only the templates Meta approved: %q", offered, want)
	}
	// The first template's fields load with the page; picking order_update swaps in its own.
	run(t, ctx, "wait for the first template's fields", chromedp.WaitVisible(chromedp.CSS("#field-body_1")))
	pick(t, ctx, "#reply-template", strconv.FormatInt(id, 10))
	run(t, ctx, "fill in order_update's variables",
		chromedp.WaitVisible(chromedp.CSS("#field-header_1")),
		chromedp.WaitVisible(chromedp.CSS("#field-body_2")),
		chromedp.SendKeys(chromedp.CSS("#field-header_1"), "#860198"),
		chromedp.SendKeys(chromedp.CSS("#field-body_1"), "Sheena"),
		chromedp.SendKeys(chromedp.CSS("#field-body_2"), "860198"),
		chromedp.SendKeys(chromedp.CSS("#field-button_0"), "860198"),
	)
	if p := liveText(ctx, "#template-fields .template-preview"); !strings.Contains(p, "your order 860198 has shipped") {
		t.Errorf("the reply box previews %q, not order_update", p)
	}
	screenshot(t, ctx, "agent-template")
	sentBefore := len(in.Sim.Sent())
	if liveText(ctx, ".flash") != "" {
		t.Fatalf("the conversation shows a flash before sending: %q", liveText(ctx, ".flash"))
	}
	// The page comes back with a flash either way: a refusal fails the test at once, in its words.
	run(t, ctx, "send the template",
		chromedp.Click(chromedp.CSS(`#template-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "Template order_update sent.") {
		screenshot(t, ctx, "failed-send")
		t.Fatalf("after sending the flash says %q", f)
	}
	if got := text(t, ctx, ".message--out .message__template"); got != "Template order_update" {
		t.Errorf("the sent message is marked %q", got)
	}
	// The conversation shows what the customer reads: the template with the agent's values.
	if got := text(t, ctx, ".message--out .message__text"); !strings.Contains(got, "Your order #860198") ||
		!strings.Contains(got, "Hi Sheena, your order 860198 has shipped") {
		t.Errorf("the sent message reads %q", got)
	}
	screenshot(t, ctx, "agent-sent")

	// Exactly one message went out for the click (opening a conversation may also mark it read).
	var sent []simulator.SentMessage
	for _, m := range in.Sim.Sent()[sentBefore:] {
		if m.Type != "read" {
			sent = append(sent, m)
		}
	}
	if len(sent) != 1 {
		t.Fatalf("the simulator received %d messages for one send: %+v", len(sent), sent)
	}
	last := sent[0]
	if last.Type != "template" || last.Err != nil || last.To != waID || last.PhoneNumberID != apptest.SandboxNumberA {
		t.Errorf("the simulator got a %s to %s from %s (error %v), want an accepted template to %s from %s",
			last.Type, last.To, last.PhoneNumberID, last.Err, waID, apptest.SandboxNumberA)
	}
	param := func(s string) whatsapp.Parameter { return whatsapp.Parameter{Type: "text", Text: s} }
	want := &whatsapp.TemplateMessage{Name: "order_update", Language: "en_US", Components: []whatsapp.MessageComponent{
		{Type: "header", Parameters: []whatsapp.Parameter{param("#860198")}},
		{Type: "body", Parameters: []whatsapp.Parameter{param("Sheena"), param("860198")}},
		{Type: "button", SubType: "url", Index: 0, Parameters: []whatsapp.Parameter{param("860198")}},
	}}
	if !reflect.DeepEqual(last.Message.Template, want) {
		got, _ := json.Marshal(last.Message.Template)
		exp, _ := json.Marshal(want)
		t.Errorf("the simulator received the template\n%s\nwant\n%s", got, exp)
	}
}

// The templates pages fit a 390 px phone: no page-wide sideways scrolling, the preview under the
// form.
func TestTemplatePagesOnAPhone(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	admin := in.CreateMember("ada@example.com", "Ada Admin", authz.RoleAdministrator, adminPassword)
	authors := templateRole(t, in, admin, "Template authors", authz.TemplatesView, authz.TemplatesCreate)
	author := in.CreateMember("ana@example.com", "Ana Author", authors.Key, templatePassword)
	p, _, err := in.App.Members.Store().Principal(context.Background(), author.ID)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := in.App.Templates.CreateDraft(context.Background(), p, templates.Draft{WABAID: apptest.SandboxWABAID, Name: "spring_sale",
		Language: "en", Content: templates.Content{Category: templates.CategoryMarketing, ParameterFormat: templates.ParameterFormatNamed,
			Header: templates.Header{Format: templates.HeaderImage, MediaHandle: "4::aW1hZ2UvanBlZw==:ARb"},
			Body: templates.Body{Text: "Hello {{first_name}}, our spring sale starts today: 20% off every plant until Sunday.",
				Examples: map[string]string{"first_name": "Maria"}},
			Footer:  "Lucky Shrub",
			Buttons: []templates.Button{{Type: templates.ButtonCopyCode, Example: "SPRING20"}, {Type: templates.ButtonURL, Text: "Shop now", URL: "https://luckyshrub.example/sale"}}}})
	if err != nil {
		t.Fatal(err)
	}

	ctx := browser(t)
	signIn(t, ctx, in, "ana@example.com", templatePassword)
	for _, page := range []struct{ name, path, wait string }{
		{"phone-list", "/templates", ".tpl-table"},
		{"phone-detail", "/templates/" + strconv.FormatInt(tpl.ID, 10), ".tpl-phone"},
		{"phone-compose", "/templates/" + strconv.FormatInt(tpl.ID, 10) + "/edit", "#tf-body-text"},
	} {
		run(t, ctx, page.name, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(in.URL+page.path),
			chromedp.WaitVisible(chromedp.CSS(page.wait)),
		)
		screenshot(t, ctx, page.name)
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil || wide {
			t.Errorf("%s is wider than a 390 px phone (%v)", page.path, err)
		}
	}
	if p := text(t, ctx, "#tpl-preview"); !strings.Contains(p, "Hello Maria, our spring sale") || !strings.Contains(p, "Copy offer code") {
		t.Errorf("the named variable's preview: %q", p)
	}
}

// choose picks an option of a select as a person would, so that htmx and the form react.
func choose(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	run(t, ctx, "choose "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`).dispatchEvent(new Event("input", {bubbles: true}))`)); err != nil {
		t.Fatalf("choose %s in %s: %v", value, sel, err)
	}
}

// pick chooses an option of a select and fires "change", as a person's choice does, for the
// htmx requests that listen to it.
func pick(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	run(t, ctx, "pick "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`).dispatchEvent(new Event("change", {bubbles: true}))`)); err != nil {
		t.Fatalf("pick %s in %s: %v", value, sel, err)
	}
}

// templateRole builds a custom role from exactly perms, as an administrator would in the matrix.
func templateRole(t *testing.T, in *apptest.Instance, admin members.Member, name string, perms ...authz.Permission) members.Role {
	t.Helper()
	ctx := context.Background()
	p, _, err := in.App.Members.Store().Principal(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := in.App.Members.CreateRole(ctx, p, members.RoleInput{Name: name}, authz.NewSet(perms...))
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	if r, err = in.App.Members.Store().RoleByID(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

// metaApprovesTemplate plays Meta's review in the simulator: APPROVED there, and the signed
// message_template_status_update webhook sent to /webhooks/whatsapp.
func metaApprovesTemplate(t *testing.T, in *apptest.Instance, id int64) {
	t.Helper()
	ctx := context.Background()
	viewer := &authz.Principal{MemberID: -1, Permissions: authz.NewSet(authz.TemplatesView), Numbers: authz.NumberScope{All: true}}
	tpl, err := in.App.Templates.Get(ctx, viewer, id)
	if err != nil || tpl.MetaTemplateID == "" {
		t.Fatalf("template %d at Meta as %q: %v", id, tpl.MetaTemplateID, err)
	}
	if err := in.Sim.SetTemplateStatus(ctx, tpl.MetaTemplateID, "APPROVED", ""); err != nil {
		t.Fatalf("the status webhook was not accepted: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if tpl, err := in.App.Templates.Get(ctx, viewer, id); err == nil && tpl.MetaStatus == templates.MetaApproved {
			return
		}
	}
	t.Fatalf("Meta's approval did not reach template %d", id)
}

// waitText waits until the element sel shows want, across a navigation.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		// Reading during the navigation fails; the next attempt reads the new page.
		if strings.Contains(liveText(ctx, sel), want) {
			return
		}
	}
	screenshot(t, ctx, "failed-wait-text")
	t.Fatalf("waiting for %s to say %q: gave up", sel, want)
}

// htmxReady waits until htmx has processed the page, so that typing triggers its requests.
func htmxReady(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete" && typeof htmx !== "undefined"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("htmx did not start: %v", err)
	}
}

// liveText reads an element's text in one step: htmx may replace the element between a query
// and a read. A missing element reads as "".
func liveText(ctx context.Context, sel string) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {textContent: ""}).textContent`))
	if err != nil {
		return ""
	}
	return s
}

// tplWaitFor polls cond: htmx swaps the preview without a navigation to wait on.
func tplWaitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	screenshot(t, ctx, "failed-wait")
	t.Fatalf("waiting for %s: gave up", what)
}
