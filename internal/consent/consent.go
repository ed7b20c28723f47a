// Package consent keeps each contact's marketing consent (GDPR): whether they opted in to
// marketing messages, from where (a form, an import, the conversation, a keyword), when, and the
// wording they agreed to. The history is append-only: the current status is a contact's newest
// record, and nothing is ever edited. Inbound messages that are exactly an opt-out keyword
// ("STOP") opt the contact out, and MARKETING templates are refused to anyone not opted in.
package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// Status is a contact's marketing consent.
type Status string

// Statuses. A contact with no record has StatusNone: never asked, so not opted in.
const (
	StatusNone     Status = ""
	StatusOptedIn  Status = "opted_in"
	StatusOptedOut Status = "opted_out"
)

// Label is the status for people.
func (s Status) Label() string {
	switch s {
	case StatusOptedIn:
		return "Opted in"
	case StatusOptedOut:
		return "Opted out"
	}
	return "Not asked"
}

// Source is where a consent record came from.
type Source string

// Sources.
const (
	SourceForm         Source = "form"
	SourceImport       Source = "import"
	SourceConversation Source = "conversation"
	SourceKeyword      Source = "keyword"
)

// Sources lists the sources a member may choose when recording consent by hand (keyword records
// come from inbound messages only).
func Sources() []Source { return []Source{SourceConversation, SourceForm, SourceImport} }

// Label is the source for people.
func (s Source) Label() string {
	switch s {
	case SourceForm:
		return "Web form"
	case SourceImport:
		return "Import"
	case SourceConversation:
		return "In the conversation"
	case SourceKeyword:
		return "Keyword"
	}
	return string(s)
}

func (s Source) valid() bool {
	switch s {
	case SourceForm, SourceImport, SourceConversation, SourceKeyword:
		return true
	}
	return false
}

// Record is one entry of a contact's consent history.
type Record struct {
	ID         int64
	ContactID  int64
	Status     Status
	Source     Source
	Text       string
	ActorName  string
	RecordedAt time.Time
}

// Limits.
const (
	maxText     = 1000
	maxKeywords = 20
	maxKeyword  = 30
)

// FieldErrors are validation messages by field.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string { return "invalid consent" }

// ErrNotFound is a contact that does not exist.
var ErrNotFound = errors.New("contact not found")

// Service records and reads consent.
type Service struct {
	db    *db.DB
	audit *audit.Log
	clock clock.Clock
}

// NewService wires the consent service.
func NewService(d *db.DB, log *audit.Log, clk clock.Clock) *Service {
	return &Service{db: d, audit: log, clock: clk}
}

// Change is a consent change made by a member (or an import).
type Change struct {
	Status Status
	Source Source
	// Text is the wording the customer agreed to (opt-in), or their words (opt-out).
	Text string
}

// Set records a change for contactID on behalf of actorName, in its own transaction, with its
// activity event. Who may do it (a member who may work one of the contact's conversations) is
// decided by the caller, which has loaded the conversation under the member's visibility.
func (s *Service) Set(ctx context.Context, contactID int64, actorName string, c Change) (Record, error) {
	c.Text = strings.TrimSpace(c.Text)
	fe := FieldErrors{}
	if c.Status != StatusOptedIn && c.Status != StatusOptedOut {
		fe["status"] = "Choose opted in or opted out."
	}
	if !c.Source.valid() {
		fe["source"] = "Choose where the consent was given."
	}
	if c.Status == StatusOptedIn && c.Text == "" {
		fe["text"] = "Enter the wording the customer agreed to: it is what you must be able to show."
	}
	if utf8.RuneCountInString(c.Text) > maxText {
		fe["text"] = fmt.Sprintf("Use at most %d characters.", maxText)
	}
	if len(fe) > 0 {
		return Record{}, fe
	}
	var out Record
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.record(ctx, tx, contactID, actorName, c, audit.Actor{})
		return err
	})
	return out, err
}

// record appends a consent record and its activity event through q. A zero actor is taken from
// ctx (the signed-in member).
func (s *Service) record(ctx context.Context, q db.Querier, contactID int64, actorName string, c Change, actor audit.Actor) (Record, error) {
	var exists int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE id = ?`, contactID).Scan(&exists); err != nil {
		return Record{}, fmt.Errorf("find contact: %w", err)
	}
	if exists == 0 {
		return Record{}, ErrNotFound
	}
	cur, err := current(ctx, q, contactID)
	if err != nil {
		return Record{}, err
	}
	now := s.clock.Now()
	res, err := q.ExecContext(ctx, `INSERT INTO contact_consents (contact_id, status, source, text, actor_name, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?)`, contactID, c.Status, c.Source, c.Text, actorName, now.UnixMilli())
	if err != nil {
		return Record{}, fmt.Errorf("record consent: %w", err)
	}
	id, _ := res.LastInsertId()
	// The wording is kept in the consent history, not in the activity log: the log names the
	// change, the history holds the evidence.
	if _, err := s.audit.Append(ctx, q, audit.Event{Actor: actor, Action: "contact.consent_changed",
		Target: audit.Target{Type: "contact", ID: strconv.FormatInt(contactID, 10)},
		Changes: []audit.Change{{Field: "marketing_consent", Before: string(cur.Status), After: string(c.Status)},
			{Field: "source", After: string(c.Source)}}}); err != nil {
		return Record{}, err
	}
	return Record{ID: id, ContactID: contactID, Status: c.Status, Source: c.Source, Text: c.Text, ActorName: actorName, RecordedAt: now}, nil
}

// Current is a contact's newest record, or a Record with StatusNone.
func (s *Service) Current(ctx context.Context, contactID int64) (Record, error) {
	return current(ctx, s.db.R, contactID)
}

func current(ctx context.Context, q db.Querier, contactID int64) (Record, error) {
	r, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM contact_consents WHERE contact_id = ? ORDER BY id DESC LIMIT 1`, contactID))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{ContactID: contactID}, nil
	}
	return r, err
}

// OptedIn reports whether the contact's newest record is an opt-in, read through q (the send
// transaction, so a STOP that just arrived is seen).
func (s *Service) OptedIn(ctx context.Context, q db.Querier, contactID int64) (bool, error) {
	r, err := current(ctx, q, contactID)
	return r.Status == StatusOptedIn, err
}

// StatusIn is the contact's current status read through q (a send transaction), for callers
// that must tell an opt-out from never asked (campaigns leave out both, and count them apart).
func (s *Service) StatusIn(ctx context.Context, q db.Querier, contactID int64) (Status, error) {
	r, err := current(ctx, q, contactID)
	return r.Status, err
}

// History is a contact's consent records, newest first.
func (s *Service) History(ctx context.Context, contactID int64) ([]Record, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+columns+` FROM contact_consents WHERE contact_id = ? ORDER BY id DESC LIMIT 100`, contactID)
	if err != nil {
		return nil, fmt.Errorf("consent history: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const columns = `id, contact_id, status, source, text, actor_name, recorded_at`

func scan(row interface{ Scan(...any) error }) (Record, error) {
	var r Record
	var at int64
	if err := row.Scan(&r.ID, &r.ContactID, &r.Status, &r.Source, &r.Text, &r.ActorName, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("scan consent: %w", err)
	}
	r.RecordedAt = time.UnixMilli(at).UTC()
	return r, nil
}

// Keywords are the inbound words that opt a contact out.
func (s *Service) Keywords(ctx context.Context) ([]string, error) {
	var v string
	if err := s.db.R.QueryRowContext(ctx, `SELECT opt_out_keywords FROM consent_settings WHERE id = 1`).Scan(&v); err != nil {
		return nil, fmt.Errorf("read opt-out keywords: %w", err)
	}
	return strings.Fields(v), nil
}

// SaveKeywords replaces the opt-out keywords (space or comma separated, case-insensitive).
func (s *Service) SaveKeywords(ctx context.Context, input string) error {
	words := strings.FieldsFunc(strings.ToUpper(input), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(words) == 0 {
		return FieldErrors{"keywords": "Keep at least one keyword, such as STOP: customers must be able to opt out."}
	}
	if len(words) > maxKeywords {
		return FieldErrors{"keywords": fmt.Sprintf("Use at most %d keywords.", maxKeywords)}
	}
	for _, w := range words {
		if utf8.RuneCountInString(w) > maxKeyword {
			return FieldErrors{"keywords": fmt.Sprintf("A keyword has at most %d characters.", maxKeyword)}
		}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var before string
		if err := tx.QueryRowContext(ctx, `SELECT opt_out_keywords FROM consent_settings WHERE id = 1`).Scan(&before); err != nil {
			return fmt.Errorf("read opt-out keywords: %w", err)
		}
		after := strings.Join(words, " ")
		if before == after {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE consent_settings SET opt_out_keywords = ?, updated_at = ? WHERE id = 1`,
			after, s.clock.Now().UnixMilli()); err != nil {
			return fmt.Errorf("save opt-out keywords: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "settings.consent_keywords_changed",
			Target: audit.Target{Type: "settings", ID: "consent"}, Changes: []audit.Change{{Field: "opt_out_keywords", Before: before, After: after}}})
		return err
	})
}

// keywordActor is how an opt-out by keyword appears in the activity log: the customer acted,
// through Switchboard's processing of their message.
func keywordActor() audit.Actor { return audit.SystemActor("opt-out keyword") }

// InboundText is the inbox's hook for each new inbound text message, inside the ingest
// transaction q: a message that is exactly one of the keywords (ignoring case, spaces and a
// final punctuation mark) opts the contact out, unless they are opted out already.
func (s *Service) InboundText(ctx context.Context, q db.Querier, contactID int64, text string) error {
	word := strings.ToUpper(strings.TrimRight(strings.TrimSpace(text), ".!"))
	if word == "" || strings.ContainsAny(word, " \n") || utf8.RuneCountInString(word) > maxKeyword {
		return nil
	}
	var v string
	if err := q.QueryRowContext(ctx, `SELECT opt_out_keywords FROM consent_settings WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("read opt-out keywords: %w", err)
	}
	match := false
	for _, k := range strings.Fields(v) {
		if k == word {
			match = true
		}
	}
	if !match {
		return nil
	}
	cur, err := current(ctx, q, contactID)
	if err != nil {
		return err
	}
	if cur.Status == StatusOptedOut {
		return nil
	}
	_, err = s.record(ctx, q, contactID, "Customer", Change{Status: StatusOptedOut, Source: SourceKeyword, Text: strings.TrimSpace(text)}, keywordActor())
	return err
}
