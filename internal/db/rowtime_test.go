package db

import (
	"context"
	"testing"
)

// The split is found across gaps in the rowids, at both ends, and in an empty table.
func TestFirstRowFromFindsTheFirstRowThatNew(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.W.Exec(`CREATE TABLE log (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if got, err := FirstRowFrom(ctx, d.W, "log", "at", 5); err != nil || got != 0 {
		t.Fatalf("empty table: %d %v", got, err)
	}
	// Rows 10, 12, 14, … 200 stamped id/4, with rows deleted here and there; several rows
	// share a time.
	for id := 10; id <= 200; id += 2 {
		if _, err := d.W.Exec(`INSERT INTO log (id, at) VALUES (?, ?)`, id, id/4); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.W.Exec(`DELETE FROM log WHERE id BETWEEN 60 AND 90 OR id = 124`); err != nil {
		t.Fatal(err)
	}
	for _, at := range []int64{-1, 0, 2, 3, 14, 15, 22, 23, 30, 31, 50, 51, 99} {
		split, err := FirstRowFrom(ctx, d.W, "log", "at", at)
		if err != nil {
			t.Fatal(err)
		}
		var newBelow, oldAbove int
		err = d.W.QueryRow(`SELECT count(*) FILTER (WHERE id < ? AND at >= ?), count(*) FILTER (WHERE id >= ? AND at < ?) FROM log`,
			split, at, split, at).Scan(&newBelow, &oldAbove)
		if err != nil {
			t.Fatal(err)
		}
		if newBelow != 0 || oldAbove != 0 {
			t.Errorf("from %d: split at row %d leaves %d rows that new below and %d older ones above", at, split, newBelow, oldAbove)
		}
	}
}
