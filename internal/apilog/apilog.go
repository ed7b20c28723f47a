// Package apilog is the Cloud API call log: every call Switchboard makes to Meta's Cloud API
// (method, redacted path, status, duration, Meta's error, who caused it), kept 30 days for
// members who hold api_logs.view. Calls are recorded by whatsapp.CallLogTransport and written
// in the background in batches, so that logging never slows a call nor waits for the writer
// connection that the calling code may itself be holding.
package apilog

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Retention is how long calls are kept.
const Retention = 30 * 24 * time.Hour

// queueSize bounds the calls waiting to be written; past it calls are counted and dropped
// rather than slowing the Cloud API calls down.
const queueSize = 4096

// Entry is one call as the log shows it.
type Entry struct {
	ID           int64
	At           time.Time
	Method       string
	Path         string
	Status       int
	Duration     time.Duration
	ErrorCode    *int
	ErrorMessage string
	ActorType    string
	ActorID      string
	ActorName    string
}

// Failed reports whether the call got no 2xx answer.
func (e Entry) Failed() bool { return e.Status < 200 || e.Status > 299 }

type pending struct {
	call  whatsapp.Call
	actor audit.Actor
}

// Log records and lists Cloud API calls.
type Log struct {
	db      *db.DB
	clock   clock.Clock
	logger  *slog.Logger
	queue   chan pending
	flushes chan chan struct{}
	done    chan struct{}
	close   sync.Once
	dropped atomic.Int64
}

// New starts the log's writer; Close stops it.
func New(d *db.DB, clk clock.Clock, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	l := &Log{db: d, clock: clk, logger: logger, queue: make(chan pending, queueSize), flushes: make(chan chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Record is a whatsapp.CallRecorder: it queues c with the actor of ctx (the member or API key
// whose request made the call, or Switchboard itself).
func (l *Log) Record(ctx context.Context, c whatsapp.Call) {
	a, ok := audit.ActorFrom(ctx)
	if !ok {
		a = audit.System()
	}
	select {
	case l.queue <- pending{call: c, actor: a}:
	case <-l.done:
	default:
		l.dropped.Add(1)
	}
}

// Dropped is how many calls were not logged because the queue was full.
func (l *Log) Dropped() int64 { return l.dropped.Load() }

// Flush returns once every call recorded before it is written.
func (l *Log) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	select {
	case l.flushes <- ch:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer.
func (l *Log) Close() {
	l.close.Do(func() {
		ch := make(chan struct{})
		l.flushes <- ch
		<-ch
		close(l.done)
	})
}

func (l *Log) run() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var batch []pending
	lastPrune := time.Time{}
	write := func() {
		if len(batch) > 0 {
			// The call log's writes yield to webhook ingest: they are bookkeeping.
			if err := l.write(db.Background(context.Background()), batch); err != nil {
				l.logger.Error("apilog: write calls", "error", err, "count", len(batch))
			}
			batch = batch[:0]
		}
		if now := l.clock.Now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if n, err := l.Prune(db.Background(context.Background()), now.Add(-Retention)); err != nil {
				l.logger.Error("apilog: prune", "error", err)
			} else if n > 0 {
				l.logger.Info("apilog: pruned calls older than 30 days", "count", n)
			}
		}
	}
	for {
		select {
		case p := <-l.queue:
			batch = append(batch, p)
			if len(batch) >= 256 {
				write()
			}
		case <-tick.C:
			write()
		case ch := <-l.flushes:
			for len(l.queue) > 0 {
				batch = append(batch, <-l.queue)
			}
			write()
			close(ch)
		case <-l.done:
			return
		}
	}
}

func (l *Log) write(ctx context.Context, batch []pending) error {
	return l.db.Tx(ctx, func(tx *sql.Tx) error {
		// Calls per day, number and endpoint for the Usage page, in the same commit.
		usage := map[usageKey][2]int64{}
		for _, p := range batch {
			c := p.call
			addUsage(usage, c.At, c.Method, c.Path, c.Status < 200 || c.Status > 299)
			var code any
			if c.HasError {
				code = c.ErrorCode
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO cloud_api_calls (at, method, path, status, duration_ms, error_code, error_message,
				actor_type, actor_id, actor_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.At.UnixMilli(), c.Method, c.Path, c.Status, c.Duration.Milliseconds(), code, c.ErrorMessage,
				string(p.actor.Type), p.actor.ID, p.actor.Name); err != nil {
				return fmt.Errorf("record Cloud API call: %w", err)
			}
		}
		return writeUsage(ctx, tx, usage)
	})
}

// Prune deletes the calls made before before.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.db.W.ExecContext(ctx, `DELETE FROM cloud_api_calls WHERE at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune Cloud API calls: %w", err)
	}
	return res.RowsAffected()
}

// Filter narrows the list.
type Filter struct {
	// Outcome is "", "ok" (2xx) or "failed".
	Outcome string
	// Path is text the path contains ("messages", a phone number id).
	Path string
	// Actor is text the name of who caused the call contains.
	Actor  string
	Method string
	// Before is the id to list before (0: from the newest).
	Before int64
	Limit  int
}

// List returns calls, newest first, and whether there are more.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, bool, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	var (
		where []string
		args  []any
	)
	switch f.Outcome {
	case "ok":
		where = append(where, "status BETWEEN 200 AND 299")
	case "failed":
		where = append(where, "status NOT BETWEEN 200 AND 299")
	}
	if p := strings.TrimSpace(f.Path); p != "" {
		where = append(where, "instr(path, ?) > 0")
		args = append(args, p)
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		where = append(where, "instr(lower(actor_name), lower(?)) > 0")
		args = append(args, a)
	}
	if f.Method != "" {
		where = append(where, "method = ?")
		args = append(args, strings.ToUpper(f.Method))
	}
	if f.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, f.Before)
	}
	q := `SELECT id, at, method, path, status, duration_ms, error_code, error_message, actor_type, actor_id, actor_name FROM cloud_api_calls`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := l.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list Cloud API calls: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e      Entry
			at, ms int64
			code   sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &at, &e.Method, &e.Path, &e.Status, &ms, &code, &e.ErrorMessage, &e.ActorType, &e.ActorID, &e.ActorName); err != nil {
			return nil, false, fmt.Errorf("list Cloud API calls: %w", err)
		}
		e.At, e.Duration = time.UnixMilli(at).UTC(), time.Duration(ms)*time.Millisecond
		if code.Valid {
			c := int(code.Int64)
			e.ErrorCode = &c
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}
