package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/audit/auditgen"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// The figures the activity page is held to: over a million events by 50 members, a page (first,
// or 10,000 matching events deep) answers in under 10 ms at the 95th percentile, unfiltered
// and filtered by actor or by action, while a writer appends 1,000 events a second; Verify reads
// the million in under 3 s.
//
//	go test -run '^$' -bench 'List1M|Verify1M' -benchtime 2000x ./internal/audit/
//
// The database is generated once (a few minutes) and kept under $TMPDIR/switchboard-bench.
const benchEvents = 1_000_000

func BenchmarkList1M(b *testing.B) {
	d := benchDB(b)
	log := audit.New(d, clock.System{})
	ctx := context.Background()

	member := audit.Filter{ActorType: audit.ActorMember, ActorID: "7"}
	action := audit.Filter{Action: "member.signed_in"}
	cases := []struct {
		name   string
		filter audit.Filter
		deep   bool
	}{
		{"unfiltered/first", audit.Filter{}, false},
		{"unfiltered/10k-deep", audit.Filter{}, true},
		{"actor/first", member, false},
		{"actor/10k-deep", member, true},
		{"action/first", action, false},
		{"action/10k-deep", action, true},
		{"group/first", audit.Filter{Group: "signin"}, false},
		{"actor+outcome/first", audit.Filter{ActorType: audit.ActorMember, ActorID: "7", Outcome: audit.OutcomeSuccess}, false},
	}
	stop := appendInBackground(b, d, 1000)
	defer stop()
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			q := audit.ListQuery{Filter: tc.filter, Limit: 50}
			if tc.deep {
				q.BeforeID = deepCursor(b, log, tc.filter, 10_000)
			}
			for range 20 { // warm the page cache and the pool, as a running server has them
				if _, _, err := log.List(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, 0, 4096)
			for b.Loop() {
				start := time.Now()
				evs, _, err := log.List(ctx, q)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) != 50 {
					b.Fatalf("%d events", len(evs))
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

func BenchmarkVerify1M(b *testing.B) {
	d := benchDB(b)
	log := audit.New(d, clock.System{})
	for b.Loop() {
		rep, err := log.Verify(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Intact || rep.Events < benchEvents {
			b.Fatalf("report %+v", rep)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
}

// deepCursor pages through the log as the page would, 50 at a time, to the page n events deep.
func deepCursor(b *testing.B, log *audit.Log, f audit.Filter, n int) int64 {
	b.Helper()
	q := audit.ListQuery{Filter: f, Limit: 500}
	for seen := 0; seen < n; {
		evs, p, err := log.List(context.Background(), q)
		if err != nil || len(evs) == 0 {
			b.Fatalf("paging to %d: %d events, %v", n, len(evs), err)
		}
		seen += len(evs)
		q.BeforeID = p.Before
	}
	return q.BeforeID
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// appendInBackground records perSecond events a second, one transaction each, until stopped.
func appendInBackground(b *testing.B, d *db.DB, perSecond int) (stop func()) {
	log := audit.New(d, clock.System{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		// Paced by the clock, not by ticks: a late tick catches up, so the rate holds on average.
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		begin := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for int(time.Since(begin).Seconds()*float64(perSecond)) > n {
				_, err := log.Record(ctx, audit.Event{
					Actor: audit.MemberActor(3, "Katherine Lovelace"), Action: "message.sent",
					Target: audit.NewTarget("conversation", int64(n%1000+1)),
				})
				if err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				n++
			}
		}
	}()
	start := time.Now()
	return func() {
		cancel()
		n := <-done
		b.Logf("background writer: %d events in %s (%.0f/s)", n, time.Since(start).Round(time.Millisecond),
			float64(n)/time.Since(start).Seconds())
	}
}

// benchDB opens the cached million-event database, generating it on first use.
func benchDB(b *testing.B) *db.DB {
	b.Helper()
	if testing.Short() {
		b.Skip("needs a generated database of a million events")
	}
	dir, err := auditgen.CachedEvents(benchEvents, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	d, err := db.Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if _, err := os.Stat(filepath.Join(dir, db.FileName)); err != nil {
		b.Fatal(err)
	}
	return d
}
