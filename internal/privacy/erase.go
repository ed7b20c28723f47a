package privacy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// Request is an erasure request. It names the contact by id only (see the package comment).
type Request struct {
	ID              int64
	ContactID       int64
	Reference       string
	Status          string // pending, done, cancelled
	RequestedBy     int64
	RequestedByName string
	RequestedAt     time.Time
	DecidedByName   string
	DecidedAt       time.Time
	Removed         map[string]int64
}

// ErrSameMember: under four eyes, the member who asked for an erasure cannot also confirm it.
var ErrSameMember = errors.New("the member who asked for the erasure cannot confirm it")

const maxReference = 100

// target is what one erasure works on, read at its start.
type target struct {
	contactID int64
	waID      string
	userID    string
	names     []string
	convIDs   []int64
	media     []string // sha256 of the contact's media files
}

// step is one area erasure clears, in order. Areas added by later features (notes, media) are
// one step each, and run where their table exists.
type step struct {
	area  string
	table string // the step runs only when this table exists ("" always)
	run   func(ctx context.Context, tx *sql.Tx, t *target) (int64, error)
}

// steps are the areas a customer's personal data is stored in. The activity log is not one of
// them: it never holds any (see the package comment).
var steps = []step{
	{"webhook_bodies", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		// Bodies kept for reprocessing hold the number, the profile name and the words as Meta
		// sent them. A body is one delivery and may carry other customers' events too: it goes
		// whole (a processed body is not needed again; an unprocessed one is lost for
		// reprocessing, which is what erasure asks).
		return exec(ctx, tx, `DELETE FROM webhook_events WHERE `+bodyHas(t, "body"), bodyArgs(t)...)
	}},
	{"api_answers", "api_idempotency", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		// Answers kept to replay an API retry (24 hours) may repeat the contact.
		return exec(ctx, tx, `DELETE FROM api_idempotency WHERE `+bodyHas(t, "body"), bodyArgs(t)...)
	}},
	{"notes", "conversation_notes", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		if ok, _ := tableExists(ctx, tx, "note_mentions"); ok {
			if _, err := exec(ctx, tx, `DELETE FROM note_mentions WHERE note_id IN (SELECT id FROM conversation_notes WHERE conversation_id IN (`+ids(t.convIDs)+`))`); err != nil {
				return 0, err
			}
		}
		return exec(ctx, tx, `DELETE FROM conversation_notes WHERE conversation_id IN (`+ids(t.convIDs)+`)`)
	}},
	{"media", "media", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sha256 FROM media WHERE sha256 <> '' AND conversation_id IN (`+ids(t.convIDs)+`)`)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var sha string
			if err := rows.Scan(&sha); err != nil {
				rows.Close()
				return 0, err
			}
			t.media = append(t.media, sha)
		}
		rows.Close()
		return exec(ctx, tx, `DELETE FROM media WHERE conversation_id IN (`+ids(t.convIDs)+`)`)
	}},
	{"message_statuses", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		return exec(ctx, tx, `DELETE FROM message_statuses WHERE wamid IN (SELECT wamid FROM messages
			WHERE wamid IS NOT NULL AND conversation_id IN (`+ids(t.convIDs)+`))`)
	}},
	{"messages", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		// The search index's delete trigger takes the words out of messages_fts.
		return exec(ctx, tx, `DELETE FROM messages WHERE conversation_id IN (`+ids(t.convIDs)+`)`)
	}},
	{"conversations", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		for _, table := range []string{"conversation_participants", "conversation_labels"} {
			if ok, _ := tableExists(ctx, tx, table); ok {
				if _, err := exec(ctx, tx, `DELETE FROM `+table+` WHERE conversation_id IN (`+ids(t.convIDs)+`)`); err != nil {
					return 0, err
				}
			}
		}
		return exec(ctx, tx, `DELETE FROM conversations WHERE id IN (`+ids(t.convIDs)+`)`)
	}},
	{"consent", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		return exec(ctx, tx, `DELETE FROM contact_consents WHERE contact_id = ?`, t.contactID)
	}},
	{"contact", "", func(ctx context.Context, tx *sql.Tx, t *target) (int64, error) {
		// Labels and custom field values go with the row (ON DELETE CASCADE); the names leave
		// contacts_fts by its trigger.
		return exec(ctx, tx, `DELETE FROM contacts WHERE id = ?`, t.contactID)
	}},
}

func exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func ids(list []int64) string {
	if len(list) == 0 {
		return "NULL"
	}
	parts := make([]string, len(list))
	for i, id := range list {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// bodyHas is the condition that a stored body mentions the contact's number, user id or a name
// of four characters or more (a shorter one would match unrelated bodies).
func bodyHas(t *target, col string) string {
	var conds []string
	for range bodyArgs(t) {
		conds = append(conds, `instr(`+col+`, ?) > 0`)
	}
	if len(conds) == 0 {
		return "0"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

func bodyArgs(t *target) []any {
	var out []any
	for _, s := range append([]string{t.waID, t.userID}, t.names...) {
		if utf8.RuneCountInString(s) >= 4 {
			// Bodies are stored as received (BLOB): match the bytes, and the JSON-escaped form
			// of a name with non-ASCII letters.
			out = append(out, []byte(s))
			if esc, _ := json.Marshal(s); string(esc[1:len(esc)-1]) != s {
				out = append(out, esc[1:len(esc)-1])
			}
		}
	}
	return out
}

// Requests lists erasure requests, pending first, newest first.
func (s *Service) Requests(ctx context.Context, limit int) ([]Request, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, contact_id, reference, status, requested_by, requested_by_name, requested_at,
		decided_by_name, coalesce(decided_at, 0), removed FROM erasure_requests ORDER BY status <> 'pending', id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("privacy: list erasures: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var (
		r                  Request
		requested, decided int64
		removed            string
	)
	if err := row.Scan(&r.ID, &r.ContactID, &r.Reference, &r.Status, &r.RequestedBy, &r.RequestedByName, &requested,
		&r.DecidedByName, &decided, &removed); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Request{}, ErrNotFound
		}
		return Request{}, fmt.Errorf("privacy: read erasure: %w", err)
	}
	r.RequestedAt = time.UnixMilli(requested).UTC()
	if decided != 0 {
		r.DecidedAt = time.UnixMilli(decided).UTC()
	}
	_ = json.Unmarshal([]byte(removed), &r.Removed)
	return r, nil
}

func (s *Service) request(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, id int64) (Request, error) {
	return scanRequest(q.QueryRowContext(ctx, `SELECT id, contact_id, reference, status, requested_by, requested_by_name, requested_at,
		decided_by_name, coalesce(decided_at, 0), removed FROM erasure_requests WHERE id = ?`, id))
}

// RequestErasure asks for contact id to be erased, which p must see and hold contacts.erase
// for. Without four eyes it is carried out at once; with them it waits for a second member.
func (s *Service) RequestErasure(ctx context.Context, p *authz.Principal, contactID int64, reference string) (Request, error) {
	if !p.Can(authz.ContactsErase) {
		_, _ = s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.erasure_requested", Target: contactTarget(contactID),
			Outcome: audit.OutcomeDenied, Changes: []audit.Change{{Field: "reason", After: "needs contacts.erase"}}})
		return Request{}, ErrForbidden
	}
	reference = strings.TrimSpace(reference)
	if utf8.RuneCountInString(reference) > maxReference || strings.ContainsAny(reference, "\r\n") {
		return Request{}, &FieldError{"reference", fmt.Sprintf("Keep the reference to one line of at most %d characters.", maxReference)}
	}
	if _, err := s.FindContact(ctx, p, "", contactID); err != nil {
		return Request{}, err
	}
	st, err := s.Settings(ctx)
	if err != nil {
		return Request{}, err
	}
	var reqID int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		var open int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM erasure_requests WHERE contact_id = ? AND status = 'pending'`, contactID).Scan(&open); err != nil {
			return err
		}
		if open > 0 {
			return &FieldError{"reference", "An erasure of this customer is already waiting for confirmation."}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO erasure_requests (contact_id, reference, requested_by, requested_by_name, requested_at)
			VALUES (?, ?, ?, ?, ?)`, contactID, reference, p.MemberID, p.Name, s.clk.Now().UnixMilli())
		if err != nil {
			return fmt.Errorf("privacy: request erasure: %w", err)
		}
		reqID, _ = res.LastInsertId()
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.erasure_requested", Target: contactTarget(contactID),
			Changes: []audit.Change{{Field: "request", After: reqID}, {Field: "reference", After: reference}, {Field: "four_eyes", After: st.ErasureFourEyes}}})
		return err
	})
	if err != nil {
		return Request{}, err
	}
	if st.ErasureFourEyes {
		return s.request(ctx, s.db.R, reqID)
	}
	return s.carryOut(ctx, p, reqID)
}

// ConfirmErasure carries out a pending request; under four eyes p must not be who asked.
func (s *Service) ConfirmErasure(ctx context.Context, p *authz.Principal, reqID int64) (Request, error) {
	if !p.Can(authz.ContactsErase) {
		return Request{}, ErrForbidden
	}
	r, err := s.request(ctx, s.db.R, reqID)
	if err != nil {
		return Request{}, err
	}
	if r.Status != "pending" {
		return Request{}, &FieldError{"request", "This request is no longer waiting."}
	}
	if r.RequestedBy == p.MemberID {
		_, _ = s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.erased", Target: contactTarget(r.ContactID),
			Outcome: audit.OutcomeDenied, Changes: []audit.Change{{Field: "reason", After: ErrSameMember.Error()}}})
		return Request{}, ErrSameMember
	}
	if _, err := s.FindContact(ctx, p, "", r.ContactID); err != nil {
		return Request{}, err
	}
	return s.carryOut(ctx, p, reqID)
}

// CancelErasure withdraws a pending request.
func (s *Service) CancelErasure(ctx context.Context, p *authz.Principal, reqID int64) error {
	if !p.Can(authz.ContactsErase) {
		return ErrForbidden
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, reqID)
		if err != nil {
			return err
		}
		if r.Status != "pending" {
			return &FieldError{"request", "This request is no longer waiting."}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE erasure_requests SET status = 'cancelled', decided_by = ?, decided_by_name = ?, decided_at = ?
			WHERE id = ?`, p.MemberID, p.Name, s.clk.Now().UnixMilli(), reqID); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.erasure_cancelled", Target: contactTarget(r.ContactID),
			Changes: []audit.Change{{Field: "request", After: reqID}}})
		return err
	})
}

// carryOut erases the request's contact in one transaction (every step, the request marked
// done, the contact.erased event), then deletes media files no other message uses, rebuilds
// the search indexes without the deleted words, and compacts the database and its WAL, so that
// what was deleted is not left in free pages or old WAL frames.
func (s *Service) carryOut(ctx context.Context, p *authz.Principal, reqID int64) (Request, error) {
	t := &target{}
	removed := map[string]int64{}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.request(ctx, tx, reqID)
		if err != nil {
			return err
		}
		if r.Status != "pending" {
			return &FieldError{"request", "This request is no longer waiting."}
		}
		t.contactID = r.ContactID
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(wa_id, ''), coalesce(user_id, ''), profile_name || char(31) || username
			FROM contacts WHERE id = ?`, t.contactID).Scan(&t.waID, &t.userID, &name); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("privacy: read contact: %w", err)
		}
		for _, n := range strings.Split(name, "\x1f") {
			if n = strings.TrimSpace(n); n != "" {
				t.names = append(t.names, n)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM conversations WHERE contact_id = ?`, t.contactID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			t.convIDs = append(t.convIDs, id)
		}
		rows.Close()
		for _, st := range steps {
			if st.table != "" {
				if ok, err := tableExists(ctx, tx, st.table); err != nil || !ok {
					if err != nil {
						return err
					}
					continue
				}
			}
			n, err := st.run(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("privacy: erase %s: %w", st.area, err)
			}
			removed[st.area] = n
		}
		summary, _ := json.Marshal(removed)
		if _, err := tx.ExecContext(ctx, `UPDATE erasure_requests SET status = 'done', decided_by = ?, decided_by_name = ?, decided_at = ?, removed = ?
			WHERE id = ?`, p.MemberID, p.Name, s.clk.Now().UnixMilli(), string(summary), reqID); err != nil {
			return err
		}
		changes := []audit.Change{{Field: "request", After: reqID}}
		for _, st := range steps {
			if n, ok := removed[st.area]; ok {
				changes = append(changes, audit.Change{Field: st.area, After: n})
			}
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.erased", Target: contactTarget(t.contactID), Changes: changes})
		return err
	})
	if err != nil {
		return Request{}, err
	}
	s.removeMediaFiles(ctx, t.media)
	if err := s.Compact(ctx); err != nil {
		// The rows are gone; what may linger is in free pages until the next compaction.
		s.logger.ErrorContext(ctx, "privacy: compact after erasure", "error", err)
	}
	return s.request(ctx, s.db.R, reqID)
}

// removeMediaFiles deletes the files that no media row refers to any more (files are stored
// once per content, so another message may share one).
func (s *Service) removeMediaFiles(ctx context.Context, shas []string) {
	for _, sha := range shas {
		if len(sha) < 3 || strings.ContainsAny(sha, `/\.`) {
			continue
		}
		var n int
		if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM media WHERE sha256 = ?`, sha).Scan(&n); err != nil || n > 0 {
			continue
		}
		if err := os.Remove(filepath.Join(s.mediaDir, sha[:2], sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger.ErrorContext(ctx, "privacy: remove media file", "sha256", sha, "error", err)
		}
	}
}

// Compact makes deleted data unrecoverable from the files: the search indexes are merged into
// one segment each (FTS5 keeps deleted words in old segments until a merge), the WAL is
// checkpointed and truncated, the database is rebuilt by VACUUM (no free page keeps old rows),
// and the WAL that VACUUM wrote is checkpointed and truncated again. It holds the write lock for
// the VACUUM, which at a few hundred MB takes seconds: erasure is rare, and this is its price.
func (s *Service) Compact(ctx context.Context) error {
	for _, stmt := range []string{
		`INSERT INTO messages_fts(messages_fts) VALUES ('optimize')`,
		`INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')`,
	} {
		if _, err := s.db.W.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("optimize search index: %w", err)
		}
	}
	if err := s.checkpointTruncate(ctx); err != nil {
		return err
	}
	if _, err := s.db.W.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return s.checkpointTruncate(ctx)
}

// checkpointTruncate copies the whole WAL into the database and truncates it to nothing; a
// reader still using old frames makes it report busy, and it tries again for a while.
func (s *Service) checkpointTruncate(ctx context.Context) error {
	for i := 0; ; i++ {
		var busy, logFrames, done int
		if err := s.db.W.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if i == 50 {
			return fmt.Errorf("checkpoint: readers kept the WAL busy")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
