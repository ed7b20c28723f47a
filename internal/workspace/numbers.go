// Package workspace owns the WhatsApp side of the workspace's set-up: the connected WhatsApp
// Business Accounts and their phone numbers.
package workspace

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/db"
)

// PhoneNumber is one connected WhatsApp phone number.
type PhoneNumber struct {
	ID                 int64
	WABAID             string
	PhoneNumberID      string
	DisplayPhoneNumber string
	VerifiedName       string
	QualityRating      string
	MessagingLimit     string
	Label              string
	Enabled            bool
}

// Name is how the number is shown: its label, else its verified name, with the number.
func (n PhoneNumber) Name() string {
	name := n.Label
	if name == "" {
		name = n.VerifiedName
	}
	if name == "" {
		return n.DisplayPhoneNumber
	}
	return name + " (" + n.DisplayPhoneNumber + ")"
}

// Store is the SQL of the workspace area.
type Store struct {
	db *db.DB
}

// NewStore returns the store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

// PhoneNumbers lists every connected phone number.
func (s *Store) PhoneNumbers(ctx context.Context) ([]PhoneNumber, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT p.id, w.waba_id, p.phone_number_id, p.display_phone_number, p.verified_name,
		p.quality_rating, p.messaging_limit, p.label, p.enabled
		FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref ORDER BY p.display_phone_number, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list phone numbers: %w", err)
	}
	defer rows.Close()
	var out []PhoneNumber
	for rows.Next() {
		var n PhoneNumber
		if err := rows.Scan(&n.ID, &n.WABAID, &n.PhoneNumberID, &n.DisplayPhoneNumber, &n.VerifiedName,
			&n.QualityRating, &n.MessagingLimit, &n.Label, &n.Enabled); err != nil {
			return nil, fmt.Errorf("scan phone number: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
