package templates

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// Store is the SQL of the templates area. Methods take a db.Querier so that one method serves
// a read through the reader pool and a step inside the service's write transaction.
type Store struct {
	db *db.DB
}

// NewStore returns the store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

// The newest revision of a template is the one with the highest number, so no pointer column
// has to be kept in step with it.
const revisionColumns = `r.id, r.template_id, r.number, r.status, coalesce(r.author_id, 0), coalesce(m.name, ''),
	r.category, r.parameter_format, r.header_format, r.header_text, r.header_example, r.header_media_handle,
	r.body_text, r.body_examples, r.footer_text, r.buttons, r.created_at, r.updated_at, r.submitted_at`

const templateSelect = `SELECT t.id, t.waba_id, t.name, t.language, t.meta_template_id, t.meta_status,
	t.meta_category, t.meta_flagged, t.rejected_reason, t.quality_score, t.meta_event, t.meta_event_at,
	t.created_at, t.updated_at, t.deleted_at, ` + revisionColumns + `
FROM templates t
JOIN template_revisions r ON r.template_id = t.id
	AND r.number = (SELECT max(number) FROM template_revisions WHERE template_id = t.id)
LEFT JOIN members m ON m.id = r.author_id`

type scanner interface{ Scan(...any) error }

// revisionScan holds a revision's columns while they are scanned, alone or after a template's.
type revisionScan struct {
	rev                      Revision
	examples, buttons        string
	created, updated         int64
	submitted                sql.NullInt64
	category, format, header string
}

func (rs *revisionScan) dest() []any {
	r := &rs.rev
	return []any{&r.ID, &r.TemplateID, &r.Number, &r.Status, &r.AuthorID, &r.AuthorName,
		&rs.category, &rs.format, &rs.header, &r.Header.Text, &r.Header.Example, &r.Header.MediaHandle,
		&r.Body.Text, &rs.examples, &r.Footer, &rs.buttons, &rs.created, &rs.updated, &rs.submitted}
}

func (rs *revisionScan) finish() (Revision, error) {
	r := rs.rev
	r.Category = Category(rs.category)
	r.ParameterFormat = ParameterFormat(rs.format)
	r.Header.Format = HeaderFormat(rs.header)
	if err := json.Unmarshal([]byte(rs.examples), &r.Body.Examples); err != nil {
		return Revision{}, fmt.Errorf("revision %d examples: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(rs.buttons), &r.Buttons); err != nil {
		return Revision{}, fmt.Errorf("revision %d buttons: %w", r.ID, err)
	}
	r.Content = canonical(r.Content)
	r.CreatedAt, r.UpdatedAt = fromMillis(rs.created), fromMillis(rs.updated)
	if rs.submitted.Valid {
		r.SubmittedAt = fromMillis(rs.submitted.Int64)
	}
	return r, nil
}

func scanRevision(row scanner) (Revision, error) {
	var rs revisionScan
	if err := row.Scan(rs.dest()...); err != nil {
		return Revision{}, fmt.Errorf("scan revision: %w", err)
	}
	return rs.finish()
}

func scanTemplate(row scanner) (Template, error) {
	var (
		t                   Template
		flagged             bool
		created, updated    int64
		eventAt, deletedAt  sql.NullInt64
		metaStatus, metaCat string
		rs                  revisionScan
	)
	dest := []any{&t.ID, &t.WABAID, &t.Name, &t.Language, &t.MetaTemplateID, &metaStatus,
		&metaCat, &flagged, &t.RejectedReason, &t.QualityScore, &t.lastEvent, &eventAt,
		&created, &updated, &deletedAt}
	err := row.Scan(append(dest, rs.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, ErrNotFound
	}
	if err != nil {
		return Template{}, fmt.Errorf("scan template: %w", err)
	}
	rev, err := rs.finish()
	if err != nil {
		return Template{}, err
	}
	t.MetaStatus, t.MetaCategory, t.Flagged = MetaStatus(metaStatus), Category(metaCat), flagged
	t.CreatedAt, t.UpdatedAt = fromMillis(created), fromMillis(updated)
	if eventAt.Valid {
		t.lastEventAt = fromMillis(eventAt.Int64)
	}
	t.Content = rev.Content
	t.Revision, t.RevisionID, t.AuthorID, t.AuthorName = rev.Number, rev.ID, rev.AuthorID, rev.AuthorName
	t.Status = rev.Status
	if rev.Status == StatusSubmitted {
		live := rev
		t.Live = &live
	}
	if deletedAt.Valid {
		t.DeletedAt = fromMillis(deletedAt.Int64)
		t.Status = StatusDeleted
	}
	return t, nil
}

// get loads one template with its newest and live revisions.
func (s *Store) get(ctx context.Context, q db.Querier, id int64) (Template, error) {
	return s.one(ctx, q, `WHERE t.id = ?`, id)
}

// byMetaID finds the template Meta knows by this id in this account, deleted or not.
func (s *Store) byMetaID(ctx context.Context, q db.Querier, wabaID, metaID string) (Template, error) {
	return s.one(ctx, q, `WHERE t.waba_id = ? AND t.meta_template_id = ?`, wabaID, metaID)
}

// byName finds the template (not deleted) with this name and language in this account.
func (s *Store) byName(ctx context.Context, q db.Querier, wabaID, name, language string) (Template, error) {
	return s.one(ctx, q, `WHERE t.waba_id = ? AND t.name = ? AND t.language = ? AND t.deleted_at IS NULL`, wabaID, name, language)
}

func (s *Store) one(ctx context.Context, q db.Querier, where string, args ...any) (Template, error) {
	t, err := scanTemplate(q.QueryRowContext(ctx, templateSelect+" "+where, args...))
	if err != nil {
		return Template{}, err
	}
	ts := []*Template{&t}
	if err := s.attachLive(ctx, q, ts); err != nil {
		return Template{}, err
	}
	return t, nil
}

func (s *Store) many(ctx context.Context, q db.Querier, query string, args ...any) ([]Template, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	var out []Template
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	ptrs := make([]*Template, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := s.attachLive(ctx, q, ptrs); err != nil {
		return nil, err
	}
	return out, nil
}

// attachLive loads the revision Meta holds for templates whose newest revision is an edit in
// progress: that is the one that is sent until the edit is approved by Meta.
func (s *Store) attachLive(ctx context.Context, q db.Querier, ts []*Template) error {
	byID := map[int64]*Template{}
	var args []any
	for _, t := range ts {
		if t.Live == nil && t.MetaTemplateID != "" {
			byID[t.ID] = t
			args = append(args, t.ID)
		}
	}
	if len(args) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT `+revisionColumns+` FROM template_revisions r
		LEFT JOIN members m ON m.id = r.author_id
		WHERE r.status = 'submitted' AND r.template_id IN (`+placeholders(len(args))+`)`, args...)
	if err != nil {
		return fmt.Errorf("load live revisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		rev, err := scanRevision(rows)
		if err != nil {
			return err
		}
		byID[rev.TemplateID].Live = &rev
	}
	return rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// ListFilter narrows List. Zero fields do not filter.
type ListFilter struct {
	WABAID     string
	Status     Status // StatusDeleted lists deleted templates; otherwise they are left out
	MetaStatus MetaStatus
	Category   Category // the newest revision's category
	Language   string
	// Sendable keeps only templates Meta approved: what an agent may send.
	Sendable bool
	// NameContains matches part of the name.
	NameContains string
	// Limit is at most 500 (100 when zero). A WABA holds at most 250 templates (6,000 when
	// verified), so offset paging stays cheap.
	Limit  int
	Offset int
}

const maxListLimit = 500

// list returns the templates matching f within scope, by name and language.
func (s *Store) list(ctx context.Context, q db.Querier, f ListFilter, scope Scope) ([]Template, error) {
	var where []string
	var args []any
	if !scope.All {
		if len(scope.WABAIDs) == 0 {
			return nil, nil
		}
		where = append(where, `t.waba_id IN (`+placeholders(len(scope.WABAIDs))+`)`)
		for _, id := range scope.WABAIDs {
			args = append(args, id)
		}
	}
	switch f.Status {
	case "":
		where = append(where, `t.deleted_at IS NULL`)
	case StatusDeleted:
		where = append(where, `t.deleted_at IS NOT NULL`)
	default:
		where = append(where, `t.deleted_at IS NULL AND r.status = ?`)
		args = append(args, string(f.Status))
	}
	add := func(cond string, v string) {
		if v != "" {
			where = append(where, cond)
			args = append(args, v)
		}
	}
	add(`t.waba_id = ?`, f.WABAID)
	add(`t.meta_status = ?`, string(f.MetaStatus))
	add(`r.category = ?`, string(f.Category))
	add(`t.language = ?`, f.Language)
	add(`instr(t.name, ?) > 0`, f.NameContains)
	if f.Sendable {
		where = append(where, `t.deleted_at IS NULL AND t.meta_status = 'APPROVED'
			AND EXISTS (SELECT 1 FROM template_revisions l WHERE l.template_id = t.id AND l.status = 'submitted')`)
	}
	limit := f.Limit
	if limit <= 0 || limit > maxListLimit {
		limit = 100
	}
	args = append(args, limit, max(f.Offset, 0))
	return s.many(ctx, q, templateSelect+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY t.name, t.language, t.id LIMIT ? OFFSET ?`, args...)
}

// withMetaID lists the account's templates (not deleted) that Meta knows, for sync.
func (s *Store) withMetaID(ctx context.Context, q db.Querier, wabaID string) ([]Template, error) {
	return s.many(ctx, q, templateSelect+` WHERE t.waba_id = ? AND t.meta_template_id <> '' AND t.deleted_at IS NULL
		ORDER BY t.id`, wabaID)
}

func (s *Store) nameTaken(ctx context.Context, q db.Querier, wabaID, name, language string, exceptID int64) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM templates
		WHERE waba_id = ? AND name = ? AND language = ? AND deleted_at IS NULL AND id <> ?`,
		wabaID, name, language, exceptID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check template name: %w", err)
	}
	return n > 0, nil
}

func (s *Store) insertTemplate(ctx context.Context, q db.Querier, wabaID, name, language string, at time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO templates (waba_id, name, language, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`, wabaID, name, language, millis(at), millis(at))
	if err != nil {
		return 0, fmt.Errorf("insert template: %w", err)
	}
	return res.LastInsertId()
}

func (s *Store) setIdentity(ctx context.Context, q db.Querier, id int64, wabaID, name, language string, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE templates SET waba_id = ?, name = ?, language = ?, updated_at = ? WHERE id = ?`,
		wabaID, name, language, millis(at), id)
	if err != nil {
		return fmt.Errorf("update template: %w", err)
	}
	return nil
}

func (s *Store) touch(ctx context.Context, q db.Querier, id int64, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE templates SET updated_at = ? WHERE id = ?`, millis(at), id); err != nil {
		return fmt.Errorf("update template: %w", err)
	}
	return nil
}

func (s *Store) markDeleted(ctx context.Context, q db.Querier, id int64, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE templates SET deleted_at = ?, updated_at = ? WHERE id = ?`, millis(at), millis(at), id); err != nil {
		return fmt.Errorf("delete template: %w", err)
	}
	return nil
}

// metaState is Meta's side of a template, written as one.
type metaState struct {
	TemplateID     string
	Status         MetaStatus
	Category       Category
	Flagged        bool
	RejectedReason string
	QualityScore   string
	LastEvent      MetaEvent
	LastEventAt    time.Time // Meta's time; zero when unknown
}

func (t Template) meta() metaState {
	return metaState{TemplateID: t.MetaTemplateID, Status: t.MetaStatus, Category: t.MetaCategory, Flagged: t.Flagged,
		RejectedReason: t.RejectedReason, QualityScore: t.QualityScore, LastEvent: t.lastEvent, LastEventAt: t.lastEventAt}
}

func (s *Store) setMeta(ctx context.Context, q db.Querier, id int64, m metaState, at time.Time) error {
	var eventAt sql.NullInt64
	if !m.LastEventAt.IsZero() {
		eventAt = sql.NullInt64{Int64: millis(m.LastEventAt), Valid: true}
	}
	_, err := q.ExecContext(ctx, `UPDATE templates SET meta_template_id = ?, meta_status = ?, meta_category = ?,
		meta_flagged = ?, rejected_reason = ?, quality_score = ?, meta_event = ?, meta_event_at = ?, updated_at = ?
		WHERE id = ?`,
		m.TemplateID, string(m.Status), string(m.Category), m.Flagged, m.RejectedReason, m.QualityScore,
		string(m.LastEvent), eventAt, millis(at), id)
	if err != nil {
		return fmt.Errorf("update template's Meta status: %w", err)
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// WABAOfMetaTemplate names the WABA that holds the template Meta knows by metaID, for calls to
// Meta that address the template alone (an edit) but need that WABA's credentials.
func (s *Store) WABAOfMetaTemplate(ctx context.Context, metaID string) (string, error) {
	var wabaID string
	err := s.db.R.QueryRowContext(ctx, `SELECT waba_id FROM templates WHERE meta_template_id = ? LIMIT 1`, metaID).Scan(&wabaID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find the template's WABA: %w", err)
	}
	return wabaID, nil
}
