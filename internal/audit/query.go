package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ListQuery selects a page of events, newest first. BeforeID pages towards older events,
// AfterID towards newer ones; both are keyset bounds, so a page deep in the log costs the same
// as the first.
type ListQuery struct {
	BeforeID int64
	AfterID  int64
	Limit    int
}

// Page says where a listed page sits in the log.
type Page struct {
	NewestID, OldestID int64
	HasNewer, HasOlder bool
}

const maxListLimit = 500

const listColumns = `id, occurred_at, actor_type, actor_id, actor_name, action, target_type, target_id,
	changes, client_addr, user_agent, request_id, outcome, prev_hash, hash`

// List returns a page of events, newest first.
func (l *Log) List(ctx context.Context, q ListQuery) ([]Event, Page, error) {
	limit := q.Limit
	if limit <= 0 || limit > maxListLimit {
		limit = 50
	}
	var (
		query string
		args  []any
	)
	switch {
	case q.AfterID > 0:
		// Newer than AfterID: read upwards, then reverse to keep newest first.
		query = `SELECT ` + listColumns + ` FROM audit_events WHERE id > ? ORDER BY id ASC LIMIT ?`
		args = []any{q.AfterID, limit + 1}
	case q.BeforeID > 0:
		query = `SELECT ` + listColumns + ` FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?`
		args = []any{q.BeforeID, limit + 1}
	default:
		query = `SELECT ` + listColumns + ` FROM audit_events ORDER BY id DESC LIMIT ?`
		args = []any{limit + 1}
	}
	rows, err := l.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, Page{}, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	events := make([]Event, 0, limit+1)
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, Page{}, err
		}
		events = append(events, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, Page{}, fmt.Errorf("audit: list: %w", err)
	}
	more := len(events) > limit
	if more {
		events = events[:limit]
	}
	var p Page
	if q.AfterID > 0 {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
		p.HasNewer, p.HasOlder = more, true
	} else {
		p.HasOlder, p.HasNewer = more, q.BeforeID > 0
	}
	if len(events) > 0 {
		p.NewestID, p.OldestID = events[0].ID, events[len(events)-1].ID
	} else {
		p.HasNewer, p.HasOlder = false, false
	}
	return events, p, nil
}

func scanEvent(rows interface{ Scan(...any) error }) (Event, error) {
	var (
		ev      Event
		at      int64
		changes string
	)
	err := rows.Scan(&ev.ID, &at, &ev.Actor.Type, &ev.Actor.ID, &ev.Actor.Name, &ev.Action, &ev.Target.Type, &ev.Target.ID,
		&changes, &ev.ClientAddr, &ev.UserAgent, &ev.RequestID, &ev.Outcome, &ev.PrevHash, &ev.Hash)
	if err != nil {
		return Event{}, fmt.Errorf("audit: scan event: %w", err)
	}
	ev.At = time.UnixMilli(at).UTC()
	if err := json.Unmarshal([]byte(changes), &ev.Changes); err != nil {
		return Event{}, fmt.Errorf("audit: event %d changes: %w", ev.ID, err)
	}
	return ev, nil
}
