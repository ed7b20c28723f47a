package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
)

// Rebuild recomputes every rollup from the inbox's tables (rollup.Rebuild) in one write
// transaction: readers see the old figures until it commits.
func (s *Store) Rebuild(ctx context.Context) error {
	started := time.Now()
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return rollup.Rebuild(ctx, tx) }); err != nil {
		return err
	}
	s.log.Info("analytics rebuilt", "took", time.Since(started).Round(time.Millisecond))
	return nil
}

// RebuildIfNeeded rebuilds the rollups when a migration asked for it (rebuild_needed, set by
// migrations/0024 when analytics_messages gained the template language and button clicks).
func (s *Store) RebuildIfNeeded(ctx context.Context) error {
	var needed bool
	if err := s.db.R.QueryRowContext(ctx, `SELECT rebuild_needed FROM analytics_rollup_state WHERE id = 1`).Scan(&needed); err != nil {
		return fmt.Errorf("rollup state: %w", err)
	}
	if !needed {
		return nil
	}
	return s.Rebuild(ctx)
}
