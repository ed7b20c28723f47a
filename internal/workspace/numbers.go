// Package workspace owns the WhatsApp side of the workspace's set-up: the connected WhatsApp
// Business Accounts and their phone numbers.
package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// PhoneNumber is one connected WhatsApp phone number.
type PhoneNumber struct {
	ID                 int64
	WABARef            int64
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
	rows, err := s.db.R.QueryContext(ctx, `SELECT p.id, w.id, w.waba_id, p.phone_number_id, p.display_phone_number, p.verified_name,
		p.quality_rating, p.messaging_limit, p.label, p.enabled
		FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref WHERE w.disconnected_at IS NULL
		ORDER BY p.display_phone_number, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list phone numbers: %w", err)
	}
	defer rows.Close()
	var out []PhoneNumber
	for rows.Next() {
		var n PhoneNumber
		if err := rows.Scan(&n.ID, &n.WABARef, &n.WABAID, &n.PhoneNumberID, &n.DisplayPhoneNumber, &n.VerifiedName,
			&n.QualityRating, &n.MessagingLimit, &n.Label, &n.Enabled); err != nil {
			return nil, fmt.Errorf("scan phone number: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// WABAs lists the connected WhatsApp Business Accounts.
func (s *Store) WABAs(ctx context.Context) ([]WABA, error) {
	return s.wabas(ctx, `disconnected_at IS NULL`)
}

// DisconnectedWABAs lists the accounts that were disconnected, newest first: their numbers'
// conversations are still in the inbox, and connecting the same account again brings them back.
func (s *Store) DisconnectedWABAs(ctx context.Context) ([]WABA, error) {
	return s.wabas(ctx, `disconnected_at IS NOT NULL`)
}

func (s *Store) wabas(ctx context.Context, where string) ([]WABA, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+wabaColumns+` FROM wabas WHERE `+where+` ORDER BY disconnected_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list WABAs: %w", err)
	}
	defer rows.Close()
	var out []WABA
	for rows.Next() {
		w, err := scanWABA(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// WABA finds a connected WABA by our id; a disconnected one is ErrNotFound.
func (s *Store) WABA(ctx context.Context, ref int64) (WABA, error) {
	w, err := scanWABA(s.db.R.QueryRowContext(ctx, `SELECT `+wabaColumns+` FROM wabas WHERE id = ? AND disconnected_at IS NULL`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return WABA{}, ErrNotFound
	}
	return w, err
}

const wabaColumns = `id, waba_id, name, access_token_last4, app_secret_last4, verify_token_last4,
	access_token_enc IS NOT NULL, app_secret_enc IS NOT NULL, verify_token_enc IS NOT NULL, created_at, disconnected_at,
	(SELECT count(*) FROM phone_numbers p WHERE p.waba_ref = wabas.id)`

func scanWABA(row interface{ Scan(...any) error }) (WABA, error) {
	var w WABA
	var created int64
	var disconnected sql.NullInt64
	if err := row.Scan(&w.ID, &w.WABAID, &w.Name, &w.AccessTokenLast4, &w.AppSecretLast4, &w.VerifyTokenLast4,
		&w.HasAccessToken, &w.HasAppSecret, &w.HasVerifyToken, &created, &disconnected, &w.Numbers); err != nil {
		return WABA{}, err
	}
	w.CreatedAt = time.UnixMilli(created).UTC()
	if disconnected.Valid {
		w.DisconnectedAt = time.UnixMilli(disconnected.Int64).UTC()
	}
	return w, nil
}
