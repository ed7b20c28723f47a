package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/secrets"
)

// Timing of delivery.
const (
	// RetryFor is how long a delivery is retried before it counts as failed.
	RetryFor = 24 * time.Hour
	// DisableAfter is how long an endpoint may fail every delivery before it is disabled.
	DisableAfter = 5 * 24 * time.Hour
)

// secretContext binds sealed secrets to this use, so one cannot be swapped for another kind.
const secretContext = "webhook_endpoint.secret"

// Options configure a Service.
type Options struct {
	// Sandbox lets endpoints be http:// URLs on this machine (the demo's and tests' receivers).
	Sandbox bool
	Logger  *slog.Logger
	// Alerts raises "webhook endpoint disabled"; nil raises nothing.
	Alerts *alerts.Service
	// Lookup resolves host names for the sender (tests); nil is the system resolver.
	Lookup LookupFunc
}

// Service configures endpoints, queues events and delivers them.
type Service struct {
	db      *db.DB
	store   *Store
	members *members.Store
	audit   *audit.Log
	box     *secrets.Box
	clock   clock.Clock
	logger  *slog.Logger
	alerts  *alerts.Service
	guard   Guard
	lookup  LookupFunc
	wake    chan struct{}
}

// NewService wires the service.
func NewService(d *db.DB, m *members.Store, log *audit.Log, box *secrets.Box, clk clock.Clock, o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{db: d, store: NewStore(d), members: m, audit: log, box: box, clock: clk, logger: o.Logger, alerts: o.Alerts,
		guard: Guard{AllowLoopback: o.Sandbox}, lookup: o.Lookup, wake: make(chan struct{}, 1)}
}

// Store exposes the reads.
func (s *Service) Store() *Store { return s.store }

// Sandbox reports whether loopback receivers are allowed.
func (s *Service) Sandbox() bool { return s.guard.AllowLoopback }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// Wake tells the sender there is something to send now (it also looks every second).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Create configures an endpoint for p and returns it with its signing secret, which is never
// available again. Nobody subscribes an endpoint to more than they can see: each event type
// needs the permission that shows the same thing on the pages, and the number scope must be
// within p's.
func (s *Service) Create(ctx context.Context, p *authz.Principal, in NewEndpoint) (Endpoint, string, error) {
	if !p.Can(authz.WebhooksManage) {
		return Endpoint{}, "", forbidden("Configuring webhooks needs the webhooks.manage permission.")
	}
	e, err := s.validate(p, in)
	if err != nil {
		return Endpoint{}, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	sealed, err := s.box.Seal([]byte(secret), secretContext)
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("seal signing secret: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range e.Numbers.IDs {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM phone_numbers WHERE id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("check phone number: %w", err)
			}
			if n == 0 {
				return FieldErrors{"numbers": "Choose connected phone numbers."}
			}
		}
		if e.ID, err = s.store.insertEndpoint(ctx, tx, e, sealed); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "webhook.endpoint_created",
			Target: endpointTarget(e), Changes: []audit.Change{
				{Field: "url", After: e.ShownURL()},
				{Field: "events", After: e.Events},
				{Field: "format", After: e.Format},
				{Field: "numbers", After: scopeLabel(e.Numbers)},
			}})
		return err
	})
	if err != nil {
		return Endpoint{}, "", err
	}
	return e, secret, nil
}

func (s *Service) validate(p *authz.Principal, in NewEndpoint) (Endpoint, error) {
	fe := FieldErrors{}
	e := Endpoint{Description: strings.TrimSpace(in.Description), Format: in.Format, CreatedBy: p.MemberID, CreatedByName: p.Name,
		CreatedAt: s.now(), Numbers: authz.NumberScope{All: in.AllNumbers}}
	var msg string
	if e.URL, msg = s.guard.checkURL(in.URL); msg != "" {
		fe["url"] = msg
	}
	switch {
	case utf8.RuneCountInString(e.Description) > 200:
		fe["description"] = "Use at most 200 characters."
	case strings.IndexFunc(e.Description, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		fe["description"] = "The description contains a character that cannot be stored."
	}
	if e.Format == "" {
		e.Format = FormatStandard
	}
	seen := map[string]bool{}
	for _, id := range in.Events {
		t, ok := LookupEventType(id)
		switch {
		case !ok:
			fe["events"] = fmt.Sprintf("%q is not an event.", id)
		case !p.Can(t.Needs):
			fe["events"] = fmt.Sprintf("“%s” needs the %s permission, which you do not hold: an endpoint receives only what you can see.", t.Label, t.Needs.ID())
		case e.Format == FormatSlack && !t.Slack:
			fe["events"] = fmt.Sprintf("The Slack format is for member changes and alerts; “%s” needs the standard format.", t.Label)
		case !seen[id]:
			seen[id] = true
			e.Events = append(e.Events, id)
		}
		if fe["events"] != "" {
			break
		}
	}
	if len(e.Events) == 0 && fe["events"] == "" {
		fe["events"] = "Choose at least one event."
	}
	if e.Format != FormatStandard && e.Format != FormatSlack {
		fe["format"] = "Choose the standard or the Slack format."
	}
	if !in.AllNumbers {
		for _, id := range in.NumberIDs {
			if id > 0 && !containsID(e.Numbers.IDs, id) {
				e.Numbers.IDs = append(e.Numbers.IDs, id)
			}
		}
		if len(e.Numbers.IDs) == 0 {
			fe["numbers"] = "Choose all numbers or at least one number."
		}
	}
	if fe["numbers"] == "" && !p.Numbers.Covers(e.Numbers) {
		fe["numbers"] = "An endpoint can only receive events of phone numbers you work in yourself."
	}
	if len(fe) > 0 {
		return Endpoint{}, fe
	}
	return e, nil
}

// manageable loads an endpoint p may change: p holds webhooks.manage and works in every number
// of the endpoint (an endpoint of numbers outside p's scope is answered as not found).
func (s *Service) manageable(ctx context.Context, p *authz.Principal, id int64) (Endpoint, error) {
	if !p.Can(authz.WebhooksManage) {
		return Endpoint{}, forbidden("Managing webhooks needs the webhooks.manage permission.")
	}
	e, err := s.store.Get(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if !p.Numbers.Covers(e.Numbers) {
		return Endpoint{}, ErrNotFound
	}
	return e, nil
}

// Visible lists the endpoints p may see and manage: those within p's numbers.
func (s *Service) Visible(ctx context.Context, p *authz.Principal) ([]Endpoint, error) {
	if !p.Can(authz.WebhooksManage) {
		return nil, forbidden("Webhooks need the webhooks.manage permission.")
	}
	all, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Endpoint
	for _, e := range all {
		if p.Numbers.Covers(e.Numbers) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Get returns an endpoint p may manage.
func (s *Service) Get(ctx context.Context, p *authz.Principal, id int64) (Endpoint, error) {
	return s.manageable(ctx, p, id)
}

// ChangeURL points an endpoint at another URL, checked as a new one is; its secret stays.
func (s *Service) ChangeURL(ctx context.Context, p *authz.Principal, id int64, raw string) error {
	e, err := s.manageable(ctx, p, id)
	if err != nil {
		return err
	}
	u, msg := s.guard.checkURL(raw)
	if msg != "" {
		return FieldErrors{"url": msg}
	}
	if u == e.URL {
		return nil
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = ? WHERE id = ?`, u, id); err != nil {
			return fmt.Errorf("change webhook URL: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "webhook.endpoint_updated",
			Target: endpointTarget(e), Changes: []audit.Change{{Field: "url", Before: e.ShownURL(), After: MaskURL(u, e.Format)}}})
		return err
	})
}

// Delete removes an endpoint and its outbox.
func (s *Service) Delete(ctx context.Context, p *authz.Principal, id int64) error {
	e, err := s.manageable(ctx, p, id)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "webhook.endpoint_deleted",
			Target: endpointTarget(e), Changes: []audit.Change{{Field: "url", Before: e.ShownURL()}}})
		return err
	})
}

// SetEnabled disables an endpoint (nothing more is queued for it) or enables it again, which
// also clears its record of failures.
func (s *Service) SetEnabled(ctx context.Context, p *authz.Principal, id int64, enabled bool) error {
	e, err := s.manageable(ctx, p, id)
	if err != nil {
		return err
	}
	if e.Enabled() == enabled {
		return nil
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		action := "webhook.endpoint_disabled"
		q, args := `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ?`, []any{s.now().UnixMilli(), "Disabled by " + p.Name + ".", id}
		if enabled {
			action = "webhook.endpoint_enabled"
			q, args = `UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = '', failing_since = NULL WHERE id = ?`, []any{id}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: action, Target: endpointTarget(e),
			Changes: []audit.Change{{Field: "enabled", Before: !enabled, After: enabled}}})
		return err
	})
	if err == nil && enabled {
		s.Wake()
	}
	return err
}

// Redeliver sends a delivery again now, whatever became of it, with its original webhook-id so
// the receiver can tell it from a new event; it is retried for another day if it fails.
func (s *Service) Redeliver(ctx context.Context, p *authz.Principal, endpointID, deliveryID int64) error {
	e, err := s.manageable(ctx, p, endpointID)
	if err != nil {
		return err
	}
	d, _, err := s.store.Delivery(ctx, endpointID, deliveryID)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, retry_until = ?,
			delivered_at = NULL WHERE id = ?`, now.UnixMilli(), now.Add(RetryFor).UnixMilli(), d.ID); err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "webhook.redelivered", Target: endpointTarget(e),
			Changes: []audit.Change{{Field: "event", After: d.EventType}, {Field: "webhook_id", After: d.MsgID}, {Field: "state", Before: d.State, After: "pending"}}})
		return err
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// SendTest queues a webhook.test event for the endpoint, whatever it subscribes to. A disabled
// endpoint is sent nothing, a test included: it is enabled first.
func (s *Service) SendTest(ctx context.Context, p *authz.Principal, endpointID int64) error {
	e, err := s.manageable(ctx, p, endpointID)
	if err != nil {
		return err
	}
	if !e.Enabled() {
		return FieldErrors{"endpoint": "The endpoint is disabled: enable it to send it a test event."}
	}
	now := s.now()
	msgID := newMsgID()
	data := map[string]any{"message": "A test event from Switchboard, sent by " + p.Name + ".", "endpoint_id": e.ID}
	payload, err := encodePayload(e, TestEvent, now, data, "*Test event* from Switchboard, sent by "+p.Name+".")
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.store.enqueue(ctx, tx, e.ID, msgID, TestEvent, "test:"+msgID, payload, now); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.PrincipalActor(p), Action: "webhook.test_sent", Target: endpointTarget(e),
			Changes: []audit.Change{{Field: "webhook_id", After: msgID}}})
		return err
	})
	if err == nil {
		s.Wake()
	}
	return err
}

// envelope is the Standard Webhooks payload shape: type, timestamp, data.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// encodePayload renders an event for an endpoint in its format. slackText is the line a Slack
// channel shows.
func encodePayload(e Endpoint, eventType string, at time.Time, data any, slackText string) ([]byte, error) {
	var v any = envelope{Type: eventType, Timestamp: at.UTC().Format(time.RFC3339Nano), Data: data}
	if e.Format == FormatSlack {
		v = map[string]string{"text": slackText}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode webhook payload: %w", err)
	}
	return b, nil
}

func endpointTarget(e Endpoint) audit.Target {
	t := audit.NewTarget("webhook_endpoint", e.ID)
	t.Name = e.ShownURL()
	return t
}

func scopeLabel(n authz.NumberScope) string {
	if n.All {
		return "all"
	}
	return db.FormatIDs(n.IDs)
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
