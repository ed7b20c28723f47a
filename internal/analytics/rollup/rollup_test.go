package rollup_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

var rollupNow = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// Messages arrive in any order (Meta's timestamps are the customer's clock; a send is stamped
// with ours), one by one or several per transaction: replies and first responses counted from
// the high-water mark must equal a rebuild after every step, whatever lands where.
func TestCatchUpMatchesRebuildForMessagesInAnyOrder(t *testing.T) {
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, rollupNow); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) sql.Result {
		t.Helper()
		res, err := d.W.ExecContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res
	}
	exec(`INSERT INTO wabas (id, waba_id, created_at, updated_at) VALUES (1, '1', 0, 0)`)
	exec(`INSERT INTO phone_numbers (id, waba_ref, phone_number_id, display_phone_number, created_at, updated_at) VALUES (1, 1, '11', '+1', 0, 0)`)
	exec(`INSERT INTO members (id, email, name, password_hash, role_id, created_at, updated_at, all_numbers)
		VALUES (7, 'a@example.com', 'A', 'x', (SELECT id FROM roles LIMIT 1), 0, 0, 1)`)
	rng := rand.New(rand.NewPCG(3, 9))
	base := rollupNow.UnixMilli()
	for c := 1; c <= 6; c++ {
		exec(`INSERT INTO contacts (id, wa_id, created_at, updated_at) VALUES (?, ?, 0, 0)`, c, fmt.Sprintf("4915%d", c))
		exec(`INSERT INTO conversations (id, contact_id, phone_number_id, last_message_at, created_at, updated_at) VALUES (?, ?, 1, 0, ?, 0)`, c, c, base)
	}
	for step := range 120 {
		// One to three messages per transaction, each at a random moment of two days, so
		// that most land between others.
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for range 1 + rng.IntN(3) {
				conv := 1 + rng.IntN(6)
				at := base + rng.Int64N(2*86_400_000)
				dir, by, tpl := "in", any(nil), ""
				switch r := rng.IntN(10); {
				case r < 3:
					dir, by = "out", 7
				case r < 5:
					dir, by, tpl = "out", 7, "order_update"
				case r < 6:
					dir = "out" // sent by automation or the API: no member
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, direction, type, text, status, sent_by, template_name, created_at)
					VALUES (?, ?, 'text', 'x', ?, ?, ?, ?)`, conv, dir, map[string]string{"in": "received", "out": "sent"}[dir], by, tpl, at); err != nil {
					return err
				}
			}
			delta := rollup.New()
			if err := delta.CatchUp(ctx, tx); err != nil {
				return err
			}
			return delta.Flush(ctx, tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		if step%10 != 9 {
			continue
		}
		live := figures(t, d)
		if err := d.Tx(ctx, func(tx *sql.Tx) error { return rollup.Rebuild(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if rebuilt := figures(t, d); !reflect.DeepEqual(live, rebuilt) {
			t.Fatalf("step %d: kept\n%v\nrebuilt\n%v", step, live, rebuilt)
		}
	}
}

// figures are the order-dependent rollup rows (replies, first responses) and the counts.
func figures(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT grain, t, member_id, template_name, inbound, outbound, sent, replies FROM analytics_messages
			WHERE inbound <> 0 OR outbound <> 0 OR sent <> 0 OR replies <> 0 ORDER BY 1, 2, 3, 4`,
		`SELECT grain, t, member_id, kind, bucket, n FROM analytics_durations WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5`,
		`SELECT t, inbound, outbound, replies FROM analytics_number_hours WHERE inbound <> 0 OR outbound <> 0 OR replies <> 0 ORDER BY 1`,
	} {
		rows, err := d.R.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(vals...))
		}
		rows.Close()
	}
	return out
}
