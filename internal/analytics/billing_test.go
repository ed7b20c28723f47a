package analytics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
)

// Usage prices each billable message by the line in effect on its day: a country's own line
// over "*", a later date over an earlier one; the numbers outside the viewer's scope are left out.
func TestUsageIsPricedByTheCardInEffect(t *testing.T) {
	d, gen := generated(t, 600)
	ctx := context.Background()
	clk := clock.NewFake(genNow)
	svc := analytics.NewService(d, nil, clk, audit.New(d, clk))
	manager := &authz.Principal{MemberID: 1, Name: "Finance", Permissions: authz.NewSet(authz.BillingView, authz.BillingManage), Numbers: authz.NumberScope{All: true}}
	for _, in := range []analytics.RateInput{
		{Category: "marketing", Country: "*", Currency: "USD", Price: "0.05", EffectiveFrom: "2020-01-01"},
		{Category: "marketing", Country: "de", Currency: "USD", Price: "0.10", EffectiveFrom: "2020-01-01"},
		// From mid-period on, Germany costs more.
		{Category: "marketing", Country: "DE", Currency: "USD", Price: "0.20", EffectiveFrom: genNow.AddDate(0, 0, -10).Format(time.DateOnly)},
	} {
		if _, err := svc.SetRate(ctx, manager, in); err != nil {
			t.Fatal(err)
		}
	}
	var fe analytics.FieldErrors
	if _, err := svc.SetRate(ctx, manager, analytics.RateInput{Category: "promo", Country: "XX", Currency: "usd1", Price: "1,5", EffectiveFrom: "soon"}); !errors.As(err, &fe) || len(fe) != 5 {
		t.Fatalf("bad input: %v", err)
	}
	viewer := &authz.Principal{MemberID: 2, Permissions: authz.NewSet(authz.BillingView), Numbers: authz.NumberScope{All: true}}
	if _, err := svc.SetRate(ctx, viewer, analytics.RateInput{Category: "marketing", Country: "*", Currency: "USD", Price: "9", EffectiveFrom: "2020-01-01"}); err != analytics.ErrForbidden {
		t.Fatalf("billing.view set a rate: %v", err)
	}
	rows, err := svc.Usage(ctx, viewer, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Expected: straight from message_statuses, priced by hand.
	q, err := d.R.Query(`SELECT s.at, substr(ct.wa_id, 1, 2) FROM message_statuses s JOIN messages m ON m.wamid = s.wamid
		JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE s.billable = 1 AND s.pricing_category = 'marketing' AND s.status IN ('delivered', 'read') AND s.at >= ?`,
		time.Date(genNow.Year(), genNow.Month()-2, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	var want, n int64
	cut := time.Date(genNow.Year(), genNow.Month(), genNow.Day()-10, 0, 0, 0, 0, time.UTC)
	for q.Next() {
		var at int64
		var cc string
		q.Scan(&at, &cc)
		n++
		switch {
		case cc == "49" && !time.UnixMilli(at).Before(cut):
			want += 200_000
		case cc == "49":
			want += 100_000
		default:
			want += 50_000
		}
	}
	q.Close()
	var got, gotN int64
	for _, r := range rows {
		if r.Category == "marketing" {
			got += r.CostMicros
			gotN += r.Messages
		}
	}
	if n == 0 || got != want || gotN != n {
		t.Fatalf("marketing: %d messages costing %d µUSD, want %d costing %d", gotN, got, n, want)
	}
	scoped := &authz.Principal{MemberID: 3, Permissions: authz.NewSet(authz.BillingView), Numbers: authz.NumberScope{IDs: []int64{gen.Numbers[1]}}}
	rows, _ = svc.Usage(ctx, scoped, 3)
	for _, r := range rows {
		if r.NumberID != gen.Numbers[1] {
			t.Fatalf("scoped viewer sees number %d", r.NumberID)
		}
	}
	var audited int
	d.R.QueryRow(`SELECT count(*) FROM audit_events WHERE action = 'billing.rate_set'`).Scan(&audited)
	if audited != 3 {
		t.Fatalf("%d rate changes in the activity log, want 3", audited)
	}
}

// The starting card names the categories without prices: their messages are counted but not
// costed (no "0.0000" that reads as free) until someone enters a price, and a price of zero
// that someone does enter is a price.
func TestTheStartingCardPricesNothing(t *testing.T) {
	d, _ := generated(t, 600)
	ctx := context.Background()
	svc := analytics.NewService(d, nil, clock.NewFake(genNow), audit.New(d, clock.NewFake(genNow)))
	manager := &authz.Principal{MemberID: 1, Name: "Finance", Permissions: authz.NewSet(authz.BillingView, authz.BillingManage), Numbers: authz.NumberScope{All: true}}
	card, err := svc.RateCard(ctx, manager)
	if err != nil || len(card) != len(analytics.Categories) {
		t.Fatalf("starting card %v, %v", card, err)
	}
	for _, r := range card {
		if !r.Unset() {
			t.Errorf("starting line %s %s counts as set", r.Category, r.Country)
		}
	}
	usage := func(category string) (msgs int64, priced bool) {
		rows, err := svc.Usage(ctx, manager, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Category == category {
				msgs += r.Messages
				priced = priced || r.Priced
			}
		}
		return msgs, priced
	}
	if n, priced := usage("utility"); n == 0 || priced {
		t.Fatalf("utility on the starting card: %d messages, priced %v; want counted and unpriced", n, priced)
	}
	if _, err := svc.SetRate(ctx, manager, analytics.RateInput{Category: "utility", Country: "*", Currency: "USD", Price: "0", EffectiveFrom: "2020-01-01"}); err != nil {
		t.Fatal(err)
	}
	if _, priced := usage("utility"); !priced {
		t.Fatal("a price of zero someone entered does not price utility messages")
	}
}
