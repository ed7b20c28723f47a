package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/authz"
)

// ContactPage is one page of contacts, oldest first; Next is the id to continue after (0 on
// the last page).
type ContactPage struct {
	Contacts []Contact
	Next     int64
	// Labels are the labels on each contact of the page, by contact id.
	Labels map[int64][]Label
}

// contactSeen is the condition that a contact has a conversation the principal sees: a contact
// is visible through its conversations, by the one visibility predicate, and not otherwise.
func contactSeen(p *authz.Principal) (string, []any) {
	vis, args := visibilityClause(p.Conversations(), "c")
	return `EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = ct.id AND ` + vis + `)`, args
}

// Contacts lists the contacts p sees, by id, after the contact afterID.
func (s *Service) Contacts(ctx context.Context, p *authz.Principal, afterID int64, limit int) (ContactPage, error) {
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return ContactPage{}, fieldError("limit", fmt.Sprintf("Ask for 1 to %d contacts.", MaxLimit))
	}
	seen, args := contactSeen(p)
	rows, err := s.db.R.QueryContext(ctx, `SELECT ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username
		FROM contacts ct WHERE ct.id > ? AND `+seen+` ORDER BY ct.id LIMIT ?`, append(append([]any{afterID}, args...), limit+1)...)
	if err != nil {
		return ContactPage{}, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	view := ViewFor(p)
	var page ContactPage
	for rows.Next() {
		c, err := scanContact(rows, view)
		if err != nil {
			return ContactPage{}, err
		}
		page.Contacts = append(page.Contacts, c)
	}
	if err := rows.Err(); err != nil {
		return ContactPage{}, fmt.Errorf("list contacts: %w", err)
	}
	if len(page.Contacts) > limit {
		page.Contacts = page.Contacts[:limit]
		page.Next = page.Contacts[limit-1].ID
	}
	ids := make([]int64, len(page.Contacts))
	for i, c := range page.Contacts {
		ids[i] = c.ID
	}
	if page.Labels, err = contactLabelsOf(ctx, s.db.R, ids); err != nil {
		return ContactPage{}, err
	}
	return page, nil
}

// Contact returns one contact p sees through a conversation; otherwise ErrNotFound.
func (s *Service) Contact(ctx context.Context, p *authz.Principal, id int64) (Contact, error) {
	seen, args := contactSeen(p)
	row := s.db.R.QueryRowContext(ctx, `SELECT ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username
		FROM contacts ct WHERE ct.id = ? AND `+seen, append([]any{id}, args...)...)
	return scanContact(row, ViewFor(p))
}

func scanContact(row interface{ Scan(...any) error }, v View) (Contact, error) {
	var (
		id                           int64
		waID, userID, name, username string
	)
	err := row.Scan(&id, &waID, &userID, &name, &username)
	if errors.Is(err, sql.ErrNoRows) {
		return Contact{}, ErrNotFound
	}
	if err != nil {
		return Contact{}, fmt.Errorf("read contact: %w", err)
	}
	c := maskContact(v, waID, userID, name, username)
	c.ID = id
	return c, nil
}
