package analytics

import (
	"context"
	"database/sql"
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
