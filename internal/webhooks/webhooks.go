// Package webhooks is outgoing webhooks: endpoints that members holding webhooks.manage
// configure, an outbox of events written in the transaction of the change each describes, and
// a sender that delivers them signed as the Standard Webhooks specification says
// (https://www.standardwebhooks.com), at least once, retrying with back-off for a day.
//
// An endpoint acts for its creator, like an API key: it receives an event only if its creator,
// with their permissions and numbers as they are when the event happens, could see it on the
// pages, narrowed further by the endpoint's own number scope; customers' numbers and names are
// masked unless the creator holds contacts.view_pii.
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// Event types an endpoint can subscribe to.
const (
	MessageReceived      = "message.received"
	MessageStatus        = "message.status"
	ConversationAssigned = "conversation.assigned"
	ConversationClosed   = "conversation.closed"
	TemplateStatus       = "template.status"
	MemberChanged        = "member.changed"
	AlertRaised          = "alert.raised"
	// TestEvent is what "Send test event" sends; every endpoint accepts it.
	TestEvent = "webhook.test"
)

// EventType describes one kind of event: who may receive it and whether Slack can show it.
type EventType struct {
	ID          string
	Label       string
	Description string
	// Needs is the permission the endpoint's creator must hold for the endpoint to receive it,
	// the same one that shows the thing on the pages.
	Needs authz.Permission
	// Slack: offered in the Slack-compatible format (short texts for a channel).
	Slack bool
}

// EventTypes is the catalogue, in the order the form shows it.
func EventTypes() []EventType {
	return []EventType{
		{MessageReceived, "Message received", "A customer wrote to one of your numbers.", authz.ConversationsViewAll, false},
		{MessageStatus, "Message status", "A message you sent was delivered, read or failed.", authz.ConversationsViewAll, false},
		{ConversationAssigned, "Conversation assigned", "A conversation was given to a member or taken back.", authz.ConversationsViewAll, false},
		{ConversationClosed, "Conversation closed", "A conversation was closed.", authz.ConversationsViewAll, false},
		{TemplateStatus, "Template status", "Meta approved, rejected, paused or disabled a template.", authz.TemplatesView, false},
		{MemberChanged, "Member changed", "A member was added, deactivated, reactivated, deleted, or their role or numbers changed.", authz.MembersView, true},
		{AlertRaised, "Alert raised", "A security alert was raised (repeated failed sign-ins, a new administrator…).", authz.AlertsView, true},
	}
}

// LookupEventType finds an event type by id.
func LookupEventType(id string) (EventType, bool) {
	for _, e := range EventTypes() {
		if e.ID == id {
			return e, true
		}
	}
	return EventType{}, false
}

// Formats of a payload.
const (
	FormatStandard = "standard"
	// FormatSlack is a Slack incoming-webhook body ({"text": …}), offered for the events a
	// channel of people reads: member changes and alerts.
	FormatSlack = "slack"
)

// Errors the web layer maps to answers.
var (
	ErrNotFound  = errors.New("webhook endpoint not found")
	ErrForbidden = errors.New("forbidden")
	// ErrAddressNotAllowed is a destination outside the public internet (no SSRF).
	ErrAddressNotAllowed = errors.New("the address is not a public internet address")
)

// RuleError is a refusal with a message for the person refused.
type RuleError struct {
	Kind    error
	Message string
}

func (e *RuleError) Error() string { return e.Message }
func (e *RuleError) Unwrap() error { return e.Kind }

func forbidden(format string, args ...any) error {
	return &RuleError{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors are validation errors by field name ("url", "events", "numbers", "format").
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	fields := make([]string, 0, len(fe))
	for f := range fe {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return fmt.Sprintf("%d invalid fields: %s", len(fe), strings.Join(fields, ", "))
}

// Endpoint is a configured destination; its secret is never read back out of the service.
type Endpoint struct {
	ID             int64
	URL            string
	Description    string
	Events         []string
	Format         string
	Numbers        authz.NumberScope
	CreatedBy      int64
	CreatedByName  string
	CreatedAt      time.Time
	DisabledAt     time.Time
	DisabledReason string
	FailingSince   time.Time
}

// Enabled reports whether the endpoint is sent to.
func (e Endpoint) Enabled() bool { return e.DisabledAt.IsZero() }

// Subscribed reports whether the endpoint wants events of type t.
func (e Endpoint) Subscribed(t string) bool {
	if t == TestEvent {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

// NewEndpoint is the form of a new endpoint.
type NewEndpoint struct {
	URL         string
	Description string
	Events      []string
	Format      string
	AllNumbers  bool
	NumberIDs   []int64
}

// SecretPrefix marks a signing secret, as the Standard Webhooks libraries expect: whsec_ and
// the base64 of the key.
const SecretPrefix = "whsec_"

// secretBytes is the HMAC key's length: the specification asks for 24 to 64 bytes.
const secretBytes = 32

func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate signing secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// Delivery is one event for one endpoint, as the delivery log shows it.
type Delivery struct {
	ID            int64
	EndpointID    int64
	MsgID         string
	EventType     string
	State         string // pending, delivered, failed
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time
	LastAttemptAt time.Time
	LastStatus    int
	DeliveredAt   time.Time
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	ID         int64
	DeliveryID int64
	EventType  string
	MsgID      string
	State      string // the delivery's state now
	At         time.Time
	Status     int // 0: no HTTP answer
	Duration   time.Duration
	Error      string
	Response   string
}

// Succeeded reports whether the receiver answered 2xx.
func (a Attempt) Succeeded() bool { return a.Status >= 200 && a.Status <= 299 }
