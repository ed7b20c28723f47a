package db

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
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

// The WAL's frames are counted and attributed to the table written.
func TestReadWALPagesAttributesFramesToTables(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, q := range []string{`PRAGMA wal_autocheckpoint = 0`, `CREATE TABLE small (v)`, `CREATE TABLE big (b BLOB)`,
		`PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := d.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		if _, err := d.W.Exec(`INSERT INTO big VALUES (zeroblob(3000))`); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.W.Exec(`INSERT INTO small VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	w, err := d.ReadWALPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w.Commits != 11 || w.Bytes != int64(32+w.Frames*w.FrameBytes()) {
		t.Fatalf("%d commits, %d bytes for %d frames; want 11 commits", w.Commits, w.Bytes, w.Frames)
	}
	frames := map[string]int{}
	for _, o := range w.ByObject {
		frames[o.Name] = o.Frames
	}
	// Each of the ten rows fills a page of its own: ten commits write at least ten big pages,
	// and the one insert into small writes its page once.
	if frames["big"] < 10 || frames["small"] != 1 || w.ByObject[0].Name != "big" {
		t.Fatalf("frames by table: %v", w.ByObject)
	}
	if !strings.Contains(w.Report(11), "big") {
		t.Fatalf("report leaves the table out:\n%s", w.Report(11))
	}
}
