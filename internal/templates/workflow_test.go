package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	must := f.must(t)

	tpl := must(f.svc.CreateDraft(ctx, f.author, validDraft()))
	if tpl.Status != StatusDraft || tpl.Revision != 1 || tpl.AuthorID != f.author.MemberID || tpl.AuthorName != "Ada" || tpl.Live != nil {
		t.Fatalf("created %+v", tpl)
	}
	created := f.lastEvent(t)
	if created.Action != "template.created" || created.Actor.Type != audit.ActorMember || created.Actor.Name != "Ada" ||
		created.Target != templateTarget(tpl.ID) {
		t.Fatalf("created event %+v", created)
	}
	if c, _ := changeOf(created, "name"); c.Before != nil || c.After != "order_shipped" {
		t.Fatalf("name change %+v", c)
	}

	edit := validDraft()
	edit.Body.Text = "Hello {{1}}, your order {{2}} is on its way to you."
	tpl = must(f.svc.UpdateDraft(ctx, f.author, tpl.ID, edit))
	updated := f.lastEvent(t)
	body, ok := changeOf(updated, "body")
	if updated.Action != "template.updated" || !ok || body.Before == nil || body.After == nil {
		t.Fatalf("updated event %+v", updated)
	}
	if _, ok := changeOf(updated, "footer"); ok {
		t.Fatal("an unchanged field is not an audit change")
	}

	tpl = must(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	if tpl.Status != StatusInReview {
		t.Fatalf("status %s", tpl.Status)
	}
	tpl = must(f.svc.SendBack(ctx, f.reviewer, tpl.ID, "Say when it arrives."))
	if tpl.Status != StatusDraft {
		t.Fatalf("sent back to %s", tpl.Status)
	}
	sentBack := f.lastEvent(t)
	if c, _ := changeOf(sentBack, "status"); c.Before != "in_review" || c.After != "draft" {
		t.Fatalf("sent back %+v", sentBack)
	}
	if c, _ := changeOf(sentBack, "comment"); c.After != "Say when it arrives." {
		t.Fatalf("comment %+v", sentBack)
	}

	edit.Body.Text = "Hello {{1}}, your order {{2}} arrives on Friday."
	must(f.svc.UpdateDraft(ctx, f.author, tpl.ID, edit))
	must(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	tpl = must(f.svc.Approve(ctx, f.reviewer, tpl.ID, "Good."))
	if tpl.Status != StatusApproved || tpl.MetaStatus != "" || tpl.Sendable() {
		t.Fatalf("approved %+v", tpl)
	}

	tpl = must(f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID))
	if tpl.Status != StatusSubmitted || tpl.MetaStatus != MetaPending || tpl.MetaTemplateID == "" || tpl.Live == nil || tpl.Sendable() {
		t.Fatalf("submitted %+v", tpl)
	}
	if len(f.meta.created) != 1 || f.meta.created[0].Name != "order_shipped" || f.meta.created[0].Components[1].Text != edit.Body.Text {
		t.Fatalf("Meta got %+v", f.meta.created)
	}
	submitted := f.lastEvent(t)
	if c, _ := changeOf(submitted, "meta_template_id"); c.After != tpl.MetaTemplateID {
		t.Fatalf("submitted event %+v", submitted)
	}
	if _, err := BuildMessage(tpl, Values{}); !errors.Is(err, ErrNotSendable) {
		t.Fatalf("pending template sent: %v", err)
	}

	tpl, changed := f.apply(t, tpl, EventApproved, "")
	if !changed || tpl.MetaStatus != MetaApproved || !tpl.Sendable() {
		t.Fatalf("after APPROVED %+v", tpl)
	}
	if _, err := BuildMessage(tpl, Values{Header: map[string]string{"1": "#7"}, Body: map[string]string{"1": "Ann", "2": "7"},
		Buttons: map[int]string{1: "t7"}}); err != nil {
		t.Fatalf("approved template: %v", err)
	}

	h, err := f.svc.History(ctx, f.viewer, tpl.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range h.Decisions {
		kinds = append(kinds, string(d.Kind))
	}
	want := "created submitted_for_review sent_back submitted_for_review approved submitted_to_meta meta_status"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("decisions %v", kinds)
	}
	if d := h.Decisions[2]; d.ActorName != "Rui" || d.Comment != "Say when it arrives." || d.FromStatus != StatusInReview || d.ToStatus != StatusDraft {
		t.Fatalf("send-back decision %+v", d)
	}
	if d := h.Decisions[6]; d.ActorID != 0 || d.MetaEvent != EventApproved || d.ToMetaStatus != MetaApproved {
		t.Fatalf("Meta decision %+v", d)
	}

	var actions []string
	for _, ev := range f.events(t) {
		actions = append(actions, ev.Action)
		if ev.Outcome != audit.OutcomeSuccess {
			t.Fatalf("event %s: %s", ev.Action, ev.Outcome)
		}
	}
	wantActions := "template.created template.updated template.submitted_for_review template.sent_back template.updated " +
		"template.submitted_for_review template.approved template.submitted_to_meta template.meta_status_changed"
	if strings.Join(actions, " ") != wantActions {
		t.Fatalf("events %v", actions)
	}
	if last := f.lastEvent(t); last.Actor.Type != audit.ActorSystem {
		t.Fatalf("Meta's change is the system's: %+v", last.Actor)
	}
	rep, err := f.log.Verify(ctx)
	if err != nil || !rep.Intact {
		t.Fatalf("audit chain: %+v %v", rep, err)
	}
}

// Four eyes: whoever wrote a revision cannot approve, send back or submit it, whatever their
// role; the refusal is recorded and nothing changes.
func TestFourEyes(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tpl := f.must(t)(f.svc.CreateDraft(ctx, f.admin, validDraft()))
	f.must(t)(f.svc.SubmitForReview(ctx, f.admin, tpl.ID))

	for name, act := range map[string]func() (Template, error){
		"approve":   func() (Template, error) { return f.svc.Approve(ctx, f.admin, tpl.ID, "") },
		"send back": func() (Template, error) { return f.svc.SendBack(ctx, f.admin, tpl.ID, "hmm") },
	} {
		before := f.snapshot(t)
		if _, err := act(); !errors.Is(err, ErrOwnTemplate) {
			t.Fatalf("%s own template: %v", name, err)
		}
		if f.snapshot(t) != before {
			t.Fatalf("%s: a refusal changed something", name)
		}
		ev := f.lastEvent(t)
		if ev.Outcome != audit.OutcomeDenied || ev.Actor.Name != "Alma" || ev.Target.ID == "" {
			t.Fatalf("%s: refusal event %+v", name, ev)
		}
	}

	f.must(t)(f.svc.Approve(ctx, f.reviewer, tpl.ID, ""))
	before := f.snapshot(t)
	if _, err := f.svc.SubmitToMeta(ctx, f.admin, tpl.ID); !errors.Is(err, ErrOwnTemplate) {
		t.Fatalf("submit own template: %v", err)
	}
	if f.snapshot(t) != before || len(f.meta.created) != 0 {
		t.Fatal("a refused submission reached Meta or changed something")
	}
	f.must(t)(f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID))
}

// Every action without its permission is refused with ErrForbidden, recorded, and changes nothing.
func TestPermissionsRefuse(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	draft := f.must(t)(f.svc.CreateDraft(ctx, f.author, validDraft()))
	other := validDraft()
	other.Name = "in_review"
	inReview := f.must(t)(f.svc.CreateDraft(ctx, f.author, other))
	f.must(t)(f.svc.SubmitForReview(ctx, f.author, inReview.ID))
	other.Name = "approved_one"
	approved := f.approved(t, other)

	reviewerNoCreate := &authz.Principal{MemberID: f.reviewer.MemberID, Name: "Rui", Permissions: authz.NewSet(authz.TemplatesView, authz.TemplatesApprove), Numbers: authz.NumberScope{All: true}}
	cases := []struct {
		name string
		act  func() (Template, error)
	}{
		{"create without templates.create", func() (Template, error) { return f.svc.CreateDraft(ctx, f.viewer, validDraft()) }},
		{"create with no principal", func() (Template, error) { return f.svc.CreateDraft(ctx, nil, validDraft()) }},
		{"update without templates.create", func() (Template, error) { return f.svc.UpdateDraft(ctx, f.viewer, draft.ID, validDraft()) }},
		{"update someone else's draft", func() (Template, error) { return f.svc.UpdateDraft(ctx, f.reviewer, draft.ID, validDraft()) }},
		{"submit someone else's draft", func() (Template, error) { return f.svc.SubmitForReview(ctx, f.admin, draft.ID) }},
		{"approve without templates.approve", func() (Template, error) { return f.svc.Approve(ctx, f.viewer, inReview.ID, "") }},
		{"send back without templates.approve", func() (Template, error) { return f.svc.SendBack(ctx, f.author, inReview.ID, "x") }},
		{"submit to Meta without templates.approve", func() (Template, error) { return f.svc.SubmitToMeta(ctx, f.viewer, approved.ID) }},
		{"start revision without templates.create", func() (Template, error) { return f.svc.StartRevision(ctx, reviewerNoCreate, approved.ID) }},
		{"delete without templates.delete", func() (Template, error) { return f.svc.Delete(ctx, f.reviewer, draft.ID) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot(t)
			n := len(f.events(t))
			if _, err := tc.act(); !errors.Is(err, ErrForbidden) {
				t.Fatalf("got %v, want ErrForbidden", err)
			}
			if f.snapshot(t) != before {
				t.Fatal("a refused action changed something")
			}
			evs := f.events(t)
			if len(evs) != n+1 || evs[n].Outcome != audit.OutcomeDenied {
				t.Fatalf("want one denied event, got %+v", evs[n:])
			}
		})
	}
	if len(f.meta.created)+len(f.meta.deleted) != 0 {
		t.Fatal("a refused action reached Meta")
	}

	noView := &authz.Principal{MemberID: f.author.MemberID, Permissions: authz.NewSet(authz.TemplatesCreate)}
	if _, err := f.svc.Get(ctx, noView, draft.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("get without templates.view: %v", err)
	}
	if _, err := f.svc.List(ctx, noView, ListFilter{}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("list without templates.view: %v", err)
	}
}

// Templates of accounts outside the principal's scope do not exist for them.
func TestScopeHidesOtherAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tpl := f.must(t)(f.svc.CreateDraft(ctx, f.author, validDraft()))
	f.must(t)(f.svc.SubmitForReview(ctx, f.author, tpl.ID))

	if _, err := f.svc.Get(ctx, f.outsider, tpl.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := f.svc.History(ctx, f.outsider, tpl.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("history: %v", err)
	}
	before := f.snapshot(t)
	if _, err := f.svc.Approve(ctx, f.outsider, tpl.ID, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("approve: %v", err)
	}
	if _, err := f.svc.Delete(ctx, f.outsider, tpl.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete: %v", err)
	}
	if f.snapshot(t) != before {
		t.Fatal("changed")
	}
	if list, err := f.svc.List(ctx, f.outsider, ListFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("list: %v %v", list, err)
	}
	var fe FieldErrors
	if _, err := f.svc.CreateDraft(ctx, f.outsider, validDraft()); !errors.As(err, &fe) || fe["waba_id"] == "" {
		t.Fatalf("create in another account: %v", err)
	}
	// The fail-closed default sees nothing for a member limited to some numbers.
	sc, _ := AllNumbersOnly(ctx, &authz.Principal{Numbers: authz.NumberScope{IDs: []int64{1}}})
	if sc.All || len(sc.WABAIDs) != 0 {
		t.Fatalf("AllNumbersOnly: %+v", sc)
	}
}

func TestInvalidStatesAndValidation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	draft := f.must(t)(f.svc.CreateDraft(ctx, f.author, validDraft()))

	isState := func(err error, msg string) {
		t.Helper()
		var se *StateError
		if !errors.Is(err, ErrInvalidState) || !errors.As(err, &se) || !strings.Contains(se.Message, msg) {
			t.Fatalf("got %v, want a state error with %q", err, msg)
		}
	}
	_, err := f.svc.Approve(ctx, f.reviewer, draft.ID, "")
	isState(err, "Only a template in review can be approved; this one is a draft.")
	_, err = f.svc.SubmitToMeta(ctx, f.reviewer, draft.ID)
	isState(err, "Only a template approved in review can be submitted to Meta")
	_, err = f.svc.StartRevision(ctx, f.author, draft.ID)
	isState(err, "This template is a draft: edit that revision")

	f.must(t)(f.svc.SubmitForReview(ctx, f.author, draft.ID))
	_, err = f.svc.UpdateDraft(ctx, f.author, draft.ID, validDraft())
	isState(err, "Only a draft can be edited; this template is in review.")
	var fe FieldErrors
	if _, err := f.svc.SendBack(ctx, f.reviewer, draft.ID, "  "); !errors.As(err, &fe) || fe["comment"] == "" {
		t.Fatalf("send back without comment: %v", err)
	}

	bad := validDraft()
	bad.Name = "Bad Name"
	bad.Body.Text = "{{1}} starts"
	if _, err := f.svc.CreateDraft(ctx, f.author, bad); !errors.As(err, &fe) || fe["name"] == "" || fe["body.text"] == "" {
		t.Fatalf("invalid draft: %v", err)
	}
	if _, err := f.svc.CreateDraft(ctx, f.author, validDraft()); !errors.As(err, &fe) || !strings.Contains(fe["name"], "already has a template named order_shipped in en_US") {
		t.Fatalf("duplicate name: %v", err)
	}
	other := validDraft()
	other.Language = "de"
	if _, err := f.svc.CreateDraft(ctx, f.author, other); err != nil {
		t.Fatalf("same name in another language: %v", err)
	}

	live := validDraft()
	live.Name = "pending_one"
	tpl := f.approved(t, live)
	tpl = f.must(t)(f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID))
	_, err = f.svc.StartRevision(ctx, f.author, tpl.ID)
	isState(err, "Meta is still reviewing this template")
	_, err = f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID)
	isState(err, "this one is submitted to Meta")
}

// Editing an approved template starts a revision that is reviewed again, while the approved one
// stays the one that is sent.
func TestRevisionAfterApprovalNeedsReview(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	must := f.must(t)
	tpl := f.live(t, validDraft())
	liveBody := tpl.Body.Text

	tpl = must(f.svc.StartRevision(ctx, f.reviewer, tpl.ID))
	if tpl.Revision != 2 || tpl.Status != StatusDraft || tpl.AuthorID != f.reviewer.MemberID || tpl.MetaStatus != MetaApproved {
		t.Fatalf("new revision %+v", tpl)
	}
	if !tpl.Sendable() || tpl.Live == nil || tpl.Live.Number != 1 || tpl.Live.Body.Text != liveBody {
		t.Fatalf("the approved revision must stay sendable: %+v", tpl.Live)
	}
	if _, err := f.svc.UpdateDraft(ctx, f.author, tpl.ID, validDraft()); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the first revision's author edits the second: %v", err)
	}
	edit := validDraft()
	edit.Body.Text = "Hi {{1}}, order {{2}} left our warehouse today."
	must(f.svc.UpdateDraft(ctx, f.reviewer, tpl.ID, edit))
	renamed := edit
	renamed.Name = "renamed"
	var fe FieldErrors
	if _, err := f.svc.UpdateDraft(ctx, f.reviewer, tpl.ID, renamed); !errors.As(err, &fe) || fe["name"] == "" {
		t.Fatalf("renaming a template Meta holds: %v", err)
	}
	must(f.svc.SubmitForReview(ctx, f.reviewer, tpl.ID))
	if _, err := f.svc.Approve(ctx, f.reviewer, tpl.ID, ""); !errors.Is(err, ErrOwnTemplate) {
		t.Fatalf("revision author approves: %v", err)
	}
	must(f.svc.Approve(ctx, f.admin, tpl.ID, "ok"))
	if got := f.get(t, tpl.ID); !got.Sendable() || got.Live.Body.Text != liveBody {
		t.Fatal("internal approval must not change what is sent")
	}

	tpl = must(f.svc.SubmitToMeta(ctx, f.admin, tpl.ID))
	edits := f.meta.edited[tpl.MetaTemplateID]
	if len(f.meta.created) != 1 || len(edits) != 1 || edits[0].Components[1].Text != edit.Body.Text {
		t.Fatalf("want one edit at Meta, got created=%d edits=%+v", len(f.meta.created), edits)
	}
	if tpl.Status != StatusSubmitted || tpl.MetaStatus != MetaPending || tpl.Live.Number != 2 || tpl.Sendable() {
		t.Fatalf("after edit %+v", tpl)
	}
	// The edit's approval is new for revision 2, even without Meta's time.
	if tpl, _ = f.apply(t, tpl, EventApproved, ""); !tpl.Sendable() || tpl.Live.Body.Text != edit.Body.Text {
		t.Fatalf("edit approved: %+v", tpl)
	}

	h, _ := f.svc.History(ctx, f.admin, tpl.ID)
	if len(h.Revisions) != 2 || h.Revisions[0].Status != StatusSuperseded || h.Revisions[1].Status != StatusSubmitted {
		t.Fatalf("revisions %+v", h.Revisions)
	}

	// Meta allows one edit of an approved template per 24 hours.
	must(f.svc.StartRevision(ctx, f.author, tpl.ID))
	must(f.svc.SubmitForReview(ctx, f.author, tpl.ID))
	must(f.svc.Approve(ctx, f.reviewer, tpl.ID, ""))
	if _, err := f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID); !errors.Is(err, ErrInvalidState) || !strings.Contains(err.Error(), "one edit of an approved template per 24 hours") {
		t.Fatalf("second edit within 24 hours: %v", err)
	}
	f.clk.Advance(25 * time.Hour)
	must(f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID))

	// Starting a revision from an approval not yet sent withdraws that approval.
	other := validDraft()
	other.Name = "unsent"
	unsent := f.approved(t, other)
	unsent = must(f.svc.StartRevision(ctx, f.author, unsent.ID))
	if unsent.Revision != 2 || unsent.Status != StatusDraft || unsent.Live != nil {
		t.Fatalf("revision of an unsent approval %+v", unsent)
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	draft := f.must(t)(f.svc.CreateDraft(ctx, f.author, validDraft()))
	got := f.must(t)(f.svc.Delete(ctx, f.admin, draft.ID))
	if got.Status != StatusDeleted || len(f.meta.deleted) != 0 {
		t.Fatalf("draft delete %+v, Meta calls %v", got, f.meta.deleted)
	}
	if _, err := f.svc.Delete(ctx, f.admin, draft.ID); !errors.Is(err, ErrInvalidState) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := f.svc.List(ctx, f.admin, ListFilter{}); len(list) != 0 {
		t.Fatal("deleted templates are not listed")
	}
	// The name is free again.
	live := f.live(t, validDraft())

	f.meta.err = &MetaError{Code: 100, Message: "Invalid parameter"}
	before := f.snapshot(t)
	if _, err := f.svc.Delete(ctx, f.admin, live.ID); err == nil {
		t.Fatal("Meta's refusal must fail the delete")
	}
	if f.snapshot(t) != before {
		t.Fatal("a delete Meta refused changed something")
	}
	ev := f.lastEvent(t)
	if c, _ := changeOf(ev, "error"); ev.Outcome != audit.OutcomeFailed || c.After != "Meta error 100: Invalid parameter" {
		t.Fatalf("failure event %+v", ev)
	}

	f.meta.err = nil
	got = f.must(t)(f.svc.Delete(ctx, f.admin, live.ID))
	if got.Status != StatusDeleted || got.MetaStatus != MetaDeleted || got.Sendable() {
		t.Fatalf("deleted %+v", got)
	}
	if len(f.meta.deleted) != 1 || f.meta.deleted[0] != "order_shipped/"+live.MetaTemplateID {
		t.Fatalf("Meta delete %v", f.meta.deleted)
	}
	if list, _ := f.svc.List(ctx, f.admin, ListFilter{Status: StatusDeleted}); len(list) != 2 {
		t.Fatalf("deleted list %d", len(list))
	}
}

// Errors from the Meta adapter may carry anything (URLs, headers); the activity log keeps only
// Meta's code and message.
func TestAuditNeverContainsSecrets(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	const secret = "EAAGm0PX4ZCpsBAsecret-access-token"
	tpl := f.approved(t, validDraft())
	f.meta.err = errors.New("POST https://graph.facebook.com/v23.0/x?access_token=" + secret + ": connection reset")
	if _, err := f.svc.SubmitToMeta(ctx, f.reviewer, tpl.ID); err == nil {
		t.Fatal("want the Meta failure")
	}
	if got := f.get(t, tpl.ID); got.Status != StatusApproved || got.MetaTemplateID != "" {
		t.Fatalf("a failed submission changed the template: %+v", got)
	}
	ev := f.lastEvent(t)
	if ev.Action != "template.submitted_to_meta" || ev.Outcome != audit.OutcomeFailed {
		t.Fatalf("failure event %+v", ev)
	}
	var n int
	if err := f.db.R.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE changes LIKE ? OR actor_name LIKE ?`,
		"%"+secret+"%", "%"+secret+"%").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the secret reached the activity log (%d rows, %v)", n, err)
	}
}
