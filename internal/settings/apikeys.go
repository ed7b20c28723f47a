package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/audit"
)

const keyAPIKeysNoExpiry = "api_keys.allow_no_expiry"

// APIKeysAllowNoExpiry reports whether an administrator allows API keys that never expire. It
// is off by default: a forgotten key should stop on its own.
func (s *Store) APIKeysAllowNoExpiry(ctx context.Context) (bool, error) {
	var v string
	err := s.db.R.QueryRowContext(ctx, `SELECT value FROM workspace_settings WHERE key = ?`, keyAPIKeysNoExpiry).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read API key settings: %w", err)
	}
	return v == "true", nil
}

// SetAPIKeysAllowNoExpiry turns keys without expiry on or off. Keys made while it was on keep
// their (missing) expiry; turning it off stops new ones.
func (s *Store) SetAPIKeysAllowNoExpiry(ctx context.Context, allow bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT value FROM workspace_settings WHERE key = ?`, keyAPIKeysNoExpiry).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read API key settings: %w", err)
		}
		before := cur == "true"
		if before == allow {
			return nil
		}
		value := "false"
		if allow {
			value = "true"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO workspace_settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			keyAPIKeysNoExpiry, value, s.clock.Now().UnixMilli()); err != nil {
			return fmt.Errorf("save API key settings: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "settings.api_keys_changed",
			Target:  audit.Target{Type: "settings", ID: "api_keys"},
			Changes: []audit.Change{{Field: "allow_no_expiry", Before: before, After: allow}}})
		return err
	})
}
