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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox/inboxgen"
)

// Server time of the inbox list and the conversation page over 100,000 conversations and
// 1,000,000 messages (INBOX_BENCH_CONVERSATIONS scales it) — session, access check, queries
// and the templ render, through the app's own handler. The target (issue 6) is a p95 of
// 15 ms or less.
//
//	go test -run '^$' -bench 'InboxPage|ConversationPage' -benchtime 200x ./web/
//
// The database is generated once by internal/inbox/inboxgen and cached under
// $TMPDIR/switchboard-bench; each benchmark starts the app on a copy of it.

func BenchmarkInboxPage(b *testing.B) {
	in := startInboxBench(b)
	agent, supervisor := in.signIn(b, inboxgen.AgentID), in.signIn(b, inboxgen.SupervisorID)
	for _, tc := range []struct {
		name, target string
		cookies      []*http.Cookie
		htmx         bool
	}{
		{"supervisor/all", "/inbox?box=all", supervisor, false},
		{"supervisor/unassigned", "/inbox?box=unassigned", supervisor, false},
		{"supervisor/all/htmx-poll", "/inbox?box=all", supervisor, true},
		{"agent/mine", "/inbox?box=mine", agent, false},
		{"supervisor/search-name", "/inbox?box=all&q=okafor", supervisor, false},
		{"supervisor/search-text", "/inbox?box=all&q=warranty+repair", supervisor, false},
		{"supervisor/search-common-word", "/inbox?box=all&q=order", supervisor, false},
		{"agent/search-text", "/inbox?box=all&q=refund", agent, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in.time(b, tc.target, tc.cookies, tc.htmx, `<li class="conversation-item`)
		})
	}
}

func BenchmarkConversationPage(b *testing.B) {
	in := startInboxBench(b)
	agent, supervisor := in.signIn(b, inboxgen.AgentID), in.signIn(b, inboxgen.SupervisorID)
	// A typical long conversation (50 to 100 messages) that the agent is assigned, on number 1.
	var typical, typicalLen int64
	if err := in.app.DB.R.QueryRow(`SELECT c.id, count(*) AS n FROM conversations c JOIN messages m ON m.conversation_id = c.id
		WHERE c.assignee_id = ? AND c.status = 'open' GROUP BY c.id HAVING n BETWEEN 50 AND 100 ORDER BY n DESC LIMIT 1`,
		inboxgen.AgentID).Scan(&typical, &typicalLen); err != nil {
		b.Fatalf("find a conversation of 50+ messages assigned to the agent: %v", err)
	}
	b.Logf("conversation %d: %d messages, assigned to the agent; conversation %d: %d messages",
		typical, typicalLen, inboxgen.Busiest, inboxgen.LongConversation)
	conv := func(id int64) string { return fmt.Sprintf("/conversations/%d", id) }
	for _, tc := range []struct {
		name, target string
		cookies      []*http.Cookie
		htmx         bool
	}{
		{fmt.Sprintf("supervisor/%d-messages", typicalLen), conv(typical), supervisor, false},
		{fmt.Sprintf("agent/%d-messages", typicalLen), conv(typical), agent, false},
		{fmt.Sprintf("supervisor/%d-messages", inboxgen.LongConversation), conv(inboxgen.Busiest), supervisor, false},
		{fmt.Sprintf("supervisor/%d-messages/htmx-poll", typicalLen), conv(typical) + "/messages", supervisor, true},
		{fmt.Sprintf("agent/%d-messages/htmx-poll", typicalLen), conv(typical) + "/messages", agent, true},
		{fmt.Sprintf("supervisor/%d-messages/htmx-poll", inboxgen.LongConversation), conv(inboxgen.Busiest) + "/messages", supervisor, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in.time(b, tc.target, tc.cookies, tc.htmx, `<li class="message `)
		})
	}
}

type inboxBench struct {
	app *app.App
	h   http.Handler
}

// startInboxBench starts the app, with the generator's clock, on a copy of the cached inbox.
func startInboxBench(b *testing.B) *inboxBench {
	b.Helper()
	if testing.Short() {
		b.Skip("needs a generated inbox of 100,000 conversations")
	}
	src, err := inboxgen.CachedDir(inboxgen.Size(), b.Logf)
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
	a, err := app.New(context.Background(), cfg, app.Options{Clock: clock.NewFake(inboxgen.Now),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return &inboxBench{app: a, h: a.Server.Handler()}
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// signIn signs a generated member in through the sign-in form; Agents and the Supervisor role
// do not require two-factor authentication.
func (in *inboxBench) signIn(b *testing.B, id int64) []*http.Cookie {
	b.Helper()
	form := url.Values{"email": {inboxgen.Email(id)}, "password": {inboxgen.Password}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	in.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		b.Fatalf("sign in as member %d: %d %s\n%.500s", id, rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	return rec.Result().Cookies()
}

// time serves target b.N times (after a warm-up) and reports the server time's percentiles.
// Every answer must be 200 and show at least one item marked by marker.
func (in *inboxBench) time(b *testing.B, target string, cookies []*http.Cookie, htmx bool, marker string) {
	b.Helper()
	var items int
	serve := func() time.Duration {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		in.h.ServeHTTP(rec, req)
		took := time.Since(start)
		items = strings.Count(rec.Body.String(), marker)
		if rec.Code != http.StatusOK || items == 0 {
			b.Fatalf("%s: %d, %d items\n%.500s", target, rec.Code, items, rec.Body.String())
		}
		return took
	}
	for range 20 { // warm the page cache and the pools, as a running server has them
		serve()
	}
	lat := make([]time.Duration, 0, 1024)
	for b.Loop() {
		lat = append(lat, serve())
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(ms(at(0.50)), "p50-ms")
	b.ReportMetric(ms(at(0.95)), "p95-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(items), "items")
}
