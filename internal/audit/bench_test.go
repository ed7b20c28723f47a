package audit

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// One event per transaction, each commit synced (synchronous FULL): the cost a request pays
// for an audited action that writes nothing else.
func BenchmarkRecord(b *testing.B) {
	f := newFixture(b)
	ctx := WithRequest(b.Context(), Request{ClientAddr: "203.0.113.7", UserAgent: "Firefox/140", RequestID: "req"})
	ev := Event{
		Actor:   MemberActor(1, "Ada Lovelace"),
		Action:  "member.updated",
		Target:  NewTarget("member", 2),
		Changes: []Change{{Field: "role", Before: "Agent", After: "Administrator"}},
	}
	for b.Loop() {
		if _, err := f.log.Record(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkVerify100k(b *testing.B) { benchmarkVerify(b, 100_000) }

func benchmarkVerify(b *testing.B, n int) {
	f := newFixture(b)
	seed(b, f, n)
	for b.Loop() {
		rep, err := f.log.Verify(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Intact || rep.Events != int64(n) {
			b.Fatalf("report %+v", rep)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// seed appends n realistic events through Append, in transactions of 50,000 to keep it quick.
func seed(b *testing.B, f *fixture, n int) {
	b.Helper()
	ctx := WithRequest(b.Context(), Request{
		ClientAddr: "203.0.113.7",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
		RequestID:  "01JQ7Z8Y6X5W4V3T2S1R0QPNMK",
	})
	const batch = 50_000
	for done := 0; done < n; {
		err := f.db.Tx(ctx, func(tx *sql.Tx) error {
			for i := 0; i < batch && done < n; i, done = i+1, done+1 {
				f.clk.Advance(time.Millisecond)
				_, err := f.log.Append(ctx, tx, Event{
					Actor:   MemberActor(int64(done%50+1), fmt.Sprintf("Member %d", done%50+1)),
					Action:  "member.updated",
					Target:  NewTarget("member", int64(done%500+1)),
					Changes: []Change{{Field: "role", Before: "Agent", After: "Administrator"}},
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
