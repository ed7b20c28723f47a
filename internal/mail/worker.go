package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
)

// Sender opens connections to the mail server.
type Sender interface {
	Open(ctx context.Context) (Conn, error)
}

// Conn is one session with the mail server. Send returns once the server has accepted the
// message (the reply to DATA) or refused it.
type Conn interface {
	Send(ctx context.Context, q Queued) error
	Close() error
}

// PermanentError is a refusal that another attempt will not change (the server rejected the
// recipient or the message with a 5xx reply): the message is given up at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// WorkerOptions tune delivery; zero values take the defaults.
type WorkerOptions struct {
	// MaxAttempts before a message is given up (default 8: about an hour and a quarter of
	// retries with the default back-off).
	MaxAttempts int
	// FirstRetry is the wait after the first failure; it doubles after each further one, up to
	// MaxRetry (defaults 30 s and 30 min).
	FirstRetry, MaxRetry time.Duration
	// Poll is how often the outbox is read when nothing kicked the worker (default 1 s).
	Poll time.Duration
	// Batch is how many due messages one connection delivers before the outbox is read again.
	Batch  int
	Logger *slog.Logger
}

// Worker delivers the outbox. Run one per database: the server runs it; commands do not.
type Worker struct {
	outbox *Outbox
	sender Sender
	audit  *audit.Log
	opts   WorkerOptions
}

// NewWorker returns a worker that delivers o through s.
func NewWorker(o *Outbox, s Sender, log *audit.Log, opts WorkerOptions) *Worker {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.FirstRetry <= 0 {
		opts.FirstRetry = 30 * time.Second
	}
	if opts.MaxRetry <= 0 {
		opts.MaxRetry = 30 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Worker{outbox: o, sender: s, audit: log, opts: opts}
}

// KeepSettled is how long delivered and given-up rows (recipient and subject; their bodies are
// erased at once) stay in the outbox; their activity events stay as long as the activity log.
const KeepSettled = 30 * 24 * time.Hour

// Run delivers until ctx ends, and once a day removes rows settled more than KeepSettled ago.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var pruned time.Time
	for {
		if time.Since(pruned) > 24*time.Hour {
			pruned = time.Now()
			if n, err := w.outbox.Prune(ctx, w.outbox.clock.Now().Add(-KeepSettled)); err != nil && ctx.Err() == nil {
				w.opts.Logger.WarnContext(ctx, "prune the outbox", "error", err)
			} else if n > 0 {
				w.opts.Logger.InfoContext(ctx, "pruned the outbox", "rows", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.outbox.kick:
			// The kick comes from inside the enqueuing transaction: give it a moment to commit.
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		n, err := w.DeliverDue(ctx)
		if err != nil && ctx.Err() == nil {
			w.opts.Logger.WarnContext(ctx, "mail delivery", "error", err)
		}
		wait := w.opts.Poll
		if n == w.opts.Batch && err == nil {
			wait = 0 // more may be due
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// DeliverDue delivers one batch of due messages over one connection and returns how many it
// tried. Each message is marked sent right after the server accepts it.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	due, err := w.outbox.due(ctx, w.opts.Batch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	conn, err := w.sender.Open(ctx)
	if err != nil {
		// The server cannot be reached: every message of the batch has had an attempt.
		for _, q := range due {
			if ferr := w.failed(ctx, q, err); ferr != nil {
				return len(due), ferr
			}
		}
		return len(due), fmt.Errorf("connect to the mail server: %w", err)
	}
	defer conn.Close()
	for i, q := range due {
		sendErr := conn.Send(ctx, q)
		if sendErr == nil {
			if err := w.sent(ctx, q); err != nil {
				return i + 1, err
			}
			continue
		}
		if err := w.failed(ctx, q, sendErr); err != nil {
			return i + 1, err
		}
		var perm *PermanentError
		if !errors.As(sendErr, &perm) {
			// The session may be broken; the rest waits for the next round.
			return i + 1, sendErr
		}
	}
	return len(due), nil
}

func (w *Worker) sent(ctx context.Context, q Queued) error {
	// Not the request's context: the server has the message, so the mark must be written even
	// while the server shuts down.
	ctx = context.WithoutCancel(ctx)
	now := w.outbox.clock.Now()
	return w.outbox.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET sent_at = ?, attempts = attempts + 1, body = NULL, last_error = ''
			WHERE id = ? AND sent_at IS NULL`, millis(now), q.ID)
		if err != nil {
			return fmt.Errorf("mark mail sent: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = w.audit.Append(ctx, tx, audit.Event{Actor: audit.System(), Action: "mail.sent", Target: audit.NewTarget("mail", q.ID),
			Changes: []audit.Change{{Field: "kind", After: q.Kind}, {Field: "to", After: q.To}, {Field: "message_id", After: q.MessageID}}})
		return err
	})
}

// failed records a failed attempt: another after a growing wait, or, after MaxAttempts or a
// permanent refusal, giving up with an activity event.
func (w *Worker) failed(ctx context.Context, q Queued, cause error) error {
	ctx = context.WithoutCancel(ctx)
	attempts := q.Attempts + 1
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	var perm *PermanentError
	giveUp := attempts >= w.opts.MaxAttempts || errors.As(cause, &perm)
	now := w.outbox.clock.Now()
	w.opts.Logger.WarnContext(ctx, "mail not delivered", "mail_id", q.ID, "kind", q.Kind, "attempt", attempts, "give_up", giveUp, "error", msg)
	return w.outbox.db.Tx(ctx, func(tx *sql.Tx) error {
		if !giveUp {
			_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?`,
				attempts, msg, millis(now.Add(w.backoff(attempts))), q.ID)
			if err != nil {
				return fmt.Errorf("record mail failure: %w", err)
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET attempts = ?, last_error = ?, given_up_at = ?, body = NULL WHERE id = ?`,
			attempts, msg, millis(now), q.ID); err != nil {
			return fmt.Errorf("give up mail: %w", err)
		}
		_, err := w.audit.Append(ctx, tx, audit.Event{Actor: audit.System(), Action: "mail.given_up", Target: audit.NewTarget("mail", q.ID),
			Outcome: audit.OutcomeFailed, Changes: []audit.Change{{Field: "kind", After: q.Kind}, {Field: "to", After: q.To},
				{Field: "attempts", After: attempts}, {Field: "error", After: msg}}})
		return err
	})
}

// backoff is the wait after the n-th failed attempt: FirstRetry, doubled each time, at most
// MaxRetry.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opts.FirstRetry
	for i := 1; i < n && d < w.opts.MaxRetry; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxRetry)
}
