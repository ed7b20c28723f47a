package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// StartCheckpointer moves WAL checkpoints off the commit path: SQLite's automatic checkpoint
// runs inside whichever commit crosses 1,000 pages, so under webhook load a commit now and then
// also copies the WAL into the database file while every other writer waits. Here the writer
// stops checkpointing and a connection of its own checkpoints every interval (PASSIVE: it
// never blocks readers or the writer). Measured on the webhook load: about half the bytes
// written. The returned function stops it and gives checkpoints back to the writer.
func (d *DB) StartCheckpointer(ctx context.Context, interval time.Duration, logger *slog.Logger) (func(), error) {
	c, err := sql.Open("sqlite", "file:"+d.Path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("checkpointer: %w", err)
	}
	c.SetMaxOpenConns(1)
	if _, err := d.W.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		c.Close()
		return nil, fmt.Errorf("checkpointer: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := c.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "wal checkpoint", "error", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		c.Close()
		// The writer checkpoints again on its own (SQLite's default), so nothing grows unchecked.
		_, _ = d.W.Exec(`PRAGMA wal_autocheckpoint = 1000`)
	}, nil
}
