package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

const maxCannedTitle = 100

func (in *CannedInput) normalise() {
	in.Title = strings.TrimSpace(in.Title)
	in.Body = strings.TrimSpace(in.Body)
}

func (in CannedInput) validate() FieldErrors {
	fe := FieldErrors{}
	switch {
	case in.Title == "":
		fe.Add("title", "Give it a title that agents will recognise.")
	case utf8.RuneCountInString(in.Title) > maxCannedTitle:
		fe.Add("title", fmt.Sprintf("Use at most %d characters.", maxCannedTitle))
	case strings.ContainsAny(in.Title, "\x00\r\n"):
		fe.Add("title", "A title cannot contain line breaks.")
	}
	// Canned responses go out as WhatsApp text, so Meta's text rules are theirs.
	if err := whatsapp.ValidateText(in.Body); err != nil {
		var ve *whatsapp.ValidationError
		if errors.As(err, &ve) {
			fe.Add("body", "The text "+ve.Problem+".")
		} else {
			fe.Add("body", err.Error())
		}
	} else if strings.ContainsRune(in.Body, 0) {
		fe.Add("body", "The text contains a character that cannot be sent.")
	}
	return fe
}

// CannedResponses lists the canned responses by title, for members who send them or manage
// them.
func (s *Service) CannedResponses(ctx context.Context, p *authz.Principal) ([]CannedResponse, error) {
	if !p.CanAny(authz.MessagesSendCanned, authz.CannedResponsesManage) {
		return nil, forbidden("Canned responses are for members who send or manage them.")
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+cannedColumns+` FROM canned_responses ORDER BY title COLLATE NOCASE, id`)
	if err != nil {
		return nil, fmt.Errorf("list canned responses: %w", err)
	}
	defer rows.Close()
	var out []CannedResponse
	for rows.Next() {
		c, err := scanCanned(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CannedResponse returns one canned response.
func (s *Service) CannedResponse(ctx context.Context, p *authz.Principal, id int64) (CannedResponse, error) {
	if !p.CanAny(authz.MessagesSendCanned, authz.CannedResponsesManage) {
		return CannedResponse{}, forbidden("Canned responses are for members who send or manage them.")
	}
	return s.cannedByID(ctx, s.db.R, id)
}

// CreateCanned adds a canned response (canned_responses.manage).
func (s *Service) CreateCanned(ctx context.Context, p *authz.Principal, in CannedInput) (CannedResponse, error) {
	const action = "canned_response.created"
	if !p.Can(authz.CannedResponsesManage) {
		return CannedResponse{}, s.refuseCanned(ctx, p, action, 0)
	}
	in.normalise()
	if err := in.validate().Err(); err != nil {
		return CannedResponse{}, err
	}
	var out CannedResponse
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := millis(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO canned_responses (title, body, created_by, updated_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, in.Title, in.Body, p.MemberID, p.MemberID, now, now)
		if isUniqueViolation(err) {
			return fieldError("title", "Another canned response has this title.")
		}
		if err != nil {
			return fmt.Errorf("create canned response: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: cannedTarget(id),
			Changes: []audit.Change{{Field: "title", After: in.Title}, {Field: "body", After: in.Body}}}); err != nil {
			return err
		}
		out, err = s.cannedByID(ctx, tx, id)
		return err
	})
	return out, err
}

// UpdateCanned changes a canned response (canned_responses.manage).
func (s *Service) UpdateCanned(ctx context.Context, p *authz.Principal, id int64, in CannedInput) (CannedResponse, error) {
	const action = "canned_response.updated"
	if !p.Can(authz.CannedResponsesManage) {
		return CannedResponse{}, s.refuseCanned(ctx, p, action, id)
	}
	in.normalise()
	if err := in.validate().Err(); err != nil {
		return CannedResponse{}, err
	}
	var out CannedResponse
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.cannedByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Title == in.Title && cur.Body == in.Body {
			out = cur
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE canned_responses SET title = ?, body = ?, updated_by = ?, updated_at = ? WHERE id = ?`,
			in.Title, in.Body, p.MemberID, millis(s.now()), id)
		if isUniqueViolation(err) {
			return fieldError("title", "Another canned response has this title.")
		}
		if err != nil {
			return fmt.Errorf("update canned response: %w", err)
		}
		var changes []audit.Change
		if cur.Title != in.Title {
			changes = append(changes, audit.Change{Field: "title", Before: cur.Title, After: in.Title})
		}
		if cur.Body != in.Body {
			changes = append(changes, audit.Change{Field: "body", Before: cur.Body, After: in.Body})
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: cannedTarget(id), Changes: changes}); err != nil {
			return err
		}
		out, err = s.cannedByID(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteCanned removes a canned response (canned_responses.manage). Messages sent with it keep
// their text.
func (s *Service) DeleteCanned(ctx context.Context, p *authz.Principal, id int64) error {
	const action = "canned_response.deleted"
	if !p.Can(authz.CannedResponsesManage) {
		return s.refuseCanned(ctx, p, action, id)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.cannedByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM canned_responses WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete canned response: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: cannedTarget(id),
			Changes: []audit.Change{{Field: "title", Before: cur.Title}}})
		return err
	})
}

func (s *Service) refuseCanned(ctx context.Context, p *authz.Principal, action string, id int64) error {
	cause := forbidden("Managing canned responses needs the canned_responses.manage permission.")
	ev := audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}
	if id != 0 {
		ev.Target = cannedTarget(id)
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

const cannedColumns = `id, title, body, coalesce(created_by, 0), coalesce(updated_by, 0), created_at, updated_at`

func scanCanned(row interface{ Scan(...any) error }) (CannedResponse, error) {
	var (
		c                CannedResponse
		created, updated int64
	)
	err := row.Scan(&c.ID, &c.Title, &c.Body, &c.CreatedBy, &c.UpdatedBy, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return CannedResponse{}, ErrNotFound
	}
	if err != nil {
		return CannedResponse{}, fmt.Errorf("scan canned response: %w", err)
	}
	c.CreatedAt = fromMillis(created)
	c.UpdatedAt = fromMillis(updated)
	return c, nil
}

func (s *Service) cannedByID(ctx context.Context, q db.Querier, id int64) (CannedResponse, error) {
	return scanCanned(q.QueryRowContext(ctx, `SELECT `+cannedColumns+` FROM canned_responses WHERE id = ?`, id))
}

func cannedTarget(id int64) audit.Target { return audit.NewTarget("canned_response", id) }

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// FillCanned puts the conversation's facts into a canned response's variables: {{name}} is the
// customer's first name ("there" when unknown, or when all the member may see of it is a masked
// number) and {{agent}} the sending member's first name. The composer shows the same text the
// customer will get, so both fill through here.
func FillCanned(body string, customer Contact, memberName string) string {
	name := firstName(customer.Name)
	if name == "" || strings.ContainsAny(name, "•0123456789+") {
		name = "there"
	}
	agent := firstName(memberName)
	return strings.NewReplacer("{{name}}", name, "{{agent}}", agent).Replace(body)
}
