package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// Server time of the Analytics page over 100,000 conversations and about 950,000 messages in
// 90 days (ANALYTICS_BENCH_CONVERSATIONS scales it), for every range preset and filter: session,
// access check, the rollup queries and the templ render. The target (issue 13) is a p95 of
// 50 ms or less.
//
//	go test -run '^$' -bench 'AnalyticsPage|AnalyticsExport' -benchtime 100x ./web/
func BenchmarkAnalyticsPage(b *testing.B) {
	in, cookies := startAnalyticsBench(b)
	var agent int64
	in.app.DB.R.QueryRow(`SELECT min(member_id) FROM analytics_messages WHERE member_id <> 0`).Scan(&agent)
	for _, r := range []string{"today", "7d", "30d", "90d"} {
		for _, f := range []struct{ name, q string }{
			{"all", ""}, {"number", "&number=1"}, {"agent", fmt.Sprintf("&agent=%d", agent)}, {"template", "&template=spring_sale"},
			// A label is on about a sixth of the conversations (analyticsgen.CachedDir).
			{"label", "&label=1"},
		} {
			b.Run(r+"/"+f.name, func(b *testing.B) {
				timeWithCPU(b, in, "/analytics?tz=Europe/Berlin&range="+r+f.q, cookies, `class="stat__value"`)
			})
		}
	}
	b.Run("chart-svg/90d", func(b *testing.B) {
		timeWithCPU(b, in, "/analytics/charts/messages.svg?range=90d&tz=Europe/Berlin", cookies, "<svg")
	})
}

// BenchmarkAnalyticsExport: a chart's CSV; its size follows the range (a row per day or
// hour), never the number of messages, so memory stays flat.
func BenchmarkAnalyticsExport(b *testing.B) {
	in, cookies := startAnalyticsBench(b)
	b.ReportAllocs()
	timeWithCPU(b, in, "/analytics/export/messages.csv?range=90d&tz=Europe/Berlin", cookies, "\n")
}

func startAnalyticsBench(b *testing.B) (*inboxBench, []*http.Cookie) {
	b.Helper()
	if testing.Short() {
		b.Skip("needs generated history of 100,000 conversations")
	}
	n := 100_000
	if s := os.Getenv("ANALYTICS_BENCH_CONVERSATIONS"); s != "" {
		fmt.Sscan(s, &n)
	}
	src, err := analyticsgen.CachedDir(n, b.Logf)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(filepath.Join(src, db.FileName+suffix), filepath.Join(dir, db.FileName+suffix)); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
	}
	var f config.ServeFlags
	f.Addr, f.DataDir, f.LogLevel, f.LogFormat = "127.0.0.1:0", dir, "error", "text"
	f.IdleTimeout, f.AbsoluteTimeout = time.Hour, 12*time.Hour
	cfg, err := config.Serve(f)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Clock: clock.NewFake(analyticsgen.BenchNow),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	const email, password = "analyst.bench@example.com", "numbers tell the story"
	if _, err := a.Members.Create(context.Background(), members.NewMember{Email: email, Name: "Bench Analyst", Password: password, RoleKey: authz.RoleAnalyst}); err != nil {
		b.Fatal(err)
	}
	in := &inboxBench{app: a, h: a.Server.Handler()}
	form := url.Values{"email": {email}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	in.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	return in, rec.Result().Cookies()
}

// timeWithCPU is inboxBench.time plus the process's CPU time per request: requests are served
// one at a time, so on a shared machine (where wall time includes waiting for a core) CPU time
// is what a page view costs.
func timeWithCPU(b *testing.B, in *inboxBench, target string, cookies []*http.Cookie, marker string) {
	b.Helper()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	in.time(b, target, cookies, false, marker)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	// in.time serves 20 warm-up requests before the b.N timed ones.
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N+20), "cpu-ms/op")
}
