package inbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/members"
)

type randomConversation struct {
	id     int64
	open   bool
	unread bool
	facts  authz.ConversationFacts
}

// TestVisibilityClauseMatchesAllows generates conversations with random numbers, assignees and
// participants, and principals with random scopes and permissions, and checks that the SQL
// predicate, and every service read built on it (List, Get, Messages, Counts, Export), agree with
// authz.Visibility.Allows on every conversation.
func TestVisibilityClauseMatchesAllows(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	clk := clock.NewFake(testStart)
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	const numbers = 4
	seedNumbers(t, d, numbers)
	var memberIDs []int64
	for i := range 6 {
		memberIDs = append(memberIDs, insertMember(t, d, fmt.Sprintf("Member %d", i), authz.RoleAgent))
	}
	svc := NewService(d, audit.New(d, clk), clk, nil)
	rng := rand.New(rand.NewPCG(1, 2))

	var convs []randomConversation
	whys := []string{"assigned", "escalated", "replied"}
	for i := range 300 {
		c := randomConversation{open: rng.IntN(4) != 0, unread: rng.IntN(2) == 0}
		c.facts.PhoneNumberID = int64(rng.IntN(numbers) + 1)
		if rng.IntN(3) != 0 {
			c.facts.AssigneeID = memberIDs[rng.IntN(len(memberIDs))]
		}
		res, err := d.W.ExecContext(ctx, `INSERT INTO contacts (wa_id, created_at, updated_at) VALUES (?, 0, 0)`, fmt.Sprintf("49151%08d", i))
		if err != nil {
			t.Fatal(err)
		}
		contact, _ := res.LastInsertId()
		status, unread := "closed", 0
		if c.open {
			status = "open"
		}
		if c.unread {
			unread = 1 + rng.IntN(3)
		}
		res, err = d.W.ExecContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, status, assignee_id, last_message_at,
			unread_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0)`,
			contact, c.facts.PhoneNumberID, status, nullID(c.facts.AssigneeID), rng.Int64N(1000), unread)
		if err != nil {
			t.Fatal(err)
		}
		c.id, _ = res.LastInsertId()
		for _, m := range memberIDs {
			if rng.IntN(6) == 0 {
				if _, err := d.W.ExecContext(ctx, `INSERT INTO conversation_participants (conversation_id, member_id, why, at) VALUES (?, ?, ?, 0)`,
					c.id, m, whys[rng.IntN(len(whys))]); err != nil {
					t.Fatal(err)
				}
				c.facts.InvolvedMembers = append(c.facts.InvolvedMembers, m)
			}
		}
		if _, err := d.W.ExecContext(ctx, `INSERT INTO messages (conversation_id, direction, wamid, type, text, status, created_at)
			VALUES (?, 'in', ?, 'text', 'hello', 'received', 0)`, c.id, fmt.Sprintf("wamid.%d", c.id)); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}

	randomScope := func() authz.NumberScope {
		if rng.IntN(3) == 0 {
			return authz.NumberScope{All: true}
		}
		var s authz.NumberScope
		for n := int64(1); n <= numbers+1; n++ { // numbers+1: a number with no conversations
			if rng.IntN(2) == 0 {
				s.IDs = append(s.IDs, n)
			}
		}
		return s
	}

	// The predicate itself, over random visibilities (including ones no principal produces).
	for range 400 {
		scope := randomScope()
		v := authz.Visibility{None: rng.IntN(10) == 0, AllNumbers: scope.All, NumberIDs: scope.IDs}
		if rng.IntN(2) == 0 {
			v.InvolvedMemberID = memberIDs[rng.IntN(len(memberIDs))]
		}
		clause, args := visibilityClause(v, "c")
		rows, err := d.R.QueryContext(ctx, `SELECT c.id FROM conversations c WHERE `+clause+` ORDER BY c.id`, args...)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		rows.Close()
		var want []int64
		for _, c := range convs {
			if v.Allows(c.facts) {
				want = append(want, c.id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("visibility %+v: SQL sees %d conversations, Allows %d\nSQL:   %v\nAllows: %v", v, len(got), len(want), got, want)
		}
	}

	// The service's reads, for random principals.
	perms := []authz.Permission{authz.ConversationsViewAll, authz.ConversationsViewAssigned, authz.ConversationsAssign}
	for i := range 60 {
		p := &authz.Principal{MemberID: memberIDs[rng.IntN(len(memberIDs))], Name: "P", Numbers: randomScope()}
		for _, perm := range perms {
			if rng.IntN(2) == 0 {
				p.Permissions = p.Permissions.With(perm)
			}
		}
		v := p.Conversations()
		var wantAll, wantOpen []int64
		wantUnread := 0
		for _, c := range convs {
			if v.Allows(c.facts) {
				wantAll = append(wantAll, c.id)
				if c.open {
					wantOpen = append(wantOpen, c.id)
					if c.unread {
						wantUnread++
					}
				}
			}
		}
		name := fmt.Sprintf("principal %d (%v, %+v)", i, p.Permissions.IDs(), p.Numbers)

		if BoxAllowed(p, BoxAll) && BoxAllowed(p, BoxClosed) {
			got := append(listAllPages(t, svc, p, BoxAll), listAllPages(t, svc, p, BoxClosed)...)
			slices.Sort(got)
			if !slices.Equal(got, wantAll) {
				t.Fatalf("%s: List all+closed = %v, Allows = %v", name, got, wantAll)
			}
		}
		exporter := *p
		exporter.Permissions = exporter.Permissions.With(authz.ContactsExport)
		var exported []int64
		if _, err := svc.Export(ctx, &exporter, func(c Conversation) error { exported = append(exported, c.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(exported, wantAll) {
			t.Fatalf("%s: Export = %v, Allows = %v", name, exported, wantAll)
		}
		counts, err := svc.Counts(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if BoxAllowed(p, BoxAll) && counts.All != len(wantOpen) {
			t.Fatalf("%s: Counts.All = %d, want %d", name, counts.All, len(wantOpen))
		}
		if counts.Unread != wantUnread {
			t.Fatalf("%s: Counts.Unread = %d, want %d", name, counts.Unread, wantUnread)
		}
		for _, c := range convs {
			_, err := svc.Get(ctx, p, c.id)
			_, merr := svc.Messages(ctx, p, c.id, 0, 10)
			if v.Allows(c.facts) {
				if err != nil || merr != nil {
					t.Fatalf("%s: conversation %d allowed but Get/Messages: %v / %v", name, c.id, err, merr)
				}
			} else if !errors.Is(err, ErrNotFound) || !errors.Is(merr, ErrNotFound) {
				t.Fatalf("%s: conversation %d not allowed but Get/Messages: %v / %v", name, c.id, err, merr)
			}
		}
	}
}

// listAllPages follows the cursor through a whole box with small pages, which also exercises
// the keyset pagination.
func listAllPages(t *testing.T, svc *Service, p *authz.Principal, box Box) []int64 {
	t.Helper()
	var out []int64
	q := ListQuery{Box: box, Limit: 7}
	for range 1000 {
		page, err := svc.List(context.Background(), p, q)
		if err != nil {
			t.Fatalf("List %s: %v", box, err)
		}
		for _, c := range page.Conversations {
			if slices.Contains(out, c.ID) {
				t.Fatalf("List %s: conversation %d on two pages", box, c.ID)
			}
			out = append(out, c.ID)
		}
		if page.Next.IsZero() {
			return out
		}
		q.Before = page.Next
	}
	t.Fatal("pagination does not end")
	return nil
}
