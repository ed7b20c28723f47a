package dbcheck_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/db/dbcheck"
)

func open(t *testing.T) (*db.DB, *dbcheck.Checker) {
	t.Helper()
	c := dbcheck.New()
	d, _, err := db.OpenAndMigrateWith(context.Background(), filepath.Join(t.TempDir(), "data"), c.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, c
}

func whats(c *dbcheck.Checker) []string {
	found, _ := c.Violations()
	var out []string
	for _, v := range found {
		out = append(out, v.What)
	}
	return out
}

func TestAReadThroughTheReadersInsideAWriteTransactionIsRecorded(t *testing.T) {
	d, c := open(t)
	ctx := context.Background()
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM members`).Scan(&n); err != nil { // through the transaction: fine
			return err
		}
		return d.R.QueryRowContext(ctx, `SELECT count(*) FROM roles`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	got := whats(c)
	if len(got) != 1 || !strings.Contains(got[0], "inside a write transaction") || !strings.Contains(got[0], "FROM roles") {
		t.Fatalf("recorded %q, want the one read of roles through the readers", got)
	}
	found, _ := c.Violations()
	if !strings.Contains(found[0].Stack, "TestAReadThroughTheReadersInsideAWriteTransactionIsRecorded") {
		t.Errorf("the stack does not lead to the test:\n%s", found[0].Stack)
	}
}

func TestWaitingForTheWriterWhileHoldingAReadIsRecorded(t *testing.T) {
	d, c := open(t)
	ctx := context.Background()
	rows, err := d.R.QueryContext(ctx, `SELECT key FROM roles`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at) VALUES ('x', 0)`); err != nil {
		t.Fatal(err)
	}
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	got := whats(c)
	if len(got) != 2 || !strings.Contains(got[0], "while holding a reader") || !strings.Contains(got[1], "a write transaction") {
		t.Fatalf("recorded %q, want the statement and the transaction begun with rows open", got)
	}
}

func TestReadsAndWritesInTurnAreNotRecorded(t *testing.T) {
	d, c := open(t)
	ctx := context.Background()
	for range 3 {
		var n int
		if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM roles`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		rows, err := d.R.QueryContext(ctx, `SELECT key FROM roles`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
		err = d.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at) VALUES (hex(randomblob(8)), 0)`)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Another goroutine reading while this one writes is what WAL is for.
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- d.Tx(ctx, func(tx *sql.Tx) error { <-release; return nil })
	}()
	var n int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM roles`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := whats(c); len(got) != 0 {
		t.Fatalf("recorded %q for reads and writes in turn", got)
	}
}
