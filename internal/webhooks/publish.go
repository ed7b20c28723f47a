package webhooks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Events enter the outbox through three seams, each inside the transaction of the change:
//
//   - OnActivity, the activity log's observer: every assignment, close, member change and
//     template status is already an activity event written in its change's transaction, so
//     one hook there covers them all without a call in each service;
//   - OnInbound, run by the webhook ingester once per transaction after the inbox applied
//     its bodies' events, for messages received and message statuses;
//   - PublishAlert, for security alerts, called by the alerts' routing.

// event is one thing that happened, before it is rendered for each endpoint.
type event struct {
	Type string
	// NumberID is the phone number it belongs to (phone_numbers.id), 0 for workspace events.
	NumberID int64
	// Dedupe identifies the event across repeats (Meta's retries, a replayed body).
	Dedupe string
	At     time.Time
	// build renders the data for an endpoint whose creator sees personal data (pii) or not,
	// and the one line a Slack channel shows.
	build func(pii bool) (data any, slack string)
}

// memberChanges are the activity events that make a member.changed event.
var memberChanges = map[string]bool{
	"member.created": true, "member.deactivated": true, "member.reactivated": true, "member.deleted": true,
	"member.role_changed": true, "member.scope_changed": true,
}

// OnActivity turns activity events into webhook events, through q, the transaction that
// records them. It is cheap for the events that are none of its business, which is most.
func (s *Service) OnActivity(ctx context.Context, q db.Querier, ev audit.Event) error {
	if ev.Outcome != audit.OutcomeSuccess {
		return nil
	}
	var e *event
	var err error
	switch {
	case ev.Action == "conversation.assigned" || ev.Action == "conversation.closed":
		e, err = conversationEvent(ctx, q, ev)
	case memberChanges[ev.Action]:
		e = memberEvent(ev)
	case ev.Action == "template.meta_status_changed":
		e, err = templateEvent(ctx, q, ev)
	default:
		return nil
	}
	if err != nil || e == nil {
		return err
	}
	return s.publish(ctx, q, *e)
}

// OnInbound queues message.received and message.status for the events of the webhook bodies
// of one ingester transaction, through q, after the inbox applied them.
func (s *Service) OnInbound(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
	// Most workspaces have no endpoint for these: one small read, and nothing else per batch.
	p := s.publisher(ctx, q)
	wanted, err := p.wants(MessageReceived, MessageStatus)
	if err != nil || !wanted {
		return err
	}
	for _, ev := range events {
		var e *event
		switch m := ev.(type) {
		case whatsapp.InboundMessage:
			e, err = receivedEvent(ctx, q, m)
		case *whatsapp.InboundMessage:
			e, err = receivedEvent(ctx, q, *m)
		case whatsapp.StatusUpdate:
			e, err = statusEvent(ctx, q, m)
		case *whatsapp.StatusUpdate:
			e, err = statusEvent(ctx, q, *m)
		}
		if err != nil {
			return err
		}
		if e != nil {
			if err := p.publish(*e); err != nil {
				return err
			}
		}
	}
	return nil
}

// PublishAlert queues alert.raised for a new alert. It writes in a transaction of its own: the
// alert is committed before it is routed.
func (s *Service) PublishAlert(ctx context.Context, a alerts.Alert) error {
	e := event{Type: AlertRaised, Dedupe: "alert:" + strconv.FormatInt(a.ID, 10) + ":" + strconv.Itoa(max(a.Count, 1)), At: a.CreatedAt,
		build: func(bool) (any, string) {
			data := map[string]any{"id": a.ID, "kind": string(a.Kind), "severity": string(a.Severity), "title": a.Title,
				"subject": a.Subject.String(), "details": a.Details, "count": max(a.Count, 1)}
			return data, fmt.Sprintf(":rotating_light: *%s* (%s): %s", a.Kind.Label(), a.Severity, a.Title)
		}}
	if a.ID == 0 {
		e.Dedupe = "alert:" + newMsgID()
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.publish(ctx, tx, e) })
}

// publish renders e for every endpoint that may receive it and queues it.
func (s *Service) publish(ctx context.Context, q db.Querier, e event) error {
	return s.publisher(ctx, q).publish(e)
}

// publisher queues events through one transaction, reading the endpoints and their creators
// once for all of them: a webhook body carries many events, and each would otherwise read
// them again inside the ingester's transaction.
type publisher struct {
	s         *Service
	ctx       context.Context
	q         db.Querier
	loaded    bool
	endpoints []Endpoint
	creators  map[int64]*authz.Principal
}

func (s *Service) publisher(ctx context.Context, q db.Querier) *publisher {
	return &publisher{s: s, ctx: ctx, q: q, creators: map[int64]*authz.Principal{}}
}

func (p *publisher) load() error {
	if p.loaded {
		return nil
	}
	endpoints, err := p.s.store.enabled(p.ctx, p.q)
	if err != nil {
		return err
	}
	p.endpoints, p.loaded = endpoints, true
	return nil
}

// wants reports whether an enabled endpoint subscribes to one of types.
func (p *publisher) wants(types ...string) (bool, error) {
	if err := p.load(); err != nil {
		return false, err
	}
	for _, ep := range p.endpoints {
		for _, t := range types {
			if ep.Subscribed(t) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (p *publisher) publish(e event) error {
	if err := p.load(); err != nil || len(p.endpoints) == 0 {
		return err
	}
	s := p.s
	if e.At.IsZero() {
		e.At = s.now()
	}
	t, _ := LookupEventType(e.Type)
	queued := false
	for _, ep := range p.endpoints {
		if !ep.Subscribed(e.Type) || (e.NumberID != 0 && !ep.Numbers.SeesNumber(e.NumberID)) {
			continue
		}
		creator, ok := p.creators[ep.CreatedBy]
		if !ok {
			var err error
			creator, err = s.creator(p.ctx, p.q, ep.CreatedBy)
			if err != nil {
				return err
			}
			p.creators[ep.CreatedBy] = creator
		}
		// What the endpoint receives is what its creator could see now, as for an API key.
		if creator == nil || !creator.Can(authz.WebhooksManage) || !creator.Can(t.Needs) ||
			(e.NumberID != 0 && !creator.Numbers.SeesNumber(e.NumberID)) {
			continue
		}
		data, slack := e.build(creator.Can(authz.ContactsViewPII))
		payload, err := encodePayload(ep, e.Type, e.At, data, slack)
		if err != nil {
			return err
		}
		ok, err = s.store.enqueue(p.ctx, p.q, ep.ID, newMsgID(), e.Type, e.Dedupe, payload, s.now())
		if err != nil {
			return err
		}
		queued = queued || ok
	}
	if queued {
		s.Wake()
	}
	return nil
}

// creator is the principal of an endpoint's creator, or nil when they are not active, read
// through q, the transaction that queues the event.
func (s *Service) creator(ctx context.Context, q db.Querier, id int64) (*authz.Principal, error) {
	p, m, err := s.members.PrincipalIn(ctx, q, id)
	if errors.Is(err, members.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook creator: %w", err)
	}
	if !m.Active() {
		return nil, nil
	}
	return p, nil
}

// contact is a customer as an endpoint may see them.
type contact struct {
	WaID string `json:"wa_id,omitempty"`
	Name string `json:"name"`
}

func maskedContact(waID, name string, pii bool) contact {
	if pii {
		return contact{WaID: waID, Name: name}
	}
	return contact{WaID: inbox.MaskPhone(waID), Name: inbox.MaskName(name, waID)}
}

// A message's events are told apart by our id of the message, not by Meta's wamid: the outbox's
// unique index on the key is written for every event queued, and wamids are random, so each
// new key went to a page of its own (2 KB a webhook event on the disk test, a tenth of all
// ingest wrote). Ids grow, so the keys of one batch share the index's last pages. Migration
// 0030 rewrote the keys queued before.
func receivedDedupe(messageID int64) string {
	return "message.received:" + strconv.FormatInt(messageID, 10)
}

func statusDedupe(messageID int64, status string) string {
	return "message.status:" + strconv.FormatInt(messageID, 10) + ":" + status
}

func receivedEvent(ctx context.Context, q db.Querier, in whatsapp.InboundMessage) (*event, error) {
	if in.MessageID == "" {
		return nil, nil
	}
	var (
		id, convID, numberID, at int64
		typ, text, waID, name    string
	)
	err := q.QueryRowContext(ctx, `SELECT m.id, m.conversation_id, c.phone_number_id, m.type, coalesce(m.text, ''), m.created_at,
		coalesce(ct.wa_id, ''), ct.profile_name
		FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE m.wamid = ? AND m.direction = 'in'`, in.MessageID).Scan(&id, &convID, &numberID, &typ, &text, &at, &waID, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // skipped by the inbox (a number not connected)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook message.received: %w", err)
	}
	return &event{Type: MessageReceived, NumberID: numberID, Dedupe: receivedDedupe(id), At: fromMillis(at),
		build: func(pii bool) (any, string) {
			body := text
			if !pii {
				body = inbox.MaskName(text, waID)
			}
			return map[string]any{
				"conversation_id": convID, "phone_number_id": numberID, "contact": maskedContact(waID, name, pii),
				"message": map[string]any{"id": id, "wamid": in.MessageID, "type": typ, "text": body, "created_at": fromMillis(at)},
			}, ""
		}}, nil
}

func statusEvent(ctx context.Context, q db.Querier, st whatsapp.StatusUpdate) (*event, error) {
	if st.MessageID == "" || st.Status == "" {
		return nil, nil
	}
	var (
		id, convID, numberID int64
		waID                 string
	)
	err := q.QueryRowContext(ctx, `SELECT m.id, m.conversation_id, c.phone_number_id, coalesce(ct.wa_id, '')
		FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE m.wamid = ? AND m.direction = 'out'`, st.MessageID).Scan(&id, &convID, &numberID, &waID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil // a status for a message not known (yet): the inbox parks it
	}
	if err != nil {
		return nil, fmt.Errorf("webhook message.status: %w", err)
	}
	status := strings.ToLower(st.Status)
	at := st.Timestamp
	return &event{Type: MessageStatus, NumberID: numberID, Dedupe: statusDedupe(id, status), At: at,
		build: func(pii bool) (any, string) {
			msg := map[string]any{"id": id, "wamid": st.MessageID, "status": status}
			if len(st.Errors) > 0 {
				msg["error"] = map[string]any{"code": st.Errors[0].Code, "title": firstNonEmpty(st.Errors[0].Title, st.Errors[0].Message)}
			}
			return map[string]any{"conversation_id": convID, "phone_number_id": numberID,
				"recipient": maskedContact(waID, "", pii), "message": msg}, ""
		}}, nil
}

func conversationEvent(ctx context.Context, q db.Querier, ev audit.Event) (*event, error) {
	convID, err := strconv.ParseInt(ev.Target.ID, 10, 64)
	if err != nil {
		return nil, nil
	}
	var (
		numberID   int64
		waID, name string
	)
	err = q.QueryRowContext(ctx, `SELECT c.phone_number_id, coalesce(ct.wa_id, ''), ct.profile_name
		FROM conversations c JOIN contacts ct ON ct.id = c.contact_id WHERE c.id = ?`, convID).Scan(&numberID, &waID, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", ev.Action, err)
	}
	typ := ConversationClosed
	if ev.Action == "conversation.assigned" {
		typ = ConversationAssigned
	}
	by := map[string]any{"type": string(ev.Actor.Type), "id": ev.Actor.ID, "name": ev.Actor.Name}
	return &event{Type: typ, NumberID: numberID, Dedupe: "activity:" + strconv.FormatInt(ev.ID, 10), At: ev.At,
		build: func(pii bool) (any, string) {
			data := map[string]any{"conversation_id": convID, "phone_number_id": numberID, "contact": maskedContact(waID, name, pii), "by": by}
			if typ == ConversationAssigned {
				var assignee any
				for _, c := range ev.Changes {
					if c.Field == "assignee_id" && c.After != nil {
						assignee = map[string]any{"id": c.After, "name": changeAfter(ev.Changes, "assignee_name")}
					}
				}
				data["assignee"] = assignee
			}
			return data, ""
		}}, nil
}

func memberEvent(ev audit.Event) *event {
	change := strings.TrimPrefix(ev.Action, "member.")
	return &event{Type: MemberChanged, Dedupe: "activity:" + strconv.FormatInt(ev.ID, 10), At: ev.At,
		build: func(bool) (any, string) {
			changes := make([]map[string]any, 0, len(ev.Changes))
			for _, c := range ev.Changes {
				changes = append(changes, map[string]any{"field": c.Field, "before": c.Before, "after": c.After})
			}
			data := map[string]any{"member": map[string]any{"id": ev.Target.ID, "name": ev.Target.Name}, "change": change,
				"changes": changes, "by": map[string]any{"type": string(ev.Actor.Type), "id": ev.Actor.ID, "name": ev.Actor.Name}}
			return data, fmt.Sprintf(":bust_in_silhouette: %s: %s (by %s)", audit.ActionLabel(ev.Action), ev.Target.Name, ev.Actor.Name)
		}}
}

func templateEvent(ctx context.Context, q db.Querier, ev audit.Event) (*event, error) {
	id, err := strconv.ParseInt(ev.Target.ID, 10, 64)
	if err != nil {
		return nil, nil
	}
	var name, language, status string
	err = q.QueryRowContext(ctx, `SELECT name, language, meta_status FROM templates WHERE id = ?`, id).Scan(&name, &language, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook template.status: %w", err)
	}
	return &event{Type: TemplateStatus, Dedupe: "activity:" + strconv.FormatInt(ev.ID, 10), At: ev.At,
		build: func(bool) (any, string) {
			data := map[string]any{"template_id": id, "name": name, "language": language, "status": status}
			for _, c := range ev.Changes {
				if c.Field == "meta_status" || c.Field == "status" {
					data["previous_status"] = c.Before
				}
				if c.Field == "rejected_reason" {
					data["rejected_reason"] = c.After
				}
			}
			return data, ""
		}}, nil
}

func changeAfter(cs []audit.Change, field string) any {
	for _, c := range cs {
		if c.Field == field {
			return c.After
		}
	}
	return nil
}

// newMsgID is a webhook-id: unique per event and endpoint, kept when the event is sent again.
func newMsgID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on the platforms Go supports
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
