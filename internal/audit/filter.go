package audit

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Filter selects events. Zero fields match everything; the fields that are set are combined.
type Filter struct {
	ActorType  ActorType // any when empty
	ActorID    string    // any of ActorType when empty
	Action     string    // one action id
	Group      string    // an ActionGroup key; ignored when Action is set
	TargetType string
	TargetID   string // any of TargetType when empty
	Outcome    Outcome
	// From is inclusive and To exclusive, both UTC; zero means open.
	From, To time.Time
}

// IsZero reports whether the filter matches every event.
func (f Filter) IsZero() bool { return f == Filter{} }

// Encode is the filter as a URL query in a fixed order, with times in UTC: how events such as
// audit.exported record the filter they were made with.
func (f Filter) Encode() string {
	var b strings.Builder
	add := func(k, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + url.QueryEscape(v))
	}
	actor := string(f.ActorType)
	if f.ActorID != "" {
		actor += ":" + f.ActorID
	}
	add("actor", actor)
	if f.Action != "" {
		add("action", f.Action)
	} else if f.Group != "" {
		add("action", "group:"+f.Group)
	}
	add("target_type", f.TargetType)
	add("target_id", f.TargetID)
	add("outcome", string(f.Outcome))
	if !f.From.IsZero() {
		add("from", f.From.UTC().Format(time.RFC3339Nano))
	}
	if !f.To.IsZero() {
		add("to", f.To.UTC().Format(time.RFC3339Nano))
	}
	return b.String()
}

// The indexes of migrations/0002_audit.sql; each ends in id, so an equality on its leading
// columns also yields the events in id order, which is what keyset paging needs.
const (
	indexActor   = "audit_events_actor_idx"
	indexAction  = "audit_events_action_idx"
	indexTarget  = "audit_events_target_idx"
	indexOutcome = "audit_events_outcome_idx"
)

// maxBranches bounds the union a plan may use: an action group becomes one index seek per action,
// "any API key" one per key. Beyond it, the condition is checked row by row instead.
const maxBranches = 64

// plan is how one filter is read: one index (or the table itself, in id order) chosen in Go
// rather than by SQLite's planner, which without statistics may walk the whole table in id order
// to avoid a sort. Each branch is one set of values for the index's leading columns; the rest of
// the filter is checked on the rows the index yields (residual).
type plan struct {
	index    string // "" reads the table in id order
	eqCols   []string
	branches [][]any
	residual []string
	args     []any
	// lo and hi bound the ids that can match (inclusive), from the time range and the log's ends.
	lo, hi int64
	empty  bool // nothing can match
}

// exact reports whether the index alone decides which events match, so a page is read with one
// bounded seek per branch and no scan budget is needed.
func (p *plan) exact() bool { return len(p.residual) == 0 }

func (p *plan) where(cond string, args ...any) {
	p.residual = append(p.residual, cond)
	p.args = append(p.args, args...)
}

// planFilter chooses the index for f, most selective first: a target or an actor names few events;
// an action, denied or failed outcome fewer than a group; "success" is nearly everything.
func planFilter(ctx context.Context, q querier, f Filter) (plan, error) {
	var p plan
	if err := p.idBounds(ctx, q, f); err != nil || p.empty {
		return p, err
	}
	// Each candidate either becomes the driving index or a residual condition.
	type cand struct {
		ok       bool
		index    string
		cols     []string
		branches func() ([][]any, error)
		residual func() error
	}
	one := func(vals ...any) func() ([][]any, error) {
		return func() ([][]any, error) { return [][]any{vals}, nil }
	}
	cond := func(sql string, args ...any) func() error {
		return func() error {
			p.where(sql, args...)
			return nil
		}
	}
	actorWholeID := f.ActorID != "" || f.ActorType == ActorSystem || f.ActorType == ActorAnonymous
	candidates := []cand{
		{
			ok: f.TargetType != "" && f.TargetID != "", index: indexTarget, cols: []string{"target_type", "target_id"},
			branches: one(f.TargetType, f.TargetID),
			residual: cond("target_type = ? AND target_id = ?", f.TargetType, f.TargetID),
		},
		{
			// System and anonymous actors never carry an id, so "" is their whole key.
			ok: f.ActorType != "" && actorWholeID, index: indexActor, cols: []string{"actor_type", "actor_id"},
			branches: one(string(f.ActorType), f.ActorID),
			residual: cond("actor_type = ? AND actor_id = ?", string(f.ActorType), f.ActorID),
		},
		{
			ok: f.Action != "", index: indexAction, cols: []string{"action"},
			branches: one(f.Action),
			residual: cond("action = ?", f.Action),
		},
		{
			ok: f.Outcome == OutcomeDenied || f.Outcome == OutcomeFailed, index: indexOutcome, cols: []string{"outcome"},
			branches: one(string(f.Outcome)),
			residual: cond("outcome = ?", string(f.Outcome)),
		},
		{
			ok: f.Action == "" && f.Group != "", index: indexAction, cols: []string{"action"},
			branches: func() ([][]any, error) { return groupBranches(ctx, q, f.Group) },
			residual: func() error {
				acts, err := groupActions(ctx, q, f.Group)
				if err != nil {
					return err
				}
				if len(acts) == 0 {
					p.empty = true
				}
				p.where("action IN ("+placeholders(len(acts))+")", stringsToAny(acts)...)
				return nil
			},
		},
		{
			ok: f.TargetType != "" && f.TargetID == "", index: indexTarget, cols: []string{"target_type", "target_id"},
			branches: func() ([][]any, error) {
				return distinctBranches(ctx, q, "target_id", "target_type = ?", f.TargetType)
			},
			residual: cond("target_type = ?", f.TargetType),
		},
		{
			ok: f.ActorType != "" && !actorWholeID, index: indexActor, cols: []string{"actor_type", "actor_id"},
			branches: func() ([][]any, error) {
				return distinctBranches(ctx, q, "actor_id", "actor_type = ?", string(f.ActorType))
			},
			residual: cond("actor_type = ?", string(f.ActorType)),
		},
		{
			ok: f.Outcome == OutcomeSuccess, index: indexOutcome, cols: []string{"outcome"},
			branches: one(string(f.Outcome)),
			residual: cond("outcome = ?", string(f.Outcome)),
		},
	}
	for _, c := range candidates {
		if !c.ok {
			continue
		}
		if p.index == "" {
			branches, err := c.branches()
			if err != nil {
				return p, err
			}
			if branches != nil && len(branches) <= maxBranches {
				if len(branches) == 0 {
					p.empty = true
					return p, nil
				}
				p.index, p.eqCols, p.branches = c.index, c.cols, branches
				continue
			}
		}
		if err := c.residual(); err != nil {
			return p, err
		}
	}
	if p.empty {
		return p, nil
	}
	// Time edges are checked as well as turned into ids: a clock stepped back would otherwise
	// let an event from outside the range through at the edges.
	if !f.From.IsZero() {
		p.where("occurred_at >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		p.where("occurred_at < ?", f.To.UnixMilli())
	}
	return p, nil
}

// idBounds turns the time range into an id range through the occurred_at index (times grow with
// ids), and bounds it by the log's first and last ids.
func (p *plan) idBounds(ctx context.Context, q querier, f Filter) error {
	var lo, hi sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT (SELECT min(id) FROM audit_events), (SELECT max(id) FROM audit_events)`).Scan(&lo, &hi); err != nil {
		return fmt.Errorf("audit: list: %w", err)
	}
	if !lo.Valid {
		p.empty = true
		return nil
	}
	p.lo, p.hi = lo.Int64, hi.Int64
	if !f.From.IsZero() {
		var id sql.NullInt64
		err := q.QueryRowContext(ctx, `SELECT id FROM audit_events INDEXED BY audit_events_occurred_at_idx
			WHERE occurred_at >= ? ORDER BY occurred_at, id LIMIT 1`, f.From.UnixMilli()).Scan(&id)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("audit: list from %s: %w", f.From, err)
		}
		if !id.Valid {
			p.empty = true
			return nil
		}
		p.lo = max(p.lo, id.Int64)
	}
	if !f.To.IsZero() {
		var id sql.NullInt64
		err := q.QueryRowContext(ctx, `SELECT id FROM audit_events INDEXED BY audit_events_occurred_at_idx
			WHERE occurred_at < ? ORDER BY occurred_at DESC, id DESC LIMIT 1`, f.To.UnixMilli()).Scan(&id)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("audit: list to %s: %w", f.To, err)
		}
		if !id.Valid {
			p.empty = true
			return nil
		}
		p.hi = min(p.hi, id.Int64)
	}
	if p.lo > p.hi {
		p.empty = true
	}
	return nil
}

// groupBranches is one branch per action of the group present in the log.
func groupBranches(ctx context.Context, q querier, key string) ([][]any, error) {
	acts, err := groupActions(ctx, q, key)
	if err != nil {
		return nil, err
	}
	out := make([][]any, 0, len(acts))
	for _, a := range acts {
		out = append(out, []any{a})
	}
	return out, nil
}

func groupActions(ctx context.Context, q querier, key string) ([]string, error) {
	all, err := distinctActions(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range all {
		if GroupOf(a).Key == key {
			out = append(out, a)
		}
	}
	return out, nil
}

// distinctBranches is one branch per distinct value of col under the fixed leading column, or
// nil when there are more than maxBranches (the caller then filters row by row).
func distinctBranches(ctx context.Context, q querier, col, fixed string, fixedArg any) ([][]any, error) {
	vals, err := skipScan(ctx, q, col, fixed, fixedArg, maxBranches+1)
	if err != nil {
		return nil, err
	}
	if len(vals) > maxBranches {
		return nil, nil
	}
	out := make([][]any, 0, len(vals))
	for _, v := range vals {
		out = append(out, []any{fixedArg, v})
	}
	return out, nil
}

// skipScan lists the distinct values of an indexed column with one index seek per value
// (recursive "next value after"), instead of reading every entry of the index. fixed is an
// equality on the columns before col in the index, or "".
func skipScan(ctx context.Context, q querier, col, fixed string, fixedArg any, limit int) ([]string, error) {
	cond, args := "", []any{}
	if fixed != "" {
		cond, args = fixed+" AND ", []any{fixedArg, fixedArg}
	}
	query := `WITH RECURSIVE v(x, n) AS (
		SELECT (SELECT min(` + col + `) FROM audit_events WHERE ` + cond + col + ` IS NOT NULL), 1
		UNION ALL
		SELECT (SELECT min(` + col + `) FROM audit_events WHERE ` + cond + col + ` > v.x), n + 1
		FROM v WHERE v.x IS NOT NULL AND n < ?
	) SELECT x FROM v WHERE x IS NOT NULL`
	rows, err := q.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("audit: distinct %s: %w", col, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("audit: distinct %s: %w", col, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func distinctActions(ctx context.Context, q querier) ([]string, error) {
	return skipScan(ctx, q, "action", "", nil, 10_000)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// querier is what the read side needs: the reader pool or a read transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
