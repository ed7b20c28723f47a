package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/members"
)

// liveMember is a load member as set up: what they may see follows from role, scope and the
// conversations assigned to them, independently of the server's predicate.
type liveMember struct {
	id      int64
	email   string
	role    string
	number  int64 // the one phone number in scope; 0 for all numbers
	viewAll bool  // conversations.view_all: every conversation in scope, not only their own
}

// liveFacts are what decides whether a member may see a conversation.
type liveFacts struct {
	number, assignee int64
	involved         []int64
}

func (m liveMember) maySee(f liveFacts) bool {
	if m.number != 0 && f.number != m.number {
		return false
	}
	return m.viewAll || f.assignee == m.id || slices.Contains(f.involved, m.id)
}

type liveTeam struct {
	members  []liveMember
	assigned map[int64]int64 // conversation → member, as the administrator left it
}

func (tm liveTeam) mix() string {
	n := map[string]int{}
	for _, m := range tm.members {
		scope := "all numbers"
		if m.number != 0 {
			scope = "one number"
		}
		view := "assigned only"
		if m.viewAll {
			view = "all in scope"
		}
		n[m.role+", "+scope+", "+view]++
	}
	var parts []string
	for k, v := range n {
		parts = append(parts, fmt.Sprintf("%d %s", v, k))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// addLiveMembers opens the stopped server's data dir as the command-line tools do and adds n
// members: a tenth Analysts of every number (supervisors who see all), a tenth Analysts of one
// number, a tenth Support staff of every number and the rest Agents of one number, the last two
// seeing only what is assigned to them. The conversations of the warm-up are shared out among
// them by the demo's Administrator.
func addLiveMembers(ctx context.Context, t *testing.T, dir string, n int, warmPrefix string) liveTeam {
	t.Helper()
	core, err := app.OpenCore(ctx, app.CoreOptions{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Getenv: func(k string) string {
			if strings.HasPrefix(k, "SWITCHBOARD_") {
				return ""
			}
			return os.Getenv(k)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := core.Close(); err != nil {
			t.Error(err)
		}
	}()
	adminMember, err := core.Members.Store().ByEmail(ctx, authz.RoleAdministrator+"@demo.switchboard.test")
	if err != nil {
		t.Fatalf("the demo's administrator: %v", err)
	}
	admin, _, err := core.Members.Store().Principal(ctx, adminMember.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	var numbers []int64
	for _, meta := range []string{demo.NumberSales, demo.NumberCare} {
		var id int64
		if err := core.DB.R.QueryRowContext(ctx, `SELECT id FROM phone_numbers WHERE phone_number_id = ?`, meta).Scan(&id); err != nil {
			t.Fatalf("number %s: %v", meta, err)
		}
		numbers = append(numbers, id)
	}

	var team liveTeam
	for i := range n {
		m := liveMember{email: fmt.Sprintf("live-%03d@load.switchboard.test", i)}
		switch i % 10 {
		case 0:
			m.role, m.viewAll = authz.RoleAnalyst, true
		case 5:
			m.role, m.viewAll, m.number = authz.RoleAnalyst, true, numbers[(i/10)%2]
		case 9:
			m.role = authz.RoleSupport
		default:
			m.role, m.number = authz.RoleAgent, numbers[i%2]
		}
		created, err := core.Members.Create(ctx, members.NewMember{Email: m.email, Name: fmt.Sprintf("Load %s %d", m.role, i),
			Password: livePassword, RoleKey: m.role})
		if err != nil {
			t.Fatalf("create %s: %v", m.email, err)
		}
		m.id = created.ID
		if m.number != 0 {
			if err := core.Members.SetNumberScope(ctx, admin, m.id, false, []int64{m.number}); err != nil {
				t.Fatalf("scope of %s: %v", m.email, err)
			}
		}
		team.members = append(team.members, m)
	}

	rows, err := core.DB.R.QueryContext(ctx, `SELECT c.id, c.phone_number_id FROM conversations c
		WHERE c.id IN (SELECT conversation_id FROM messages WHERE wamid >= ? AND wamid < ?) ORDER BY c.id`,
		warmPrefix, strings.TrimSuffix(warmPrefix, ".")+"/")
	if err != nil {
		t.Fatal(err)
	}
	type conv struct{ id, number int64 }
	var convs []conv
	for rows.Next() {
		var c conv
		if err := rows.Scan(&c.id, &c.number); err != nil {
			t.Fatal(err)
		}
		convs = append(convs, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	// Round robin over the members who only see their own conversations, per number.
	team.assigned = map[int64]int64{}
	next := map[int64]int{}
	for _, c := range convs {
		var candidates []liveMember
		for _, m := range team.members {
			if !m.viewAll && (m.number == 0 || m.number == c.number) {
				candidates = append(candidates, m)
			}
		}
		m := candidates[next[c.number]%len(candidates)]
		next[c.number]++
		if err := core.Inbox.Assign(ctx, admin, c.id, m.id); err != nil {
			t.Fatalf("assign conversation %d to %s: %v", c.id, m.email, err)
		}
		team.assigned[c.id] = m.id
	}
	return team
}

// liveDBFacts is what the database says after the run: each message's conversation and each
// conversation's number, assignee and involved members.
type liveDBFacts struct {
	convOf map[string]int64
	facts  map[int64]liveFacts
}

func readLiveFacts(ctx context.Context, t *testing.T, q *sql.DB, prefix string) liveDBFacts {
	t.Helper()
	out := liveDBFacts{convOf: map[string]int64{}, facts: map[int64]liveFacts{}}
	scan := func(query string, args []any, row func(*sql.Rows) error) {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	scan(`SELECT wamid, conversation_id FROM messages WHERE wamid >= ? AND wamid < ?`,
		[]any{prefix, strings.TrimSuffix(prefix, ".") + "/"}, func(r *sql.Rows) error {
			var w string
			var c int64
			err := r.Scan(&w, &c)
			out.convOf[w] = c
			return err
		})
	scan(`SELECT id, phone_number_id, coalesce(assignee_id, 0) FROM conversations`, nil, func(r *sql.Rows) error {
		var id int64
		var f liveFacts
		err := r.Scan(&id, &f.number, &f.assignee)
		out.facts[id] = f
		return err
	})
	scan(`SELECT conversation_id, member_id FROM conversation_participants`, nil, func(r *sql.Rows) error {
		var c, m int64
		err := r.Scan(&c, &m)
		f := out.facts[c]
		f.involved = append(f.involved, m)
		out.facts[c] = f
		return err
	})
	return out
}
