// Package analytics is the Analyst's view of the channel: messages, delivery and read rates,
// failures by Meta error code, conversations, response and resolution times, incoming volume by
// weekday and hour, agents and templates, and billable usage with its estimated cost.
//
// Every figure is read from rollup tables (migrations/0014_analytics.sql) kept up to date by
// triggers on the inbox's tables and rebuildable from them (Store.Rebuild). The number scope of
// the viewer narrows every query: an analyst of one number never reads another number's rows.
package analytics

import (
	"context"
	"errors"
	"log/slog"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

var (
	// ErrForbidden: the principal may not see analytics (or billing).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: a filter names a phone number outside the viewer's scope (or none at all);
	// the same answer as for a number that does not exist.
	ErrNotFound = errors.New("not found")
)

// Service answers the Analytics and Usage pages for a principal.
type Service struct {
	store *Store
	clock clock.Clock
	audit *audit.Log
}

// NewService returns the analytics service over d.
func NewService(d *db.DB, log *slog.Logger, clk clock.Clock, a *audit.Log) *Service {
	return &Service{store: NewStore(d, log), clock: clk, audit: a}
}

// Store is the service's store (for Rebuild and benchmarks).
func (s *Service) Store() *Store { return s.store }

// scope is what p may read with filter f applied.
func scope(p *authz.Principal, perm authz.Permission, numberID int64) (numbers, error) {
	if !p.Can(perm) {
		return numbers{}, ErrForbidden
	}
	ns := numbers{all: p.Numbers.All, ids: p.Numbers.IDs}
	if numberID != 0 {
		if !p.Numbers.SeesNumber(numberID) {
			return numbers{}, ErrNotFound
		}
		ns = numbers{ids: []int64{numberID}}
	}
	return ns, nil
}

// Report is every figure of the Analytics page for period and filter, as p may see them.
func (s *Service) Report(ctx context.Context, p *authz.Principal, period Period, f Filter) (Report, error) {
	ns, err := scope(p, authz.AnalyticsView, f.NumberID)
	if err != nil {
		return Report{}, err
	}
	return s.store.report(ctx, period, f, ns)
}

// Options are the filter choices p has.
func (s *Service) Options(ctx context.Context, p *authz.Principal) (Options, error) {
	ns, err := scope(p, authz.AnalyticsView, 0)
	if err != nil {
		return Options{}, err
	}
	return s.store.options(ctx, ns)
}
