package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/db"
)

// SeedHistory gives a new demo workspace 90 days of past traffic on both numbers, so that every
// chart of Analytics and Usage means something on first start: customers writing at office-hour
// peaks, six agents answering after minutes or hours, the sandbox's two templates with
// different read rates, failures with Meta's real error codes, billable deliveries, closings.
// It runs once (a workspace with conversations older than two days already has a history),
// before the server listens: written while webhooks arrive it would take the writer from them
// (a load test against a fresh demo showed it), and 400 conversations take about a second.
func SeedHistory(ctx context.Context, d *db.DB, now time.Time) error {
	var old int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM conversations WHERE created_at < ?`,
		now.Add(-48*time.Hour).UnixMilli()).Scan(&old); err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	if old > 0 {
		return nil
	}
	_, err := analyticsgen.Generate(ctx, d, analyticsgen.Options{Conversations: 400, Days: 90, Now: now.Add(-2 * time.Hour),
		Seed: uint64(now.Unix()), Agents: 6, Templates: []analyticsgen.Template{
			{Name: "order_confirmation", Category: "UTILITY", ReadRate: 0.84, Language: "en_US", ButtonRate: 0.55},
			{Name: "we_miss_you", Category: "MARKETING", ReadRate: 0.41, Language: "en_US", ButtonRate: 0.7},
		}})
	if err != nil {
		return fmt.Errorf("demo history: %w", err)
	}
	if err := seedAPICalls(ctx, d, now); err != nil {
		return err
	}
	return seedRates(ctx, d, now)
}
