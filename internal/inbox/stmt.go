package inbox

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard/switchboard/internal/db"
)

// batch is what the Ingester shares with the code that applies the bodies of one transaction:
// the transaction with its statements prepared (db.PreparedTx: the same few statements are
// parsed once, not once per use), and the work to do once before commit. Both die with the
// transaction.
type batchState struct {
	tx    *sql.Tx
	stmts *db.PreparedTx
	keys  map[string]bool
	end   []func(context.Context, db.Querier) error
	// touched are the conversations the batch changed, announced once it commits.
	touched map[int64]struct{}
	// rollup gathers the batch's analytics changes (rollup.go).
	rollup batchRollup
	// more says, once the batch's bodies are applied, that further bodies wait for the next
	// batch: work that may lag a little (the search index) can leave itself to that one.
	more bool
}

type batchKey struct{}

func withBatch(ctx context.Context, tx *sql.Tx, cache *db.Statements) (context.Context, *batchState) {
	b := &batchState{tx: tx, stmts: cache.In(tx), keys: map[string]bool{}, touched: map[int64]struct{}{}}
	return context.WithValue(ctx, batchKey{}, b), b
}

// batchQuerier runs a batch's queries through its prepared statements; it is what the batch
// hands to code outside the package (the rollups, IngesterOptions.Applied).
type batchQuerier struct{ b *batchState }

func (q batchQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return q.b.stmts.ExecContext(ctx, query, args...)
}

func (q batchQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.b.stmts.QueryContext(ctx, query, args...)
}

func (q batchQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return q.b.stmts.QueryRowContext(ctx, query, args...)
}

// batchOf returns the batch of ctx if q is its transaction.
func batchOf(ctx context.Context, q db.Querier) *batchState {
	if c, ok := q.(batchQuerier); ok {
		return c.b
	}
	b, _ := ctx.Value(batchKey{}).(*batchState)
	if b == nil {
		return nil
	}
	if tx, ok := q.(*sql.Tx); !ok || tx != b.tx {
		return nil
	}
	return b
}

// touch notes that the batch of ctx changed a conversation, for the live updates sent after
// it commits. Outside a batch the caller publishes itself.
func touch(ctx context.Context, q db.Querier, conversationID int64) {
	if b := batchOf(ctx, q); b != nil {
		b.touched[conversationID] = struct{}{}
	}
}

func (b *batchState) touchedIDs() []int64 {
	ids := make([]int64, 0, len(b.touched))
	for id := range b.touched {
		ids = append(ids, id)
	}
	return ids
}

// atBatchEnd runs fn once before the batch commits, however many bodies ask for it; outside a
// batch it runs fn at once.
func atBatchEnd(ctx context.Context, q db.Querier, key string, fn func(context.Context, db.Querier) error) error {
	b := batchOf(ctx, q)
	if b == nil {
		return fn(ctx, q)
	}
	if !b.keys[key] {
		b.keys[key] = true
		b.end = append(b.end, fn)
	}
	return nil
}

// finish runs the batch-end work behind a savepoint: should it fail, the bodies stay applied
// and the work (which is idempotent) catches up with the next batch.
func (b *batchState) finish(ctx context.Context) error {
	if len(b.end) == 0 {
		return nil
	}
	if _, err := b.tx.ExecContext(ctx, `SAVEPOINT batch_end`); err != nil {
		return err
	}
	for _, fn := range b.end {
		if err := fn(ctx, b.tx); err != nil {
			_, rerr := b.tx.ExecContext(ctx, `ROLLBACK TO batch_end`)
			_, xerr := b.tx.ExecContext(ctx, `RELEASE batch_end`)
			return errors.Join(err, rerr, xerr)
		}
	}
	_, err := b.tx.ExecContext(ctx, `RELEASE batch_end`)
	return err
}

// stmt returns the batch's prepared statement for query, or nil outside a batch.
func stmt(ctx context.Context, q db.Querier, query string) *sql.Stmt {
	b := batchOf(ctx, q)
	if b == nil {
		return nil
	}
	return b.stmts.Stmt(ctx, query)
}

func execQ(ctx context.Context, q db.Querier, query string, args ...any) (sql.Result, error) {
	if s := stmt(ctx, q, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

func queryRowQ(ctx context.Context, q db.Querier, query string, args ...any) *sql.Row {
	if s := stmt(ctx, q, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}
