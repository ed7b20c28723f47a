// Package inboxgen builds a large, realistic inbox for benchmarks: by default 100,000
// conversations and 1,000,000 messages over a year, with the members, roles, WABA and phone
// numbers the web layer needs to sign members in and show them the inbox. The database is
// built once under os.TempDir(), keyed by size, generator version and db.Layout (the migrations
// and the page size), and reused by later runs.
//
// The inbox's own list benchmarks (internal/inbox, an external test package) and the web
// page benchmarks both use it.
package inboxgen

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/db/benchdb"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
)

// version changes whenever the generated data changes, so that cached databases are rebuilt.
const version = "3"

// The members who can sign in (the other 47 are agents with an unusable password hash).
const (
	// AdministratorID sees every number. The Administrator role requires two-factor
	// authentication: enrol them in-process (as apptest.EnrolTOTP does) before signing in.
	AdministratorID int64 = 1
	// AgentID is an Agent on number 1 who sees the conversations assigned to them; about a
	// sixth of number 1's open conversations are.
	AgentID int64 = 2
	// SupervisorID has a custom "Supervisor" role (view all, assign, send text; no 2FA
	// requirement) on numbers 1 and 2.
	SupervisorID int64 = 3
	// Password is the password of the three members above.
	Password = "inbox benchmark passphrase"
	// Members is how many members there are.
	Members = 50
	// Busiest is a conversation on number 1 with LongConversation messages.
	Busiest int64 = 1
	// LongConversation is the length of conversation Busiest's history.
	LongConversation = 5000
)

// Email is the sign-in address of member id.
func Email(id int64) string { return fmt.Sprintf("m%d@example.com", id) }

// Now is the generator's present: the newest message is at most this old. Servers over the
// generated data should run with a clock set to it, so that windows and relative times are
// as a live inbox has them.
var Now = time.Date(2027, 6, 5, 9, 0, 0, 0, time.UTC)

// Words is the vocabulary of message texts: every word is common, a pessimistic case for search.
var Words = strings.Fields(`order parcel delivery refund invoice payment shipping address tracking
	cancel return broken size colour price discount voucher account password login store opening
	hours table booking reservation appointment doctor delivery late missing item wrong replace
	thanks hello please urgent tomorrow today monday friday weekend receipt warranty repair`)

// Size is the number of conversations to generate: INBOX_BENCH_CONVERSATIONS, or 100,000.
func Size() int {
	if s := os.Getenv("INBOX_BENCH_CONVERSATIONS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// CachedDir returns a data directory holding a generated database (db.FileName) of n
// conversations and 10n messages, building it on first use. The directory is shared: copy the
// database before changing it. logf, if not nil, is told how long generation took.
func CachedDir(n int, logf func(format string, args ...any)) (string, error) {
	return benchdb.Dir(fmt.Sprintf("inbox-%d", n), version, func(dir string) error {
		start := time.Now()
		if err := build(dir, n); err != nil {
			return err
		}
		if logf != nil {
			logf("generated %d conversations, %d messages in %v at %s", n, 10*n, time.Since(start).Round(time.Second), dir)
		}
		return nil
	})
}

func build(dir string, n int) error {
	ctx := context.Background()
	d, err := db.Open(ctx, dir)
	if err != nil {
		return err
	}
	if err := Generate(ctx, d, n, Now); err != nil {
		d.Close()
		return err
	}
	// The analytics rollups up to date, as in a workspace that received these messages: left
	// behind, the first webhook batch of a load would count the whole history.
	if err := d.Tx(ctx, func(tx *sql.Tx) error { return rollup.Rebuild(ctx, tx) }); err != nil {
		d.Close()
		return fmt.Errorf("rollups: %w", err)
	}
	// Leave one self-contained file behind: no WAL to copy along.
	if _, err := d.W.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// Generate writes into the migrated, empty database d: one WABA with 4 numbers, 50 members
// (see AdministratorID, AgentID and SupervisorID; the rest are agents spread over the
// numbers), and n conversations with 10n messages: 40 % open, 70 % of open ones assigned, 3 %
// escalated, 20 % unread; message counts skewed (a few long conversations, conversation
// Busiest with LongConversation messages), text from Words. No secrets are stored: the WABA
// has no credentials, so the database works with any secret key.
func Generate(ctx context.Context, d *db.DB, n int, now time.Time) error {
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, now); err != nil {
		return err
	}
	verifier, err := auth.NewVerifier(auth.DefaultPasswordParams)
	if err != nil {
		return err
	}
	hash, err := verifier.Hash(Password)
	if err != nil {
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
	if err := exec(`INSERT INTO wabas (id, waba_id, name, created_at, updated_at) VALUES (1, '2000', 'Generated WABA', 0, 0)`); err != nil {
		return err
	}
	for i := 1; i <= 4; i++ {
		if err := exec(`INSERT INTO phone_numbers (id, waba_ref, phone_number_id, display_phone_number, verified_name, quality_rating, created_at, updated_at)
			VALUES (?, 1, ?, ?, ?, 'GREEN', 0, 0)`,
			i, strconv.Itoa(1065403522429+i), fmt.Sprintf("+1 555-000-%04d", i), fmt.Sprintf("Generated Shop %d", i)); err != nil {
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
	for m := int64(1); m <= Members; m++ {
		role, all, pw := roleOf(authz.RoleAgent), 0, "x"
		switch m {
		case AdministratorID:
			role, all = roleOf(authz.RoleAdministrator), 1
		case SupervisorID:
			role = 100
		}
		if m <= 3 {
			pw = hash
		}
		if err := exec(`INSERT INTO members (id, email, name, password_hash, role_id, created_at, updated_at, all_numbers) VALUES (?, ?, ?, ?, ?, 0, 0, ?)`,
			m, Email(m), fmt.Sprintf("Member %d", m), pw, role, all); err != nil {
			return err
		}
		if all == 0 {
			nums := []int64{1 + (m % 4)}
			if m == AgentID {
				nums = []int64{1}
			}
			if m == SupervisorID {
				nums = []int64{1, 2}
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
		if int64(c) == Busiest {
			number = 1 // where the Agent and the Supervisor see it
		}
		open := rng.IntN(10) < 4
		status := "closed"
		var assignee, escBy, escAt any
		escalated, reason, unread := 0, "", 0
		last := end - rng.Int64N(span)
		if open {
			status = "open"
			if rng.IntN(10) < 7 {
				// Agents work their own number; the rest of the team is spread evenly.
				a := int64(4 + rng.IntN(Members-3))
				if number == 1 && rng.IntN(3) == 0 {
					a = AgentID
				}
				assignee = a
			}
			if rng.IntN(100) < 3 {
				escalated, reason, escBy, escAt = 1, "needs a supervisor", AgentID, last
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
		if int64(c) == Busiest {
			k = LongConversation // a long-standing customer
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
		if int64(pending[i].conv) != Busiest {
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
			by = AdministratorID
			if m.by != 0 {
				by = int64(m.by)
			}
		}
		words := make([]string, 4+rng.IntN(8))
		for w := range words {
			words[w] = Words[rng.IntN(len(Words))]
		}
		if _, err := insMsg.ExecContext(ctx, m.conv, dir, fmt.Sprintf("wamid.gen.%d", i), strings.Join(words, " "), st, by, m.at); err != nil {
			return err
		}
	}
	if err := (&inbox.Service{}).IndexSearch(ctx, tx); err != nil {
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
