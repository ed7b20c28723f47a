package templates

import (
	"context"
	"database/sql"
	"strings"

	"github.com/switchboard/switchboard/internal/audit"
)

// ApplyMetaStatus applies a message_template_status_update webhook to the template Meta knows
// by u.MetaTemplateID in u.WABAID. It is idempotent: a duplicate, a late delivery or a move
// Meta's lifecycle does not allow changes nothing and reports changed false (nextMetaState has
// the rules). A change is recorded as a decision and an activity event by the system actor.
//
// ErrNotFound means no local template has that id (created elsewhere: SyncFromMeta imports
// it); ErrUnknownEvent an event value this package does not know. Either way the webhook
// should still be answered with 200, since Meta would only send it again.
func (s *Service) ApplyMetaStatus(ctx context.Context, u StatusUpdate) (t Template, changed bool, err error) {
	ev, err := ParseMetaEvent(string(u.Event))
	if err != nil {
		return Template{}, false, err
	}
	u.Event = ev
	var id int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.store.byMetaID(ctx, tx, u.WABAID, u.MetaTemplateID)
		if err != nil {
			return err
		}
		id = t.ID
		// Meta's verdicts are about the revision it holds.
		revID := t.RevisionID
		if t.Live != nil {
			revID = t.Live.ID
		}
		var f metaFacts
		if f.seen, err = s.store.metaEventSeen(ctx, tx, revID, u.Event); err != nil {
			return err
		}
		if u.Event == EventUnarchived {
			if f.beforeArchive, err = s.store.statusBeforeArchive(ctx, tx, t.ID); err != nil {
				return err
			}
		}
		cur := t.meta()
		next, ok := nextMetaState(cur, u, f)
		if !ok {
			return nil
		}
		changed = true
		now := s.now()
		if err := s.store.setMeta(ctx, tx, t.ID, next, now); err != nil {
			return err
		}
		if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: t.ID, RevisionID: revID, Kind: DecisionMetaStatus,
			MetaEvent: u.Event, Comment: u.reason(), FromStatus: t.Status, ToStatus: t.Status,
			FromMetaStatus: cur.Status, ToMetaStatus: next.Status, At: now}); err != nil {
			return err
		}
		changes := []audit.Change{{Field: "meta_event", After: string(u.Event)}, metaStatusChange(cur.Status, next.Status)}
		if cur.RejectedReason != next.RejectedReason {
			changes = append(changes, audit.Change{Field: "rejected_reason", Before: cur.RejectedReason, After: next.RejectedReason})
		}
		if cur.Flagged != next.Flagged {
			changes = append(changes, audit.Change{Field: "flagged", Before: cur.Flagged, After: next.Flagged})
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.System(), Action: "template.meta_status_changed",
			Target: templateTarget(t.ID), Changes: changes, Outcome: audit.OutcomeSuccess})
		return err
	})
	if err != nil {
		return Template{}, false, err
	}
	t, err = s.store.get(ctx, s.db.R, id)
	return t, changed, err
}

// ApplyQualityUpdate applies a message_template_quality_update webhook (its new score: GREEN,
// YELLOW, RED or UNKNOWN). Repeating the current score changes nothing.
func (s *Service) ApplyQualityUpdate(ctx context.Context, wabaID, metaTemplateID, score string) (changed bool, err error) {
	score = strings.ToUpper(strings.TrimSpace(score))
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.store.byMetaID(ctx, tx, wabaID, metaTemplateID)
		if err != nil {
			return err
		}
		if t.QualityScore == score {
			return nil
		}
		changed = true
		now := s.now()
		m := t.meta()
		m.QualityScore = score
		if err := s.store.setMeta(ctx, tx, t.ID, m, now); err != nil {
			return err
		}
		revID := t.RevisionID
		if t.Live != nil {
			revID = t.Live.ID
		}
		if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: t.ID, RevisionID: revID, Kind: DecisionQualityChanged,
			Comment: score, FromMetaStatus: t.MetaStatus, ToMetaStatus: t.MetaStatus, At: now}); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.System(), Action: "template.quality_changed",
			Target:  templateTarget(t.ID),
			Changes: []audit.Change{{Field: "quality_score", Before: t.QualityScore, After: score}}, Outcome: audit.OutcomeSuccess})
		return err
	})
	return changed, err
}
