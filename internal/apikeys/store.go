package apikeys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Store is the SQL of API keys.
type Store struct{ db *db.DB }

// NewStore returns the store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

const keyColumns = `id, name, last4, scopes, all_numbers, number_ids, created_by, created_by_name, creator_epoch,
	created_at, expires_at, revoked_at, revoked_by_name, last_used_at, last_used_addr`

type keyRow struct{ Key }

func scanKey(row interface{ Scan(...any) error }) (keyRow, error) {
	var (
		k                         keyRow
		scopes, numbers           string
		created                   int64
		expires, revoked, lastUse sql.NullInt64
	)
	err := row.Scan(&k.ID, &k.Name, &k.Last4, &scopes, &k.Numbers.All, &numbers, &k.CreatedBy, &k.CreatedByName, &k.CreatorEpoch,
		&created, &expires, &revoked, &k.RevokedByName, &lastUse, &k.LastUsedAddr)
	if errors.Is(err, sql.ErrNoRows) {
		return keyRow{}, ErrNotFound
	}
	if err != nil {
		return keyRow{}, fmt.Errorf("read API key: %w", err)
	}
	// An id no longer in the catalogue grants nothing rather than failing every request.
	for _, id := range strings.Fields(scopes) {
		if p, err := authz.Parse(id); err == nil {
			k.Scopes = k.Scopes.With(p)
		}
	}
	k.Numbers.IDs = db.ParseIDs(numbers)
	k.CreatedAt = fromMillis(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = nullTime(expires), nullTime(revoked), nullTime(lastUse)
	return k, nil
}

func (s *Store) insert(ctx context.Context, q db.Querier, k Key, hash [32]byte, epoch int64) (int64, error) {
	var expires any
	if !k.ExpiresAt.IsZero() {
		expires = k.ExpiresAt.UnixMilli()
	}
	res, err := q.ExecContext(ctx, `INSERT INTO api_keys (name, secret_hash, last4, scopes, all_numbers, number_ids,
		created_by, created_by_name, creator_epoch, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.Name, hash[:], k.Last4, k.Scopes.String(), k.Numbers.All, db.FormatIDs(k.Numbers.IDs),
		k.CreatedBy, k.CreatedByName, epoch, k.CreatedAt.UnixMilli(), expires)
	if err != nil {
		return 0, fmt.Errorf("store API key: %w", err)
	}
	return res.LastInsertId()
}

// List returns every key, newest first, revoked ones last.
func (s *Store) List(ctx context.Context) ([]Key, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY revoked_at IS NOT NULL, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k.Key)
	}
	return out, rows.Err()
}

// Get returns one key.
func (s *Store) Get(ctx context.Context, id int64) (Key, error) {
	k, err := scanKey(s.db.R.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE id = ?`, id))
	return k.Key, err
}

func (s *Store) byHash(ctx context.Context, hash [32]byte) (keyRow, error) {
	return scanKey(s.db.R.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE secret_hash = ?`, hash[:]))
}

func (s *Store) touch(ctx context.Context, id int64, at time.Time, addr string) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ?, last_used_addr = ? WHERE id = ?`, at.UnixMilli(), addr, id)
	if err != nil {
		return fmt.Errorf("record API key use: %w", err)
	}
	return nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}
