package analytics_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// benchSize is ANALYTICS_BENCH_CONVERSATIONS, or 100,000 (about 1M messages over 90 days).
func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("ANALYTICS_BENCH_CONVERSATIONS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchDB is a private copy of the cached benchmark database.
func benchDB(b testing.TB) *db.DB {
	b.Helper()
	dir, err := analyticsgen.CachedDir(benchSize(), b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	tmp := b.TempDir()
	src, err := os.Open(filepath.Join(dir, db.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(tmp, db.FileName))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	dst.Close()
	d, err := db.Open(context.Background(), tmp)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkRebuild recomputes every rollup from the messages (target ≤ 10 s at 1M messages).
func BenchmarkRebuild(b *testing.B) {
	d := benchDB(b)
	s := analytics.NewStore(d, nil)
	// The machine may be shared: CPU time says what the rebuild costs apart from waiting.
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for b.Loop() {
		if err := s.Rebuild(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(cpu.Seconds(), "cpu-s/op")
}

// BenchmarkReport is the domain part of an Analytics page view for each range and filter.
func BenchmarkReport(b *testing.B) {
	d := benchDB(b)
	svc := analytics.NewService(d, nil, clock.NewFake(analyticsgen.BenchNow), nil)
	p := &authz.Principal{MemberID: 1, Permissions: authz.NewSet(authz.AnalyticsView), Numbers: authz.NumberScope{All: true}}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	var agent int64
	d.R.QueryRow(`SELECT min(member_id) FROM analytics_messages WHERE member_id <> 0`).Scan(&agent)
	for _, preset := range []string{analytics.PresetToday, analytics.Preset7, analytics.Preset30, analytics.Preset90} {
		for name, f := range map[string]analytics.Filter{"all": {}, "number": {NumberID: 1}, "agent": {MemberID: agent}, "template": {Template: "spring_sale"}} {
			b.Run(preset+"/"+name, func(b *testing.B) {
				period, err := analytics.ParsePeriod(preset, "", "", berlin, analyticsgen.BenchNow)
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := svc.Report(context.Background(), p, period, f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
