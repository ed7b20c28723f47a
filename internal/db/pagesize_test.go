package db

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
)

func TestNewDatabasesHaveSwitchboardsPageSize(t *testing.T) {
	d := openTemp(t)
	for name, pool := range map[string]*sql.DB{"writer": d.W, "reader": d.R} {
		if got := pragma(t, pool, "page_size"); got != strconv.Itoa(PageSize) {
			t.Errorf("%s: page_size %s, want %d", name, got, PageSize)
		}
		if got := pragma(t, pool, "journal_mode"); got != "wal" {
			t.Errorf("%s: journal_mode %s, want wal", name, got)
		}
	}
}

// oldDatabase makes a database as releases before PageSize made them: SQLite's 4096-byte pages,
// WAL, migrated, with a row in it.
func oldDatabase(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	c, err := sql.Open("sqlite", "file:"+path+"?_pragma=page_size(4096)&_pragma=journal_mode(wal)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`CREATE TABLE probe (v)`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	d, err := OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Migrate(ctx, d.W); err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.Exec(`INSERT INTO setup_tokens (token_hash, created_at) VALUES ('kept', 0)`); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.PageSizeOf(ctx); got != 4096 {
		t.Fatalf("the old database has %d-byte pages; opening it must not change them", got)
	}
	return path
}

func TestCompactRewritesAnOldDatabaseWithSwitchboardsPageSize(t *testing.T) {
	ctx := context.Background()
	path := oldDatabase(t)
	before, after, err := Compact(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if before.PageSize != 4096 || after.PageSize != PageSize {
		t.Errorf("page size %d → %d, want 4096 → %d", before.PageSize, after.PageSize, PageSize)
	}
	if after.FreePages != 0 {
		t.Errorf("%d free pages left after compacting", after.FreePages)
	}
	d, err := OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if got := pragma(t, d.W, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode %s after compacting, want wal", got)
	}
	if got := pragma(t, d.R, "page_size"); got != strconv.Itoa(PageSize) {
		t.Errorf("page_size %s after compacting, want %d", got, PageSize)
	}
	if got := pragma(t, d.R, "integrity_check"); got != "ok" {
		t.Errorf("integrity_check: %s", got)
	}
	var token string
	if err := d.R.QueryRow(`SELECT token_hash FROM setup_tokens`).Scan(&token); err != nil || token != "kept" {
		t.Errorf("the row written before compacting: %q, %v", token, err)
	}
}

func TestCompactRefusesWhileTheDatabaseIsOpen(t *testing.T) {
	ctx := context.Background()
	path := oldDatabase(t)
	d, err := OpenFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.R.PingContext(ctx); err != nil { // a server holds its connections open
		t.Fatal(err)
	}
	if _, _, err := Compact(ctx, path); !errors.Is(err, ErrInUse) {
		t.Fatalf("Compact beside an open server: %v, want ErrInUse", err)
	}
	if got, _ := d.PageSizeOf(ctx); got != 4096 {
		t.Errorf("page size %d after a refused compact, want 4096 unchanged", got)
	}
	if got := pragma(t, d.W, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode %s after a refused compact, want wal", got)
	}
	if _, err := d.W.Exec(`INSERT INTO setup_tokens (token_hash, created_at) VALUES ('after', 0)`); err != nil {
		t.Errorf("the server cannot write after a refused compact: %v", err)
	}
}

func TestCompactNeedsADatabase(t *testing.T) {
	if _, _, err := Compact(context.Background(), filepath.Join(t.TempDir(), FileName)); err == nil {
		t.Error("Compact of a missing file succeeded")
	}
}
