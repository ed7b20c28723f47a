package db

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

// While webhook ingest has bodies waiting, background work waits for it; work done for a
// member does not, and background work is held back at most backgroundMaxWait.
func TestBackgroundTransactionsYieldToIngest(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	began := func(ctx context.Context) <-chan time.Time {
		c := make(chan time.Time, 1)
		go func() {
			_ = d.Tx(ctx, func(*sql.Tx) error { c <- time.Now(); return nil })
		}()
		return c
	}

	d.Urgent(true)
	select {
	case <-began(ctx):
	case <-time.After(5 * time.Second):
		t.Fatal("a member's transaction waited for ingest")
	}

	background := began(Background(ctx))
	select {
	case <-background:
		t.Fatal("a background transaction ran while ingest had bodies waiting")
	case <-time.After(backgroundMaxWait / 5):
	}
	idle := time.Now()
	d.Urgent(false)
	select {
	case at := <-background:
		if at.Before(idle) {
			t.Fatal("the background transaction began before ingest went idle")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the background transaction did not run once ingest was idle")
	}

	// Ingest busy for good: background work still gets through, a quarter second late.
	d.Urgent(true)
	start := time.Now()
	select {
	case at := <-began(Background(ctx)):
		if waited := at.Sub(start); waited < backgroundMaxWait {
			t.Errorf("background transaction ran after %v, before its wait of %v", waited, backgroundMaxWait)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("background work starved while ingest stayed busy")
	}
	d.Urgent(false)
}
