package inbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// benchBody is one webhook POST as Meta sends it, and how many events it carries.
type benchBody struct {
	raw    []byte
	events int
}

// ingestWorkload builds n bodies: about half inbound messages (one per POST, from a pool of
// customers, so most land in existing conversations), the rest status batches of one to three
// statuses for messages we sent, and 10 % exact duplicates of an earlier body, as Meta's
// retries produce.
func ingestWorkload(n, customers, sent int, seed uint64) []benchBody {
	rng := rand.New(rand.NewPCG(seed, 7))
	at := testStart
	statuses := []string{"sent", "delivered", "read"}
	out := make([]benchBody, 0, n)
	for i := range n {
		switch r := rng.IntN(100); {
		case r < 10 && len(out) > 0:
			out = append(out, out[rng.IntN(len(out))])
		case r < 55:
			cu := rng.IntN(customers)
			raw := inboundBody(inbound{number: metaNumberA, waID: fmt.Sprintf("4915%09d", cu), name: fmt.Sprintf("Customer %d", cu),
				wamid: fmt.Sprintf("wamid.bench.%d.%d", seed, i), text: fmt.Sprintf("Hello, this is about my order %d, can you help?", i),
				at: at})
			out = append(out, benchBody{raw: raw, events: 1})
		default:
			k := 1 + rng.IntN(3)
			var sts []status
			for range k {
				sts = append(sts, status{wamid: fmt.Sprintf("wamid.seed.%d", rng.IntN(sent)), status: statuses[rng.IntN(3)], at: at,
					recipient: "4915000000000"})
			}
			out = append(out, benchBody{raw: statusBody(metaNumberA, sts...), events: k})
		}
	}
	return out
}

// seedSent creates customers conversations and `sent` outgoing messages with wamids for the
// status webhooks to find.
func seedSent(b *testing.B, d *db.DB, customers, sent int) {
	b.Helper()
	ctx := context.Background()
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for cu := range customers {
		if _, err := tx.Exec(`INSERT INTO contacts (id, wa_id, profile_name, created_at, updated_at) VALUES (?, ?, ?, 0, 0)`,
			cu+1, fmt.Sprintf("4915%09d", cu), fmt.Sprintf("Customer %d", cu)); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO conversations (id, contact_id, phone_number_id, last_message_at, created_at, updated_at)
			VALUES (?, ?, 1, 0, 0, 0)`, cu+1, cu+1); err != nil {
			b.Fatal(err)
		}
	}
	for i := range sent {
		if _, err := tx.Exec(`INSERT INTO messages (conversation_id, direction, wamid, type, text, status, created_at)
			VALUES (?, 'out', ?, 'text', 'Thanks for your message', 'accepted', 0)`, 1+i%customers, fmt.Sprintf("wamid.seed.%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := (&Service{}).IndexSearch(ctx, tx); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIngest measures the webhook path end to end as the handler runs it: verify the
// signature, parse, Submit (durable group commit with synchronous=FULL). It reports events/s
// and the submit latency percentiles. Run with a fixed count for stable figures:
//
//	go test ./internal/inbox -run '^$' -bench BenchmarkIngest -benchtime 20000x
func BenchmarkIngest(b *testing.B) {
	for _, submitters := range []int{8, 16, 64} {
		b.Run(fmt.Sprintf("submitters=%d", submitters), func(b *testing.B) {
			ctx := context.Background()
			d, err := db.Open(ctx, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			clk := clock.System{}
			if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
				b.Fatal(err)
			}
			seedNumbers(b, d, 2)
			const customers, sent = 5000, 20000
			seedSent(b, d, customers, sent)
			svc := NewService(d, audit.New(d, clk), clk, nil)
			g := NewIngester(d, svc.ApplyEvents, IngesterOptions{MaxDelay: benchDelay()})
			defer g.Close()

			bodies := ingestWorkload(b.N, customers, sent, uint64(submitters))
			var total int64
			for _, body := range bodies {
				total += int64(body.events)
			}
			latencies := make([]time.Duration, len(bodies))
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range submitters {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= len(bodies) {
							return
						}
						t0 := time.Now()
						raw := bodies[i].raw
						if err := whatsapp.VerifySignature(testAppSecret, raw, whatsapp.Sign(testAppSecret, raw)); err != nil {
							b.Error(err)
							return
						}
						w, err := whatsapp.ParseWebhook(raw)
						if err != nil {
							b.Error(err)
							return
						}
						if err := g.Submit(ctx, raw, w.Events()); err != nil {
							b.Error(err)
							return
						}
						latencies[i] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(latencies)
			pct := func(p float64) float64 {
				return float64(latencies[min(len(latencies)-1, int(float64(len(latencies))*p))].Microseconds()) / 1000
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(len(bodies))/elapsed.Seconds(), "bodies/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			st := g.Stats()
			b.ReportMetric(float64(st.Bodies)/float64(st.Batches), "bodies/batch")
			b.ReportMetric(float64(st.Busy.Microseconds())/1000/float64(st.Batches), "ms/batch")
		})
	}
}

func benchDelay() time.Duration {
	if s := os.Getenv("INBOX_BENCH_DELAY"); s != "" {
		d, _ := time.ParseDuration(s)
		return d
	}
	return 0
}
