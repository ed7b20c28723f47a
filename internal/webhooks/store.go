package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// Store is the SQL of webhook endpoints, their outbox and their delivery log.
type Store struct{ db *db.DB }

// NewStore returns the store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

const endpointColumns = `id, url, description, events, format, all_numbers, number_ids, created_by, created_by_name,
	created_at, disabled_at, disabled_reason, failing_since`

func scanEndpoint(row interface{ Scan(...any) error }) (Endpoint, error) {
	var (
		e                 Endpoint
		events, numbers   string
		created           int64
		disabled, failing sql.NullInt64
	)
	err := row.Scan(&e.ID, &e.URL, &e.Description, &events, &e.Format, &e.Numbers.All, &numbers, &e.CreatedBy, &e.CreatedByName,
		&created, &disabled, &e.DisabledReason, &failing)
	if errors.Is(err, sql.ErrNoRows) {
		return Endpoint{}, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("read webhook endpoint: %w", err)
	}
	e.Events = strings.Fields(events)
	e.Numbers.IDs = db.ParseIDs(numbers)
	e.CreatedAt, e.DisabledAt, e.FailingSince = fromMillis(created), nullTime(disabled), nullTime(failing)
	return e, nil
}

func (s *Store) insertEndpoint(ctx context.Context, q db.Querier, e Endpoint, sealed []byte) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO webhook_endpoints (url, description, events, format, all_numbers, number_ids, secret,
		created_by, created_by_name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.URL, e.Description, strings.Join(e.Events, " "), e.Format, e.Numbers.All, db.FormatIDs(e.Numbers.IDs), sealed,
		e.CreatedBy, e.CreatedByName, e.CreatedAt.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store webhook endpoint: %w", err)
	}
	return res.LastInsertId()
}

// List returns every endpoint, enabled ones first, newest first.
func (s *Store) List(ctx context.Context) ([]Endpoint, error) {
	return s.list(ctx, s.db.R, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY disabled_at IS NOT NULL, id DESC`)
}

// enabled lists the endpoints that are sent to, through q (the caller's transaction).
func (s *Store) enabled(ctx context.Context, q db.Querier) ([]Endpoint, error) {
	return s.list(ctx, q, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE disabled_at IS NULL ORDER BY id`)
}

func (s *Store) list(ctx context.Context, q db.Querier, query string) ([]Endpoint, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Get returns one endpoint.
func (s *Store) Get(ctx context.Context, id int64) (Endpoint, error) {
	return scanEndpoint(s.db.R.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
}

func (s *Store) sealedSecret(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	err := s.db.R.QueryRowContext(ctx, `SELECT secret FROM webhook_endpoints WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read signing secret: %w", err)
	}
	return b, nil
}

// enqueue adds one event for one endpoint to the outbox; a second event with the same
// dedupe key for the endpoint is dropped (Meta repeats its webhooks).
func (s *Store) enqueue(ctx context.Context, q db.Querier, endpointID int64, msgID, eventType, dedupe string, payload []byte, now time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint_id, msg_id, event_type, dedupe_key, payload,
		next_attempt_at, retry_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		endpointID, msgID, eventType, dedupe, payload, now.UnixMilli(), now.Add(RetryFor).UnixMilli(), now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("queue webhook delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// job is a delivery handed to a sender.
type job struct {
	ID         int64
	EndpointID int64
	MsgID      string
	EventType  string
	Payload    []byte
	Attempts   int
	CreatedAt  time.Time
	RetryUntil time.Time
}

// cursor is a place in the outbox's due order (next_attempt_at, id).
type cursor struct{ at, id int64 }

// claim reads up to limit due deliveries after from in due order, leaving out the endpoints
// at their limit of concurrent sends (busy), and returns them with the place it read up to.
// It only reads: what is in flight is known to the one sender of this process, and whatever
// it had not recorded when the process died is simply due again at the next start, which is
// what makes delivery at-least-once across a kill without a commit per lease. Reading on from
// a place, rather than from the start past every delivery in flight, keeps a claim cheap
// while a thousand deliveries are out. The index is named because, without statistics,
// SQLite would take the endpoint's index for the subquery and sort its whole delivery log.
func (s *Store) claim(ctx context.Context, now time.Time, limit int, busy []int64, from cursor) ([]job, cursor, error) {
	if limit <= 0 {
		return nil, from, nil
	}
	q := `SELECT id, endpoint_id, msg_id, event_type, payload, attempts, created_at, retry_until, next_attempt_at
		FROM webhook_deliveries INDEXED BY webhook_deliveries_due_idx
		WHERE state = 'pending' AND next_attempt_at <= ? AND (next_attempt_at, id) > (?, ?)
		AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL)`
	args := []any{now.UnixMilli(), from.at, from.id}
	if len(busy) > 0 {
		q += ` AND endpoint_id NOT IN (` + strings.TrimSuffix(strings.Repeat("?,", len(busy)), ",") + `)`
		for _, id := range busy {
			args = append(args, id)
		}
	}
	q += ` ORDER BY next_attempt_at, id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, from, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		var (
			j              job
			created, until int64
		)
		if err := rows.Scan(&j.ID, &j.EndpointID, &j.MsgID, &j.EventType, &j.Payload, &j.Attempts, &created, &until, &from.at); err != nil {
			return nil, from, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		from.id = j.ID
		j.CreatedAt, j.RetryUntil = fromMillis(created), fromMillis(until)
		out = append(out, j)
	}
	return out, from, rows.Err()
}

// nextDue is when the earliest pending delivery is due, or zero when none is.
func (s *Store) nextDue(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	if err := s.db.R.QueryRowContext(ctx, `SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("next webhook due: %w", err)
	}
	return nullTime(at), nil
}

// Deliveries lists the newest deliveries of an endpoint.
func (s *Store) Deliveries(ctx context.Context, endpointID int64, limit int) ([]Delivery, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, endpoint_id, msg_id, event_type, state, attempts, created_at, next_attempt_at,
		last_attempt_at, last_status, delivered_at FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?`, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var (
			d                 Delivery
			created, next     int64
			last, deliveredAt sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.EndpointID, &d.MsgID, &d.EventType, &d.State, &d.Attempts, &created, &next, &last, &d.LastStatus, &deliveredAt); err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.CreatedAt, d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = fromMillis(created), fromMillis(next), nullTime(last), nullTime(deliveredAt)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Delivery returns one delivery of an endpoint.
func (s *Store) Delivery(ctx context.Context, endpointID, id int64) (Delivery, []byte, error) {
	var (
		d                 Delivery
		created, next     int64
		last, deliveredAt sql.NullInt64
		payload           []byte
	)
	err := s.db.R.QueryRowContext(ctx, `SELECT id, endpoint_id, msg_id, event_type, state, attempts, created_at, next_attempt_at,
		last_attempt_at, last_status, delivered_at, payload FROM webhook_deliveries WHERE endpoint_id = ? AND id = ?`, endpointID, id).
		Scan(&d.ID, &d.EndpointID, &d.MsgID, &d.EventType, &d.State, &d.Attempts, &created, &next, &last, &d.LastStatus, &deliveredAt, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return Delivery{}, nil, ErrNotFound
	}
	if err != nil {
		return Delivery{}, nil, fmt.Errorf("read webhook delivery: %w", err)
	}
	d.CreatedAt, d.NextAttemptAt, d.LastAttemptAt, d.DeliveredAt = fromMillis(created), fromMillis(next), nullTime(last), nullTime(deliveredAt)
	return d, payload, nil
}

// Attempts is the delivery log of an endpoint: its newest attempts, before the id before (0: the
// newest), optionally of one event type.
func (s *Store) Attempts(ctx context.Context, endpointID int64, eventType string, before int64, limit int) ([]Attempt, error) {
	q := `SELECT a.id, a.delivery_id, d.event_type, d.msg_id, d.state, a.at, a.status, a.duration_ms, a.error, a.response
		FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE a.endpoint_id = ?`
	args := []any{endpointID}
	if eventType != "" {
		q += ` AND d.event_type = ?`
		args = append(args, eventType)
	}
	if before > 0 {
		q += ` AND a.id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var (
			a      Attempt
			at, ms int64
		)
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.EventType, &a.MsgID, &a.State, &at, &a.Status, &ms, &a.Error, &a.Response); err != nil {
			return nil, fmt.Errorf("list webhook attempts: %w", err)
		}
		a.At, a.Duration = fromMillis(at), time.Duration(ms)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// Prune deletes deliveries that are done (delivered or failed) and were created before before,
// with their attempts: the delivery log keeps 30 days.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		split, err := db.FirstRowFrom(ctx, tx, "webhook_deliveries", "created_at", before.UnixMilli())
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id < ? AND state <> 'pending'`, split)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return n, nil
}

// Counts are an endpoint's deliveries by state.
type Counts struct {
	Pending, Delivered, Failed int
}

// Counts returns the deliveries of an endpoint by state.
func (s *Store) Counts(ctx context.Context, endpointID int64) (Counts, error) {
	var c Counts
	err := s.db.R.QueryRowContext(ctx, `SELECT
		count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state = 'failed')
		FROM webhook_deliveries WHERE endpoint_id = ?`, endpointID).Scan(&c.Pending, &c.Delivered, &c.Failed)
	if err != nil {
		return Counts{}, fmt.Errorf("count webhook deliveries: %w", err)
	}
	return c, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMillis(v.Int64)
}

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
