package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/db"
)

// The SQL of sign-in throttling: the sign_in_throttle counters and the sign_in_failures of the
// last hour (migrations/0007_throttle_alerts.sql). Keys are SHA-256 hashes (see throttleKey);
// times are unix milliseconds.

// throttleState is one key's row; the zero value stands for "no row".
type throttleState struct {
	failures    int   // consecutive (account) or in the last hour (address)
	recent      int   // failures in the hour before lastFailure
	lockedUntil int64 // ms; a time in the past means not locked
	lastFailure int64 // ms
}

// forgotten reports whether the row only waits to be pruned: no lock left and no failure within
// the window. Reads treat such a row as absent, so a row's fate does not depend on when the next
// write happens to prune it.
func (s throttleState) forgotten(now, window int64) bool {
	return s.lockedUntil <= now && s.lastFailure <= now-window
}

// readThrottleStates returns the rows of the given keys, by key, in one query.
func readThrottleStates(ctx context.Context, q db.Querier, keys []throttleKey) (map[[32]byte]throttleState, error) {
	out := make(map[[32]byte]throttleState, len(keys))
	var rows *sql.Rows
	var err error
	switch len(keys) {
	case 1:
		rows, err = q.QueryContext(ctx, `SELECT key_hash, failures, recent, locked_until, last_failure_at
			FROM sign_in_throttle WHERE key_hash = ?`, keys[0].hash[:])
	case 2:
		rows, err = q.QueryContext(ctx, `SELECT key_hash, failures, recent, locked_until, last_failure_at
			FROM sign_in_throttle WHERE key_hash IN (?, ?)`, keys[0].hash[:], keys[1].hash[:])
	default:
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("throttle: read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			h  []byte
			st throttleState
		)
		if err := rows.Scan(&h, &st.failures, &st.recent, &st.lockedUntil, &st.lastFailure); err != nil {
			return nil, fmt.Errorf("throttle: read: %w", err)
		}
		if len(h) != 32 {
			return nil, fmt.Errorf("throttle: read: key hash of %d bytes", len(h))
		}
		out[[32]byte(h)] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("throttle: read: %w", err)
	}
	return out, nil
}

func readThrottleState(ctx context.Context, q db.Querier, k throttleKey) (throttleState, error) {
	var st throttleState
	err := q.QueryRowContext(ctx, `SELECT failures, recent, locked_until, last_failure_at
		FROM sign_in_throttle WHERE key_hash = ?`, k.hash[:]).
		Scan(&st.failures, &st.recent, &st.lockedUntil, &st.lastFailure)
	if errors.Is(err, sql.ErrNoRows) {
		return throttleState{}, nil
	}
	if err != nil {
		return throttleState{}, fmt.Errorf("throttle: read %s: %w", k.kind, err)
	}
	return st, nil
}

func writeThrottleState(ctx context.Context, q db.Querier, k throttleKey, st throttleState) error {
	_, err := q.ExecContext(ctx, `INSERT INTO sign_in_throttle
		(key_hash, kind, failures, recent, locked_until, last_failure_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_hash) DO UPDATE SET failures = excluded.failures, recent = excluded.recent,
			locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at`,
		k.hash[:], k.kind, st.failures, st.recent, st.lockedUntil, st.lastFailure)
	if err != nil {
		return fmt.Errorf("throttle: write %s: %w", k.kind, err)
	}
	return nil
}

// resetAccount clears an account's consecutive failures and growing lock, keeping only the lock of
// the hourly cap (capUntil, 0 for none): the cap counts failures, and a success is not one less.
func resetAccount(ctx context.Context, q db.Querier, k throttleKey, capUntil int64) error {
	var err error
	if capUntil > 0 {
		_, err = q.ExecContext(ctx, `UPDATE sign_in_throttle SET failures = 0, locked_until = ? WHERE key_hash = ?`,
			capUntil, k.hash[:])
	} else {
		_, err = q.ExecContext(ctx, `DELETE FROM sign_in_throttle WHERE key_hash = ?`, k.hash[:])
	}
	if err != nil {
		return fmt.Errorf("throttle: reset account: %w", err)
	}
	return nil
}

// countFailures counts a key's failures after since (the start of the window).
func countFailures(ctx context.Context, q db.Querier, k throttleKey, since int64) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM sign_in_failures WHERE key_hash = ? AND failed_at > ?`,
		k.hash[:], since).Scan(&n); err != nil {
		return 0, fmt.Errorf("throttle: count %s failures: %w", k.kind, err)
	}
	return n, nil
}

func insertFailure(ctx context.Context, q db.Querier, k throttleKey, at int64) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO sign_in_failures (key_hash, failed_at) VALUES (?, ?)`,
		k.hash[:], at); err != nil {
		return fmt.Errorf("throttle: record %s failure: %w", k.kind, err)
	}
	return nil
}

// nthNewestFailure returns the time of a key's nth most recent failure after since, and false
// when it has fewer.
func nthNewestFailure(ctx context.Context, q db.Querier, k throttleKey, since int64, n int) (int64, bool, error) {
	var at int64
	err := q.QueryRowContext(ctx, `SELECT failed_at FROM sign_in_failures WHERE key_hash = ? AND failed_at > ?
		ORDER BY failed_at DESC LIMIT 1 OFFSET ?`, k.hash[:], since, n-1).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("throttle: read %s failures: %w", k.kind, err)
	}
	return at, true, nil
}

// pruneThrottle deletes what the window no longer needs: failures older than it, and counters
// with no lock left whose last failure is older than it. Both deletes walk an index from its
// oldest end, so they cost next to nothing when there is nothing to delete.
func pruneThrottle(ctx context.Context, q db.Querier, now, window int64) error {
	cutoff := now - window
	if _, err := q.ExecContext(ctx, `DELETE FROM sign_in_failures WHERE failed_at <= ?`, cutoff); err != nil {
		return fmt.Errorf("throttle: prune failures: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM sign_in_throttle WHERE last_failure_at <= ? AND locked_until <= ?`,
		cutoff, now); err != nil {
		return fmt.Errorf("throttle: prune counters: %w", err)
	}
	return nil
}
