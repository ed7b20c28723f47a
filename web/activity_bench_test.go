package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/audit/auditgen"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// Server time of the activity page over a million events by 50 members — session, access
// check, query, the filter form's choices and the templ render — first page and 10,000
// matching events deep, unfiltered and filtered by actor and by action, while a writer
// appends 1,000 events a second. The target is a p95 under 10 ms.
//
//	go test -run '^$' -bench ActivityPage1M -benchtime 2000x ./web/
//
// The database is the one internal/audit's benchmarks generate, copied once and given its 50
// members; both are kept under $TMPDIR/switchboard-bench.
func BenchmarkActivityPage1M(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a generated database of a million events")
	}
	const events = 1_000_000
	dir, err := auditgen.CachedDir(fmt.Sprintf("web-activity-%d", events), func(dir string) error {
		src, err := auditgen.CachedEvents(events, b.Logf)
		if err != nil {
			return err
		}
		return withMembers(src, dir)
	})
	if err != nil {
		b.Fatal(err)
	}
	var f config.ServeFlags
	f.Addr, f.DataDir, f.LogLevel, f.LogFormat = "127.0.0.1:0", dir, "error", "text"
	f.IdleTimeout, f.AbsoluteTimeout = time.Hour, 12*time.Hour
	cfg, err := config.Serve(f)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	h := a.Server.Handler()
	cookies := benchSignIn(b, h)

	stop := benchWriter(b, a.Audit, 1000)
	defer stop()
	member := "actor=member%3A7"
	action := "action=member.signed_in"
	for _, tc := range []struct {
		name, query string
		filter      audit.Filter
		deep        bool
	}{
		{"unfiltered/first", "", audit.Filter{}, false},
		{"unfiltered/10k-deep", "", audit.Filter{}, true},
		{"actor/first", member, audit.Filter{ActorType: audit.ActorMember, ActorID: "7"}, false},
		{"actor/10k-deep", member, audit.Filter{ActorType: audit.ActorMember, ActorID: "7"}, true},
		{"action/first", action, audit.Filter{Action: "member.signed_in"}, false},
		{"action/10k-deep", action, audit.Filter{Action: "member.signed_in"}, true},
		{"htmx-partial/actor/first", member, audit.Filter{ActorType: audit.ActorMember, ActorID: "7"}, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			target := "/activity?" + tc.query
			if tc.deep {
				target += "&before=" + strconv.FormatInt(deepBefore(b, a.Audit, tc.filter, 10_000), 10)
			}
			serve := func() time.Duration {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				if strings.HasPrefix(tc.name, "htmx") {
					req.Header.Set("HX-Request", "true")
				}
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				took := time.Since(start)
				if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `class="activity-table__when"`) != 50 {
					b.Fatalf("%s: %d\n%.500s", target, rec.Code, rec.Body.String())
				}
				return took
			}
			for range 20 { // warm the page cache and the pools, as a running server has them
				serve()
			}
			lat := make([]time.Duration, 0, 4096)
			for b.Loop() {
				lat = append(lat, serve())
			}
			slices.Sort(lat)
			for _, p := range []struct {
				q    float64
				unit string
			}{{0.50, "p50-ms"}, {0.95, "p95-ms"}, {0.99, "p99-ms"}} {
				b.ReportMetric(float64(lat[min(len(lat)-1, int(p.q*float64(len(lat))))])/float64(time.Millisecond), p.unit)
			}
		})
	}
}

// withMembers copies the generated log into dir and adds the 50 members who act in it (ids 1
// to 50, as generated) and an auditor to sign in as.
func withMembers(src, dir string) error {
	ctx := context.Background()
	s, err := db.OpenFile(ctx, filepath.Join(src, db.FileName))
	if err != nil {
		return err
	}
	err = s.Backup(ctx, filepath.Join(dir, db.FileName))
	s.Close()
	if err != nil {
		return err
	}
	core, err := app.OpenCore(ctx, app.CoreOptions{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer core.Close()
	for i, m := range auditgen.DefaultMembers() {
		_, err := core.Members.Create(ctx, members.NewMember{
			Email: fmt.Sprintf("member%d@example.com", i+1), Name: m.Name, Password: "generated member password " + strconv.Itoa(i), RoleKey: authz.RoleAgent,
		})
		if err != nil {
			return err
		}
	}
	_, err = core.Members.Create(ctx, members.NewMember{Email: "auditor@example.com", Name: "Bench Auditor", Password: benchPassword, RoleKey: authz.RoleAuditor})
	return err
}

const benchPassword = "benchmark auditor passphrase"

func benchSignIn(b *testing.B, h http.Handler) []*http.Cookie {
	b.Helper()
	form := url.Values{"email": {"auditor@example.com"}, "password": {benchPassword}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("sign in: %d\n%s", rec.Code, rec.Body.String())
	}
	return rec.Result().Cookies()
}

// deepBefore pages through the filtered log, as the page would, to the cursor n events deep.
func deepBefore(b *testing.B, log *audit.Log, f audit.Filter, n int) int64 {
	b.Helper()
	q := audit.ListQuery{Filter: f, Limit: 500}
	for seen := 0; seen < n; {
		evs, p, err := log.List(context.Background(), q)
		if err != nil || len(evs) == 0 {
			b.Fatalf("paging to %d: %v", n, err)
		}
		seen += len(evs)
		q.BeforeID = p.Before
	}
	return q.BeforeID
}

// benchWriter records perSecond events a second, each in its own transaction, until stopped.
func benchWriter(b *testing.B, log *audit.Log, perSecond int) (stop func()) {
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
				if _, err := log.Record(ctx, audit.Event{Actor: audit.MemberActor(3, "Katherine Lovelace"), Action: "message.sent"}); err != nil {
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
		b.Logf("background writer: %d events in %s (%.0f/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	}
}
