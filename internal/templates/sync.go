package templates

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
)

// maxSyncPages stops a paging loop that would otherwise never end (a misbehaving server); at
// Meta's page sizes it is far above the 6,000 templates a WABA may hold.
const maxSyncPages = 1000

// SyncResult says what a sync did.
type SyncResult struct {
	Imported  int // created elsewhere (WhatsApp Manager, another tool) and now known here
	Updated   int // Meta's status, reason, category or quality changed
	Unchanged int
	Missing   int // known here but no longer listed by Meta: marked DELETED
	// Conflicts names templates Meta lists under a name and language that a different local
	// template already uses ("name (language)"), typically a draft never submitted. They are
	// left alone: renaming or deleting the local one resolves it.
	Conflicts []string
}

// SyncFromMeta reads every template of the account from Meta, page by page, and brings the local
// ones in line: imports those created elsewhere, updates Meta's status, reason, category and
// quality, and marks DELETED those Meta no longer lists. Meta's list is its current truth, so it
// overrides what webhooks said. The work is done in one transaction after all pages are read,
// so a failure on the way changes nothing.
//
// It takes no principal: it runs for webhooks and on a schedule. A route that lets a member
// start it must require templates.approve; the member is then the events' actor (audit.WithActor),
// and the system otherwise.
func (s *Service) SyncFromMeta(ctx context.Context, wabaID string) (SyncResult, error) {
	remote, err := s.listAll(ctx, wabaID)
	if err != nil {
		return SyncResult{}, fmt.Errorf("list templates at Meta: %w", err)
	}
	actor := systemActor(ctx)
	var res SyncResult
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res = SyncResult{}
		now := s.now()
		listed := make(map[string]bool, len(remote))
		for _, rt := range remote {
			if rt.ID == "" {
				continue
			}
			listed[rt.ID] = true
			t, err := s.store.byMetaID(ctx, tx, wabaID, rt.ID)
			switch {
			case errors.Is(err, ErrNotFound):
				if _, err := s.store.byName(ctx, tx, wabaID, rt.Name, rt.Language); err == nil {
					res.Conflicts = append(res.Conflicts, fmt.Sprintf("%s (%s)", rt.Name, rt.Language))
					continue
				} else if !errors.Is(err, ErrNotFound) {
					return err
				}
				if err := s.importTemplate(ctx, tx, actor, wabaID, rt, now); err != nil {
					return err
				}
				res.Imported++
				continue
			case err != nil:
				return err
			case t.Status == StatusDeleted:
				continue
			}
			m := remoteState(t.meta(), rt)
			changed, err := s.syncState(ctx, tx, actor, t, m, now)
			if err != nil {
				return err
			}
			if changed {
				res.Updated++
			} else {
				res.Unchanged++
			}
		}
		known, err := s.store.withMetaID(ctx, tx, wabaID)
		if err != nil {
			return err
		}
		for _, t := range known {
			if listed[t.MetaTemplateID] || t.MetaStatus == MetaDeleted {
				continue
			}
			m := t.meta()
			m.Status = MetaDeleted
			if _, err := s.syncState(ctx, tx, actor, t, m, now); err != nil {
				return err
			}
			res.Missing++
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, err
	}
	return res, nil
}

// listAll reads every page. Meta signals the last page by leaving out paging.next.
func (s *Service) listAll(ctx context.Context, wabaID string) ([]RemoteTemplate, error) {
	var all []RemoteTemplate
	after := ""
	cursors := map[string]bool{}
	for range maxSyncPages {
		page, err := s.meta.ListTemplates(ctx, wabaID, after)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		next := page.Paging.Cursors.After
		if page.Paging.Next == "" || next == "" {
			return all, nil
		}
		if cursors[next] {
			return nil, errors.New("Meta returned the same page cursor twice")
		}
		cursors[next] = true
		after = next
	}
	return nil, fmt.Errorf("more than %d pages of templates", maxSyncPages)
}

// remoteState is cur with what Meta's list says.
func remoteState(cur metaState, rt RemoteTemplate) metaState {
	m := cur
	status := strings.ToUpper(strings.TrimSpace(rt.Status))
	if status == string(EventFlagged) {
		// Listed as FLAGGED: still approved, with a quality warning.
		m.Status, m.Flagged = MetaApproved, true
	} else if st, ok := parseMetaStatus(status); ok {
		m.Status = st
		if st != MetaApproved {
			m.Flagged = false
		}
	}
	m.RejectedReason = ""
	if r := strings.TrimSpace(rt.RejectedReason); m.Status == MetaRejected && !strings.EqualFold(r, "NONE") {
		m.RejectedReason = r
	}
	if c := Category(strings.ToUpper(rt.Category)); c.Valid() {
		m.Category = c
	}
	if rt.QualityScore != nil {
		m.QualityScore = strings.ToUpper(rt.QualityScore.Score)
	}
	return m
}

// syncState writes Meta's state as the list reported it, with a decision and an event, when it
// differs from what is stored.
func (s *Service) syncState(ctx context.Context, tx *sql.Tx, actor audit.Actor, t Template, m metaState, now time.Time) (bool, error) {
	cur := t.meta()
	var changes []audit.Change
	for _, f := range []struct {
		field         string
		before, after any
	}{
		{"meta_status", string(cur.Status), string(m.Status)},
		{"rejected_reason", cur.RejectedReason, m.RejectedReason},
		{"meta_category", string(cur.Category), string(m.Category)},
		{"quality_score", cur.QualityScore, m.QualityScore},
		{"flagged", cur.Flagged, m.Flagged},
	} {
		if f.before != f.after {
			changes = append(changes, audit.Change{Field: f.field, Before: f.before, After: f.after})
		}
	}
	if len(changes) == 0 {
		return false, nil
	}
	// What the list said is newer than any webhook sent before now: a late one must not undo it.
	m.LastEvent, m.LastEventAt = "", now
	if err := s.store.setMeta(ctx, tx, t.ID, m, now); err != nil {
		return false, err
	}
	revID := t.RevisionID
	if t.Live != nil {
		revID = t.Live.ID
	}
	if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: t.ID, RevisionID: revID, Kind: DecisionSynced,
		Comment: m.RejectedReason, FromStatus: t.Status, ToStatus: t.Status, FromMetaStatus: cur.Status,
		ToMetaStatus: m.Status, At: now}); err != nil {
		return false, err
	}
	_, err := s.audit.Append(ctx, tx, audit.Event{Actor: actor, Action: "template.synced", Target: templateTarget(t.ID),
		Changes: changes, Outcome: audit.OutcomeSuccess})
	return true, err
}

// importTemplate records a template created outside Switchboard as submitted, with Meta's
// content as its first revision. It has no author: the first edit's author is whoever starts it.
func (s *Service) importTemplate(ctx context.Context, tx *sql.Tx, actor audit.Actor, wabaID string, rt RemoteTemplate, now time.Time) error {
	id, err := s.store.insertTemplate(ctx, tx, wabaID, rt.Name, rt.Language, now)
	if err != nil {
		return err
	}
	c := contentOf(rt)
	revID, err := s.store.insertRevision(ctx, tx, id, 1, StatusSubmitted, 0, c, now)
	if err != nil {
		return err
	}
	m := remoteState(metaState{TemplateID: rt.ID, Status: MetaPending}, rt)
	m.LastEventAt = now
	if err := s.store.setMeta(ctx, tx, id, m, now); err != nil {
		return err
	}
	if err := s.store.insertDecision(ctx, tx, Decision{TemplateID: id, RevisionID: revID, Kind: DecisionImported,
		ToStatus: StatusSubmitted, ToMetaStatus: m.Status, Comment: m.RejectedReason, At: now}); err != nil {
		return err
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Actor: actor, Action: "template.imported", Target: templateTarget(id),
		Changes: append([]audit.Change{
			{Field: "waba_id", After: wabaID},
			{Field: "name", After: rt.Name},
			{Field: "language", After: rt.Language},
			{Field: "meta_template_id", After: rt.ID},
			{Field: "meta_status", After: string(m.Status)},
		}, contentChanges(nil, c)...), Outcome: audit.OutcomeSuccess})
	return err
}
