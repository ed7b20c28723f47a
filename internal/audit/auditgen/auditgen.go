// Package auditgen fills an activity log with realistic events, for `switchboard dev seed` and
// for the benchmarks that must run against a million of them. Events go through audit.Append,
// chained and hashed exactly as in production, in large transactions.
package auditgen

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/db/benchdb"
)

// Options say what to generate.
type Options struct {
	Events int
	// Members act in most events; nil means 50 members "Member 1" … with ids 1 to 50.
	Members []audit.Actor
	// Step is the time between two events; the generated events end about now.
	Step time.Duration
	// Batch is how many events share a transaction.
	Batch int
	Seed  uint64
	// Progress, if set, is called after each transaction with the number written so far.
	Progress func(done int)
}

// DefaultMembers are 50 member actors with ids 1 to 50, named like people.
func DefaultMembers() []audit.Actor {
	first := []string{"Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances"}
	last := []string{"Lovelace", "Hopper", "Turing", "Johnson", "Torvalds"}
	out := make([]audit.Actor, 0, 50)
	for i := range 50 {
		out = append(out, audit.MemberActor(int64(i+1), first[i%len(first)]+" "+last[i/len(first)]))
	}
	return out
}

type kind struct {
	action  string
	weight  int
	outcome audit.Outcome
	target  string // target type, "" for none
	targets int    // how many distinct targets
	changes func(r *rand.Rand) []audit.Change
	actor   string // "member" (default), "anonymous", "system", "api_key"
}

var kinds = []kind{
	{action: "message.sent", weight: 300, target: "conversation", targets: 20000, changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "template", After: []string{"", "order_update", "appointment_reminder"}[r.IntN(3)]}}
	}},
	{action: "member.signed_in", weight: 150, target: "member", targets: 50},
	{action: "member.signed_out", weight: 100, target: "member", targets: 50},
	{action: "conversation.assigned", weight: 100, target: "conversation", targets: 20000, changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "assignee_id", Before: nil, After: 1 + r.IntN(50)}}
	}},
	{action: "conversation.closed", weight: 60, target: "conversation", targets: 20000},
	{action: "contact.pii_revealed", weight: 40, target: "contact", targets: 15000},
	{action: "member.sign_in_failed", weight: 30, outcome: audit.OutcomeFailed, target: "", actor: "anonymous", changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "email", After: "member" + strconv.Itoa(1+r.IntN(60)) + "@example.com"}}
	}},
	{action: "template.created", weight: 20, target: "template", targets: 300},
	{action: "template.approved", weight: 10, target: "template", targets: 300, changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "status", Before: "in_review", After: "approved"}}
	}},
	{action: "webhook.delivered", weight: 60, target: "webhook", targets: 5, actor: "system"},
	{action: "message.sent_by_api", weight: 40, target: "conversation", targets: 20000, actor: "api_key"},
	{action: "access.denied", weight: 20, outcome: audit.OutcomeDenied, target: "route", targets: 8, changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "reason", After: "requires members.manage"}}
	}},
	{action: "member.updated", weight: 15, target: "member", targets: 50, changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "role", Before: "Agent", After: "Support"}}
	}},
	{action: "role.updated", weight: 5, target: "role", targets: 12},
	{action: "audit.searched", weight: 10, target: "", changes: func(r *rand.Rand) []audit.Change {
		return []audit.Change{{Field: "filter", After: "actor=member%3A" + strconv.Itoa(1+r.IntN(50))}}
	}},
	{action: "settings.updated", weight: 3, target: "workspace", targets: 1},
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
}

// Generate appends opts.Events events to the log in d, ending about now.
func Generate(ctx context.Context, d *db.DB, opts Options) error {
	if opts.Members == nil {
		opts.Members = DefaultMembers()
	}
	if len(opts.Members) == 0 {
		return errors.New("auditgen: no members to act")
	}
	if opts.Step <= 0 {
		opts.Step = 30 * time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 20_000
	}
	start := time.Now().UTC().Add(-time.Duration(opts.Events) * opts.Step)
	// Times must keep growing with ids (the time filter relies on it): never start before the
	// newest event already there.
	var last sql.NullInt64
	if err := d.R.QueryRowContext(ctx, `SELECT max(occurred_at) FROM audit_events`).Scan(&last); err != nil {
		return fmt.Errorf("auditgen: %w", err)
	}
	if last.Valid && time.UnixMilli(last.Int64).After(start) {
		start = time.UnixMilli(last.Int64).UTC()
	}
	clk := clock.NewFake(start)
	log := audit.New(d, clk)
	r := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	for done := 0; done < opts.Events; {
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for i := 0; i < opts.Batch && done < opts.Events; i, done = i+1, done+1 {
				clk.Advance(time.Duration(r.Int64N(int64(2 * opts.Step))))
				ev := event(r, pick(r, total), opts.Members)
				if _, err := log.Append(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("auditgen: %w", err)
		}
		if opts.Progress != nil {
			opts.Progress(done)
		}
	}
	return nil
}

func pick(r *rand.Rand, total int) kind {
	n := r.IntN(total)
	for _, k := range kinds {
		if n < k.weight {
			return k
		}
		n -= k.weight
	}
	return kinds[0]
}

func event(r *rand.Rand, k kind, members []audit.Actor) audit.Event {
	ev := audit.Event{
		Action:     k.action,
		Outcome:    k.outcome,
		ClientAddr: fmt.Sprintf("203.0.113.%d", 1+r.IntN(200)),
		UserAgent:  userAgents[r.IntN(len(userAgents))],
		RequestID:  requestID(r),
	}
	switch k.actor {
	case "anonymous":
		ev.Actor = audit.Anonymous()
	case "system":
		ev.Actor = audit.System()
		ev.ClientAddr, ev.UserAgent = "", ""
	case "api_key":
		id := 1 + r.IntN(3)
		ev.Actor = audit.APIKeyActor(int64(id), "CRM integration "+strconv.Itoa(id))
		ev.UserAgent = "crm-sync/2.4"
	default:
		ev.Actor = members[r.IntN(len(members))]
	}
	if k.target != "" {
		ev.Target = audit.NewTarget(k.target, int64(1+r.IntN(k.targets)))
		if k.target == "member" && ev.Actor.Type == audit.ActorMember {
			ev.Target = audit.Target{Type: "member", ID: ev.Actor.ID}
		}
	}
	if k.changes != nil {
		ev.Changes = k.changes(r)
	}
	return ev
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func requestID(r *rand.Rand) string {
	var b [26]byte
	for i := range b {
		b[i] = crockford[r.IntN(len(crockford))]
	}
	return string(b[:])
}

// CachedDir is benchdb.Dir for generators without a version of their own.
func CachedDir(key string, build func(dir string) error) (string, error) {
	return benchdb.Dir(key, "", build)
}

// CachedEvents is CachedDir for a database holding n generated events by DefaultMembers and
// nothing else, the same for every benchmark that asks (seed 1).
func CachedEvents(n int, logf func(format string, args ...any)) (string, error) {
	return CachedDir(fmt.Sprintf("audit-%d", n), func(dir string) error {
		logf("generating %d events in %s (once; later runs reuse it)", n, dir)
		d, err := db.Open(context.Background(), dir)
		if err != nil {
			return err
		}
		defer d.Close()
		return Generate(context.Background(), d, Options{Events: n, Seed: 1})
	})
}
