package inbox

import (
	"context"
	"database/sql"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/db"
)

// The analytics rollups are kept from here (see internal/analytics/rollup): new messages are
// counted once per transaction from the rollup's high-water mark, status changes and billable
// statuses of messages counted before are told as they happen. In an Ingester batch the
// changes are summed in memory and written once before the commit.

// batchRollup is the rollup part of an Ingester batch.
type batchRollup struct {
	delta *rollup.Delta
	mark  int64 // -1 until read
	// saved holds the batch's delta while one body is applied behind a savepoint, so that a
	// body rolled back takes its changes with it.
	saved *rollup.Delta
}

// noteRollup runs fn with the delta of ctx's batch and the mark, or, outside a batch, with a
// delta it writes through q at once.
func noteRollup(ctx context.Context, q db.Querier, fn func(q db.Querier, d *rollup.Delta, mark int64) error) error {
	if b := batchOf(ctx, q); b != nil {
		q := batchQuerier{b}
		r := &b.rollup
		if r.delta == nil {
			r.delta, r.mark = rollup.New(), -1
		}
		if r.mark < 0 {
			m, err := rollup.Mark(ctx, q)
			if err != nil {
				return err
			}
			r.mark = m
		}
		return fn(q, r.delta, r.mark)
	}
	mark, err := rollup.Mark(ctx, q)
	if err != nil {
		return err
	}
	d := rollup.New()
	if err := fn(q, d, mark); err != nil {
		return err
	}
	return d.Flush(ctx, q)
}

// countStatus records, before it is written, that message id moves to status (with code, for
// a failure).
func countStatus(ctx context.Context, q db.Querier, id int64, status string, code sql.NullInt64) error {
	return noteRollup(ctx, q, func(q db.Querier, d *rollup.Delta, mark int64) error {
		m, counted, err := rollup.MessageFacts(ctx, q, id, mark)
		if err != nil || !counted {
			return err
		}
		newCode := m.ErrorCode
		if code.Valid {
			newCode = code.Int64
		}
		d.StatusMoved(m, status, newCode)
		return nil
	})
}

// countBillable records a billable status just stored.
func countBillable(ctx context.Context, q db.Querier, wamid, status string, at int64, category string, billable bool) error {
	if !billable || (status != "delivered" && status != "read") {
		return nil
	}
	return noteRollup(ctx, q, func(q db.Querier, d *rollup.Delta, mark int64) error {
		return d.BillableStatus(ctx, q, wamid, at, category, mark)
	})
}

// catchUpRollups counts the messages written in this transaction, outside a batch (a batch
// does it once, in Ingester.commit).
func catchUpRollups(ctx context.Context, q db.Querier) error {
	if batchOf(ctx, q) != nil {
		return nil
	}
	d := rollup.New()
	if err := d.CatchUp(ctx, q); err != nil {
		return err
	}
	return d.Flush(ctx, q)
}

// flushRollups writes the batch's rollup changes and counts its new messages. Unlike the
// search index, a failure fails the batch: a count lost would stay wrong.
func (b *batchState) flushRollups(ctx context.Context) error {
	d := b.rollup.delta
	if d == nil {
		d = rollup.New()
	}
	if err := d.CatchUp(ctx, batchQuerier{b}); err != nil {
		return err
	}
	if err := d.Flush(ctx, batchQuerier{b}); err != nil {
		return err
	}
	b.rollup.delta = nil
	return nil
}

// beginBody sets the batch's changes aside while one body is applied behind a savepoint.
func (b *batchState) beginBody() {
	b.rollup.saved, b.rollup.delta = b.rollup.delta, nil
}

// endBody keeps the body's changes (kept) or drops them with its rolled-back savepoint.
func (b *batchState) endBody(kept bool) {
	body := b.rollup.delta
	b.rollup.delta, b.rollup.saved = b.rollup.saved, nil
	if !kept || body == nil {
		return
	}
	if b.rollup.delta == nil {
		b.rollup.delta = rollup.New()
	}
	b.rollup.delta.Merge(body)
}
