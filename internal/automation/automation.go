// Package automation answers customers and routes conversations on the workspace's behalf:
// business hours with an away message, keyword auto-replies, a welcome button menu whose choice
// routes the conversation to a team, round-robin auto-assignment among available members, and
// a rating asked after a conversation is closed. It has no HTTP in it.
//
// # How it runs
//
// Ingest is not slowed down by any of it. After a webhook body has committed (and Meta has its
// 200), the Ingester's Committed hook only wakes the Worker. The Worker reads new inbound
// messages after a cursor kept in the database (automation_state), decides, and writes its
// jobs, per-conversation markers (the away message's "sent once"), assignments and the advanced
// cursor in one transaction: a crash before that commit is redone from the cursor, one after
// it is not redone (jobs are unique by a dedupe key as well). A job is claimed (state
// "sending", in the transaction that writes the pending message) before Meta is called, and a
// job found still "sending" at start is never sent again: nothing is lost between the webhook
// and the decision, and no customer gets an automated message twice.
//
// # Rules automation keeps
//
//   - it sends only inside the 24-hour customer service window (inbox.SendAutomated refuses
//     otherwise) and never to a contact whose marketing consent is an opt-out;
//   - every message, assignment and closing it makes is attributed to "Automation", in the
//     conversation and as the activity log's actor;
//   - it assigns only to members who would see the conversation, by the one visibility predicate
//     (inbox.AssignAutomated checks authz.Visibility like a person's Assign).
//
// Configuration needs automation.manage; members set their own availability.
package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
)

// ErrNotFound is a rule, team, menu option or number that does not exist.
var ErrNotFound = errors.New("automation: not found")

// ErrForbidden is a change without automation.manage.
var ErrForbidden = errors.New("automation: needs the automation.manage permission")

// FieldErrors are validation messages by form field.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	var parts []string
	for k, v := range fe {
		parts = append(parts, k+": "+v)
	}
	return "invalid automation settings: " + strings.Join(parts, "; ")
}

// OptOuts tells whether a contact opted out (internal/consent).
type OptOuts interface {
	OptedOut(ctx context.Context, q db.Querier, contactID int64) (bool, error)
}

// Service is automation: its settings (store.go), the worker (worker.go), assignment and ratings.
type Service struct {
	db      *db.DB
	audit   *audit.Log
	clock   clock.Clock
	inbox   *inbox.Service
	optOuts OptOuts
	logger  *slog.Logger
	wake    chan struct{}
	// runMu makes one run at a time: the worker's, or a test's.
	runMu sync.Mutex
	// stmts keeps planning's statements prepared: it runs the same few for every message.
	stmts *db.Statements
}

// New wires automation.
func New(d *db.DB, log *audit.Log, clk clock.Clock, ib *inbox.Service, optOuts OptOuts, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{db: d, audit: log, clock: clk, inbox: ib, optOuts: optOuts, logger: logger, wake: make(chan struct{}, 1),
		stmts: db.NewStatements(d.W)}
}

// allowed is the domain's own check (the route guard is the first line).
func (s *Service) allowed(ctx context.Context, p *authz.Principal, action string) error {
	if p.Can(authz.AutomationManage) {
		return nil
	}
	if _, err := s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: "needs automation.manage"}}}); err != nil {
		return errors.Join(ErrForbidden, err)
	}
	return ErrForbidden
}

// record appends p's event of a change inside its transaction.
func (s *Service) record(ctx context.Context, q db.Querier, p *authz.Principal, action string, target audit.Target, changes ...audit.Change) error {
	_, err := s.audit.Append(ctx, q, audit.Event{Actor: audit.PrincipalActor(p), Action: action, Target: target,
		Outcome: audit.OutcomeSuccess, Changes: changes})
	return err
}

func target(kind string, id int64) audit.Target {
	return audit.Target{Type: kind, ID: strconv.FormatInt(id, 10)}
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Number is a connected phone number, as automation pages name it.
type Number struct {
	ID   int64
	Name string
}

// Numbers lists the phone numbers of connected accounts.
func (s *Service) Numbers(ctx context.Context) ([]Number, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT p.id, `+numberName+` FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref
		WHERE w.disconnected_at IS NULL ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	defer rows.Close()
	var out []Number
	for rows.Next() {
		var n Number
		if err := rows.Scan(&n.ID, &n.Name); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

const numberName = `CASE WHEN p.label != '' THEN p.label || ' (' || p.display_phone_number || ')'
	WHEN p.verified_name != '' THEN p.verified_name || ' (' || p.display_phone_number || ')' ELSE p.display_phone_number END`

func (s *Service) numberExists(ctx context.Context, q db.Querier, id int64) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM phone_numbers WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
