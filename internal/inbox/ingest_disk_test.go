package inbox

import (
	"context"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// TestIngestDiskFigures says where ingest's disk writes go: it submits the load test's bodies
// (internal/loadgen's workload: half inbound messages, half statuses, 10 % duplicates) open
// loop at INBOX_DISK_RATE bodies/s (default 3300) for INBOX_DISK_SECONDS, with checkpoints off,
// then reads the WAL: bytes per event, pages per commit, and which table or index each written
// page belongs to. Every page a commit changes is written whole (4 KiB) to the WAL, and again
// to the database file by the next checkpoint, so pages per commit ÷ events per commit is the
// figure to cut.
//
//	INBOX_DISK_SECONDS=10 go test ./internal/inbox -run TestIngestDiskFigures -v
//	INBOX_DISK_SECONDS=10 INBOX_DISK_BATCH=8 go test ./internal/inbox -run TestIngestDiskFigures -v
func TestIngestDiskFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("INBOX_DISK_SECONDS"))
	if secs <= 0 {
		t.Skip("set INBOX_DISK_SECONDS to measure ingest's disk writes")
	}
	rate := 3300.0
	if r, err := strconv.ParseFloat(os.Getenv("INBOX_DISK_RATE"), 64); err == nil && r > 0 {
		rate = r
	}
	ctx := context.Background()
	d := openDB(t)
	clk := clock.System{}
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	seedNumbers(t, d, 2)
	if _, err := d.W.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	svc := NewService(d, audit.New(d, clk), clk, nil)
	// INBOX_DISK_BATCH fixes the batch size (bodies wait up to a second for company), so that
	// two builds compare at the same batch size whatever the machine's load.
	// INBOX_DISK_DELAY replaces the server's wait for company.
	opts := IngesterOptions{MaxDelay: ServerMaxDelay}
	if n, err := strconv.Atoi(os.Getenv("INBOX_DISK_BATCH")); err == nil && n > 0 {
		opts = IngesterOptions{MaxBatch: n, MaxDelay: time.Second}
	}
	if d, err := time.ParseDuration(os.Getenv("INBOX_DISK_DELAY")); err == nil {
		opts.MaxDelay = d
	}
	g := NewIngester(d, svc.ApplyEvents, opts)
	cfg := loadgen.Config{Numbers: []loadgen.Number{{ID: metaNumberA, Display: "15550783881"}, {ID: metaNumberB, Display: "493090182044"}},
		AppSecret: testAppSecret, Customers: 5000, RunID: "disk"}
	const workers = 16
	loads := make([]*loadgen.Workload, workers)
	for i := range loads {
		loads[i] = loadgen.NewWorkload(cfg, i)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		events int
		lat    []time.Duration
	)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	total := int(rate * float64(secs))
	for i := range total {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		time.Sleep(time.Until(due))
		body := loads[i%workers].Next()
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := whatsapp.ParseWebhook(body.Raw)
			if err != nil {
				t.Error(err)
				return
			}
			if err := g.Submit(ctx, body.Raw, w.Events()); err != nil {
				t.Error(err)
				return
			}
			took := time.Since(due)
			mu.Lock()
			events += len(body.Events)
			lat = append(lat, took)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	g.Close()
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	st := g.Stats()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })

	wal, err := d.ReadWALPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bodies, %d events in %v (%.0f events/s); %d batches (%.1f bodies a batch); latency p50 %v p99 %v",
		st.Bodies, events, elapsed.Round(time.Millisecond), float64(events)/elapsed.Seconds(), st.Batches,
		float64(st.Bodies)/float64(max(st.Batches, 1)), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	t.Logf("CPU: %v, %.0f µs an event (parsing and ingest, in this process)", cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(max(events, 1)))
	t.Logf("\n%s", wal.Report(events))
}
