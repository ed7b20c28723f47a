package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// Log appends to and verifies the activity log.
type Log struct {
	db     *db.DB
	clk    clock.Clock
	split  verifySplit
	scan   scanBudget
	verify verifyFlight
	facets facetsCache
	// pruneBatch is the most events one pruning transaction deletes.
	pruneBatch int64
	// checkpointer, when set, anchors the head at every export (SetCheckpointer).
	checkpointer *Checkpointer
	// nameTarget, when set, names targets recorded without a name (SetTargetNamer).
	nameTarget TargetNamer
	// observer, when set, sees every event appended, in its transaction (SetObserver).
	observer Observer
}

// Observer is told of each event appended, through q, the transaction that records it; an
// error rolls the change back with its event. Outgoing webhooks queue their events this way,
// in the transaction of the change they describe.
type Observer func(ctx context.Context, q db.Querier, ev Event) error

// SetObserver sets the one observer of appended events.
func (l *Log) SetObserver(o Observer) { l.observer = o }

// TargetNamer says what a target is called, read through q (the transaction recording the
// event, so a row created in it is seen); "" when it does not know.
type TargetNamer func(ctx context.Context, q db.Querier, t Target) string

// SetTargetNamer lets Append name targets, so that the log shows "Grace Hopper" rather than
// "member 6" for every recorder without each having to look the name up.
func (l *Log) SetTargetNamer(n TargetNamer) { l.nameTarget = n }

// SetCheckpointer makes exports end with a fresh signed checkpoint of the head, so that a file
// cut short is caught by verify-export. Without one, exports carry the newest stored checkpoint.
func (l *Log) SetCheckpointer(c *Checkpointer) { l.checkpointer = c }

// New returns a Log over d whose event times come from clk.
func New(d *db.DB, clk clock.Clock) *Log {
	return &Log{db: d, clk: clk, split: defaultSplit(d.R), scan: defaultScan, pruneBatch: pruneBatch}
}

// The next id is taken from sqlite_sequence as well as max(id) because AUTOINCREMENT never
// reuses an id: after the newest event is deleted, the next one gets a fresh id and the gap
// gives the deletion away. The id is chosen here rather than by the INSERT because it is part of
// the hashed content.
const headQuery = `SELECT
	max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0),
	    coalesce((SELECT max(id) FROM audit_events), 0)),
	coalesce((SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1), '')`

// insertQuery takes id, occurred_at, the text columns in canonical order (see texts), prev_hash
// and hash.
const insertQuery = `INSERT INTO audit_events (id, occurred_at,
	actor_type, actor_id, actor_name, action, target_type, target_id,
	changes, client_addr, user_agent, request_id, outcome,
	prev_hash, hash, target_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Append writes ev as the newest event through q and returns it as stored (id, time, redacted
// changes, hashes). q must be the write transaction that also makes the change ev describes:
// the change and its event then commit or roll back together, and the transaction's write lock
// keeps anyone else from appending between reading the chain's head and inserting.
//
// Empty actor and request fields are filled from ctx (WithActor, WithRequest), the actor then
// defaulting to Anonymous and the outcome to OutcomeSuccess. The time always comes from the
// Log's clock, never from ev.At, so an event cannot be back-dated.
func (l *Log) Append(ctx context.Context, q db.Querier, ev Event) (Event, error) {
	ev = withDefaults(ctx, ev)
	if err := ev.validate(); err != nil {
		return Event{}, err
	}
	// Millisecond UTC is what the column holds, so the hash covers exactly what is stored.
	ev.At = l.clk.Now().UTC().Truncate(time.Millisecond)
	ev.Changes = redact(ev.Changes)
	if ev.Target.Name == "" && ev.Target.ID != "" && l.nameTarget != nil {
		ev.Target.Name = l.nameTarget(ctx, q, ev.Target)
	}
	changes, err := encodeChanges(ev.Changes)
	if err != nil {
		return Event{}, err
	}

	var (
		lastID int64
		head   string
	)
	if err := q.QueryRowContext(ctx, headQuery).Scan(&lastID, &head); err != nil {
		return Event{}, fmt.Errorf("audit: read chain head: %w", err)
	}
	if head == "" {
		head = GenesisHash
	}
	ev.ID = lastID + 1
	ev.PrevHash = head

	at := ev.At.UnixMilli()
	text := ev.texts(changes)
	ev.Hash = string(newHasher().hash(appendEventCanonical(nil, ev.PrevHash, ev.ID, at, &text, ev.Target.Name)))

	args := make([]any, 0, 2+textColumns+3)
	args = append(args, ev.ID, at)
	for _, s := range text {
		args = append(args, s)
	}
	args = append(args, ev.PrevHash, ev.Hash, ev.Target.Name)

	if _, err := q.ExecContext(ctx, insertQuery, args...); err != nil {
		return Event{}, fmt.Errorf("audit: insert %s: %w", ev.Action, err)
	}
	if l.observer != nil {
		if err := l.observer(ctx, q, ev); err != nil {
			return Event{}, fmt.Errorf("audit: observe %s: %w", ev.Action, err)
		}
	}
	return ev, nil
}

// Record appends ev in a transaction of its own, for events that accompany no other write
// (sign-in failures, exports, PII reveals).
func (l *Log) Record(ctx context.Context, ev Event) (Event, error) {
	var out Event
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = l.Append(ctx, tx, ev)
		return err
	})
	return out, err
}

// texts returns the TEXT columns in canonical order, changes already encoded.
func (ev *Event) texts(changes string) [textColumns]string {
	return [textColumns]string{
		string(ev.Actor.Type), ev.Actor.ID, ev.Actor.Name, ev.Action,
		ev.Target.Type, ev.Target.ID, changes, ev.ClientAddr, ev.UserAgent, ev.RequestID,
		string(ev.Outcome),
	}
}

func encodeChanges(cs []Change) (string, error) {
	if len(cs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return "", fmt.Errorf("%w: changes: %w", ErrInvalid, err)
	}
	return string(b), nil
}
