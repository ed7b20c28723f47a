package templates

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// The SQL of revisions and decisions: a template's history.

func (s *Store) insertRevision(ctx context.Context, q db.Querier, templateID int64, number int, status Status, authorID int64, c Content, at time.Time) (int64, error) {
	examples, buttons, err := encodeContent(c)
	if err != nil {
		return 0, err
	}
	res, err := q.ExecContext(ctx, `INSERT INTO template_revisions (template_id, number, status, author_id,
		category, parameter_format, header_format, header_text, header_example, header_media_handle,
		body_text, body_examples, footer_text, buttons, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		templateID, number, string(status), nullID(authorID),
		string(c.Category), string(c.format()), string(headerFormat(c.Header.Format)), c.Header.Text, c.Header.Example, c.Header.MediaHandle,
		c.Body.Text, examples, c.Footer, buttons, millis(at), millis(at))
	if err != nil {
		return 0, fmt.Errorf("insert template revision: %w", err)
	}
	return res.LastInsertId()
}

func (s *Store) setContent(ctx context.Context, q db.Querier, revisionID int64, c Content, at time.Time) error {
	examples, buttons, err := encodeContent(c)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE template_revisions SET category = ?, parameter_format = ?, header_format = ?,
		header_text = ?, header_example = ?, header_media_handle = ?, body_text = ?, body_examples = ?,
		footer_text = ?, buttons = ?, updated_at = ? WHERE id = ?`,
		string(c.Category), string(c.format()), string(headerFormat(c.Header.Format)), c.Header.Text, c.Header.Example,
		c.Header.MediaHandle, c.Body.Text, examples, c.Footer, buttons, millis(at), revisionID)
	if err != nil {
		return fmt.Errorf("update template revision: %w", err)
	}
	return nil
}

func (s *Store) setRevisionStatus(ctx context.Context, q db.Querier, revisionID int64, status Status, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE template_revisions SET status = ?, updated_at = ? WHERE id = ?`,
		string(status), millis(at), revisionID)
	if err != nil {
		return fmt.Errorf("update template revision: %w", err)
	}
	return nil
}

// markSubmitted makes the revision the one Meta holds. The revision it replaces is superseded
// first: the index that allows one live revision per template would refuse the order reversed.
func (s *Store) markSubmitted(ctx context.Context, q db.Querier, templateID, revisionID int64, as string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE template_revisions SET status = 'superseded', updated_at = ?
		WHERE template_id = ? AND status = 'submitted' AND id <> ?`, millis(at), templateID, revisionID); err != nil {
		return fmt.Errorf("supersede template revision: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE template_revisions SET status = 'submitted', submitted_at = ?, submitted_as = ?,
		updated_at = ? WHERE id = ?`, millis(at), as, millis(at), revisionID); err != nil {
		return fmt.Errorf("mark template revision submitted: %w", err)
	}
	return nil
}

// editsSince counts the revisions sent to Meta as edits since t, and the time of the latest.
func (s *Store) editsSince(ctx context.Context, q db.Querier, templateID int64, since time.Time) (int, time.Time, error) {
	var n int
	var latest int64
	err := q.QueryRowContext(ctx, `SELECT count(*), coalesce(max(submitted_at), 0) FROM template_revisions
		WHERE template_id = ? AND submitted_as = 'edit' AND submitted_at >= ?`, templateID, millis(since)).Scan(&n, &latest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count template edits: %w", err)
	}
	return n, fromMillis(latest), nil
}

// oldestEditSince returns the earliest edit since t.
func (s *Store) oldestEditSince(ctx context.Context, q db.Querier, templateID int64, since time.Time) (time.Time, error) {
	var oldest int64
	err := q.QueryRowContext(ctx, `SELECT coalesce(min(submitted_at), 0) FROM template_revisions
		WHERE template_id = ? AND submitted_as = 'edit' AND submitted_at >= ?`, templateID, millis(since)).Scan(&oldest)
	if err != nil {
		return time.Time{}, fmt.Errorf("find template edits: %w", err)
	}
	return fromMillis(oldest), nil
}

func encodeContent(c Content) (examples, buttons string, err error) {
	ex := c.Body.Examples
	if ex == nil {
		ex = map[string]string{}
	}
	bs := c.Buttons
	if bs == nil {
		bs = []Button{}
	}
	e, err := json.Marshal(ex)
	if err != nil {
		return "", "", fmt.Errorf("encode examples: %w", err)
	}
	b, err := json.Marshal(bs)
	if err != nil {
		return "", "", fmt.Errorf("encode buttons: %w", err)
	}
	return string(e), string(b), nil
}

func headerFormat(f HeaderFormat) HeaderFormat {
	if f == "" {
		return HeaderNone
	}
	return f
}

func (s *Store) insertDecision(ctx context.Context, q db.Querier, d Decision) error {
	_, err := q.ExecContext(ctx, `INSERT INTO template_decisions (template_id, revision_id, actor_id, decision,
		meta_event, comment, from_status, to_status, from_meta_status, to_meta_status, occurred_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.TemplateID, d.RevisionID, nullID(d.ActorID), string(d.Kind), string(d.MetaEvent), d.Comment,
		string(d.FromStatus), string(d.ToStatus), string(d.FromMetaStatus), string(d.ToMetaStatus), millis(d.At))
	if err != nil {
		return fmt.Errorf("record template decision: %w", err)
	}
	return nil
}

// metaEventSeen reports whether Meta's event was already applied to this revision.
func (s *Store) metaEventSeen(ctx context.Context, q db.Querier, revisionID int64, ev MetaEvent) (bool, error) {
	var seen bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM template_decisions
		WHERE revision_id = ? AND decision = 'meta_status' AND meta_event = ?)`, revisionID, string(ev)).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("look up template decisions: %w", err)
	}
	return seen, nil
}

// statusBeforeArchive returns the Meta status a template had when it was last archived.
func (s *Store) statusBeforeArchive(ctx context.Context, q db.Querier, templateID int64) (MetaStatus, error) {
	var st string
	err := q.QueryRowContext(ctx, `SELECT from_meta_status FROM template_decisions
		WHERE template_id = ? AND to_meta_status = 'ARCHIVED' ORDER BY id DESC LIMIT 1`, templateID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up template decisions: %w", err)
	}
	return MetaStatus(st), nil
}

func (s *Store) revisions(ctx context.Context, q db.Querier, templateID int64) ([]Revision, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+revisionColumns+` FROM template_revisions r
		LEFT JOIN members m ON m.id = r.author_id WHERE r.template_id = ? ORDER BY r.number`, templateID)
	if err != nil {
		return nil, fmt.Errorf("list template revisions: %w", err)
	}
	defer rows.Close()
	var out []Revision
	for rows.Next() {
		r, err := scanRevision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const decisionColumns = `d.id, d.template_id, d.revision_id, r.number, d.decision, coalesce(d.actor_id, 0),
	coalesce(m.name, ''), d.comment, d.from_status, d.to_status, d.from_meta_status, d.to_meta_status,
	d.meta_event, d.occurred_at`

const decisionJoins = `FROM template_decisions d
	JOIN template_revisions r ON r.id = d.revision_id
	LEFT JOIN members m ON m.id = d.actor_id`

func decisionDest(d *Decision, at *int64) []any {
	return []any{&d.ID, &d.TemplateID, &d.RevisionID, &d.Revision, &d.Kind, &d.ActorID, &d.ActorName, &d.Comment,
		&d.FromStatus, &d.ToStatus, &d.FromMetaStatus, &d.ToMetaStatus, &d.MetaEvent, at}
}

func (s *Store) decisions(ctx context.Context, q db.Querier, templateID int64) ([]Decision, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+decisionColumns+` `+decisionJoins+`
		WHERE d.template_id = ? ORDER BY d.id`, templateID)
	if err != nil {
		return nil, fmt.Errorf("list template decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		var at int64
		if err := rows.Scan(decisionDest(&d, &at)...); err != nil {
			return nil, fmt.Errorf("scan template decision: %w", err)
		}
		d.At = fromMillis(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// maxStatusChanges bounds what a dashboard asks for; older changes are in each template's history.
const maxStatusChanges = 100

// StatusChangesFor lists, newest first, what others (reviewers, Meta, Switchboard) did to the
// revisions authorID wrote after since: approvals, send-backs with comments, submissions, Meta's
// verdicts, quality changes, deletions. At most 100; the caller, which shows them to the
// signed-in member, keeps to that member's own id.
func (s *Store) StatusChangesFor(ctx context.Context, authorID int64, since time.Time) ([]StatusChange, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+decisionColumns+`, t.waba_id, t.name, t.language `+decisionJoins+`
		JOIN templates t ON t.id = d.template_id
		WHERE r.author_id = ? AND d.occurred_at > ? AND (d.actor_id IS NULL OR d.actor_id <> ?)
		ORDER BY d.occurred_at DESC, d.id DESC LIMIT ?`,
		authorID, millis(since), authorID, maxStatusChanges)
	if err != nil {
		return nil, fmt.Errorf("list template status changes: %w", err)
	}
	defer rows.Close()
	var out []StatusChange
	for rows.Next() {
		var c StatusChange
		var at int64
		if err := rows.Scan(append(decisionDest(&c.Decision, &at), &c.WABAID, &c.TemplateName, &c.Language)...); err != nil {
			return nil, fmt.Errorf("scan template status change: %w", err)
		}
		c.At = fromMillis(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
