package templates

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// Service is the templates area's behaviour. Every method that changes something checks the
// principal's permission (again, after the route did: defence in depth), validates, changes
// state and appends its activity event in one transaction.
type Service struct {
	db    *db.DB
	store *Store
	audit *audit.Log
	meta  Meta
	scope ScopeFunc
	clock clock.Clock
}

// NewService wires the templates service. scope decides which accounts a principal works in
// (AllNumbersOnly until phone numbers are mapped to accounts).
func NewService(d *db.DB, store *Store, log *audit.Log, meta Meta, scope ScopeFunc, clk clock.Clock) *Service {
	return &Service{db: d, store: store, audit: log, meta: meta, scope: scope, clock: clk}
}

// Store gives access to the store's read queries (StatusChangesFor).
func (s *Service) Store() *Store { return s.store }

// Get returns one template in the principal's accounts.
func (s *Service) Get(ctx context.Context, p *authz.Principal, id int64) (Template, error) {
	if !p.Can(authz.TemplatesView) {
		return Template{}, ErrForbidden
	}
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return Template{}, err
	}
	t, err := s.store.get(ctx, s.db.R, id)
	if err != nil {
		return Template{}, err
	}
	if !scope.Allows(t.WABAID) {
		return Template{}, ErrNotFound
	}
	return t, nil
}

// List returns the templates in the principal's accounts that match f.
func (s *Service) List(ctx context.Context, p *authz.Principal, f ListFilter) ([]Template, error) {
	if !p.Can(authz.TemplatesView) {
		return nil, ErrForbidden
	}
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.store.list(ctx, s.db.R, f, scope)
}

// History returns a template with all its revisions and decisions.
func (s *Service) History(ctx context.Context, p *authz.Principal, id int64) (History, error) {
	t, err := s.Get(ctx, p, id)
	if err != nil {
		return History{}, err
	}
	revs, err := s.store.revisions(ctx, s.db.R, id)
	if err != nil {
		return History{}, err
	}
	decisions, err := s.store.decisions(ctx, s.db.R, id)
	if err != nil {
		return History{}, err
	}
	return History{Template: t, Revisions: revs, Decisions: decisions}, nil
}

// StatusChanges is StatusChangesFor the principal's own templates, within their accounts.
func (s *Service) StatusChanges(ctx context.Context, p *authz.Principal, since time.Time) ([]StatusChange, error) {
	if !p.CanAny(authz.TemplatesView, authz.TemplatesCreate) {
		return nil, ErrForbidden
	}
	scope, err := s.scopeOf(ctx, p)
	if err != nil {
		return nil, err
	}
	changes, err := s.store.StatusChangesFor(ctx, p.MemberID, since)
	if err != nil {
		return nil, err
	}
	out := changes[:0]
	for _, c := range changes {
		if scope.Allows(c.WABAID) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (s *Service) scopeOf(ctx context.Context, p *authz.Principal) (Scope, error) {
	if p == nil {
		return Scope{}, nil
	}
	sc, err := s.scope(ctx, p)
	if err != nil {
		return Scope{}, fmt.Errorf("template scope: %w", err)
	}
	return sc, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func templateTarget(id int64) audit.Target {
	return audit.Target{Type: "template", ID: strconv.FormatInt(id, 10)}
}

func memberActor(p *authz.Principal) audit.Actor {
	return audit.PrincipalActor(p)
}

// systemActor is the request's actor when a member asked for the work (a "sync now" button),
// Switchboard itself otherwise (webhooks, scheduled sync).
func systemActor(ctx context.Context) audit.Actor {
	if a, ok := audit.ActorFrom(ctx); ok {
		return a
	}
	return audit.System()
}

// recordRefusal writes the activity event of a refused action (missing permission, four eyes)
// in a transaction of its own, since the action itself changed nothing. It returns cause.
func (s *Service) recordRefusal(ctx context.Context, p *authz.Principal, action string, id int64, cause error) error {
	ev := audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: refusalReason(cause)}}}
	if id != 0 {
		ev.Target = templateTarget(id)
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func refusalReason(err error) string {
	switch {
	case errors.Is(err, ErrOwnTemplate):
		return "four eyes: the author cannot decide on their own template"
	case errors.Is(err, ErrForbidden):
		return err.Error()
	default:
		return "refused"
	}
}

// recordFailure writes the event of an action that Meta refused or that failed on the way. Only
// Meta's code and message are kept: an adapter's other errors may carry URLs or headers.
func (s *Service) recordFailure(ctx context.Context, actor audit.Actor, action string, id int64, cause error) error {
	reason := "the call to Meta failed"
	var me *MetaError
	if errors.As(cause, &me) {
		reason = fmt.Sprintf("Meta error %d: %s", me.Code, me.Message)
	}
	ev := audit.Event{Actor: actor, Action: action, Target: templateTarget(id), Outcome: audit.OutcomeFailed,
		Changes: []audit.Change{{Field: "error", After: reason}}}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// describe names a status the way an author would say it.
func describe(st Status) string {
	switch st {
	case StatusDraft:
		return "a draft"
	case StatusInReview:
		return "in review"
	case StatusApproved:
		return "approved and waiting to be submitted to Meta"
	case StatusSubmitted:
		return "submitted to Meta"
	case StatusDeleted:
		return "deleted"
	}
	return string(st)
}
