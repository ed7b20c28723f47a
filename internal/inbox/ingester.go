package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// ApplyFunc applies the events of one webhook body inside the Ingester's transaction q. It must
// write only through q: the database has one writer connection, which the batch holds, so
// anything that opens a transaction of its own (db.DB.Tx) would wait for itself forever.
type ApplyFunc func(ctx context.Context, q db.Querier, events []whatsapp.Event) error

// ServerMaxDelay is the server's MaxDelay, which the load tests that stand for the server use
// too. Waiting for company trades latency for disk: every commit writes the last pages of each
// table and index it appends to (about 27 pages, 110 KB), whatever the number of bodies
// sharing it.
const ServerMaxDelay = 2 * time.Millisecond

// IngesterOptions tune the group commit. Zero values take the defaults.
type IngesterOptions struct {
	// MaxBatch is the most bodies committed in one transaction (default 256).
	MaxBatch int
	// MaxDelay is how long the first body of a batch may wait for others to share its commit.
	// The default, 0, does not wait: a batch is whatever queued up while the previous one
	// committed, which under load is plenty (BenchmarkIngest measured waiting 1–5 ms as slower:
	// the submitters of a batch are blocked until it commits, so a wait only adds latency).
	MaxDelay time.Duration
	// Clock stamps received_at (default the system clock).
	Clock clock.Clock
	// Logger reports bodies kept unprocessed (default slog.Default()).
	Logger *slog.Logger
	// Applied, if set, runs once per transaction after the bodies' events are applied, with
	// all of them, for work that reads the same things for every body (the outgoing webhooks'
	// endpoints and their creators): once per batch rather than once per body. Its failure is
	// a failure to apply: the bodies are then applied one by one and, where it fails again,
	// kept unprocessed.
	Applied ApplyFunc
	// Committed, if set, is told which conversations a transaction changed once it has
	// committed (the live updates of open inbox pages). It must not block.
	Committed func(conversationIDs []int64)
}

// Ingester stores webhook bodies durably and applies their events with group commit: the
// bodies submitted while one transaction commits share the next one, so that synchronous=FULL
// costs one fsync per batch rather than one per POST. Submit returns only once the body and its
// effects are committed, so the handler answers Meta's 200 only for what is on disk.
type Ingester struct {
	d     *db.DB
	apply ApplyFunc
	opts  IngesterOptions

	mu     sync.RWMutex
	closed bool
	queue  chan *submission
	done   chan struct{}
	stmts  *db.Statements

	stats struct {
		batches, bodies, kept atomic.Int64
		busy                  atomic.Int64 // nanoseconds spent in transactions
	}
}

// IngesterStats are running totals, for metrics.
type IngesterStats struct {
	Batches int64
	Bodies  int64
	// Kept: bodies stored unprocessed because their events failed to apply.
	Kept int64
	// Busy is the time spent inside write transactions.
	Busy time.Duration
}

// Stats returns the running totals.
func (g *Ingester) Stats() IngesterStats {
	return IngesterStats{Batches: g.stats.batches.Load(), Bodies: g.stats.bodies.Load(),
		Kept: g.stats.kept.Load(), Busy: time.Duration(g.stats.busy.Load())}
}

type submission struct {
	raw    []byte
	events []whatsapp.Event
	result chan error
	kept   bool // stored unprocessed in the current attempt
}

// NewIngester starts the ingester's committing goroutine; Close stops it.
func NewIngester(d *db.DB, apply ApplyFunc, opts IngesterOptions) *Ingester {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	opts.MaxDelay = max(opts.MaxDelay, 0)
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g := &Ingester{d: d, apply: apply, opts: opts,
		queue: make(chan *submission, 4*opts.MaxBatch), done: make(chan struct{}), stmts: db.NewStatements(d.W)}
	go g.run()
	return g
}

// Submit stores rawBody in webhook_events and applies events (parsed from it by the caller
// after verifying the signature), and returns once both are committed. It returns nil also
// when applying failed: the body is then kept with processed = 0 for Reprocess, and answering
// Meta with an error would only bring the same body back. A nil events says the caller could
// not parse the body: it is kept unprocessed likewise (an empty, non-nil slice is a body with
// nothing in it). An error means nothing durable
// happened (the handler should answer 500 so that Meta retries), or ctx ended while waiting
// (the body may still be committed; the retry is deduplicated).
func (g *Ingester) Submit(ctx context.Context, rawBody []byte, events []whatsapp.Event) error {
	s := &submission{raw: rawBody, events: events, result: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	select {
	case g.queue <- s:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-s.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting bodies, commits those already submitted and returns when done.
func (g *Ingester) Close() error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	<-g.done
	return nil
}

func (g *Ingester) run() {
	defer close(g.done)
	defer g.stmts.Close()
	ctx := context.Background()
	batch := make([]*submission, 0, g.opts.MaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, ok := <-g.queue
		if !ok {
			return
		}
		g.d.Urgent(true)
		batch = append(batch[:0], first)
		open := g.fill(&batch, timer)
		g.commit(ctx, batch)
		if len(g.queue) == 0 {
			g.d.Urgent(false)
		}
		if !open {
			g.d.Urgent(false)
			return
		}
	}
}

// fill adds what is queued to batch, waiting up to MaxDelay for company. It reports false once
// the queue is closed and empty.
func (g *Ingester) fill(batch *[]*submission, timer *time.Timer) bool {
	// What queued up during the previous commit comes first, without waiting.
	for len(*batch) < g.opts.MaxBatch {
		select {
		case s, ok := <-g.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, s)
			continue
		default:
		}
		break
	}
	if len(*batch) >= g.opts.MaxBatch || g.opts.MaxDelay <= 0 {
		return true
	}
	timer.Reset(g.opts.MaxDelay)
	defer timer.Stop()
	for len(*batch) < g.opts.MaxBatch {
		select {
		case s, ok := <-g.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, s)
		case <-timer.C:
			return true
		}
	}
	return true
}

// commit stores the batch in one transaction. Bodies are applied without savepoints (FTS5
// flushes its pending index at every savepoint, which would cost a segment per body); should one
// fail, the batch is rolled back and stored again with each body behind a savepoint, so that the
// failing body is rolled back alone and kept unprocessed. Should the transaction itself fail
// (disk full, an I/O error), every body is tried in a transaction of its own.
func (g *Ingester) commit(ctx context.Context, batch []*submission) {
	g.stmts.PrepareMissed(ctx)
	start := time.Now()
	results := g.commitBatch(ctx, batch)
	// The figures first, so that whoever Submit releases sees them.
	g.stats.batches.Add(1)
	g.stats.bodies.Add(int64(len(batch)))
	g.stats.busy.Add(int64(time.Since(start)))
	for i, s := range batch {
		if results[i] == nil && s.kept {
			g.stats.kept.Add(1)
		}
	}
	for i, s := range batch {
		s.result <- results[i]
	}
}

// commitBatch does commit's work and returns each body's outcome.
func (g *Ingester) commitBatch(ctx context.Context, batch []*submission) []error {
	results := make([]error, len(batch))
	errApply := errors.New("a body failed to apply")
	reset := func(batch ...*submission) {
		for _, s := range batch {
			s.kept = false
		}
	}
	var b *batchState
	err := g.d.Tx(ctx, func(tx *sql.Tx) error {
		reset(batch...)
		ctx, b = withBatch(ctx, tx, g.stmts)
		now := millis(g.opts.Clock.Now())
		var applied []whatsapp.Event
		for _, s := range batch {
			if s.events == nil {
				if err := g.keep(ctx, tx, now, s, errUnparsed); err != nil {
					return err
				}
				continue
			}
			if _, err := execQ(ctx, tx, `INSERT INTO webhook_events (received_at, body, processed) VALUES (?, ?, 1)`, now, s.raw); err != nil {
				return fmt.Errorf("store webhook body: %w", err)
			}
			if err := g.apply(ctx, tx, s.events); err != nil {
				return errApply
			}
			applied = append(applied, s.events...)
		}
		if g.opts.Applied != nil && len(applied) > 0 {
			if err := g.opts.Applied(ctx, batchQuerier{b}, applied); err != nil {
				return errApply
			}
		}
		if err := g.flushRollups(ctx, b); err != nil {
			return err
		}
		g.finish(ctx, b)
		return nil
	})
	if errors.Is(err, errApply) {
		err = g.d.Tx(ctx, func(tx *sql.Tx) error {
			reset(batch...)
			ctx, b = withBatch(ctx, tx, g.stmts)
			for _, s := range batch {
				if err := g.store(ctx, tx, s); err != nil {
					return err
				}
			}
			if err := g.flushRollups(ctx, b); err != nil {
				return err
			}
			g.finish(ctx, b)
			return nil
		})
	}
	if err == nil {
		g.announce(b)
		return results
	}
	g.opts.Logger.ErrorContext(ctx, "inbox: webhook batch failed; storing its bodies one by one", "bodies", len(batch), "error", err)
	for i, s := range batch {
		results[i] = g.d.Tx(ctx, func(tx *sql.Tx) error {
			reset(s)
			ctx, b = withBatch(ctx, tx, g.stmts)
			if err := g.store(ctx, tx, s); err != nil {
				return err
			}
			if err := g.flushRollups(ctx, b); err != nil {
				return err
			}
			g.finish(ctx, b)
			return nil
		})
		if results[i] == nil {
			g.announce(b)
		}
	}
	return results
}

// announce tells Committed which conversations a committed batch changed.
func (g *Ingester) announce(b *batchState) {
	if g.opts.Committed != nil && b != nil && len(b.touched) > 0 {
		g.opts.Committed(b.touchedIDs())
	}
}

// finish runs the work the bodies left for the end of the batch (indexing for search). Its
// failure is logged, not fatal: the bodies are stored and applied, and the work catches up.
func (g *Ingester) finish(ctx context.Context, b *batchState) {
	b.more = len(g.queue) > 0
	if err := b.finish(ctx); err != nil {
		g.opts.Logger.ErrorContext(ctx, "inbox: end-of-batch work failed", "error", err)
	}
}

// flushRollups writes the batch's analytics changes behind a savepoint. Should that fail, the
// events still commit (a webhook is not refused over a figure) and the error is logged: new
// messages are counted by a later batch (the mark did not move), but a status moved in this
// batch stays uncounted until analytics.Store.Rebuild. An error means the transaction cannot
// go on.
func (g *Ingester) flushRollups(ctx context.Context, b *batchState) error {
	if _, err := b.tx.ExecContext(ctx, `SAVEPOINT rollups`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := b.flushRollups(ctx); err != nil {
		g.opts.Logger.ErrorContext(ctx, "analytics: a batch's rollup changes were not written; rebuild the rollups", "error", err)
		if _, err := b.tx.ExecContext(ctx, `ROLLBACK TO rollups`); err != nil {
			return fmt.Errorf("roll back rollups: %w", err)
		}
	}
	if _, err := b.tx.ExecContext(ctx, `RELEASE rollups`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// store writes one body and applies it under a savepoint. An error means the transaction can
// not go on.
func (g *Ingester) store(ctx context.Context, tx *sql.Tx, s *submission) error {
	now := millis(g.opts.Clock.Now())
	if s.events == nil {
		return g.keep(ctx, tx, now, s, errUnparsed)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT webhook_body`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (received_at, body, processed) VALUES (?, ?, 1)`, now, s.raw)
	if err != nil {
		return fmt.Errorf("store webhook body: %w", err)
	}
	b := batchOf(ctx, tx)
	b.beginBody()
	applyErr := g.applyBody(ctx, tx, s.events)
	b.endBody(applyErr == nil)
	if applyErr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO webhook_body`); err != nil {
			return fmt.Errorf("roll back webhook body: %w", err)
		}
		if err := g.keep(ctx, tx, now, s, applyErr); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE webhook_body`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// errUnparsed marks a body submitted without events: the caller could not parse it.
var errUnparsed = errors.New("the body could not be parsed")

// keep stores a body unprocessed, for Reprocess.
func (g *Ingester) keep(ctx context.Context, tx *sql.Tx, now int64, s *submission, cause error) error {
	g.opts.Logger.ErrorContext(ctx, "inbox: webhook body kept unprocessed", "error", cause)
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (received_at, body, processed, error) VALUES (?, ?, 0, ?)`,
		now, s.raw, errorText(cause)); err != nil {
		return fmt.Errorf("store webhook body: %w", err)
	}
	s.kept = true
	return nil
}

func errorText(err error) string {
	s := err.Error()
	if utf8.RuneCountInString(s) > 500 {
		s = string([]rune(s)[:500])
	}
	return s
}

// Reprocess applies the bodies kept unprocessed again, oldest first, each in a transaction of
// its own, and returns how many now succeeded. Call it at start-up and after a fix. A body
// that still fails stays, with its attempt counted.
func (g *Ingester) Reprocess(ctx context.Context) (int, error) {
	ok := 0
	var after int64
	for {
		type pending struct {
			id  int64
			raw []byte
		}
		var list []pending
		rows, err := g.d.R.QueryContext(ctx, `SELECT id, body FROM webhook_events WHERE processed = 0 AND id > ? ORDER BY id LIMIT 100`, after)
		if err != nil {
			return ok, fmt.Errorf("unprocessed webhooks: %w", err)
		}
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.raw); err != nil {
				rows.Close()
				return ok, err
			}
			list = append(list, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return ok, err
		}
		if len(list) == 0 {
			return ok, nil
		}
		for _, p := range list {
			after = p.id
			var applyErr error
			err := g.d.Tx(ctx, func(tx *sql.Tx) error {
				ctx, b := withBatch(ctx, tx, g.stmts)
				b.beginBody()
				applyErr = g.applySaved(ctx, tx, p.raw)
				b.endBody(applyErr == nil)
				if err := g.flushRollups(ctx, b); err != nil {
					return err
				}
				g.finish(ctx, b)
				if applyErr != nil {
					_, err := tx.ExecContext(ctx, `UPDATE webhook_events SET attempts = attempts + 1, error = ? WHERE id = ?`, errorText(applyErr), p.id)
					return err
				}
				_, err := tx.ExecContext(ctx, `UPDATE webhook_events SET processed = 1, attempts = attempts + 1, error = '' WHERE id = ?`, p.id)
				return err
			})
			if err != nil {
				return ok, fmt.Errorf("reprocess webhook %d: %w", p.id, err)
			}
			if applyErr == nil {
				ok++
			}
		}
	}
}

// applyBody applies one body's events and runs Applied for them alone.
func (g *Ingester) applyBody(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
	if err := g.apply(ctx, q, events); err != nil {
		return err
	}
	if g.opts.Applied != nil && len(events) > 0 {
		if b := batchOf(ctx, q); b != nil {
			q = batchQuerier{b}
		}
		return g.opts.Applied(ctx, q, events)
	}
	return nil
}

// applySaved parses a stored body and applies it behind a savepoint, so that a failure leaves
// nothing half applied. The returned error is the body's, not the transaction's.
func (g *Ingester) applySaved(ctx context.Context, tx *sql.Tx, raw []byte) error {
	w, err := whatsapp.ParseWebhook(raw)
	if err != nil {
		return fmt.Errorf("parse stored webhook: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT webhook_body`); err != nil {
		return err
	}
	applyErr := g.applyBody(ctx, tx, w.Events())
	if applyErr != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO webhook_body`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `RELEASE webhook_body`); err != nil {
		return err
	}
	return applyErr
}

// PruneWebhooks deletes processed webhook bodies received before t (kept bodies that failed
// stay until they are processed) and statuses that never found their message (sent by another
// app on the same number). It returns how many rows went.
func (g *Ingester) PruneWebhooks(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := g.d.Tx(ctx, func(tx *sql.Tx) error {
		split, err := db.FirstRowFrom(ctx, tx, "webhook_events", "received_at", millis(before))
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_events WHERE id < ? AND processed = 1`, split)
		if err != nil {
			return err
		}
		a, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM message_statuses WHERE received_at < ?
			AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.wamid = message_statuses.wamid)`, millis(before))
		if err != nil {
			return err
		}
		b, _ := res.RowsAffected()
		n = a + b
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune webhooks: %w", err)
	}
	return n, nil
}
