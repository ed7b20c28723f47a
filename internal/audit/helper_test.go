package audit

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// start is a time with a non-zero sub-millisecond part, so tests see the truncation.
func start() time.Time { return time.Date(2026, 3, 1, 9, 30, 0, 123_456_789, time.UTC) }

type fixture struct {
	log *Log
	db  *db.DB
	clk *clock.Fake
}

// newFixture opens a fresh, fully migrated database in a temporary directory.
func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	d, err := db.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	clk := clock.NewFake(start())
	return &fixture{log: New(d, clk), db: d, clk: clk}
}

// record appends n simple events one second apart and returns them as stored.
func (f *fixture) record(tb testing.TB, n int) []Event {
	tb.Helper()
	out := make([]Event, 0, n)
	for i := range n {
		f.clk.Advance(time.Second)
		ev, err := f.log.Record(tb.Context(), Event{
			Actor:   MemberActor(int64(i%3+1), "Ada"),
			Action:  "member.signed_in",
			Target:  NewTarget("member", int64(i%3+1)),
			Changes: []Change{{Field: "last_sign_in_at", Before: i, After: i + 1}},
		})
		if err != nil {
			tb.Fatalf("record %d: %v", i, err)
		}
		out = append(out, ev)
	}
	return out
}

// exec runs statements on the writer, as someone with the database file open would.
func (f *fixture) exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	if _, err := f.db.W.ExecContext(tb.Context(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) count(tb testing.TB) int {
	tb.Helper()
	var n int
	if err := f.db.R.QueryRowContext(tb.Context(), `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		tb.Fatalf("count: %v", err)
	}
	return n
}

func (f *fixture) verify(tb testing.TB) Report {
	tb.Helper()
	rep, err := f.log.Verify(tb.Context())
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	return rep
}
