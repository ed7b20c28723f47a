package templates

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// Meta's limits on edits of an approved template. Rejected and paused templates may be edited
// without limit.
const (
	editWindowShort = 24 * time.Hour
	editWindowLong  = 30 * 24 * time.Hour
	maxEditsLong    = 10
)

// SubmitToMeta sends the internally approved revision to Meta: a creation the first time, an
// edit of Meta's template afterwards. Like approving, it needs templates.approve and is never
// done by the revision's author.
//
// Meta is called outside the database transaction, so that a slow Cloud API never holds
// SQLite's single write lock. Once Meta has accepted the revision its facts are recorded even
// if the template changed here meanwhile, because they are true at Meta regardless.
func (s *Service) SubmitToMeta(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	const action = "template.submitted_to_meta"
	if !p.Can(authz.TemplatesApprove) {
		return Template{}, s.recordRefusal(ctx, p, action, id, missing(authz.TemplatesApprove))
	}
	t, err := s.visible(ctx, p, id)
	if err != nil {
		return Template{}, err
	}
	if t.Status == StatusDeleted {
		return Template{}, invalidState("This template has been deleted.")
	}
	if t.AuthorID == p.MemberID {
		return Template{}, s.recordRefusal(ctx, p, action, id, ErrOwnTemplate)
	}
	if t.Status != StatusApproved {
		return Template{}, invalidState("Only a template approved in review can be submitted to Meta; this one is %s.", describe(t.Status))
	}
	if err := Validate(draftOf(t)).Err(); err != nil {
		return Template{}, err
	}

	edit := t.MetaTemplateID != ""
	var res CreateResult
	if edit {
		if err := s.checkEditable(ctx, t); err != nil {
			return Template{}, err
		}
		err = s.meta.EditTemplate(ctx, t.MetaTemplateID, EditRequest{Category: string(t.Category), Components: components(t.Content)})
	} else {
		res, err = s.meta.CreateTemplate(ctx, t.WABAID, createRequest(t.Name, t.Language, t.Content))
		if err == nil && res.ID == "" {
			err = errors.New("Meta answered without a template id")
		}
	}
	if err != nil {
		return Template{}, s.recordFailure(ctx, memberActor(p), action, id, fmt.Errorf("submit template to Meta: %w", err))
	}

	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.store.get(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Live != nil && cur.Live.ID == t.RevisionID {
			// Another reviewer's submission of the same revision was recorded meanwhile.
			return nil
		}
		now := s.now()
		as := "create"
		if edit {
			as = "edit"
		}
		if err := s.store.markSubmitted(ctx, tx, id, t.RevisionID, as, now); err != nil {
			return err
		}
		m := cur.meta()
		if !edit {
			m.TemplateID = res.ID
		}
		m.Status = MetaPending
		if st, ok := parseMetaStatus(res.Status); ok {
			// Meta may decide at once (some utility templates are approved within seconds).
			m.Status = st
		}
		if c := Category(strings.ToUpper(res.Category)); c.Valid() {
			m.Category = c
		} else if edit || m.Category == "" {
			m.Category = t.Category
		}
		m.RejectedReason, m.Flagged = "", false
		if err := s.store.setMeta(ctx, tx, id, m, now); err != nil {
			return err
		}
		if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: id, RevisionID: t.RevisionID, ActorID: p.MemberID,
			Kind: DecisionSubmittedToMeta, FromStatus: StatusApproved, ToStatus: StatusSubmitted,
			FromMetaStatus: cur.MetaStatus, ToMetaStatus: m.Status, At: now}); err != nil {
			return err
		}
		changes := []audit.Change{
			statusChange(StatusApproved, StatusSubmitted),
			{Field: "revision", After: t.Revision},
			metaStatusChange(cur.MetaStatus, m.Status),
		}
		if !edit {
			changes = append(changes, audit.Change{Field: "meta_template_id", Before: cur.MetaTemplateID, After: m.TemplateID})
		}
		if m.Category != cur.MetaCategory {
			changes = append(changes, audit.Change{Field: "meta_category", Before: string(cur.MetaCategory), After: string(m.Category)})
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: templateTarget(id),
			Changes: changes, Outcome: audit.OutcomeSuccess})
		return err
	})
	if err != nil {
		return Template{}, err
	}
	return s.store.get(ctx, s.db.R, id)
}

// checkEditable applies Meta's edit rules before the call, so that the reviewer learns when the
// edit can go through instead of getting Meta's error.
func (s *Service) checkEditable(ctx context.Context, t Template) error {
	switch t.MetaStatus {
	case MetaApproved:
	case MetaRejected, MetaPaused:
		return nil
	default:
		return invalidState("Meta accepts edits only of approved, rejected or paused templates; this one is %s at Meta.", t.MetaStatus)
	}
	now := s.now()
	n, latest, err := s.store.editsSince(ctx, s.db.R, t.ID, now.Add(-editWindowShort))
	if err != nil {
		return err
	}
	if n > 0 {
		return invalidState("Meta allows one edit of an approved template per 24 hours: submit again after %s.",
			latest.Add(editWindowShort).Format(timeLayout))
	}
	n, _, err = s.store.editsSince(ctx, s.db.R, t.ID, now.Add(-editWindowLong))
	if err != nil {
		return err
	}
	if n >= maxEditsLong {
		oldest, err := s.store.oldestEditSince(ctx, s.db.R, t.ID, now.Add(-editWindowLong))
		if err != nil {
			return err
		}
		return invalidState("Meta allows %d edits of an approved template in 30 days: submit again after %s.",
			maxEditsLong, oldest.Add(editWindowLong).Format(timeLayout))
	}
	return nil
}

const timeLayout = "2 Jan 2006 15:04 UTC"

// parseMetaStatus reads a status Meta reported; ok is false for anything unknown or empty.
func parseMetaStatus(s string) (MetaStatus, bool) {
	st := MetaStatus(strings.ToUpper(strings.TrimSpace(s)))
	switch st {
	case MetaApproved, MetaPending, MetaRejected, MetaPaused, MetaDisabled, MetaInAppeal, MetaPendingDeletion,
		MetaDeleted, MetaLimitExceeded, MetaArchived, MetaLocked:
		return st, true
	}
	return "", false
}
