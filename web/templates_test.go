package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// templateWorld is a workspace with the sandbox account connected and the people of a
// template's life: an author who may compose, an approver who may review, an administrator.
type templateWorld struct {
	in       *apptest.Instance
	admin    members.Member
	adminC   *apptest.Client
	author   members.Member
	authorC  *apptest.Client
	approver members.Member
	approveC *apptest.Client
}

func newTemplateWorld(t *testing.T) *templateWorld {
	t.Helper()
	in := apptest.Start(t)
	in.ConnectSandbox()
	w := &templateWorld{in: in}
	w.admin, w.adminC = signedIn(t, in, "admin@example.com", authz.RoleAdministrator)
	authors := customRole(t, in, w.admin, "Template authors", authz.TemplatesView, authz.TemplatesCreate)
	approvers := customRole(t, in, w.admin, "Template approvers", authz.TemplatesView, authz.TemplatesApprove)
	w.author = in.CreateMember("ana@example.com", "Ana Author", authors.Key, ownerPassword)
	w.authorC = in.Client()
	w.authorC.SignIn("ana@example.com", ownerPassword)
	w.approver = in.CreateMember("bea@example.com", "Bea Approver", approvers.Key, ownerPassword)
	w.approveC = in.Client()
	w.approveC.SignIn("bea@example.com", ownerPassword)
	return w
}

// customRole builds a role from exactly perms, as an administrator would in the matrix.
func customRole(t *testing.T, in *apptest.Instance, admin members.Member, name string, perms ...authz.Permission) members.Role {
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
	// The role comes back without its key; members are created by key.
	r, err = in.App.Members.Store().RoleByID(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// templateForm is a valid compose form: a utility template with two numbered variables, their
// sample values and a quick reply.
func templateForm(name string) url.Values {
	return url.Values{
		"waba_id": {apptest.SandboxWABAID}, "name": {name}, "language": {"en_US"}, "category": {"UTILITY"},
		"parameter_format": {"positional"}, "header.format": {"TEXT"}, "header.text": {"Your order {{1}}"}, "header.example": {"#860198"},
		"body.text": {"Hi {{1}}, your order {{2}} has shipped and arrives tomorrow."}, "body.examples.1": {"Pablo"}, "body.examples.2": {"860198"},
		"footer": {"Lucky Shrub"}, "buttons.0.type": {"QUICK_REPLY"}, "buttons.0.text": {"Stop updates"},
		"buttons.1.type": {""}, "buttons.2.type": {""},
	}
}

var templateLocation = regexp.MustCompile(`^/templates/(\d+)$`)

// compose posts the compose form and returns the new template's id.
func compose(t *testing.T, c *apptest.Client, form url.Values) int64 {
	t.Helper()
	r := c.PostForm("/templates", form)
	m := templateLocation.FindStringSubmatch(r.Location())
	if r.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("compose: %d %s\n%s", r.Status, r.Location(), errorsIn(r.Body))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

var fieldError = regexp.MustCompile(`class="field__error[^"]*" id="([^"]+)">([^<]+)<`)

// errorsIn lists the non-empty field messages of a page, for failure output and assertions.
func errorsIn(body string) map[string]string {
	out := map[string]string{}
	for _, m := range fieldError.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func tplPath(id int64, suffix string) string {
	return "/templates/" + strconv.FormatInt(id, 10) + suffix
}

func loadTemplate(t *testing.T, in *apptest.Instance, id int64) templates.Template {
	t.Helper()
	p := &authz.Principal{MemberID: -1, Permissions: authz.NewSet(authz.TemplatesView), Numbers: authz.NumberScope{All: true}}
	tpl, err := in.App.Templates.Get(context.Background(), p, id)
	if err != nil {
		t.Fatalf("load template %d: %v", id, err)
	}
	return tpl
}

func templateCount(t *testing.T, in *apptest.Instance) int {
	t.Helper()
	var n int
	if err := in.App.DB.R.QueryRowContext(context.Background(), `SELECT count(*) FROM templates`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// metaApproves plays Meta's review in the simulator: the template becomes APPROVED there, and
// the simulator sends the signed message_template_status_update webhook to /webhooks/whatsapp.
func metaApproves(t *testing.T, in *apptest.Instance, id int64) {
	t.Helper()
	tpl := loadTemplate(t, in, id)
	if tpl.MetaTemplateID == "" {
		t.Fatalf("template %d is not at Meta", id)
	}
	ctx := context.Background()
	if err := in.Sim.SetTemplateStatus(ctx, tpl.MetaTemplateID, "APPROVED", ""); err != nil {
		t.Fatalf("the status webhook was not accepted: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if loadTemplate(t, in, id).MetaStatus == templates.MetaApproved {
			return
		}
	}
	t.Fatalf("Meta's approval did not reach template %d", id)
}

// The whole life of a template over HTTP, by two members with custom roles: composed and sent
// for review by its author, approved and submitted by a reviewer, approved by Meta (the
// simulator), then edited as a new revision while the approved one stays the one sent.
func TestTemplateLifecycleOverHTTP(t *testing.T) {
	w := newTemplateWorld(t)
	in := w.in

	if r := w.authorC.Get("/templates/new"); r.Status != http.StatusOK || !strings.Contains(r.Body, `hx-post="/templates/preview"`) {
		t.Fatalf("compose page: %d", r.Status)
	}
	form := templateForm("order_update")
	form.Set("then", "submit")
	id := compose(t, w.authorC, form)
	if tpl := loadTemplate(t, in, id); tpl.Status != templates.StatusInReview || tpl.AuthorID != w.author.ID {
		t.Fatalf("after compose and submit: %s by %d", tpl.Status, tpl.AuthorID)
	}
	page := w.authorC.Get(tplPath(id, ""))
	if !strings.Contains(page.Body, "Saved and submitted for review") || strings.Contains(page.Body, "Your review") {
		t.Errorf("the author's page after submitting:\n%s", page.Body)
	}
	// The author's role lacks templates.approve: the route refuses before the service is asked.
	if r := w.authorC.PostForm(tplPath(id, "/approve"), nil); r.Status != http.StatusForbidden {
		t.Errorf("author approving: %d", r.Status)
	}

	page = w.approveC.Get(tplPath(id, ""))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Your review") || !strings.Contains(page.Body, "Pablo") {
		t.Fatalf("the reviewer's page (%d) lacks the review form or the preview", page.Status)
	}
	if r := w.approveC.PostForm(tplPath(id, "/approve"), url.Values{"comment": {"Clear and friendly."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := w.approveC.PostForm(tplPath(id, "/submit-to-meta"), nil); r.Status != http.StatusSeeOther {
		t.Fatalf("submit to Meta: %d %s", r.Status, r.Body)
	}
	tpl := loadTemplate(t, in, id)
	if tpl.Status != templates.StatusSubmitted || tpl.MetaStatus != templates.MetaPending || tpl.MetaTemplateID == "" {
		t.Fatalf("after submitting to Meta: %s / %s / %q", tpl.Status, tpl.MetaStatus, tpl.MetaTemplateID)
	}
	if _, ok := in.Sim.Template(tpl.MetaTemplateID); !ok {
		t.Fatal("the simulator did not receive the template")
	}

	metaApproves(t, in, id)
	if tpl := loadTemplate(t, in, id); !tpl.Sendable() {
		t.Fatalf("after Meta's approval: %s / %s", tpl.Status, tpl.MetaStatus)
	}
	page = w.authorC.Get(tplPath(id, ""))
	for _, want := range []string{"Meta: Approved", "Approved by Meta: agents can send it.", "Bea Approver", "Clear and friendly."} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("template page lacks %q", want)
		}
	}
	dash := w.authorC.Get("/")
	for _, want := range []string{"Your templates", "order_update", "approved it: it can be sent", "approved it in review"} {
		if !strings.Contains(dash.Body, want) {
			t.Errorf("the author's dashboard lacks %q", want)
		}
	}
	list := w.approveC.Get("/templates?meta_status=APPROVED")
	if !strings.Contains(list.Body, "order_update") {
		t.Error("the list filtered by Meta's APPROVED lacks the template")
	}
	if list := w.approveC.Get("/templates?status=draft"); strings.Contains(list.Body, "order_update") {
		t.Error("the list filtered by drafts shows a submitted template")
	}

	// Editing an approved template is a new revision, reviewed again; revision 1 stays live.
	r := w.authorC.PostForm(tplPath(id, "/revision"), nil)
	if r.Status != http.StatusSeeOther || r.Location() != tplPath(id, "/edit") {
		t.Fatalf("start revision: %d %s", r.Status, r.Location())
	}
	edit := templateForm("order_update")
	edit.Set("body.text", "Hi {{1}}, your order {{2}} is on its way and arrives tomorrow.")
	if r := w.authorC.PostForm(tplPath(id, ""), edit); r.Status != http.StatusSeeOther {
		t.Fatalf("save revision 2: %d %v", r.Status, errorsIn(r.Body))
	}
	tpl = loadTemplate(t, in, id)
	if tpl.Revision != 2 || tpl.Status != templates.StatusDraft || tpl.Live == nil || tpl.Live.Number != 1 || !tpl.Sendable() {
		t.Fatalf("revision 2: rev %d %s, live %v, sendable %v", tpl.Revision, tpl.Status, tpl.Live, tpl.Sendable())
	}
	page = w.authorC.Get(tplPath(id, ""))
	if !strings.Contains(page.Body, "Revision 1 is the one customers receive until Meta approves revision 2.") {
		t.Error("the page does not say which revision is sent meanwhile")
	}
}

// Four eyes hold even for an Administrator, who holds every permission: approving or submitting
// one's own revision is refused with 403 and changes nothing.
func TestAuthorCannotApproveOwnTemplateEvenAsAdministrator(t *testing.T) {
	w := newTemplateWorld(t)
	form := templateForm("admin_own")
	form.Set("then", "submit")
	id := compose(t, w.adminC, form)

	page := w.adminC.Get(tplPath(id, ""))
	if strings.Contains(page.Body, "Your review") || !strings.Contains(page.Body, "You wrote this revision, so another member") {
		t.Error("the author's page offers their own review")
	}
	r := w.adminC.PostForm(tplPath(id, "/approve"), url.Values{"comment": {"Looks fine to me"}})
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "You wrote this revision") {
		t.Fatalf("own approval: %d", r.Status)
	}
	if r := w.adminC.PostForm(tplPath(id, "/send-back"), url.Values{"comment": {"Hmm"}}); r.Status != http.StatusForbidden {
		t.Errorf("own send-back: %d", r.Status)
	}
	if tpl := loadTemplate(t, w.in, id); tpl.Status != templates.StatusInReview {
		t.Fatalf("after the refusals the template is %s", tpl.Status)
	}

	// Approved by someone else, the author still may not submit it to Meta.
	if r := w.approveC.PostForm(tplPath(id, "/approve"), nil); r.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.Status)
	}
	if r := w.adminC.PostForm(tplPath(id, "/submit-to-meta"), nil); r.Status != http.StatusForbidden {
		t.Errorf("own submission to Meta: %d", r.Status)
	}
	if tpl := loadTemplate(t, w.in, id); tpl.Status != templates.StatusApproved || tpl.MetaTemplateID != "" {
		t.Errorf("after the refused submission: %s at Meta as %q", tpl.Status, tpl.MetaTemplateID)
	}
	var denied int
	if err := w.in.App.DB.R.QueryRowContext(context.Background(),
		`SELECT count(*) FROM audit_events WHERE action IN ('template.approved', 'template.sent_back', 'template.submitted_to_meta') AND outcome = 'denied'`).Scan(&denied); err != nil {
		t.Fatal(err)
	}
	if denied != 3 {
		t.Errorf("%d refusals in the activity log, want 3", denied)
	}
}

// An Agent holds templates.view only: the list and a template's page open, composing does not.
func TestAgentCanViewTemplatesButNotCompose(t *testing.T) {
	w := newTemplateWorld(t)
	id := compose(t, w.authorC, templateForm("agent_visible"))
	_, agent := signedIn(t, w.in, "agent@example.com", authz.RoleAgent)

	if r := agent.Get("/templates"); r.Status != http.StatusOK || !strings.Contains(r.Body, "agent_visible") {
		t.Errorf("agent list: %d", r.Status)
	}
	page := agent.Get(tplPath(id, ""))
	if page.Status != http.StatusOK {
		t.Fatalf("agent template page: %d", page.Status)
	}
	for _, offered := range []string{`href="/templates/new"`, "Edit draft", "Submit for review", "Your review", "/delete", "Sync from Meta"} {
		if strings.Contains(page.Body, offered) || strings.Contains(agent.Get("/templates").Body, offered) {
			t.Errorf("an Agent is offered %q", offered)
		}
	}
	for _, path := range []string{"/templates/new", tplPath(id, "/edit"), tplPath(id, "/delete")} {
		if r := agent.Get(path); r.Status != http.StatusForbidden {
			t.Errorf("agent GET %s: %d", path, r.Status)
		}
	}
	before := templateCount(t, w.in)
	for _, path := range []string{"/templates", "/templates/preview", tplPath(id, ""), tplPath(id, "/submit"), tplPath(id, "/revision"),
		tplPath(id, "/approve"), tplPath(id, "/send-back"), tplPath(id, "/submit-to-meta"), "/templates/sync", tplPath(id, "/delete")} {
		if r := agent.PostForm(path, templateForm("agent_made")); r.Status != http.StatusForbidden {
			t.Errorf("agent POST %s: %d", path, r.Status)
		}
	}
	if n := templateCount(t, w.in); n != before {
		t.Errorf("the Agent's posts stored templates: %d → %d", before, n)
	}
}

// Each custom role gets exactly its part of the workflow.
func TestTemplateRoutesRefuseWhatTheRoleLacks(t *testing.T) {
	w := newTemplateWorld(t)
	form := templateForm("split_duties")
	form.Set("then", "submit")
	id := compose(t, w.authorC, form)

	for _, path := range []string{tplPath(id, "/approve"), tplPath(id, "/send-back"), tplPath(id, "/submit-to-meta"), "/templates/sync", tplPath(id, "/delete")} {
		if r := w.authorC.PostForm(path, url.Values{"comment": {"x"}, "waba_id": {apptest.SandboxWABAID}}); r.Status != http.StatusForbidden {
			t.Errorf("author (view+create) POST %s: %d", path, r.Status)
		}
	}
	for _, path := range []string{"/templates", "/templates/preview", tplPath(id, ""), tplPath(id, "/submit"), tplPath(id, "/revision"), tplPath(id, "/delete")} {
		if r := w.approveC.PostForm(path, templateForm("approver_made")); r.Status != http.StatusForbidden {
			t.Errorf("approver (view+approve) POST %s: %d", path, r.Status)
		}
	}
	for _, path := range []string{"/templates/new", tplPath(id, "/edit"), tplPath(id, "/delete")} {
		if r := w.approveC.Get(path); r.Status != http.StatusForbidden {
			t.Errorf("approver GET %s: %d", path, r.Status)
		}
	}
	if tpl := loadTemplate(t, w.in, id); tpl.Status != templates.StatusInReview || templateCount(t, w.in) != 1 {
		t.Errorf("after the refusals: %s, %d templates", tpl.Status, templateCount(t, w.in))
	}
	// A member who may create but did not write the draft cannot edit or submit it.
	w.in.CreateMember("cy@example.com", "Cy Colleague", customRole(t, w.in, w.admin, "More authors", authz.TemplatesView, authz.TemplatesCreate).Key, ownerPassword)
	cy := w.in.Client()
	cy.SignIn("cy@example.com", ownerPassword)
	draft := compose(t, w.authorC, templateForm("anas_draft"))
	if r := cy.Get(tplPath(draft, "/edit")); r.Status != http.StatusForbidden {
		t.Errorf("another author's edit page: %d", r.Status)
	}
	if r := cy.PostForm(tplPath(draft, "/submit"), nil); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Only the author of this revision, Ana Author") {
		t.Errorf("another author submitting: %d", r.Status)
	}
}

// A draft that breaks Meta's rules is answered 422 with each message beside its field, and
// nothing is stored.
func TestTemplateValidationErrorsAreShownBesideFields(t *testing.T) {
	w := newTemplateWorld(t)
	form := templateForm("Order Confirmation")
	form.Set("body.text", "{{1}} your order {{2}} shipped")
	form.Set("footer", "Reply {{1}} to stop")
	form.Set("buttons.1.type", "URL")
	form.Set("buttons.1.text", "Track")
	form.Set("buttons.1.url", "ftp://example.com")
	r := w.authorC.PostForm("/templates", form)
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid draft: %d", r.Status)
	}
	errs := errorsIn(r.Body)
	for id, want := range map[string]string{
		"tf-name-error":          "Use only lower-case letters",
		"tf-body-text-error":     "cannot start with a variable",
		"tf-footer-error":        "cannot contain variables",
		"tf-buttons-1-url-error": "https://",
	} {
		if !strings.Contains(errs[id], want) {
			t.Errorf("%s = %q, want it to mention %q", id, errs[id], want)
		}
	}
	for _, attr := range []string{`id="tf-name" name="name" type="text" value="Order Confirmation"`, `aria-invalid="true"`} {
		if !strings.Contains(r.Body, attr) {
			t.Errorf("the form lacks %s", attr)
		}
	}
	if !strings.Contains(r.Body, "Nothing was saved") {
		t.Error("no summary above the form")
	}
	if n := templateCount(t, w.in); n != 0 {
		t.Errorf("%d templates stored", n)
	}

	// A name already used in the account and language is found before Meta would refuse it.
	compose(t, w.authorC, templateForm("taken_name"))
	r = w.authorC.PostForm("/templates", templateForm("taken_name"))
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsIn(r.Body)["tf-name-error"], "already has a template named taken_name") {
		t.Errorf("duplicate name: %d %v", r.Status, errorsIn(r.Body))
	}
}

// The live preview fills the sample values, draws the sample-value fields when the variables
// change, and says what breaks Meta's rules, without storing anything.
func TestTemplatePreviewEndpoint(t *testing.T) {
	w := newTemplateWorld(t)
	preview := func(form url.Values) apptest.Response {
		t.Helper()
		form.Set("_csrf", w.authorC.CSRFToken())
		req, _ := http.NewRequest(http.MethodPost, w.authorC.URL("/templates/preview"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		r := w.authorC.Do(req)
		if r.Status != http.StatusOK {
			t.Fatalf("preview: %d", r.Status)
		}
		return r
	}
	form := templateForm("preview_only")
	r := preview(form)
	for _, want := range []string{"Hi Pablo, your order 860198 has shipped", "Your order #860198", "Stop updates", "Meets Meta&#39;s rules",
		`id="tpl-examples" hx-swap-oob="true"`, `name="body.examples.2"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "<html") {
		t.Error("the preview answer is a whole page")
	}
	// The fields are current: they are not sent again while the author types in them.
	form.Set("example_keys", "h:1 b:1 b:2")
	form.Set("body.examples.1", "Jessica")
	r = preview(form)
	if strings.Contains(r.Body, `id="tpl-examples"`) || !strings.Contains(r.Body, "Hi Jessica,") {
		t.Errorf("typing a sample value redrew the fields or did not fill the preview")
	}
	// A variable without a sample value stays visible; rules are checked as the author types.
	form.Set("body.text", "Hi {{1}}, order {{2}} ships {{3}}")
	r = preview(form)
	if !strings.Contains(r.Body, `<span class="tpl-bubble__var">{{3}}</span>`) {
		t.Error("the missing sample value is not marked")
	}
	if !strings.Contains(r.Body, "cannot end with a variable") || !strings.Contains(r.Body, "left before review") {
		t.Errorf("the rule is not reported: %v", errorsIn(r.Body))
	}
	// Messages about fields not filled in yet wait for the save.
	r = preview(url.Values{"body.text": {"Hello there, thanks for your order."}, "buttons.0.type": {""}})
	if msgs := errorsIn(r.Body); msgs["tf-name-error"] != "" || msgs["tf-language-error"] != "" {
		t.Errorf("the preview nags about untouched fields: %v", msgs)
	}
	if n := templateCount(t, w.in); n != 0 {
		t.Errorf("the preview stored %d templates", n)
	}
}

// Markup in what members type is shown as text in the list, the page, the form and the preview.
func TestHostileTemplateTextRendersInert(t *testing.T) {
	w := newTemplateWorld(t)
	const script = `<script>alert(1)</script>`
	form := templateForm("hostile_body")
	form.Set("body.text", "Hi {{1}}, "+script+" your order {{2}} shipped today.")
	form.Set("body.examples.1", `<img src=x onerror=alert(2)>`)
	form.Set("footer", `"><b>bold</b>`)
	form.Set("buttons.0.text", `<i>Stop</i>`)
	id := compose(t, w.authorC, form)

	inert := func(where, body string) {
		t.Helper()
		for _, raw := range []string{script, `<img src=x`, `<b>bold</b>`, `<i>Stop</i>`} {
			if strings.Contains(body, raw) {
				t.Errorf("%s contains %s unescaped", where, raw)
			}
		}
	}
	page := w.authorC.Get(tplPath(id, ""))
	if !strings.Contains(page.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the template page does not show the text escaped")
	}
	inert("template page", page.Body)
	inert("edit form", w.authorC.Get(tplPath(id, "/edit")).Body)
	inert("list", w.authorC.Get("/templates?q="+url.QueryEscape(script)).Body)
	inert("preview", w.authorC.PostForm("/templates/preview", form).Body)

	bad := templateForm(`<script>alert(3)</script>`)
	r := w.authorC.PostForm("/templates", bad)
	if r.Status != http.StatusUnprocessableEntity || strings.Contains(r.Body, `<script>alert(3)`) {
		t.Errorf("a hostile name: %d, echoed raw: %v", r.Status, strings.Contains(r.Body, `<script>alert(3)`))
	}
	// A reviewer's comment is text too, on the page and on the author's dashboard.
	if err := w.authorC.PostForm(tplPath(id, "/submit"), nil); err.Status != http.StatusSeeOther {
		t.Fatalf("submit: %d", err.Status)
	}
	if r := w.approveC.PostForm(tplPath(id, "/send-back"), url.Values{"comment": {script}}); r.Status != http.StatusSeeOther {
		t.Fatalf("send back: %d", r.Status)
	}
	inert("page with comment", w.authorC.Get(tplPath(id, "")).Body)
	inert("dashboard", w.authorC.Get("/").Body)
}

// Sending back needs a comment; the author finds it on the page, on the form and on their
// dashboard, edits the draft and submits it again.
func TestSendBackWithCommentReachesTheAuthor(t *testing.T) {
	w := newTemplateWorld(t)
	form := templateForm("needs_work")
	form.Set("then", "submit")
	id := compose(t, w.authorC, form)

	r := w.approveC.PostForm(tplPath(id, "/send-back"), url.Values{"comment": {"  "}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(errorsIn(r.Body)["tpl-comment-error"], "Say what needs to change") {
		t.Fatalf("send back without comment: %d %v", r.Status, errorsIn(r.Body))
	}
	if tpl := loadTemplate(t, w.in, id); tpl.Status != templates.StatusInReview {
		t.Fatalf("after the refused send-back: %s", tpl.Status)
	}
	if r := w.approveC.PostForm(tplPath(id, "/send-back"), url.Values{"comment": {"Say when it arrives."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("send back: %d", r.Status)
	}
	for where, body := range map[string]string{
		"page": w.authorC.Get(tplPath(id, "")).Body, "form": w.authorC.Get(tplPath(id, "/edit")).Body, "dashboard": w.authorC.Get("/").Body,
	} {
		if !strings.Contains(body, "Say when it arrives.") {
			t.Errorf("the %s lacks the reviewer's comment", where)
		}
	}
	// A reviewer cannot approve what is back with its author.
	if r := w.approveC.PostForm(tplPath(id, "/approve"), nil); r.Status != http.StatusConflict || !strings.Contains(r.Body, "Only a template in review can be approved") {
		t.Errorf("approving a draft: %d", r.Status)
	}
	edit := templateForm("needs_work")
	edit.Set("then", "submit")
	if r := w.authorC.PostForm(tplPath(id, ""), edit); r.Status != http.StatusSeeOther {
		t.Fatalf("edit and resubmit: %d %v", r.Status, errorsIn(r.Body))
	}
	if tpl := loadTemplate(t, w.in, id); tpl.Status != templates.StatusInReview {
		t.Errorf("after resubmitting: %s", tpl.Status)
	}
}

// Deleting a template Meta holds deletes it at Meta first; it stays, marked deleted, with its
// history.
func TestDeleteTemplate(t *testing.T) {
	w := newTemplateWorld(t)
	form := templateForm("to_delete")
	form.Set("then", "submit")
	id := compose(t, w.authorC, form)
	w.approveC.PostForm(tplPath(id, "/approve"), nil)
	if r := w.approveC.PostForm(tplPath(id, "/submit-to-meta"), nil); r.Status != http.StatusSeeOther {
		t.Fatalf("submit to Meta: %d", r.Status)
	}
	metaID := loadTemplate(t, w.in, id).MetaTemplateID

	page := w.adminC.Get(tplPath(id, "/delete"))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "It is deleted at Meta too") {
		t.Fatalf("confirmation page: %d", page.Status)
	}
	r := w.adminC.PostForm(tplPath(id, "/delete"), nil)
	if r.Status != http.StatusSeeOther || r.Location() != "/templates" {
		t.Fatalf("delete: %d %s", r.Status, r.Location())
	}
	if _, ok := w.in.Sim.Template(metaID); ok {
		t.Error("the template is still at Meta")
	}
	tpl := loadTemplate(t, w.in, id)
	if tpl.Status != templates.StatusDeleted || tpl.MetaStatus != templates.MetaDeleted {
		t.Errorf("after delete: %s / %s", tpl.Status, tpl.MetaStatus)
	}
	if list := w.adminC.Get("/templates"); !strings.Contains(list.Body, "Template to_delete (en_US) deleted.") {
		t.Error("no confirmation after deleting")
	}
	if list := w.adminC.Get("/templates"); strings.Contains(list.Body, "to_delete") {
		t.Error("the list still shows the deleted template")
	}
	if list := w.adminC.Get("/templates?status=deleted"); !strings.Contains(list.Body, "to_delete") {
		t.Error("the deleted filter does not show it")
	}
	if page := w.adminC.Get(tplPath(id, "")); !strings.Contains(page.Body, "was deleted on") || strings.Contains(page.Body, `/delete"`) {
		t.Error("the deleted template's page")
	}
	if r := w.adminC.PostForm(tplPath(id, "/delete"), nil); r.Status != http.StatusConflict {
		t.Errorf("deleting twice: %d", r.Status)
	}
}

// "Sync from Meta" imports templates created elsewhere (WhatsApp Manager, another tool).
func TestSyncFromMetaImportsTemplatesCreatedElsewhere(t *testing.T) {
	w := newTemplateWorld(t)
	ctx := context.Background()
	creds, err := w.in.App.Workspace.CredentialsForWABA(ctx, apptest.SandboxWABAID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.in.App.WhatsApp.CreateTemplate(ctx, creds, apptest.SandboxWABAID, whatsapp.TemplateDefinition{
		Name: "made_in_manager", Language: "de", Category: whatsapp.CategoryMarketing,
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: "Hallo und willkommen bei Lucky Shrub!"}}})
	if err != nil {
		t.Fatalf("create at Meta: %v", err)
	}
	if r := w.authorC.Get("/templates"); strings.Contains(r.Body, "Sync from Meta</button>") {
		t.Error("an author without templates.approve is offered the sync")
	}
	r := w.approveC.PostForm("/templates/sync", url.Values{"waba_id": {apptest.SandboxWABAID}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sync: %d %s", r.Status, r.Body)
	}
	list := w.approveC.Get("/templates")
	for _, want := range []string{"Synced from Meta: 1 imported", "made_in_manager"} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("after the sync the list lacks %q", want)
		}
	}
	if r := w.approveC.PostForm("/templates/sync", url.Values{"waba_id": {"999999"}}); r.Status != http.StatusNotFound {
		t.Errorf("sync of an unknown account: %d", r.Status)
	}
}
