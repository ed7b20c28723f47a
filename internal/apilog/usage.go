package apilog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// usageKey is a row of cloud_api_usage: calls of one UTC day, phone number (0: the account's
// or no number's) and endpoint.
type usageKey struct {
	day      int64
	metaID   string // the path's first id, matched to a phone number when written
	endpoint string
}

// Endpoint is the path's shape: method, the path without its version and query, ids replaced
// by {id} (the first by {phone-number-id} when it is one of ours), and the path's first id.
// "POST /v21.0/1234/messages" is "POST /{id}/messages" with first id "1234".
func Endpoint(method, path string) (endpoint, firstID string) {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var parts []string
	for i, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		switch {
		case seg == "":
			continue
		case i == 0 && len(seg) > 1 && seg[0] == 'v' && strings.Trim(seg[1:], "0123456789.") == "":
			continue // the Graph API version
		case strings.Trim(seg, "0123456789") == "":
			if firstID == "" {
				firstID = seg
			}
			seg = "{id}"
		}
		parts = append(parts, seg)
	}
	return method + " /" + strings.Join(parts, "/"), firstID
}

// addUsage counts calls into acc.
func addUsage(acc map[usageKey][2]int64, at time.Time, method, path string, failed bool) {
	ep, id := Endpoint(method, path)
	k := usageKey{day: at.UTC().Unix() / 86400, metaID: id, endpoint: ep}
	v := acc[k]
	v[0]++
	if failed {
		v[1]++
	}
	acc[k] = v
}

// writeUsage adds acc to cloud_api_usage through tx: a call whose first id is one of the
// workspace's phone numbers belongs to that number (and its endpoint says {phone-number-id});
// every other call (templates, the account, media by id) to none.
func writeUsage(ctx context.Context, tx *sql.Tx, acc map[usageKey][2]int64) error {
	numbers := map[string]int64{}
	for k := range acc {
		if _, seen := numbers[k.metaID]; seen || k.metaID == "" {
			continue
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM phone_numbers WHERE phone_number_id = ?`, k.metaID).Scan(&id)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("number of a Cloud API call: %w", err)
		}
		numbers[k.metaID] = id
	}
	for k, v := range acc {
		number, ep := numbers[k.metaID], k.endpoint
		if number != 0 {
			ep = strings.Replace(ep, "{id}", "{phone-number-id}", 1)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cloud_api_usage (day, phone_number_id, endpoint, calls, errors) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors`,
			k.day, number, ep, v[0], v[1]); err != nil {
			return fmt.Errorf("record Cloud API usage: %w", err)
		}
	}
	return nil
}

// RebuildUsage recomputes cloud_api_usage for the days the call log still holds (it keeps 30
// days; older days of usage are kept as they are).
func (l *Log) RebuildUsage(ctx context.Context) error { return RebuildUsage(ctx, l.db) }

// RebuildUsage is Log.RebuildUsage for a database without a running log (the demo's seed).
func RebuildUsage(ctx context.Context, d *db.DB) error {
	return d.Tx(ctx, func(tx *sql.Tx) error {
		var oldest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT min(at) FROM cloud_api_calls`).Scan(&oldest); err != nil {
			return fmt.Errorf("rebuild Cloud API usage: %w", err)
		}
		if !oldest.Valid {
			return nil
		}
		from := oldest.Int64 / 86_400_000
		if _, err := tx.ExecContext(ctx, `DELETE FROM cloud_api_usage WHERE day >= ?`, from); err != nil {
			return fmt.Errorf("rebuild Cloud API usage: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT at, method, path, status FROM cloud_api_calls WHERE at >= ?`, from*86_400_000)
		if err != nil {
			return fmt.Errorf("rebuild Cloud API usage: %w", err)
		}
		acc := map[usageKey][2]int64{}
		for rows.Next() {
			var (
				at           int64
				method, path string
				status       int
			)
			if err := rows.Scan(&at, &method, &path, &status); err != nil {
				rows.Close()
				return fmt.Errorf("rebuild Cloud API usage: %w", err)
			}
			addUsage(acc, time.UnixMilli(at), method, path, Entry{Status: status}.Failed())
		}
		if err := rows.Close(); err != nil {
			return err
		}
		return writeUsage(ctx, tx, acc)
	})
}
