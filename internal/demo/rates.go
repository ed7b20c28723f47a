package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/db"
)

// demoRates fill the demo's rate card so Usage shows costs on first start. They are of the
// order of Meta's published per-message prices for 2025 (marketing dearest, utility and
// authentication cheap, some countries with their own line) and are the demo's sample only:
// a real workspace starts with an empty card that a billing.manage holder fills in.
var demoRates = []struct {
	category, country string
	micros            int64
}{
	{"marketing", "*", 50_000}, {"marketing", "US", 25_000}, {"marketing", "DE", 136_500},
	{"marketing", "GB", 52_900}, {"marketing", "IN", 10_700}, {"marketing", "BR", 62_500},
	{"utility", "*", 8_000}, {"utility", "US", 4_000}, {"utility", "DE", 5_500}, {"utility", "IN", 1_400},
	{"authentication", "*", 8_000}, {"authentication", "US", 4_000}, {"authentication", "DE", 7_600},
	{"authentication-international", "*", 30_000},
}

func seedRates(ctx context.Context, d *db.DB, now time.Time) error {
	from := time.Date(2025, time.July, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, r := range demoRates {
		if _, err := d.W.ExecContext(ctx, `INSERT INTO billing_rates (category, country, currency, rate_micros, effective_from, created_at)
			VALUES (?, ?, 'USD', ?, ?, ?) ON CONFLICT (category, country, effective_from) DO NOTHING`,
			r.category, r.country, r.micros, from, now.UnixMilli()); err != nil {
			return fmt.Errorf("demo rate card: %w", err)
		}
	}
	return nil
}
