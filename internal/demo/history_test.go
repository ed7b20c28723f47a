package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/members"
)

// The demo's history fills every chart: both numbers, both sandbox templates with different
// read rates, failures with Meta's codes, billable deliveries, closings; and only once.
func TestSeedHistoryFillsEveryChartOnce(t *testing.T) {
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO wabas (waba_id, name, created_at, updated_at) VALUES ('102290129340398', 'Lucky Shrub', 0, 0)`,
		`INSERT INTO phone_numbers (waba_ref, phone_number_id, display_phone_number, verified_name, created_at, updated_at) VALUES (1, 'a', '+1 555', 'Sales', 0, 0), (1, 'b', '+49 30', 'Care', 0, 0)`,
		`INSERT INTO templates (waba_id, name, language, meta_status, meta_category, created_at, updated_at) VALUES
			('102290129340398', 'order_confirmation', 'en_US', 'APPROVED', 'UTILITY', 0, 0), ('102290129340398', 'we_miss_you', 'en_US', 'APPROVED', 'MARKETING', 0, 0)`,
	} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := demo.SeedHistory(ctx, d, now); err != nil {
		t.Fatal(err)
	}
	var numbers, failures, billable, closed int
	var first, last int64
	d.R.QueryRow(`SELECT count(DISTINCT phone_number_id) FROM analytics_messages WHERE outbound > 0`).Scan(&numbers)
	d.R.QueryRow(`SELECT count(DISTINCT error_code) FROM analytics_failures WHERE n > 0`).Scan(&failures)
	d.R.QueryRow(`SELECT coalesce(sum(n), 0) FROM analytics_billable WHERE grain = 24`).Scan(&billable)
	d.R.QueryRow(`SELECT coalesce(sum(closed), 0) FROM analytics_conversations WHERE grain = 24`).Scan(&closed)
	d.R.QueryRow(`SELECT min(created_at), max(created_at) FROM messages`).Scan(&first, &last)
	if numbers != 2 || failures < 3 || billable == 0 || closed == 0 {
		t.Fatalf("numbers %d, error codes %d, billable %d, closed %d", numbers, failures, billable, closed)
	}
	if span := time.UnixMilli(last).Sub(time.UnixMilli(first)); span < 85*24*time.Hour || time.UnixMilli(last).After(now) {
		t.Fatalf("history spans %v up to %v", span, time.UnixMilli(last))
	}
	rate := func(tpl string) float64 {
		var read, delivered float64
		d.R.QueryRow(`SELECT sum(read), sum(read + delivered) FROM analytics_messages WHERE grain = 24 AND template_name = ?`, tpl).Scan(&read, &delivered)
		return read / delivered
	}
	if a, b := rate("order_confirmation"), rate("we_miss_you"); a < b+0.2 {
		t.Fatalf("read rates: order_confirmation %.2f, we_miss_you %.2f", a, b)
	}
	var before, after int
	d.R.QueryRow(`SELECT count(*) FROM messages`).Scan(&before)
	if err := demo.SeedHistory(ctx, d, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	d.R.QueryRow(`SELECT count(*) FROM messages`).Scan(&after)
	if after != before {
		t.Fatalf("a second start added history: %d → %d messages", before, after)
	}
}
