package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FirstRowFrom returns a rowid that splits table at time t: every row below it has column
// before t, every row from it on has column at t or later (DELETE … WHERE rowid < it prunes
// what is older than t). It is for append-only logs whose rows are
// written in time order (column never decreases as rowids grow: webhook bodies, outgoing
// deliveries), so that pruning them by age needs no index on the time: every insert would
// write that index too (a page a commit under webhook load). It halves the rowid range with
// primary-key seeks, about 30 for a billion rows. Should a clock step back, the rows it
// stamped may be pruned a little early or late, never skipped for good.
//
// table and column are names from the caller's code, never input.
func FirstRowFrom(ctx context.Context, q Querier, table, column string, t int64) (int64, error) {
	var lo, hi sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT min(rowid), max(rowid) FROM `+table).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("%s: first row from: %w", table, err)
	}
	if !lo.Valid {
		return 0, nil
	}
	low, high := lo.Int64, hi.Int64+1
	seek := `SELECT rowid, ` + column + ` FROM ` + table + ` WHERE rowid >= ? ORDER BY rowid LIMIT 1`
	for low < high {
		mid := low + (high-low)/2
		var row, at int64
		err := q.QueryRowContext(ctx, seek, mid).Scan(&row, &at)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			high = mid // nothing at or after mid (rows went meanwhile)
		case err != nil:
			return 0, fmt.Errorf("%s: first row from: %w", table, err)
		case at >= t:
			high = mid // the first new row is row or before it, and nothing lies in [mid, row)
		default:
			low = row + 1
		}
	}
	return low, nil
}
