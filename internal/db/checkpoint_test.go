package db

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

func TestCheckpointerKeepsTheWALBounded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stop, err := d.StartCheckpointer(ctx, 20*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := d.W.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("the writer still checkpoints itself: %d %v", auto, err)
	}
	if _, err := d.W.Exec(`CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	blob := make([]byte, 64<<10)
	for i := 0; i < 200; i++ { // about 13 MB through the WAL
		if _, err := d.W.Exec(`INSERT INTO t VALUES (?)`, blob); err != nil {
			t.Fatal(err)
		}
		if _, err := d.W.Exec(`DELETE FROM t`); err != nil {
			t.Fatal(err)
		}
	}
	// Let the checkpointer catch up, then let the writer start the WAL over.
	time.Sleep(100 * time.Millisecond)
	if _, err := d.W.Exec(`INSERT INTO t VALUES (x'00')`); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(d.Path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 64<<20 {
		t.Errorf("the WAL grew to %d bytes", info.Size())
	}
	var logPages, checkpointed, busy int
	if err := d.W.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &checkpointed); err != nil {
		t.Fatal(err)
	}
	if logPages > 2000 {
		t.Errorf("%d pages in the WAL: the checkpointer is not keeping up", logPages)
	}
	stop()
	if err := d.W.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 1000 {
		t.Errorf("after stop the writer does not checkpoint again: %d %v", auto, err)
	}
}
