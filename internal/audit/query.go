package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is an event id that is not in the log.
var ErrNotFound = errors.New("audit event not found")

// ListQuery selects a page of events, newest first. BeforeID pages towards older events,
// AfterID towards newer ones; both are keyset bounds, so a page deep in the log costs the same
// as the first. Nothing on this path counts rows.
type ListQuery struct {
	Filter   Filter
	BeforeID int64
	AfterID  int64
	Limit    int
}

// Page says where a listed page sits in the log.
type Page struct {
	NewestID, OldestID int64 // of the events shown; zero when none
	HasNewer, HasOlder bool
	// Before and After are the cursors of the neighbouring pages: ListQuery{BeforeID: Before}
	// for older events, ListQuery{AfterID: After} for newer ones.
	Before, After int64
	// Partial means the search stopped at its time budget before filling the page (a rare
	// combination of conditions, such as one member's denied template approvals): the events
	// shown are all the matches down to (or up to) the cursor, and the next page searches on.
	Partial bool
}

const maxListLimit = 500

// scanBudget bounds the work of one page whose filter the chosen index cannot answer alone:
// the search runs over id windows, growing from window, until the page is full or budget has
// passed, and then hands back a cursor to go on from.
type scanBudget struct {
	window int64
	budget time.Duration
}

var defaultScan = scanBudget{window: 8192, budget: 25 * time.Millisecond}

const listColumns = `id, occurred_at, actor_type, actor_id, actor_name, action, target_type, target_id,
	changes, client_addr, user_agent, request_id, outcome, prev_hash, hash, target_name`

// List returns a page of events matching q.Filter, newest first.
func (l *Log) List(ctx context.Context, q ListQuery) ([]Event, Page, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxListLimit {
		limit = 50
	}
	// One read transaction: the plan, the ids and the rows all come from the same snapshot.
	tx, err := l.db.R.BeginTx(ctx, nil)
	if err != nil {
		return nil, Page{}, fmt.Errorf("audit: list: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to undo

	p, err := planFilter(ctx, tx, q.Filter)
	if err != nil {
		return nil, Page{}, err
	}
	newer := q.AfterID > 0
	var (
		ids     []int64
		partial bool
		reached int64 // the last id searched, in the direction of paging
	)
	if !p.empty {
		lo, hi := p.lo, p.hi
		if newer {
			lo = max(lo, q.AfterID+1)
		} else if q.BeforeID > 0 {
			hi = min(hi, q.BeforeID-1)
		}
		if lo <= hi {
			ids, partial, reached, err = l.scanIDs(ctx, tx, &p, lo, hi, newer, limit+1)
			if err != nil {
				return nil, Page{}, err
			}
		}
	}
	more := len(ids) > limit
	if more {
		ids = ids[:limit]
	}
	events, err := eventsByID(ctx, tx, ids)
	if err != nil {
		return nil, Page{}, err
	}
	if newer {
		slices.Reverse(events)
	}

	pg := Page{Partial: partial}
	if len(events) > 0 {
		pg.NewestID, pg.OldestID = events[0].ID, events[len(events)-1].ID
	}
	if newer {
		pg.HasNewer, pg.HasOlder = more || partial, true
		pg.After, pg.Before = pg.NewestID, pg.OldestID
		if partial && !more {
			pg.After = reached
		}
		if len(events) == 0 {
			pg.Before = q.AfterID + 1
		}
	} else {
		pg.HasOlder, pg.HasNewer = more || partial, q.BeforeID > 0
		pg.Before, pg.After = pg.OldestID, pg.NewestID
		if partial && !more {
			pg.Before = reached
		}
		if len(events) == 0 {
			pg.After = q.BeforeID - 1
		}
	}
	if len(events) == 0 && !partial {
		pg.HasNewer, pg.HasOlder = q.BeforeID > 0, q.AfterID > 0
	}
	return events, pg, nil
}

// scanIDs returns up to n ids of matching events within [lo, hi], from hi downwards (or from lo
// upwards when ascending). A plan whose index answers the filter alone takes one query; one with
// residual conditions searches windows of ids until n are found or the budget is spent, and
// then reports partial with the last id it searched.
func (l *Log) scanIDs(ctx context.Context, q querier, p *plan, lo, hi int64, ascending bool, n int) (ids []int64, partial bool, reached int64, err error) {
	if p.exact() {
		ids, err = p.ids(ctx, q, lo, hi, ascending, n)
		return ids, false, 0, err
	}
	start := time.Now()
	window := max(1, l.scan.window)
	for {
		wlo, whi := lo, hi
		if ascending {
			whi = min(hi, lo+window-1)
		} else {
			wlo = max(lo, hi-window+1)
		}
		got, err := p.ids(ctx, q, wlo, whi, ascending, n-len(ids))
		if err != nil {
			return nil, false, 0, err
		}
		ids = append(ids, got...)
		if len(ids) >= n || wlo == lo && whi == hi {
			return ids, false, 0, nil
		}
		if ascending {
			lo, reached = whi+1, whi
		} else {
			hi, reached = wlo-1, wlo
		}
		if time.Since(start) >= l.scan.budget {
			return ids, true, reached, nil
		}
		window = min(window*2, 1<<20)
	}
}

// ids runs the plan over [lo, hi]: one index seek per branch, merged in id order.
func (p *plan) ids(ctx context.Context, q querier, lo, hi int64, ascending bool, n int) ([]int64, error) {
	order := "DESC"
	if ascending {
		order = "ASC"
	}
	var (
		sb   strings.Builder
		args []any
	)
	branch := func(vals []any) {
		sb.WriteString("SELECT id FROM audit_events ")
		if p.index != "" {
			sb.WriteString("INDEXED BY " + p.index + " WHERE ")
			for i, col := range p.eqCols {
				sb.WriteString(col + " = ? AND ")
				args = append(args, vals[i])
			}
		} else {
			// The table in id order; NOT INDEXED keeps the planner from trading the order for
			// an index and a sort of everything the index matches.
			sb.WriteString("NOT INDEXED WHERE ")
		}
		for _, c := range p.residual {
			sb.WriteString(c + " AND ")
		}
		args = append(args, p.args...)
		sb.WriteString("id BETWEEN ? AND ? ORDER BY id " + order + " LIMIT ?")
		args = append(args, lo, hi, n)
	}
	if len(p.branches) <= 1 {
		var vals []any
		if len(p.branches) == 1 {
			vals = p.branches[0]
		}
		branch(vals)
	} else {
		for i, vals := range p.branches {
			if i > 0 {
				sb.WriteString(" UNION ALL ")
			}
			sb.WriteString("SELECT id FROM (")
			branch(vals)
			sb.WriteString(")")
		}
		sb.WriteString(" ORDER BY id " + order + " LIMIT ?")
		args = append(args, n)
	}
	rows, err := q.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	out := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// eventsByID reads the events with the given ids, in the order given.
func eventsByID(ctx context.Context, q querier, ids []int64) ([]Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT `+listColumns+` FROM audit_events WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]Event, len(ids))
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		byID[ev.ID] = ev
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	out := make([]Event, 0, len(ids))
	for _, id := range ids {
		if ev, ok := byID[id]; ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// Get returns one event, or ErrNotFound.
func (l *Log) Get(ctx context.Context, id int64) (Event, error) {
	ev, err := scanEvent(l.db.R.QueryRowContext(ctx, `SELECT `+listColumns+` FROM audit_events WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, ErrNotFound
	}
	return ev, err
}

// Neighbours returns the ids of the events just before and after id (zero at either end).
func (l *Log) Neighbours(ctx context.Context, id int64) (prev, next int64, err error) {
	var p, n sql.NullInt64
	err = l.db.R.QueryRowContext(ctx, `SELECT (SELECT max(id) FROM audit_events WHERE id < ?1),
		(SELECT min(id) FROM audit_events WHERE id > ?1)`, id).Scan(&p, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("audit: neighbours of %d: %w", id, err)
	}
	return p.Int64, n.Int64, nil
}

// Facets are the values present in the log that a filter form offers.
type Facets struct {
	Actions     []string
	TargetTypes []string
}

// facetsTTL is how long Facets reuses its answer. New kinds of action or target appear rarely,
// and a filter form that learns of one half a minute late loses nothing; every activity page
// would otherwise pay for the lookups.
const facetsTTL = 30 * time.Second

type facetsCache struct {
	mu     sync.Mutex
	at     time.Time
	facets Facets
}

// Facets lists the distinct actions and target types, one index seek per value.
func (l *Log) Facets(ctx context.Context) (Facets, error) {
	c := &l.facets
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < facetsTTL {
		return c.facets, nil
	}
	f, err := l.readFacets(ctx)
	if err != nil {
		return Facets{}, err
	}
	c.at, c.facets = time.Now(), f
	return f, nil
}

func (l *Log) readFacets(ctx context.Context) (Facets, error) {
	acts, err := distinctActions(ctx, l.db.R)
	if err != nil {
		return Facets{}, err
	}
	types, err := skipScan(ctx, l.db.R, "target_type", "", nil, 1000)
	if err != nil {
		return Facets{}, err
	}
	if i := slices.Index(types, ""); i >= 0 {
		types = slices.Delete(types, i, i+1)
	}
	// Clipped: the answer is shared between callers, so an append must never write into it.
	return Facets{Actions: slices.Clip(acts), TargetTypes: slices.Clip(types)}, nil
}

func scanEvent(rows interface{ Scan(...any) error }) (Event, error) {
	var (
		ev      Event
		at      int64
		changes string
	)
	err := rows.Scan(&ev.ID, &at, &ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Name, &ev.Action, &ev.Target.Type, &ev.Target.ID,
		&changes, &ev.ClientAddr, &ev.UserAgent, &ev.RequestID, &ev.Outcome, &ev.PrevHash, &ev.Hash, &ev.Target.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Event{}, err
	}
	if err != nil {
		return Event{}, fmt.Errorf("audit: scan event: %w", err)
	}
	ev.At = time.UnixMilli(at).UTC()
	if err := json.Unmarshal([]byte(changes), &ev.Changes); err != nil {
		return Event{}, fmt.Errorf("audit: event %d changes: %w", ev.ID, err)
	}
	return ev, nil
}
