package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// The SQL of the alerts area (migrations/0007_throttle_alerts.sql). Times are unix milliseconds.

const alertColumns = `id, kind, severity, title, subject_type, subject_id, details, count, created_at,
	last_seen_at, acknowledged_at, coalesce(acknowledged_by, 0), acknowledged_by_name`

type scanner interface{ Scan(...any) error }

func scanAlert(row scanner) (Alert, error) {
	var (
		a                 Alert
		details           string
		created, lastSeen int64
		acked             sql.NullInt64
	)
	err := row.Scan(&a.ID, &a.Kind, &a.Severity, &a.Title, &a.Subject.Type, &a.Subject.ID, &details, &a.Count,
		&created, &lastSeen, &acked, &a.AcknowledgedBy, &a.AcknowledgedByName)
	if errors.Is(err, sql.ErrNoRows) {
		return Alert{}, ErrNotFound
	}
	if err != nil {
		return Alert{}, fmt.Errorf("alerts: scan: %w", err)
	}
	if err := json.Unmarshal([]byte(details), &a.Details); err != nil {
		return Alert{}, fmt.Errorf("alerts: alert %d details: %w", a.ID, err)
	}
	if len(a.Details) == 0 {
		a.Details = nil
	}
	a.CreatedAt, a.LastSeenAt = fromMillis(created), fromMillis(lastSeen)
	if acked.Valid {
		a.AcknowledgedAt = fromMillis(acked.Int64)
	}
	return a, nil
}

func alertByID(ctx context.Context, q db.Querier, id int64) (Alert, error) {
	return scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
}

// openRepeatOf finds the open alert that a new one of the same kind and subject repeats: the one
// last seen after since.
func openRepeatOf(ctx context.Context, q db.Querier, k Kind, s Subject, since time.Time) (Alert, bool, error) {
	a, err := scanAlert(q.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE kind = ? AND subject_type = ? AND subject_id = ? AND acknowledged_at IS NULL AND last_seen_at > ?
		ORDER BY last_seen_at DESC LIMIT 1`, string(k), s.Type, s.ID, millis(since)))
	if errors.Is(err, ErrNotFound) {
		return Alert{}, false, nil
	}
	return a, err == nil, err
}

func insertAlert(ctx context.Context, q db.Querier, a Alert) (int64, error) {
	details, err := encodeDetails(a.Details)
	if err != nil {
		return 0, err
	}
	res, err := q.ExecContext(ctx, `INSERT INTO alerts (kind, severity, title, subject_type, subject_id, details,
		count, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(a.Kind), string(a.Severity), a.Title, a.Subject.Type, a.Subject.ID, details, a.Count,
		millis(a.CreatedAt), millis(a.LastSeenAt))
	if err != nil {
		return 0, fmt.Errorf("alerts: insert: %w", err)
	}
	return res.LastInsertId()
}

func updateRepeat(ctx context.Context, q db.Querier, a Alert) error {
	details, err := encodeDetails(a.Details)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE alerts SET severity = ?, title = ?, details = ?, count = ?, last_seen_at = ?
		WHERE id = ?`, string(a.Severity), a.Title, details, a.Count, millis(a.LastSeenAt), a.ID); err != nil {
		return fmt.Errorf("alerts: update alert %d: %w", a.ID, err)
	}
	return nil
}

// acknowledge marks an open alert acknowledged and reports whether it was open.
func acknowledge(ctx context.Context, q db.Querier, id, memberID int64, memberName string, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, acknowledged_by_name = ?
		WHERE id = ? AND acknowledged_at IS NULL`, millis(at), memberID, memberName, id)
	if err != nil {
		return false, fmt.Errorf("alerts: acknowledge %d: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("alerts: acknowledge %d: %w", id, err)
	}
	return n == 1, nil
}

// listAlerts returns up to limit alerts older than beforeID (0: from the newest), newest first.
// Both shapes walk an index in id order: the primary key, or the partial index of open alerts.
func listAlerts(ctx context.Context, q db.Querier, open bool, beforeID int64, limit int) ([]Alert, error) {
	query := `SELECT ` + alertColumns + ` FROM alerts WHERE id < ?`
	if open {
		query += ` AND acknowledged_at IS NULL`
	}
	query += ` ORDER BY id DESC LIMIT ?`
	if beforeID <= 0 {
		beforeID = 1<<63 - 1
	}
	rows, err := q.QueryContext(ctx, query, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("alerts: list: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: list: %w", err)
	}
	return out, nil
}

// countOpen reads the partial index of open alerts and nothing else.
func countOpen(ctx context.Context, q db.Querier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("alerts: count open: %w", err)
	}
	return n, nil
}

// Sign-in addresses (member_sign_in_addresses).

func networkKnown(ctx context.Context, q db.Querier, memberID int64, network string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM member_sign_in_addresses WHERE member_id = ? AND network = ?`,
		memberID, network).Scan(&n); err != nil {
		return false, fmt.Errorf("alerts: read sign-in addresses: %w", err)
	}
	return n > 0, nil
}

func hasAnyNetwork(ctx context.Context, q db.Querier, memberID int64) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM member_sign_in_addresses WHERE member_id = ? LIMIT 1)`,
		memberID).Scan(&n); err != nil {
		return false, fmt.Errorf("alerts: read sign-in addresses: %w", err)
	}
	return n > 0, nil
}

// rememberNetwork records a sign-in from addr in network and reports whether the network is new
// for the member. A new one pushes out the least recently used beyond maxNetworks.
func rememberNetwork(ctx context.Context, q db.Querier, memberID int64, network, addr string, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE member_sign_in_addresses SET address = ?, last_seen_at = ?
		WHERE member_id = ? AND network = ?`, addr, millis(at), memberID, network)
	if err != nil {
		return false, fmt.Errorf("alerts: remember sign-in address: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("alerts: remember sign-in address: %w", err)
	} else if n > 0 {
		return false, nil
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO member_sign_in_addresses (member_id, network, address, first_seen_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?)`, memberID, network, addr, millis(at), millis(at)); err != nil {
		return false, fmt.Errorf("alerts: remember sign-in address: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM member_sign_in_addresses WHERE member_id = ? AND network NOT IN (
		SELECT network FROM member_sign_in_addresses WHERE member_id = ? ORDER BY last_seen_at DESC, network LIMIT ?)`,
		memberID, memberID, maxNetworks); err != nil {
		return false, fmt.Errorf("alerts: prune sign-in addresses: %w", err)
	}
	return true, nil
}

func encodeDetails(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d) // map keys come out sorted
	if err != nil {
		return "", fmt.Errorf("alerts: details: %w", err)
	}
	return string(b), nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
