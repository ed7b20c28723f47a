package templates

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// maxCommentLength bounds a reviewer's comment.
const maxCommentLength = 2000

// step is one workflow action on an existing template.
type step struct {
	action string // activity log action id
	perm   authz.Permission
	// authorOnly: only the newest revision's author may take the step (editing, sending for
	// review). fourEyes: its author may not (approving, sending back).
	authorOnly, fourEyes bool
	apply                func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error)
}

// stepEnv is what a step's apply works with.
type stepEnv struct {
	tx    *sql.Tx
	now   time.Time
	p     *authz.Principal
	scope Scope
}

// errUnchanged lets a step report that nothing needs writing, not even an event.
var errUnchanged = errors.New("unchanged")

// run takes a step: permission, visibility and four-eyes checks, then apply and the activity
// event, all in one transaction. A refusal is recorded in a transaction of its own, since the
// step's own one is rolled back.
func (s *Service) run(ctx context.Context, p *authz.Principal, id int64, st step) (Template, error) {
	if !p.Can(st.perm) {
		return Template{}, s.recordRefusal(ctx, p, st.action, id, missing(st.perm))
	}
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return Template{}, err
	}
	var refused error
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.store.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if !scope.Allows(t.WABAID) {
			return ErrNotFound
		}
		if t.Status == StatusDeleted {
			return invalidState("This template has been deleted.")
		}
		switch {
		case st.fourEyes && t.AuthorID == p.MemberID:
			refused = ErrOwnTemplate
			return refused
		case st.authorOnly && t.AuthorID != p.MemberID:
			refused = fmt.Errorf("%w: only the author of this revision, %s, can do this", ErrForbidden, authorName(t))
			return refused
		}
		changes, err := st.apply(ctx, stepEnv{tx: tx, now: s.now(), p: p, scope: scope}, t)
		if err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: st.action,
			Target: templateTarget(id), Changes: changes, Outcome: audit.OutcomeSuccess})
		return err
	})
	switch {
	case refused != nil && errors.Is(err, refused):
		return Template{}, s.recordRefusal(ctx, p, st.action, id, refused)
	case errors.Is(err, errUnchanged):
	case err != nil:
		return Template{}, err
	}
	return s.store.get(ctx, s.db.R, id)
}

func missing(perm authz.Permission) error {
	return fmt.Errorf("%w: this needs the permission “%s”", ErrForbidden, perm.Label())
}

func authorName(t Template) string {
	if t.AuthorName == "" {
		return "someone else"
	}
	return t.AuthorName
}

// CreateDraft composes a new template as a draft whose author is p.
func (s *Service) CreateDraft(ctx context.Context, p *authz.Principal, d Draft) (Template, error) {
	const action = "template.created"
	if !p.Can(authz.TemplatesCreate) {
		return Template{}, s.recordRefusal(ctx, p, action, 0, missing(authz.TemplatesCreate))
	}
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return Template{}, err
	}
	d = normalizeDraft(d)
	fe := Validate(d)
	if _, bad := fe["waba_id"]; !bad && !scope.Allows(d.WABAID) {
		fe.Add("waba_id", "Choose one of the WhatsApp Business Accounts you work in.")
	}
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkNameFree(ctx, tx, fe, d, 0); err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		now := s.now()
		var err error
		if id, err = s.store.insertTemplate(ctx, tx, d.WABAID, d.Name, d.Language, now); err != nil {
			return err
		}
		revID, err := s.store.insertRevision(ctx, tx, id, 1, StatusDraft, p.MemberID, d.Content, now)
		if err != nil {
			return err
		}
		if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: id, RevisionID: revID, ActorID: p.MemberID,
			Kind: DecisionCreated, ToStatus: StatusDraft, At: now}); err != nil {
			return err
		}
		changes := append([]audit.Change{
			{Field: "waba_id", After: d.WABAID},
			{Field: "name", After: d.Name},
			{Field: "language", After: d.Language},
			{Field: "status", After: string(StatusDraft)},
		}, contentChanges(nil, d.Content)...)
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action,
			Target: templateTarget(id), Changes: changes, Outcome: audit.OutcomeSuccess})
		return err
	})
	if err != nil {
		return Template{}, err
	}
	return s.store.get(ctx, s.db.R, id)
}

// checkNameFree adds a field error when another template of the account has the name and
// language: Meta keeps them unique, and finding out here beats a refusal at submission.
func (s *Service) checkNameFree(ctx context.Context, tx *sql.Tx, fe FieldErrors, d Draft, exceptID int64) error {
	for _, f := range []string{"waba_id", "name", "language"} {
		if _, bad := fe[f]; bad {
			return nil
		}
	}
	taken, err := s.store.nameTaken(ctx, tx, d.WABAID, d.Name, d.Language, exceptID)
	if err != nil {
		return err
	}
	if taken {
		fe.Add("name", fmt.Sprintf("This account already has a template named %s in %s: choose another name.", d.Name, d.Language))
	}
	return nil
}

// UpdateDraft replaces a draft's content. Only its author may, and only while it is a draft.
// The account, name and language may change until the template first reaches Meta, which fixes
// them for good.
func (s *Service) UpdateDraft(ctx context.Context, p *authz.Principal, id int64, d Draft) (Template, error) {
	d = normalizeDraft(d)
	return s.run(ctx, p, id, step{action: "template.updated", perm: authz.TemplatesCreate, authorOnly: true,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			if t.Status != StatusDraft {
				return nil, invalidState("Only a draft can be edited; this template is %s.", describe(t.Status))
			}
			fe := Validate(d)
			var changes []audit.Change
			for _, f := range []struct{ field, before, after string }{
				{"waba_id", t.WABAID, d.WABAID}, {"name", t.Name, d.Name}, {"language", t.Language, d.Language},
			} {
				if f.before == f.after {
					continue
				}
				switch {
				case t.MetaTemplateID != "":
					fe.Add(f.field, "The account, name and language cannot change once the template is at Meta: create a new template instead.")
				case f.field == "waba_id" && !env.scope.Allows(d.WABAID):
					fe.Add(f.field, "Choose one of the WhatsApp Business Accounts you work in.")
				}
				changes = append(changes, audit.Change{Field: f.field, Before: f.before, After: f.after})
			}
			if len(changes) > 0 {
				if err := s.checkNameFree(ctx, env.tx, fe, d, t.ID); err != nil {
					return nil, err
				}
			}
			if err := fe.Err(); err != nil {
				return nil, err
			}
			changes = append(changes, contentChanges(&t.Content, d.Content)...)
			if len(changes) == 0 {
				return nil, errUnchanged
			}
			if err := s.store.setIdentity(ctx, env.tx, t.ID, d.WABAID, d.Name, d.Language, env.now); err != nil {
				return nil, err
			}
			if err := s.store.setContent(ctx, env.tx, t.RevisionID, d.Content, env.now); err != nil {
				return nil, err
			}
			return changes, nil
		}})
}

// SubmitForReview asks the other members with templates.approve to review the author's draft.
func (s *Service) SubmitForReview(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	return s.run(ctx, p, id, step{action: "template.submitted_for_review", perm: authz.TemplatesCreate, authorOnly: true,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			if t.Status != StatusDraft {
				return nil, invalidState("Only a draft can be sent for review; this template is %s.", describe(t.Status))
			}
			if err := Validate(draftOf(t)).Err(); err != nil {
				return nil, err
			}
			return s.moveRevision(ctx, env, t, StatusInReview, DecisionSubmittedForReview, "")
		}})
}

// Approve approves the revision in review, as a member other than its author. The approval is
// internal: SubmitToMeta then sends it to Meta.
func (s *Service) Approve(ctx context.Context, p *authz.Principal, id int64, comment string) (Template, error) {
	comment = strings.TrimSpace(comment)
	return s.run(ctx, p, id, step{action: "template.approved", perm: authz.TemplatesApprove, fourEyes: true,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			if t.Status != StatusInReview {
				return nil, invalidState("Only a template in review can be approved; this one is %s.", describe(t.Status))
			}
			if err := checkComment(comment, false); err != nil {
				return nil, err
			}
			if err := Validate(draftOf(t)).Err(); err != nil {
				return nil, err
			}
			return s.moveRevision(ctx, env, t, StatusApproved, DecisionApproved, comment)
		}})
}

// SendBack returns the revision in review to its author as a draft, with a comment saying what
// to change.
func (s *Service) SendBack(ctx context.Context, p *authz.Principal, id int64, comment string) (Template, error) {
	comment = strings.TrimSpace(comment)
	return s.run(ctx, p, id, step{action: "template.sent_back", perm: authz.TemplatesApprove, fourEyes: true,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			if t.Status != StatusInReview {
				return nil, invalidState("Only a template in review can be sent back; this one is %s.", describe(t.Status))
			}
			if err := checkComment(comment, true); err != nil {
				return nil, err
			}
			return s.moveRevision(ctx, env, t, StatusDraft, DecisionSentBack, comment)
		}})
}

func checkComment(comment string, required bool) error {
	switch {
	case required && comment == "":
		return FieldErrors{"comment": "Say what needs to change, so that the author knows what to do."}
	case utf8.RuneCountInString(comment) > maxCommentLength:
		return FieldErrors{"comment": fmt.Sprintf("Keep the comment under %d characters.", maxCommentLength)}
	}
	return nil
}

// moveRevision moves the newest revision to another status and records the decision.
func (s *Service) moveRevision(ctx context.Context, env stepEnv, t Template, to Status, kind DecisionKind, comment string) ([]audit.Change, error) {
	if err := s.store.setRevisionStatus(ctx, env.tx, t.RevisionID, to, env.now); err != nil {
		return nil, err
	}
	if err := s.store.touch(ctx, env.tx, t.ID, env.now); err != nil {
		return nil, err
	}
	if err := s.store.insertDecision(ctx, env.tx, Decision{TemplateID: t.ID, RevisionID: t.RevisionID,
		ActorID: env.p.MemberID, Kind: kind, Comment: comment, FromStatus: t.Status, ToStatus: to, At: env.now}); err != nil {
		return nil, err
	}
	changes := []audit.Change{statusChange(t.Status, to), {Field: "revision", After: t.Revision}}
	if comment != "" {
		changes = append(changes, audit.Change{Field: "comment", After: comment})
	}
	return changes, nil
}

// StartRevision begins an edit of an approved template: a new draft revision, written by p,
// that is reviewed again. Meanwhile the revision Meta holds stays the one that is sent. Meta
// accepts edits only of approved, rejected and paused templates.
func (s *Service) StartRevision(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	return s.run(ctx, p, id, step{action: "template.revision_started", perm: authz.TemplatesCreate,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			switch t.Status {
			case StatusApproved:
				// Not yet at Meta: the approval is withdrawn with the new revision.
				if err := s.store.setRevisionStatus(ctx, env.tx, t.RevisionID, StatusSuperseded, env.now); err != nil {
					return nil, err
				}
			case StatusSubmitted:
				switch t.MetaStatus {
				case MetaApproved, MetaRejected, MetaPaused:
				case MetaPending:
					return nil, invalidState("Meta is still reviewing this template; it can be edited once Meta has approved, rejected or paused it.")
				default:
					return nil, invalidState("Meta accepts edits only of approved, rejected or paused templates; this one is %s at Meta.", t.MetaStatus)
				}
			default:
				return nil, invalidState("This template is %s: edit that revision instead of starting a new one.", describe(t.Status))
			}
			revID, err := s.store.insertRevision(ctx, env.tx, t.ID, t.Revision+1, StatusDraft, env.p.MemberID, t.Content, env.now)
			if err != nil {
				return nil, err
			}
			if err := s.store.touch(ctx, env.tx, t.ID, env.now); err != nil {
				return nil, err
			}
			if err := s.store.insertDecision(ctx, env.tx, Decision{TemplateID: t.ID, RevisionID: revID, ActorID: env.p.MemberID,
				Kind: DecisionRevisionStarted, FromStatus: t.Status, ToStatus: StatusDraft, At: env.now}); err != nil {
				return nil, err
			}
			return []audit.Change{
				{Field: "revision", Before: t.Revision, After: t.Revision + 1},
				statusChange(t.Status, StatusDraft),
			}, nil
		}})
}

// Delete deletes a template. One that Meta holds is deleted at Meta first (by name and id, so
// that its other languages stay); if Meta refuses, nothing changes here. The template is kept,
// marked deleted, for its history.
func (s *Service) Delete(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	const action = "template.deleted"
	if !p.Can(authz.TemplatesDelete) {
		return Template{}, s.recordRefusal(ctx, p, action, id, missing(authz.TemplatesDelete))
	}
	t, err := s.visible(ctx, p, id)
	if err != nil {
		return Template{}, err
	}
	if t.Status == StatusDeleted {
		return Template{}, invalidState("This template has already been deleted.")
	}
	atMeta := t.MetaTemplateID != "" && t.MetaStatus != MetaDeleted && t.MetaStatus != MetaPendingDeletion
	if atMeta {
		if err := s.meta.DeleteTemplate(ctx, t.WABAID, t.Name, t.MetaTemplateID); err != nil {
			return Template{}, s.recordFailure(ctx, memberActor(p), action, id, fmt.Errorf("delete template at Meta: %w", err))
		}
	}
	return s.run(ctx, p, id, step{action: action, perm: authz.TemplatesDelete,
		apply: func(ctx context.Context, env stepEnv, t Template) ([]audit.Change, error) {
			if err := s.store.markDeleted(ctx, env.tx, t.ID, env.now); err != nil {
				return nil, err
			}
			changes := []audit.Change{statusChange(t.Status, StatusDeleted)}
			d := Decision{TemplateID: t.ID, RevisionID: t.RevisionID, ActorID: env.p.MemberID, Kind: DecisionDeleted,
				FromStatus: t.Status, ToStatus: StatusDeleted, FromMetaStatus: t.MetaStatus, ToMetaStatus: t.MetaStatus, At: env.now}
			if atMeta {
				m := t.meta()
				m.Status = MetaDeleted
				if err := s.store.setMeta(ctx, env.tx, t.ID, m, env.now); err != nil {
					return nil, err
				}
				d.ToMetaStatus = MetaDeleted
				changes = append(changes, metaStatusChange(t.MetaStatus, MetaDeleted))
			}
			if err := s.store.insertDecision(ctx, env.tx, d); err != nil {
				return nil, err
			}
			return changes, nil
		}})
}

// visible reads a template for an action that must talk to Meta before its transaction.
func (s *Service) visible(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return Template{}, err
	}
	t, err := s.store.get(ctx, s.db.R, id)
	if err != nil {
		return Template{}, err
	}
	if !scope.Allows(t.WABAID) {
		return Template{}, ErrNotFound
	}
	return t, nil
}
