// Package settings keeps the workspace-wide settings that administrators change on the settings
// pages, each change written to the activity log.
package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// TwoFactorPolicy says who must use two-factor authentication.
type TwoFactorPolicy string

// Policies.
const (
	// TwoFactorByRole: members whose role is marked "requires 2FA" (by default Administrator and
	// Developer).
	TwoFactorByRole TwoFactorPolicy = "roles"
	// TwoFactorEveryone: every member.
	TwoFactorEveryone TwoFactorPolicy = "everyone"
)

// Security is the workspace's security policy.
type Security struct {
	TwoFactor       TwoFactorPolicy
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
}

// Limits on the time-outs a workspace may choose.
const (
	MinIdleTimeout     = 5 * time.Minute
	MaxIdleTimeout     = 24 * time.Hour
	MaxAbsoluteTimeout = 30 * 24 * time.Hour
)

// Validate checks the policy, with messages for the settings form.
func (s Security) Validate() map[string]string {
	errs := map[string]string{}
	if s.TwoFactor != TwoFactorByRole && s.TwoFactor != TwoFactorEveryone {
		errs["two_factor"] = "Choose who must use two-factor authentication."
	}
	if s.IdleTimeout < MinIdleTimeout || s.IdleTimeout > MaxIdleTimeout {
		errs["idle_timeout"] = "Choose between 5 minutes and 24 hours."
	}
	if s.AbsoluteTimeout < s.IdleTimeout || s.AbsoluteTimeout > MaxAbsoluteTimeout {
		errs["absolute_timeout"] = "Choose at least the idle time-out and at most 30 days."
	}
	return errs
}

// Store reads and writes settings.
type Store struct {
	db       *db.DB
	audit    *audit.Log
	clock    clock.Clock
	defaults Security
}

// NewStore returns the settings store; defaults apply to settings never saved.
func NewStore(d *db.DB, log *audit.Log, clk clock.Clock, defaults Security) *Store {
	return &Store{db: d, audit: log, clock: clk, defaults: defaults}
}

const (
	keyTwoFactor       = "security.two_factor"
	keyIdleTimeout     = "security.idle_timeout_seconds"
	keyAbsoluteTimeout = "security.absolute_timeout_seconds"
)

// Security returns the current security policy.
func (s *Store) Security(ctx context.Context) (Security, error) {
	return s.security(ctx, s.db.R)
}

func (s *Store) security(ctx context.Context, q db.Querier) (Security, error) {
	out := s.defaults
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM workspace_settings WHERE key IN (?, ?, ?)`,
		keyTwoFactor, keyIdleTimeout, keyAbsoluteTimeout)
	if err != nil {
		return Security{}, fmt.Errorf("read security settings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Security{}, err
		}
		switch k {
		case keyTwoFactor:
			out.TwoFactor = TwoFactorPolicy(v)
		case keyIdleTimeout:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out.IdleTimeout = time.Duration(n) * time.Second
			}
		case keyAbsoluteTimeout:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				out.AbsoluteTimeout = time.Duration(n) * time.Second
			}
		}
	}
	return out, rows.Err()
}

// ErrInvalid wraps a refused policy; the map says which fields.
var ErrInvalid = errors.New("invalid settings")

// InvalidError carries the field messages of a refused policy.
type InvalidError map[string]string

func (e InvalidError) Error() string { return "invalid settings" }
func (e InvalidError) Unwrap() error { return ErrInvalid }

// SaveSecurity stores a new policy and records what changed.
func (s *Store) SaveSecurity(ctx context.Context, next Security) error {
	if errs := next.Validate(); len(errs) > 0 {
		return InvalidError(errs)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := s.security(ctx, tx)
		if err != nil {
			return err
		}
		var changes []audit.Change
		set := func(key, field string, before, after any, value string) error {
			if before == after {
				return nil
			}
			changes = append(changes, audit.Change{Field: field, Before: before, After: after})
			_, err := tx.ExecContext(ctx, `INSERT INTO workspace_settings (key, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				key, value, s.clock.Now().UnixMilli())
			return err
		}
		if err := set(keyTwoFactor, "two_factor_policy", string(cur.TwoFactor), string(next.TwoFactor), string(next.TwoFactor)); err != nil {
			return err
		}
		if err := set(keyIdleTimeout, "idle_timeout", cur.IdleTimeout.String(), next.IdleTimeout.String(),
			strconv.FormatInt(int64(next.IdleTimeout/time.Second), 10)); err != nil {
			return err
		}
		if err := set(keyAbsoluteTimeout, "absolute_timeout", cur.AbsoluteTimeout.String(), next.AbsoluteTimeout.String(),
			strconv.FormatInt(int64(next.AbsoluteTimeout/time.Second), 10)); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "settings.security_changed",
			Target: audit.Target{Type: "settings", ID: "security"}, Changes: changes})
		return err
	})
}
