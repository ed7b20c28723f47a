package inbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/inbox/inboxgen"
	"github.com/switchboard/switchboard/internal/members"
)

// The list benchmarks run over the inbox inboxgen generates: 100k conversations and 1M messages
// by default (INBOX_BENCH_CONVERSATIONS scales it). The database is built once under
// os.TempDir() and reused; the web benchmarks use the same one.
//
//	go test ./internal/inbox -run '^$' -bench 'BenchmarkList|BenchmarkConversationMessages|BenchmarkCounts' -benchtime 300x

type benchInbox struct {
	d     *db.DB
	svc   *inbox.Service
	admin *authz.Principal
	// agent sees one number, assigned-only; supervisor sees two numbers, all, and assigns.
	agent, supervisor *authz.Principal
	busiest           int64 // a conversation with many messages
}

var (
	benchInboxOnce sync.Once
	benchInboxVal  *benchInbox
	benchInboxErr  error
)

const longConversation = inboxgen.LongConversation

func loadBenchInbox(b *testing.B) *benchInbox {
	b.Helper()
	benchInboxOnce.Do(func() { benchInboxVal, benchInboxErr = buildBenchInbox(b, inboxgen.Size()) })
	if benchInboxErr != nil {
		b.Fatal(benchInboxErr)
	}
	return benchInboxVal
}

func buildBenchInbox(b *testing.B, conversations int) (*benchInbox, error) {
	ctx := context.Background()
	dir, err := inboxgen.CachedDir(conversations, b.Logf)
	if err != nil {
		return nil, err
	}
	// These benchmarks only read, so the shared database is used in place.
	d, err := db.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	clk := clock.NewFake(inboxgen.Now)
	bi := &benchInbox{d: d, svc: inbox.NewService(d, audit.New(d, clk), clk, nil), busiest: inboxgen.Busiest}
	store := members.NewStore(d)
	load := func(id int64) *authz.Principal {
		p, _, err := store.Principal(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	bi.admin, bi.agent, bi.supervisor = load(inboxgen.AdministratorID), load(inboxgen.AgentID), load(inboxgen.SupervisorID)
	return bi, nil
}

func measure(b *testing.B, fn func() error) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func BenchmarkList(b *testing.B) {
	bi := loadBenchInbox(b)
	ctx := context.Background()
	cases := []struct {
		name string
		p    *authz.Principal
		q    inbox.ListQuery
		deep bool // follow the cursor three pages deep
	}{
		{"admin/all", bi.admin, inbox.ListQuery{Box: inbox.BoxAll}, false},
		{"admin/all/page4", bi.admin, inbox.ListQuery{Box: inbox.BoxAll}, true},
		{"admin/mine", bi.admin, inbox.ListQuery{Box: inbox.BoxMine}, false},
		{"admin/unassigned", bi.admin, inbox.ListQuery{Box: inbox.BoxUnassigned}, false},
		{"admin/escalated", bi.admin, inbox.ListQuery{Box: inbox.BoxEscalated}, false},
		{"admin/closed", bi.admin, inbox.ListQuery{Box: inbox.BoxClosed}, false},
		{"agent/mine", bi.agent, inbox.ListQuery{Box: inbox.BoxMine}, false},
		{"agent/all", bi.agent, inbox.ListQuery{Box: inbox.BoxAll}, false},
		{"supervisor/all", bi.supervisor, inbox.ListQuery{Box: inbox.BoxAll}, false},
		{"supervisor/unassigned", bi.supervisor, inbox.ListQuery{Box: inbox.BoxUnassigned}, false},
		{"supervisor/escalated", bi.supervisor, inbox.ListQuery{Box: inbox.BoxEscalated}, false},
		{"admin/search-name", bi.admin, inbox.ListQuery{Box: inbox.BoxAll, Search: "okafor"}, false},
		{"admin/search-text", bi.admin, inbox.ListQuery{Box: inbox.BoxAll, Search: "warranty repair"}, false},
		{"admin/search-common-word", bi.admin, inbox.ListQuery{Box: inbox.BoxAll, Search: "order"}, false},
		{"admin/search-last4", bi.admin, inbox.ListQuery{Box: inbox.BoxAll, Search: "4321"}, false},
		{"agent/search-text", bi.agent, inbox.ListQuery{Box: inbox.BoxAll, Search: "refund"}, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			if c.deep {
				for range 3 {
					page, err := bi.svc.List(ctx, c.p, q)
					if err != nil {
						b.Fatal(err)
					}
					q.Before = page.Next
				}
			}
			var rows int
			measure(b, func() error {
				page, err := bi.svc.List(ctx, c.p, q)
				rows = len(page.Conversations)
				return err
			})
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

func BenchmarkCounts(b *testing.B) {
	bi := loadBenchInbox(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    *authz.Principal
	}{{"admin", bi.admin}, {"agent", bi.agent}, {"supervisor", bi.supervisor}} {
		b.Run(c.name, func(b *testing.B) {
			measure(b, func() error {
				_, err := bi.svc.Counts(ctx, c.p)
				return err
			})
		})
	}
}

func BenchmarkConversationMessages(b *testing.B) {
	bi := loadBenchInbox(b)
	ctx := context.Background()
	b.Run("get", func(b *testing.B) {
		measure(b, func() error {
			_, err := bi.svc.Get(ctx, bi.admin, bi.busiest)
			return err
		})
	})
	b.Run("newest-50", func(b *testing.B) {
		measure(b, func() error {
			_, err := bi.svc.Messages(ctx, bi.admin, bi.busiest, 0, 50)
			return err
		})
	})
	b.Run("older-50-halfway", func(b *testing.B) {
		var before int64
		if err := bi.d.R.QueryRowContext(ctx, `SELECT id FROM messages WHERE conversation_id = ?
			ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`, bi.busiest, longConversation/2).Scan(&before); err != nil {
			b.Fatal(err)
		}
		measure(b, func() error {
			_, err := bi.svc.Messages(ctx, bi.admin, bi.busiest, before, 50)
			return err
		})
	})
}
