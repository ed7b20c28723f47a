package inbox

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/migrations"
)

// The list benchmarks run over a generated inbox: 100k conversations and 1M messages by
// default (INBOX_BENCH_CONVERSATIONS scales it; ten messages per conversation). The database is
// built once under os.TempDir(), keyed by size and by the inbox migration's content, and reused.
//
//	go test ./internal/inbox -run '^$' -bench 'BenchmarkList|BenchmarkConversationMessages|BenchmarkCounts' -benchtime 300x

const benchGeneratorVersion = "2"

type benchInbox struct {
	d     *db.DB
	svc   *Service
	admin *authz.Principal
	// agent sees one number, assigned-only; supervisor sees two numbers, all, and assigns.
	agent, supervisor *authz.Principal
	busiest           int64 // a conversation with many messages
	words             []string
}

var (
	benchInboxOnce sync.Once
	benchInboxVal  *benchInbox
	benchInboxErr  error
)

func benchSize() int {
	if s := os.Getenv("INBOX_BENCH_CONVERSATIONS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

var benchWords = strings.Fields(`order parcel delivery refund invoice payment shipping address tracking
	cancel return broken size colour price discount voucher account password login store opening
	hours table booking reservation appointment doctor delivery late missing item wrong replace
	thanks hello please urgent tomorrow today monday friday weekend receipt warranty repair`)

func loadBenchInbox(b *testing.B) *benchInbox {
	b.Helper()
	benchInboxOnce.Do(func() { benchInboxVal, benchInboxErr = buildBenchInbox(b, benchSize()) })
	if benchInboxErr != nil {
		b.Fatal(benchInboxErr)
	}
	return benchInboxVal
}

func migrationHash() string {
	h := sha256.New()
	h.Write([]byte(benchGeneratorVersion))
	entries, _ := migrations.FS.ReadDir(".")
	for _, e := range entries {
		if strings.Contains(e.Name(), "inbox") {
			b, _ := migrations.FS.ReadFile(e.Name())
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func buildBenchInbox(b *testing.B, conversations int) (*benchInbox, error) {
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("switchboard-inbox-bench-%d-%s", conversations, migrationHash()))
	ready := filepath.Join(dir, "ready")
	_, err := os.Stat(ready)
	fresh := err != nil
	if fresh {
		os.RemoveAll(dir)
	}
	d, err := db.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	clk := clock.NewFake(testStart.Add(400 * 24 * time.Hour))
	if fresh {
		start := time.Now()
		if err := generateInbox(ctx, d, conversations, clk.Now()); err != nil {
			d.Close()
			return nil, err
		}
		if err := os.WriteFile(ready, nil, 0o600); err != nil {
			return nil, err
		}
		b.Logf("generated %d conversations, %d messages in %v at %s", conversations, conversations*10, time.Since(start).Round(time.Second), dir)
	}
	bi := &benchInbox{d: d, svc: NewService(d, audit.New(d, clk), clk, nil), words: benchWords}
	store := members.NewStore(d)
	load := func(id int64) *authz.Principal {
		p, _, err := store.Principal(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	bi.admin, bi.agent, bi.supervisor = load(1), load(2), load(3)
	bi.busiest = 1
	return bi, nil
}

// generateInbox writes 4 numbers, 50 members (1: Administrator; 2: an Agent on number 1; 3: a
// supervisor with view_all and assign on numbers 1–2; the rest agents), and n conversations
// with 10n messages: 40 % open, 70 % of open ones assigned, 3 % escalated, 20 % unread; message
// counts skewed (a few long conversations, conversation 1 with 5,000 messages), text from a
// small vocabulary (so every word is common: a pessimistic case for search).
func generateInbox(ctx context.Context, d *db.DB, n int, now time.Time) error {
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, now); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(42, 42))
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	if err := exec(`INSERT INTO wabas (id, waba_id, created_at, updated_at) VALUES (1, '2000', 0, 0)`); err != nil {
		return err
	}
	for i := 1; i <= 4; i++ {
		if err := exec(`INSERT INTO phone_numbers (id, waba_ref, phone_number_id, display_phone_number, created_at, updated_at) VALUES (?, 1, ?, ?, 0, 0)`,
			i, strconv.Itoa(1065403522429+i), fmt.Sprintf("+1 555-000-%04d", i)); err != nil {
			return err
		}
	}
	if err := exec(`INSERT INTO roles (id, key, name, created_at, updated_at) VALUES (100, 'supervisor', 'Supervisor', 0, 0)`); err != nil {
		return err
	}
	for _, p := range []authz.Permission{authz.ConversationsViewAll, authz.ConversationsAssign, authz.MessagesSendText} {
		if err := exec(`INSERT INTO role_permissions (role_id, permission) VALUES (100, ?)`, p.ID()); err != nil {
			return err
		}
	}
	roleOf := func(key string) (id int64) {
		tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE key = ?`, key).Scan(&id)
		return id
	}
	const memberCount = 50
	for m := 1; m <= memberCount; m++ {
		role, all := roleOf(authz.RoleAgent), 0
		switch m {
		case 1:
			role, all = roleOf(authz.RoleAdministrator), 1
		case 3:
			role = 100
		}
		if err := exec(`INSERT INTO members (id, email, name, password_hash, role_id, created_at, updated_at, all_numbers) VALUES (?, ?, ?, 'x', ?, 0, 0, ?)`,
			m, fmt.Sprintf("m%d@example.com", m), fmt.Sprintf("Member %d", m), role, all); err != nil {
			return err
		}
		if all == 0 {
			nums := []int{1 + (m % 4)}
			if m == 2 {
				nums = []int{1}
			}
			if m == 3 {
				nums = []int{1, 2}
			}
			for _, num := range nums {
				if err := exec(`INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, m, num); err != nil {
					return err
				}
			}
		}
	}
	prep := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }
	insContact, err := prep(`INSERT INTO contacts (id, wa_id, profile_name, created_at, updated_at) VALUES (?, ?, ?, 0, 0)`)
	if err != nil {
		return err
	}
	insConv, err := prep(`INSERT INTO conversations (id, contact_id, phone_number_id, status, assignee_id, escalated, escalation_reason,
		escalated_by, escalated_at, last_inbound_at, last_message_at, unread_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0)`)
	if err != nil {
		return err
	}
	insPart, err := prep(`INSERT OR IGNORE INTO conversation_participants (conversation_id, member_id, why, at) VALUES (?, ?, ?, 0)`)
	if err != nil {
		return err
	}
	insMsg, err := prep(`INSERT INTO messages (conversation_id, direction, wamid, type, text, status, sent_by, created_at)
		VALUES (?, ?, ?, 'text', ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	first := []string{"Sheena", "Pablo", "Maria", "Jonas", "Aisha", "Chen", "Olga", "Tom", "Fatima", "Lars", "Priya", "Diego"}
	last := []string{"Nelson", "Diaz", "Müller", "Okafor", "Rossi", "Nakamura", "Silva", "Kowalski", "Haddad", "Smith"}
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	end := now.UnixMilli()
	msgTotal := 0
	var pending []genMessage
	for c := 1; c <= n; c++ {
		name := first[rng.IntN(len(first))] + " " + last[rng.IntN(len(last))]
		if rng.IntN(20) == 0 {
			name = fmt.Sprintf("+49 151 %08d", c) // a name that is a number
		}
		if _, err := insContact.ExecContext(ctx, c, fmt.Sprintf("49151%08d", c), name); err != nil {
			return err
		}
		number := 1 + rng.IntN(4)
		open := rng.IntN(10) < 4
		status := "closed"
		var assignee, escBy, escAt any
		escalated, reason, unread := 0, "", 0
		last := end - rng.Int64N(span)
		if open {
			status = "open"
			if rng.IntN(10) < 7 {
				// Agents work their own number; the rest of the team is spread evenly.
				a := int64(4 + rng.IntN(memberCount-3))
				if number == 1 && rng.IntN(3) == 0 {
					a = 2
				}
				assignee = a
			}
			if rng.IntN(100) < 3 {
				escalated, reason, escBy, escAt = 1, "needs a supervisor", int64(2), last
			}
			if rng.IntN(5) == 0 {
				unread = 1 + rng.IntN(3)
			}
		}
		if _, err := insConv.ExecContext(ctx, c, c, number, status, assignee, escalated, reason, escBy, escAt, last, last, unread); err != nil {
			return err
		}
		if assignee != nil {
			if _, err := insPart.ExecContext(ctx, c, assignee, "assigned"); err != nil {
				return err
			}
		}
		k := 10
		switch r := rng.IntN(100); {
		case r < 60:
			k = 1 + rng.IntN(8)
		case r < 95:
			k = 8 + rng.IntN(12)
		default:
			k = 20 + rng.IntN(60)
		}
		if c == 1 {
			k = longConversation // a long-standing customer, for the paging benchmark
		}
		at := last - int64(k)*60_000
		for j := range k {
			at += 60_000
			pending = append(pending, genMessage{conv: int32(c), seq: int32(j), at: at, by: int32(nullInt(assignee))})
		}
		msgTotal += k
		if assignee != nil && k > 1 {
			if _, err := insPart.ExecContext(ctx, c, assignee, "replied"); err != nil {
				return err
			}
		}
	}
	// Messages go in in time order, as they arrive in life, so that ids grow with time; the
	// total is brought to ten per conversation by trimming or topping up random ones.
	for msgTotal > 10*n {
		i := rng.IntN(len(pending))
		if pending[i].conv != 1 {
			pending[i] = pending[len(pending)-1]
			pending = pending[:len(pending)-1]
			msgTotal--
		}
	}
	for ; msgTotal < 10*n; msgTotal++ {
		m := pending[rng.IntN(len(pending))]
		m.seq += 1000
		m.at -= 30_000
		pending = append(pending, m)
	}
	slices.SortFunc(pending, func(a, b genMessage) int { return cmp.Compare(a.at, b.at) })
	for i, m := range pending {
		dir, st, by := "in", "received", any(nil)
		if m.seq%2 == 1 {
			dir, st = "out", "read"
			by = int64(1)
			if m.by != 0 {
				by = int64(m.by)
			}
		}
		words := make([]string, 4+rng.IntN(8))
		for w := range words {
			words[w] = benchWords[rng.IntN(len(benchWords))]
		}
		if _, err := insMsg.ExecContext(ctx, m.conv, dir, fmt.Sprintf("wamid.gen.%d", i), strings.Join(words, " "), st, by, m.at); err != nil {
			return err
		}
	}
	if err := (&Service{}).IndexSearch(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// What a long-running server has after PRAGMA optimize: statistics for the planner.
	if _, err := d.W.ExecContext(ctx, `ANALYZE`); err != nil {
		return err
	}
	_, err = d.W.ExecContext(ctx, `INSERT INTO messages_fts(messages_fts) VALUES ('optimize')`)
	return err
}

// longConversation is the length of conversation 1's history.
const longConversation = 5000

type genMessage struct {
	conv, seq, by int32
	at            int64
}

func nullInt(v any) int64 {
	if id, ok := v.(int64); ok {
		return id
	}
	return 0
}

// measure runs fn b.N times and reports the server-side latency percentiles.
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
		q    ListQuery
		deep bool // follow the cursor three pages deep
	}{
		{"admin/all", bi.admin, ListQuery{Box: BoxAll}, false},
		{"admin/all/page4", bi.admin, ListQuery{Box: BoxAll}, true},
		{"admin/mine", bi.admin, ListQuery{Box: BoxMine}, false},
		{"admin/unassigned", bi.admin, ListQuery{Box: BoxUnassigned}, false},
		{"admin/escalated", bi.admin, ListQuery{Box: BoxEscalated}, false},
		{"admin/closed", bi.admin, ListQuery{Box: BoxClosed}, false},
		{"agent/mine", bi.agent, ListQuery{Box: BoxMine}, false},
		{"agent/all", bi.agent, ListQuery{Box: BoxAll}, false},
		{"supervisor/all", bi.supervisor, ListQuery{Box: BoxAll}, false},
		{"supervisor/unassigned", bi.supervisor, ListQuery{Box: BoxUnassigned}, false},
		{"supervisor/escalated", bi.supervisor, ListQuery{Box: BoxEscalated}, false},
		{"admin/search-name", bi.admin, ListQuery{Box: BoxAll, Search: "okafor"}, false},
		{"admin/search-text", bi.admin, ListQuery{Box: BoxAll, Search: "warranty repair"}, false},
		{"admin/search-common-word", bi.admin, ListQuery{Box: BoxAll, Search: "order"}, false},
		{"admin/search-last4", bi.admin, ListQuery{Box: BoxAll, Search: "4321"}, false},
		{"agent/search-text", bi.agent, ListQuery{Box: BoxAll, Search: "refund"}, false},
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
