package analytics_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// TestReportUnderIngestFigures is issue 13's "any range and filter, while ingest runs": over the
// benchmark database (100k conversations, about 1M messages in 90 days), webhooks arrive at
// ANALYTICS_LOAD_RATE events/s (default 1,000; loadgen's workload) through the inbox's
// Ingester, which keeps the rollups in its batches, while the Analytics report is computed
// for every range preset × filter in turn, ANALYTICS_LOAD_VIEWS times a second (default 20),
// open loop. It reports the report's server time per range and overall (goal p95 ≤ 50 ms) and
// the webhook ack. Figures only.
//
//	ANALYTICS_LOAD_SECONDS=30 go test ./internal/analytics -run TestReportUnderIngestFigures -v -timeout 30m
func TestReportUnderIngestFigures(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("ANALYTICS_LOAD_SECONDS"))
	if secs <= 0 {
		t.Skip("set ANALYTICS_LOAD_SECONDS to measure the report under ingest")
	}
	rate, viewRate := loadEnv("ANALYTICS_LOAD_RATE", 1000), loadEnv("ANALYTICS_LOAD_VIEWS", 20)
	ctx := context.Background()
	d := benchDB(t)
	stop, err := d.StartCheckpointer(ctx, 250*time.Millisecond, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// The generated history ends at BenchNow; the fake clock keeps "today" there, and webhooks
	// are stamped with the real time, which only adds to later hours.
	clk := clock.NewFake(analyticsgen.BenchNow)
	svc := analytics.NewService(d, nil, clk, nil)
	ib := inbox.NewService(d, audit.New(d, clock.System{}), clock.System{}, nil)
	g := inbox.NewIngester(d, ib.ApplyEvents, inbox.IngesterOptions{})
	defer g.Close()
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
	var agent int64
	d.R.QueryRow(`SELECT min(member_id) FROM analytics_messages WHERE member_id <> 0`).Scan(&agent)
	p := &authz.Principal{MemberID: 1, Permissions: authz.NewSet(authz.AnalyticsView), Numbers: authz.NumberScope{All: true}}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	type variant struct {
		name   string
		period analytics.Period
		filter analytics.Filter
	}
	var variants []variant
	for _, preset := range []string{analytics.PresetToday, analytics.Preset7, analytics.Preset30, analytics.Preset90} {
		period, err := analytics.ParsePeriod(preset, "", "", berlin, analyticsgen.BenchNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			name string
			f    analytics.Filter
		}{{"all", analytics.Filter{}}, {"number", analytics.Filter{NumberID: 1}}, {"agent", analytics.Filter{MemberID: agent}}, {"template", analytics.Filter{Template: "spring_sale"}}} {
			variants = append(variants, variant{preset + "/" + f.name, period, f.f})
		}
	}
	cfg := loadgen.Config{Numbers: numbers, AppSecret: []byte("analytics"), Customers: 20000, RunID: "analytics"}
	start := time.Now()
	deadline := start.Add(time.Duration(secs) * time.Second)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		acks   []time.Duration
		byName = map[string][]time.Duration{}
		all    []time.Duration
	)
	wg.Add(2)
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
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acks = append(acks, time.Since(due))
				mu.Unlock()
			}()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			due := start.Add(time.Duration(float64(i) / viewRate * float64(time.Second)))
			if due.After(deadline) {
				return
			}
			time.Sleep(time.Until(due))
			v := variants[i%len(variants)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := svc.Report(ctx, p, v.period, v.filter); err != nil {
					t.Error(err)
					return
				}
				took := time.Since(due)
				mu.Lock()
				byName[v.name] = append(byName[v.name], took)
				all = append(all, took)
				mu.Unlock()
			}()
		}
	}()
	wg.Wait()
	st := g.Stats()
	t.Logf("%v: %d bodies acknowledged in %d batches; %d reports", time.Since(start).Round(time.Millisecond), st.Bodies, st.Batches, len(all))
	for _, v := range variants {
		t.Logf("  %-16s %s", v.name, pcts(byName[v.name]))
	}
	t.Logf("report, every range and filter: %s (goal p95 ≤ 50 ms)", pcts(all))
	t.Logf("webhook ack: %s", pcts(acks))
	// The rollups kept under load equal a rebuild.
	before := dump(t, d)
	if err := analytics.NewStore(d, nil).Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	after := dump(t, d)
	for table := range after {
		if !slices.Equal(before[table], after[table]) {
			t.Errorf("%s: the rollups kept under load differ from a rebuild (%d rows vs %d)", table, len(before[table]), len(after[table]))
		}
	}
}

func pcts(l []time.Duration) string {
	if len(l) == 0 {
		return "none"
	}
	slices.Sort(l)
	at := func(p float64) time.Duration {
		return l[min(len(l)-1, int(float64(len(l))*p))].Round(10 * time.Microsecond)
	}
	return fmt.Sprintf("n %d  p50 %v  p95 %v  p99 %v  max %v", len(l), at(0.5), at(0.95), at(0.99), l[len(l)-1].Round(10*time.Microsecond))
}

func loadEnv(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}
