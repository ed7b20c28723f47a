package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// countingWriter is a ResponseWriter that keeps nothing of the body: it counts bytes and rows,
// so the allocations measured are the export's own, not a recorder's buffer.
type countingWriter struct {
	h     http.Header
	code  int
	bytes int64
	rows  int64
}

func (w *countingWriter) Header() http.Header  { return w.h }
func (w *countingWriter) WriteHeader(code int) { w.code = code }
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.bytes += int64(len(p))
	w.rows += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}
func (w *countingWriter) Flush() {}

// BenchmarkCSVExports downloads each CSV export of the Analytics and Usage pages and the
// contacts export (100,000 contacts) from the generated history of 100,000 conversations
// (ANALYTICS_BENCH_CONVERSATIONS scales it) and reports the bytes allocated per CSV row: an
// export that streams rows keeps this flat however large the data set; one that builds the
// file in memory grows it with the rows. The analytics tables are rollup-sized (a row per day,
// number, agent or template), so their rows stay few; contacts stream from rows.Next to the
// response through csv.Writer.
//
//	go test -run '^$' -bench CSVExports -benchtime 10x ./web/
func BenchmarkCSVExports(b *testing.B) {
	in, analyst := startAnalyticsBench(b)
	// A custom role that exports everything (built-in roles that hold contacts.export ask for a
	// second factor at sign-in).
	ctx := context.Background()
	owner, err := in.app.Members.Create(ctx, members.NewMember{Email: "owner.bench@example.com", Name: "Bench Owner",
		Password: "not used for signing in", RoleKey: authz.RoleAdministrator})
	if err != nil {
		b.Fatal(err)
	}
	op, _, err := in.app.Members.Store().Principal(ctx, owner.ID)
	if err != nil {
		b.Fatal(err)
	}
	role, err := in.app.Members.CreateRole(ctx, op, members.RoleInput{Name: "Bench exporter"}, authz.NewSet(authz.ContactsExport,
		authz.ConversationsViewAll, authz.ReportsExport, authz.BillingView, authz.AnalyticsView))
	if err != nil {
		b.Fatal(err)
	}
	if role, err = in.app.Members.Store().RoleByID(ctx, role.ID); err != nil {
		b.Fatal(err)
	}
	const email, password = "exporter.bench@example.com", "exports stream row by row"
	if _, err := in.app.Members.Create(ctx, members.NewMember{Email: email, Name: "Bench Exporter", Password: password, RoleKey: role.Key}); err != nil {
		b.Fatal(err)
	}
	admin := exportBenchSignIn(b, in.h, email, password)
	for _, tc := range []struct {
		name, path string
		cookies    []*http.Cookie
	}{
		{"analytics-messages-90d", "/analytics/export/messages.csv?range=90d&tz=Europe/Berlin", analyst},
		{"analytics-agents-90d", "/analytics/export/agents.csv?range=90d", analyst},
		{"analytics-templates-90d", "/analytics/export/templates.csv?range=90d", analyst},
		{"analytics-messages-today-hourly", "/analytics/export/messages.csv?range=today", analyst},
		{"usage-cloud-api", "/usage/export/cloud-api.csv", admin},
		{"contacts", "/contacts/export", admin},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var rows, size int64
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			for range b.N {
				req := httptest.NewRequest(http.MethodGet, tc.path, nil)
				for _, c := range tc.cookies {
					req.AddCookie(c)
				}
				w := &countingWriter{h: http.Header{}}
				in.h.ServeHTTP(w, req)
				if w.code != http.StatusOK || !strings.HasPrefix(w.h.Get("Content-Type"), "text/csv") {
					b.Fatalf("%s: %d %s", tc.path, w.code, w.h.Get("Content-Type"))
				}
				rows, size = w.rows, w.bytes
			}
			runtime.ReadMemStats(&ms1)
			if rows > 0 {
				b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/float64(rows), "B/row")
			}
			b.ReportMetric(float64(rows), "rows")
			b.ReportMetric(float64(size), "bytes")
		})
	}
}

func exportBenchSignIn(b *testing.B, h http.Handler, email, password string) []*http.Cookie {
	b.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	return rec.Result().Cookies()
}
