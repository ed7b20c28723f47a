package inbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/inbox/inboxgen"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// TestMixedLoadFigures is issue 11's mixed load: on inboxgen's inbox (100k conversations, 1M
// messages; INBOX_BENCH_CONVERSATIONS scales it), webhooks arrive at INBOX_MIXED_RATE events/s
// (default 1,000; loadgen's workload: half messages, half statuses, 10 % duplicates) while the
// 50 members (Administrator, Supervisor, Analysts, Support and Agents on one number each) open
// their inbox at INBOX_MIXED_PAGES views/s (default 100), both open loop. A page view is what the
// inbox page asks of the domain: the box counts and the first page of the member's default box
// (view-all roles: all; Agents: all they see), then the newest messages of its first
// conversation, as the split view's first load shows it. It reports the page's server time and
// the webhook's time to a durable ack (Submit), p50/p95/p99, and the disk bytes written per
// event. Goals: page p95 ≤ 25 ms, ack p99 ≤ 50 ms at the same time. Figures only: the machine's
// speed is not asserted. INBOX_MIXED_WARMUP (default 5 s) of the same load runs first and is
// reported apart.
//
//	INBOX_MIXED_SECONDS=30 go test ./internal/inbox -run TestMixedLoadFigures -v -timeout 30m
func TestMixedLoadFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("INBOX_MIXED_SECONDS"))
	if secs <= 0 {
		t.Skip("set INBOX_MIXED_SECONDS to run the mixed load")
	}
	rate, pages := envFloat("INBOX_MIXED_RATE", 1000), envFloat("INBOX_MIXED_PAGES", 100)
	ctx := context.Background()
	dir, err := inboxgen.CachedDir(inboxgen.Size(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	copyFile(t, filepath.Join(dir, db.FileName), filepath.Join(tmp, db.FileName))
	d, err := db.Open(ctx, tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stopCheckpoints, err := d.StartCheckpointer(ctx, 250*time.Millisecond, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer stopCheckpoints()
	// Mixed roles: besides inboxgen's Administrator, Supervisor and Agents, some members are
	// Analysts and Support (view all of their number).
	for m, role := range map[int64]string{10: authz.RoleAnalyst, 11: authz.RoleAnalyst, 12: authz.RoleSupport, 13: authz.RoleSupport, 14: authz.RoleSupport} {
		if _, err := d.W.ExecContext(ctx, `UPDATE members SET role_id = (SELECT id FROM roles WHERE key = ?) WHERE id = ?`, role, m); err != nil {
			t.Fatal(err)
		}
	}
	clk := clock.System{}
	svc := inbox.NewService(d, audit.New(d, clk), clk, nil)
	// As the server runs it (internal/app): a 2 ms wait lets concurrent bodies share a commit.
	g := inbox.NewIngester(d, svc.ApplyEvents, inbox.IngesterOptions{MaxDelay: inbox.ServerMaxDelay})
	defer g.Close()
	store := members.NewStore(d)
	var people []*authz.Principal
	for m := int64(1); m <= inboxgen.Members; m++ {
		p, _, err := store.Principal(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if inbox.BoxAllowed(p, inbox.BoxAll) {
			people = append(people, p)
		}
	}
	var numbers []loadgen.Number
	rows, err := d.R.QueryContext(ctx, `SELECT phone_number_id FROM phone_numbers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, loadgen.Number{ID: id, Display: id})
	}
	rows.Close()
	cfg := loadgen.Config{Numbers: numbers, AppSecret: []byte("mixed"), Customers: 20000, RunID: "mixed"}

	// The load runs for the warm-up first (the readers' caches, the statement caches and the
	// first customers' new conversations), whose views are reported apart; the figures are
	// those of the secs that follow.
	warmup := time.Duration(envFloat("INBOX_MIXED_WARMUP", 5) * float64(time.Second))
	var (
		ru0, ru1 syscall.Rusage
		written0 int64
	)
	start := time.Now()
	measureFrom := start.Add(warmup)
	deadline := measureFrom.Add(time.Duration(secs) * time.Second)
	warmedUp := make(chan struct{})
	go func() {
		time.Sleep(time.Until(measureFrom))
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		written0 = processWrites(t)
		close(warmedUp)
	}()
	var (
		warmViews      []time.Duration
		wg             sync.WaitGroup
		mu             sync.Mutex
		acks, views    []time.Duration
		events, errors int
		// The page's parts, and the whole view by whom: members who see all of their numbers
		// and Agents (assigned or involved only).
		parts         [3][]time.Duration
		byAll, byMine []time.Duration
	)
	// The WAL's size, sampled: the checkpointer must keep it bounded under constant readers.
	var walPeak int64
	go func() {
		for time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			if info, err := os.Stat(d.Path + "-wal"); err == nil {
				mu.Lock()
				walPeak = max(walPeak, info.Size())
				mu.Unlock()
			}
		}
	}()
	// Webhooks, open loop: latency runs from when the body was due.
	wg.Add(1)
	go func() {
		defer wg.Done()
		const workers = 16
		loads := make([]*loadgen.Workload, workers)
		for i := range loads {
			loads[i] = loadgen.NewWorkload(cfg, i)
		}
		for i := 0; ; i++ {
			due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if due.After(deadline) {
				return
			}
			time.Sleep(time.Until(due))
			body := loads[i%workers].Next()
			wg.Add(1)
			go func() {
				defer wg.Done()
				w, err := whatsapp.ParseWebhook(body.Raw)
				if err == nil {
					err = g.Submit(ctx, body.Raw, w.Events())
				}
				took := time.Since(due)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errors++
					return
				}
				if due.Before(measureFrom) {
					return
				}
				acks = append(acks, took)
				events += len(body.Events)
			}()
		}
	}()
	// Page views, open loop, spread over the members in turn.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			due := start.Add(time.Duration(float64(i) / pages * float64(time.Second)))
			if due.After(deadline) {
				return
			}
			time.Sleep(time.Until(due))
			p := people[i%len(people)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				part, err := pageView(ctx, svc, p)
				took := time.Since(due)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("page of member %d: %v", p.MemberID, err)
					return
				}
				if due.Before(measureFrom) {
					warmViews = append(warmViews, took)
					return
				}
				views = append(views, took)
				for i := range part {
					parts[i] = append(parts[i], part[i])
				}
				if p.Conversations().InvolvedMemberID != 0 {
					byMine = append(byMine, took)
				} else {
					byAll = append(byAll, took)
				}
			}()
		}
	}()
	wg.Wait()
	<-warmedUp
	elapsed := time.Since(measureFrom)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	written := processWrites(t) - written0
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	st := g.Stats()
	t.Logf("%v: %d events acknowledged (%.0f/s), %d failed; %d page views (%.0f/s) over %d members; %d batches (%.1f bodies a batch)",
		elapsed.Round(time.Millisecond), events, float64(events)/elapsed.Seconds(), errors, len(views), float64(len(views))/elapsed.Seconds(),
		len(people), st.Batches, float64(st.Bodies)/float64(max(st.Batches, 1)))
	t.Logf("warm-up (%v, not counted): page views %s", warmup, percentiles(warmViews))
	t.Logf("page server time: %s (goal p95 ≤ 25 ms)", percentiles(views))
	t.Logf("  members who see all of their numbers: %s", percentiles(byAll))
	t.Logf("  Agents (assigned and involved only):  %s", percentiles(byMine))
	t.Logf("  box counts: %s", percentiles(parts[0]))
	t.Logf("  list:       %s", percentiles(parts[1]))
	t.Logf("  messages:   %s", percentiles(parts[2]))
	t.Logf("webhook ack:      %s (goal p99 ≤ 50 ms)", percentiles(acks))
	t.Logf("CPU %v (%.0f %% of one core); disk written %d MB, %.0f bytes an event; largest WAL %d MB", cpu.Round(time.Millisecond),
		100*cpu.Seconds()/elapsed.Seconds(), written>>20, float64(written)/float64(max(events, 1)), walPeak>>20)
}

// pageView is what the inbox page asks of the domain on a first load; it returns the time
// each part took (box counts, list, messages).
func pageView(ctx context.Context, svc *inbox.Service, p *authz.Principal) ([3]time.Duration, error) {
	var took [3]time.Duration
	start := time.Now()
	if _, err := svc.Counts(ctx, p); err != nil {
		return took, fmt.Errorf("counts: %w", err)
	}
	took[0] = time.Since(start)
	start = time.Now()
	page, err := svc.List(ctx, p, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		return took, fmt.Errorf("list: %w", err)
	}
	took[1] = time.Since(start)
	if len(page.Conversations) > 0 {
		start = time.Now()
		if _, err := svc.Messages(ctx, p, page.Conversations[0].ID, 0, 50); err != nil {
			return took, fmt.Errorf("messages: %w", err)
		}
		took[2] = time.Since(start)
	}
	return took, nil
}

func percentiles(l []time.Duration) string {
	if len(l) == 0 {
		return "none"
	}
	slices.Sort(l)
	at := func(p float64) time.Duration {
		return l[min(len(l)-1, int(float64(len(l))*p))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("p50 %v  p95 %v  p99 %v  max %v", at(0.50), at(0.95), at(0.99), l[len(l)-1].Round(10*time.Microsecond))
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	// On disk before the load starts, so that writing the copy back does not compete with it.
	if err := dst.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// processWrites is what this process has caused to be written to disk (/proc/self/io).
func processWrites(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return n
}
