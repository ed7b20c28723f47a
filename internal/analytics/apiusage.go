package analytics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// APIUsageDays is how far back the Cloud API usage table goes: the call log keeps 30 days.
const APIUsageDays = 30

// APIUsageRow is the Cloud API calls of one endpoint for one phone number (NumberID 0: calls
// about the account, its templates or media by id, which belong to no number).
type APIUsageRow struct {
	NumberID   int64
	NumberName string
	Endpoint   string // e.g. "POST /{phone-number-id}/messages"
	Calls      int64
	Errors     int64 // answers other than 2xx, and calls that got no answer
}

// ErrorRate is the share of calls that failed, in percent, or -1 without calls.
func (r APIUsageRow) ErrorRate() float64 { return Ratio(r.Errors, r.Calls) }

// APIUsage is the Cloud API calls of the last APIUsageDays UTC days (today included) from the
// call log's daily counts (cloud_api_usage), by number and endpoint, as p may see them: calls
// of a number only for those who see it; calls that belong to no number only for members who
// see every number (they may concern any of them). Behind billing.view, as the rest of Usage.
func (s *Service) APIUsage(ctx context.Context, p *authz.Principal) ([]APIUsageRow, error) {
	ns, err := scope(p, authz.BillingView, 0)
	if err != nil || ns.empty() {
		return nil, err
	}
	names, err := s.store.numberNames(ctx)
	if err != nil {
		return nil, err
	}
	var w where
	w.add("day > ?", s.clock.Now().UTC().Unix()/86400-APIUsageDays)
	if !ns.all {
		w.numbers(ns) // never 0: workspace-wide calls are for all-numbers viewers only
	}
	rows, err := s.store.db.Reports.QueryContext(ctx, `SELECT phone_number_id, endpoint, sum(calls), sum(errors) FROM cloud_api_usage
		WHERE `+w.String()+` GROUP BY phone_number_id, endpoint`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("Cloud API usage: %w", err)
	}
	defer rows.Close()
	var out []APIUsageRow
	for rows.Next() {
		var r APIUsageRow
		if err := rows.Scan(&r.NumberID, &r.Endpoint, &r.Calls, &r.Errors); err != nil {
			return nil, fmt.Errorf("Cloud API usage: %w", err)
		}
		r.NumberName = names[r.NumberID]
		if r.NumberID == 0 {
			r.NumberName = "Account (no number)"
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("Cloud API usage: %w", err)
	}
	// Numbers by name, the account's calls last; the busiest endpoints first.
	slices.SortFunc(out, func(a, b APIUsageRow) int {
		if (a.NumberID == 0) != (b.NumberID == 0) {
			if a.NumberID == 0 {
				return 1
			}
			return -1
		}
		if c := strings.Compare(a.NumberName, b.NumberName); c != 0 {
			return c
		}
		if a.Calls != b.Calls {
			return int(b.Calls - a.Calls)
		}
		return strings.Compare(a.Endpoint, b.Endpoint)
	})
	return out, nil
}

// APIUsageSince is the first day the usage covers.
func (s *Service) APIUsageSince() time.Time {
	now := s.clock.Now().UTC()
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-APIUsageDays)
}
