package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// ActionPruned is the event a pruning writes into the chain, carrying its checkpoint.
const ActionPruned = "audit.pruned"

// Retention limits, in days. Zero keeps events forever.
const (
	MinRetentionDays = 30
	MaxRetentionDays = 36500
)

// ErrRetention is a retention period outside the limits.
var ErrRetention = fmt.Errorf("keep events for %d to %d days, or forever", MinRetentionDays, MaxRetentionDays)

// Checkpoint is where the chain starts after pruning.
type Checkpoint struct {
	ID        int64
	FirstID   int64     // the first event kept
	PrevHash  string    // its prev_hash: the hash of the last event deleted
	Pruned    int64     // events deleted by this pruning
	Cutoff    time.Time // events before it were deleted
	At        time.Time
	ActorName string
	EventID   int64 // the audit.pruned event that records it in the chain
}

// The changes of an audit.pruned event. "chain_start" and not "prev_hash": a field named like a
// hash is redacted as a secret (see redact.go), and this one must stay readable.
const (
	fieldFirstID     = "first_id"
	fieldChainStart  = "chain_start"
	fieldPruned      = "pruned_events"
	fieldCutoff      = "cutoff"
	fieldRetainDays  = "retention_days"
	checkpointFields = `id, first_id, prev_hash, pruned, cutoff, created_at, actor_name, event_id`
)

func scanCheckpoint(row interface{ Scan(...any) error }) (Checkpoint, error) {
	var cp Checkpoint
	var cutoff, at int64
	err := row.Scan(&cp.ID, &cp.FirstID, &cp.PrevHash, &cp.Pruned, &cutoff, &at, &cp.ActorName, &cp.EventID)
	if err != nil {
		return Checkpoint{}, err
	}
	cp.Cutoff, cp.At = time.UnixMilli(cutoff).UTC(), time.UnixMilli(at).UTC()
	return cp, nil
}

// latestCheckpoint returns the newest checkpoint, or the zero Checkpoint.
func latestCheckpoint(ctx context.Context, q querier) (Checkpoint, error) {
	cp, err := scanCheckpoint(q.QueryRowContext(ctx,
		`SELECT `+checkpointFields+` FROM audit_checkpoints ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read checkpoint: %w", err)
	}
	return cp, nil
}

// Checkpoints lists the newest checkpoints first.
func (l *Log) Checkpoints(ctx context.Context, limit int) ([]Checkpoint, error) {
	rows, err := l.db.R.QueryContext(ctx, `SELECT `+checkpointFields+` FROM audit_checkpoints ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: checkpoints: %w", err)
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// checkCheckpoint compares a checkpoint with the audit.pruned event that wrote it into the
// chain, and returns a Reason when they disagree. The event's own content is vouched for by the
// chain, so a checkpoint that matches it is as trustworthy as the chain.
func checkCheckpoint(ctx context.Context, q querier, cp Checkpoint) (string, error) {
	ev, err := scanEvent(q.QueryRowContext(ctx, `SELECT `+listColumns+` FROM audit_events WHERE id = ?`, cp.EventID))
	if errors.Is(err, sql.ErrNoRows) {
		return ReasonCheckpointMissing, nil
	}
	if err != nil {
		return "", err
	}
	rec := map[string]string{}
	for _, c := range ev.Changes {
		switch v := c.After.(type) {
		case string:
			rec[c.Field] = v
		case float64: // JSON numbers; ids stay exact far beyond any log's size
			rec[c.Field] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	if ev.Action != ActionPruned || cp.EventID < cp.FirstID ||
		rec[fieldFirstID] != strconv.FormatInt(cp.FirstID, 10) ||
		rec[fieldChainStart] != cp.PrevHash ||
		rec[fieldPruned] != strconv.FormatInt(cp.Pruned, 10) {
		return ReasonCheckpointMismatch, nil
	}
	return "", nil
}

// RetentionDays returns how many days events are kept; 0 is forever.
func (l *Log) RetentionDays(ctx context.Context) (int, error) {
	var days int
	err := l.db.R.QueryRowContext(ctx, `SELECT retention_days FROM audit_settings WHERE id = 1`).Scan(&days)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit: read retention: %w", err)
	}
	return days, nil
}

// SetRetention keeps events for days (0: forever) and records the change as
// audit.retention_changed, both in one transaction.
func (l *Log) SetRetention(ctx context.Context, days int) error {
	if days != 0 && (days < MinRetentionDays || days > MaxRetentionDays) {
		return ErrRetention
	}
	return l.db.Tx(ctx, func(tx *sql.Tx) error {
		var before int
		if err := tx.QueryRowContext(ctx, `SELECT retention_days FROM audit_settings WHERE id = 1`).Scan(&before); err != nil {
			return fmt.Errorf("audit: read retention: %w", err)
		}
		if before == days {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE audit_settings SET retention_days = ?, updated_at = ? WHERE id = 1`,
			days, l.clk.Now().UnixMilli()); err != nil {
			return fmt.Errorf("audit: set retention: %w", err)
		}
		_, err := l.Append(ctx, tx, Event{
			Action:  "audit.retention_changed",
			Target:  Target{Type: "audit_log"},
			Changes: []Change{{Field: fieldRetainDays, Before: before, After: days}},
		})
		return err
	})
}

// PrunePlan is what a pruning would delete now.
type PrunePlan struct {
	RetentionDays int
	Cutoff        time.Time // zero when events are kept forever
	FirstID       int64     // the first event that would be kept
	OldestID      int64
	Events        int64 // events that would be deleted: ids are consecutive in an intact chain
}

// PlanPrune says what Prune would delete, without deleting anything.
func (l *Log) PlanPrune(ctx context.Context) (PrunePlan, error) {
	days, err := l.RetentionDays(ctx)
	if err != nil {
		return PrunePlan{}, err
	}
	return l.planPrune(ctx, l.db.R, days)
}

func (l *Log) planPrune(ctx context.Context, q querier, days int) (PrunePlan, error) {
	p := PrunePlan{RetentionDays: days}
	if days == 0 {
		return p, nil
	}
	p.Cutoff = l.clk.Now().UTC().Truncate(time.Millisecond).AddDate(0, 0, -days)
	var lo, head, firstKept sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT (SELECT min(id) FROM audit_events), (SELECT max(id) FROM audit_events),
		(SELECT id FROM audit_events INDEXED BY audit_events_occurred_at_idx WHERE occurred_at >= ? ORDER BY occurred_at, id LIMIT 1)`,
		p.Cutoff.UnixMilli()).Scan(&lo, &head, &firstKept)
	if err != nil {
		return PrunePlan{}, fmt.Errorf("audit: plan pruning: %w", err)
	}
	if !lo.Valid {
		return p, nil
	}
	// The newest event is always kept, so the chain goes on from it even when everything is old.
	p.FirstID = head.Int64
	if firstKept.Valid {
		p.FirstID = min(firstKept.Int64, head.Int64)
	}
	p.OldestID = lo.Int64
	p.Events = max(0, p.FirstID-lo.Int64)
	return p, nil
}

// PruneResult is what a pruning did.
type PruneResult struct {
	Plan       PrunePlan
	Deleted    int64
	Batches    int        // transactions, each with its checkpoint
	Checkpoint Checkpoint // the last one written; zero when nothing was deleted
}

// pruneBatch bounds the events one transaction deletes: the write lock is held for the whole
// transaction, and a first pruning of years of events would otherwise stop every write for
// seconds. Each batch is complete in itself (deletion, checkpoint, audit.pruned event), so the
// chain verifies between batches too.
const pruneBatch = 50_000

// The trigger of migrations/0002_audit.sql, restored by Prune in the same transaction that
// dropped it, so the log is never deletable for anyone else.
const noDeleteTrigger = `CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END`

// Prune deletes the events older than the retention period, in one transaction that also
// appends an audit.pruned event and a checkpoint, so the chain stays verifiable from the first
// event kept. The actor comes from ctx (a member pruning from the page) or is the system (the
// scheduled Pruner). With retention "forever", or nothing old enough, it changes nothing.
func (l *Log) Prune(ctx context.Context) (PruneResult, error) {
	var total PruneResult
	for {
		res, err := l.pruneOnce(ctx, l.pruneBatch)
		if err != nil {
			return total, err
		}
		if total.Batches == 0 {
			total.Plan = res.Plan
		}
		if res.Deleted == 0 {
			return total, nil
		}
		total.Deleted += res.Deleted
		total.Batches++
		total.Checkpoint = res.Checkpoint
		if res.Deleted < l.pruneBatch {
			return total, nil
		}
	}
}

func (l *Log) pruneOnce(ctx context.Context, limit int64) (PruneResult, error) {
	var res PruneResult
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		var days int
		if err := tx.QueryRowContext(ctx, `SELECT retention_days FROM audit_settings WHERE id = 1`).Scan(&days); err != nil {
			return fmt.Errorf("audit: read retention: %w", err)
		}
		plan, err := l.planPrune(ctx, tx, days)
		if err != nil {
			return err
		}
		res.Plan = plan
		if plan.Events == 0 {
			return nil
		}
		if plan.Events > limit {
			// Ids are consecutive in an intact chain; the lookup keeps a damaged one prunable.
			if err := tx.QueryRowContext(ctx, `SELECT min(id) FROM audit_events WHERE id >= ?`,
				plan.OldestID+limit).Scan(&plan.FirstID); err != nil {
				return fmt.Errorf("audit: plan pruning: %w", err)
			}
		}
		var prevHash string
		if err := tx.QueryRowContext(ctx, `SELECT prev_hash FROM audit_events WHERE id = ?`, plan.FirstID).Scan(&prevHash); err != nil {
			return fmt.Errorf("audit: read event %d: %w", plan.FirstID, err)
		}
		// SQLite DDL is transactional: the trigger is gone only inside this transaction.
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER audit_events_no_delete`); err != nil {
			return fmt.Errorf("audit: prune: %w", err)
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE id < ?`, plan.FirstID)
		if err != nil {
			return fmt.Errorf("audit: prune: %w", err)
		}
		if _, err := tx.ExecContext(ctx, noDeleteTrigger); err != nil {
			return fmt.Errorf("audit: prune: %w", err)
		}
		res.Deleted, _ = r.RowsAffected()
		ev, err := l.Append(ctx, tx, Event{
			Action: ActionPruned,
			Target: Target{Type: "audit_log"},
			Changes: []Change{
				{Field: fieldFirstID, After: plan.FirstID},
				{Field: fieldChainStart, After: prevHash},
				{Field: fieldPruned, After: res.Deleted},
				{Field: fieldCutoff, After: plan.Cutoff.Format(time.RFC3339Nano)},
				{Field: fieldRetainDays, After: days},
			},
		})
		if err != nil {
			return err
		}
		cp := Checkpoint{
			FirstID: plan.FirstID, PrevHash: prevHash, Pruned: res.Deleted, Cutoff: plan.Cutoff,
			At: ev.At, ActorName: actorLabel(ev.Actor), EventID: ev.ID,
		}
		r, err = tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (first_id, prev_hash, pruned, cutoff, created_at, actor_name, event_id)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, cp.FirstID, cp.PrevHash, cp.Pruned, cp.Cutoff.UnixMilli(), cp.At.UnixMilli(), cp.ActorName, cp.EventID)
		if err != nil {
			return fmt.Errorf("audit: write checkpoint: %w", err)
		}
		cp.ID, _ = r.LastInsertId()
		res.Checkpoint = cp
		return nil
	})
	if err != nil {
		return PruneResult{}, err
	}
	return res, nil
}

func actorLabel(a Actor) string {
	if a.Name != "" {
		return a.Name
	}
	if a.ID != "" {
		return string(a.Type) + " " + a.ID
	}
	return string(a.Type)
}

// Pruner applies the retention setting on a schedule, as the system.
type Pruner struct {
	log    *Log
	logger *slog.Logger
}

// NewPruner returns a Pruner over l that reports to logger.
func NewPruner(l *Log, logger *slog.Logger) *Pruner { return &Pruner{log: l, logger: logger} }

// Run prunes once.
func (p *Pruner) Run(ctx context.Context) (PruneResult, error) {
	res, err := p.log.Prune(WithActor(ctx, Actor{Type: ActorSystem, Name: "retention"}))
	if err != nil {
		p.logger.ErrorContext(ctx, "audit pruning failed", "error", err)
		return res, err
	}
	if res.Deleted > 0 {
		p.logger.InfoContext(ctx, "audit events pruned", "deleted", res.Deleted,
			"first_kept", res.Checkpoint.FirstID, "cutoff", res.Plan.Cutoff, "retention_days", res.Plan.RetentionDays)
	}
	return res, nil
}

// Every runs Run now and then every interval until ctx ends; errors are logged and retried at
// the next tick.
func (p *Pruner) Every(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_, _ = p.Run(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
