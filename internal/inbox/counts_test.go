package inbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// scannedCounts counts the boxes by reading the conversations through visibilityClause, as
// Counts did before the counters: the reference the counters must equal.
func scannedCounts(t *testing.T, d *db.DB, v authz.Visibility, memberID int64) [5]int {
	t.Helper()
	vis, args := visibilityClause(v, "c")
	var out [5]int
	for i, cond := range []string{
		"c.status = 'open' AND c.assignee_id = ?",
		"c.status = 'open' AND c.assignee_id IS NULL",
		"c.status = 'open' AND c.escalated = 1",
		"c.status = 'open'",
		"c.status = 'open' AND c.unread_count > 0",
	} {
		var condArgs []any
		if i == 0 {
			condArgs = []any{memberID}
		}
		if err := d.R.QueryRow(`SELECT count(*) FROM conversations c WHERE `+cond+` AND `+vis,
			append(condArgs, args...)...).Scan(&out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestBoxCountersMatchScans changes conversations at random, through SQL as any writer could
// (assigning, reassigning while involved, escalating, closing, reopening, unread going up and
// back to zero, participants joining and leaving for each reason, conversations erased), and
// after every few changes checks, for random visibilities, that the counters of
// migrations/0027 give exactly the counts of a scan through visibilityClause.
func TestBoxCountersMatchScans(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, clock.NewFake(testStart).Now()); err != nil {
		t.Fatal(err)
	}
	const numbers = 3
	seedNumbers(t, d, numbers)
	var memberIDs []int64
	for i := range 5 {
		memberIDs = append(memberIDs, insertMember(t, d, fmt.Sprintf("Member %d", i), authz.RoleAgent))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func() int64 { return memberIDs[rng.IntN(len(memberIDs))] }
	whys := []string{"assigned", "escalated", "replied"}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.W.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var convs []int64
	for i := range 80 {
		res, err := d.W.ExecContext(ctx, `INSERT INTO contacts (wa_id, created_at, updated_at) VALUES (?, 0, 0)`, fmt.Sprintf("49152%08d", i))
		if err != nil {
			t.Fatal(err)
		}
		contact, _ := res.LastInsertId()
		var assignee any
		if rng.IntN(2) == 0 {
			assignee = pick()
		}
		status := "open"
		if rng.IntN(5) == 0 {
			status = "closed"
		}
		res, err = d.W.ExecContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, status, assignee_id, escalated,
			last_message_at, unread_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, 0, 0)`,
			contact, rng.IntN(numbers)+1, status, assignee, rng.IntN(4)/3, rng.IntN(2))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		convs = append(convs, id)
	}
	check := func(step int) {
		t.Helper()
		for range 12 {
			v := authz.Visibility{None: rng.IntN(12) == 0, AllNumbers: rng.IntN(3) == 0}
			for n := int64(1); n <= numbers+1; n++ {
				if rng.IntN(2) == 0 {
					v.NumberIDs = append(v.NumberIDs, n)
				}
			}
			me := pick()
			if rng.IntN(3) != 0 {
				v.InvolvedMemberID = me
			}
			got, err := boxSums(ctx, d.R, v, me)
			if err != nil {
				t.Fatal(err)
			}
			if want := scannedCounts(t, d, v, me); got != want {
				t.Fatalf("after step %d, visibility %+v of member %d: counters say %v (mine, unassigned, escalated, all, unread), a scan %v",
					step, v, me, got, want)
			}
		}
	}
	check(0)
	for step := 1; step <= 400; step++ {
		c := convs[rng.IntN(len(convs))]
		m := pick()
		switch rng.IntN(9) {
		case 0: // assigned, as Service.Assign does it
			exec(`UPDATE conversations SET assignee_id = ?, escalated = 0 WHERE id = ?`, m, c)
			exec(`DELETE FROM conversation_participants WHERE conversation_id = ? AND why = 'assigned'`, c)
			exec(`INSERT INTO conversation_participants (conversation_id, member_id, why, at) VALUES (?, ?, 'assigned', 0)
				ON CONFLICT DO UPDATE SET at = excluded.at`, c, m)
		case 1: // unassigned
			exec(`UPDATE conversations SET assignee_id = NULL WHERE id = ?`, c)
		case 2:
			exec(`UPDATE conversations SET escalated = 1 - escalated WHERE id = ?`, c)
		case 3:
			exec(`UPDATE conversations SET status = CASE status WHEN 'open' THEN 'closed' ELSE 'open' END WHERE id = ?`, c)
		case 4: // a customer writes; a member reads
			if rng.IntN(2) == 0 {
				exec(`UPDATE conversations SET unread_count = unread_count + 1, last_message_at = last_message_at + 1 WHERE id = ?`, c)
			} else {
				exec(`UPDATE conversations SET unread_count = 0 WHERE id = ?`, c)
			}
		case 5, 6: // a member takes part, for a reason they may already have, or another
			exec(`INSERT INTO conversation_participants (conversation_id, member_id, why, at) VALUES (?, ?, ?, 0)
				ON CONFLICT DO UPDATE SET at = excluded.at`, c, m, whys[rng.IntN(len(whys))])
		case 7: // one of a member's reasons ends
			exec(`DELETE FROM conversation_participants WHERE conversation_id = ? AND member_id = ? AND why = ?`, c, m, whys[rng.IntN(len(whys))])
		case 8: // erased, as internal/privacy does it: its participants first
			if rng.IntN(4) == 0 && len(convs) > 20 {
				exec(`DELETE FROM conversation_participants WHERE conversation_id = ?`, c)
				exec(`DELETE FROM conversation_labels WHERE conversation_id = ?`, c)
				exec(`DELETE FROM messages WHERE conversation_id = ?`, c)
				exec(`DELETE FROM conversations WHERE id = ?`, c)
				for i, id := range convs {
					if id == c {
						convs = append(convs[:i], convs[i+1:]...)
						break
					}
				}
			}
		}
		if step%10 == 0 {
			check(step)
		}
	}
}
