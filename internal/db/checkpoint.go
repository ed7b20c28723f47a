package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// walRestartBytes is the WAL size past which the checkpointer makes the writer start the WAL
// over; it matches the writer's journal_size_limit, the size the WAL is cut back to then.
const walRestartBytes = 64 << 20

// restartWait bounds how long a RESTART checkpoint holds writes back waiting for readers.
const restartWait = 50 * time.Millisecond

// StartCheckpointer moves WAL checkpoints off the commit path: SQLite's automatic checkpoint
// runs inside whichever commit crosses 1,000 pages, so under webhook load a commit now and then
// also copies the WAL into the database file while every other writer waits. Here the writer
// stops checkpointing and a connection of its own checkpoints every interval (PASSIVE: it
// never blocks readers or the writer). Measured on the webhook load: about half the bytes
// written. The returned function stops it and gives checkpoints back to the writer.
//
// A PASSIVE checkpoint copies the WAL into the database but never lets the WAL start over
// while some reader still reads from it, and with page views arriving all the time there is
// always one: under 1,000 webhook events/s and 100 inbox views/s the WAL grew by 30 MB a second
// (448 MB in 15 s), and every page read searches the WAL's index. Past walRestartBytes the
// checkpointer therefore asks for a RESTART checkpoint, which holds new writes back until the
// readers of the old WAL have finished (milliseconds: they are page views) so the next commit
// writes from the WAL's start. The PASSIVE ones before it have already copied nearly everything,
// so the writer waits only for what is left. A reader that takes longer (an export streaming
// for seconds) would hold every write back with it, so the checkpointer waits at most
// restartWait and tries again at the next interval.
func (d *DB) StartCheckpointer(ctx context.Context, interval time.Duration, logger *slog.Logger) (func(), error) {
	c, err := sql.Open("sqlite", fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)", d.Path, restartWait.Milliseconds()))
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
			mode := "PASSIVE"
			if info, err := os.Stat(d.Path + "-wal"); err == nil && info.Size() > walRestartBytes {
				mode = "RESTART"
			}
			if _, err := c.ExecContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "wal checkpoint", "mode", mode, "error", err)
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
