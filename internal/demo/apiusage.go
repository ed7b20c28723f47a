package demo

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/switchboard/switchboard/internal/apilog"
	"github.com/switchboard/switchboard/internal/db"
)

// seedAPICalls gives the Usage page's Cloud API section a month of calls on first start: a
// send call per outgoing message of the history (failed ones answered with Meta's error), media
// uploads, the daily templates sync and profile reads, as the call log would have kept them.
// Runs with SeedHistory, once.
func seedAPICalls(ctx context.Context, d *db.DB, now time.Time) error {
	from := now.Add(-29 * 24 * time.Hour).Truncate(24 * time.Hour)
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cloud_api_calls WHERE at < ?`, now.Add(-48*time.Hour).UnixMilli()).Scan(&n); err != nil || n > 0 {
			return err
		}
		var waba string
		if err := tx.QueryRowContext(ctx, `SELECT waba_id FROM wabas ORDER BY id LIMIT 1`).Scan(&waba); err != nil {
			return fmt.Errorf("demo API calls: %w", err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO cloud_api_calls (at, method, path, status, duration_ms, error_code, error_message, actor_type, actor_id, actor_name)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'system', '', 'Switchboard')`)
		if err != nil {
			return err
		}
		defer ins.Close()
		rng := rand.New(rand.NewPCG(uint64(now.Unix()), 11))
		call := func(at int64, method, path string, status int, code any, msg string) error {
			_, err := ins.ExecContext(ctx, at, method, path, status, 80+rng.IntN(400), code, msg)
			return err
		}
		// A send call per outgoing message of the history, by the hour it went out.
		rows, err := tx.QueryContext(ctx, `SELECT h.t, p.phone_number_id, h.outbound, h.failed FROM analytics_number_hours h
			JOIN phone_numbers p ON p.id = h.phone_number_id WHERE h.t >= ? AND h.t < ? AND h.outbound > 0`,
			from.Unix()/3600, now.Unix()/3600)
		if err != nil {
			return fmt.Errorf("demo API calls: %w", err)
		}
		type hour struct {
			t              int64
			meta           string
			outbound, fail int
		}
		var hours []hour
		for rows.Next() {
			var h hour
			if err := rows.Scan(&h.t, &h.meta, &h.outbound, &h.fail); err != nil {
				rows.Close()
				return err
			}
			hours = append(hours, h)
		}
		rows.Close()
		for _, h := range hours {
			for i := range h.outbound {
				at := h.t*3_600_000 + rng.Int64N(3_600_000)
				path := "/v21.0/" + h.meta + "/messages"
				switch {
				case i < h.fail && rng.IntN(2) == 0:
					// Failed at the call itself (most failures come later, as a status).
					if err := call(at, "POST", path, 400, 131026, "Message undeliverable"); err != nil {
						return err
					}
				default:
					if err := call(at, "POST", path, 200, nil, ""); err != nil {
						return err
					}
				}
				if rng.IntN(12) == 0 {
					if err := call(at-1500, "POST", "/v21.0/"+h.meta+"/media", 200, nil, ""); err != nil {
						return err
					}
				}
			}
		}
		for day := from; day.Before(now); day = day.Add(24 * time.Hour) {
			at := day.Add(6 * time.Hour).UnixMilli()
			if err := call(at, "GET", "/v21.0/"+waba+"/message_templates?fields=…&limit=100", 200, nil, ""); err != nil {
				return err
			}
			if day.Weekday() == time.Monday {
				// Meta's rate limit met once a week by a busy sync.
				if err := call(at+60_000, "GET", "/v21.0/"+waba+"/phone_numbers?fields=…", 429, 80007, "Rate limit hit"); err != nil {
					return err
				}
			}
			if err := call(at+120_000, "GET", "/v21.0/"+waba+"/phone_numbers?fields=…", 200, nil, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("demo API calls: %w", err)
	}
	return apilog.RebuildUsage(ctx, d)
}
