// Package campaigns sends one approved template to a segment of contacts: a broadcast that
// reaches only customers who agreed to marketing, from a number its creator may use, started by
// a second person (four eyes), paced under Meta's throughput and messaging limits, and surviving
// a crash without sending anyone the message twice. Messages go through the inbox's one send
// path (inbox.Service.SendTemplateAutomated), so the consent gate and the number's state are
// checked there as for any member's message. It knows nothing of HTTP.
package campaigns

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Status is where a campaign is in its life.
type Status string

// Statuses: created → awaiting_approval; approved → scheduled (start time ahead) or running;
// running ⇄ paused; → completed or cancelled.
const (
	StatusAwaitingApproval Status = "awaiting_approval"
	StatusScheduled        Status = "scheduled"
	StatusRunning          Status = "running"
	StatusPaused           Status = "paused"
	StatusCompleted        Status = "completed"
	StatusCancelled        Status = "cancelled"
)

// Label is the status for people.
func (s Status) Label() string {
	switch s {
	case StatusAwaitingApproval:
		return "Awaiting approval"
	case StatusScheduled:
		return "Scheduled"
	case StatusRunning:
		return "Sending"
	case StatusPaused:
		return "Paused"
	case StatusCompleted:
		return "Completed"
	case StatusCancelled:
		return "Cancelled"
	}
	return string(s)
}

// Active reports whether the campaign may still send.
func (s Status) Active() bool {
	return s == StatusScheduled || s == StatusRunning || s == StatusPaused
}

// RecipientState is where one recipient is.
type RecipientState string

// Recipient states. Sending is the crash window: the pending message is stored and Meta may or
// may not have been called (see runner.go).
const (
	StateQueued  RecipientState = "queued"
	StateSending RecipientState = "sending"
	StateSent    RecipientState = "sent"
	StateFailed  RecipientState = "failed"
	StateSkipped RecipientState = "skipped"
)

// Campaign is one broadcast.
type Campaign struct {
	ID               int64
	Name             string
	TemplateID       int64
	TemplateName     string
	TemplateLanguage string
	TemplateCategory string
	PhoneNumberID    int64
	PhoneNumberName  string
	Segment          Segment
	Bindings         map[string]Binding
	Status           Status
	TimeZone         string
	StartAt          time.Time // zero: as soon as approved
	PauseReason      string
	WaitUntil        time.Time // the messaging limit is used up until then
	CreatedBy        int64
	CreatedByName    string
	ApprovedBy       int64
	ApprovedByName   string
	ApprovedAt       time.Time
	StartedAt        time.Time
	FinishedAt       time.Time
	Recipients       int
	LeftOutConsent   int
	LeftOutOptedOut  int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Marketing reports whether the template is a MARKETING one, which needs opt-in.
func (c Campaign) Marketing() bool { return c.TemplateCategory == "MARKETING" }

// StartLocal is the start time in the campaign's time zone (its creator's), for people.
func (c Campaign) StartLocal() string {
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return c.StartIn(loc, c.TimeZone)
}

// StartIn is the start time in a viewer's zone loc, named zone: "24 Dec 2026 04:30 Europe/Berlin".
// Members in different zones read the same instant each in their own.
func (c Campaign) StartIn(loc *time.Location, zone string) string {
	if c.StartAt.IsZero() {
		return "On approval"
	}
	return c.StartAt.In(loc).Format("2 Jan 2006 15:04") + " " + zone
}

// Progress is how far the campaign has come.
type Progress struct {
	Total, Queued, Sending, Sent, Failed, Skipped int
}

// Done counts the recipients finished one way or another.
func (p Progress) Done() int { return p.Sent + p.Failed + p.Skipped }

// Percent is Done of Total, 0–100.
func (p Progress) Percent() int {
	if p.Total == 0 {
		return 100
	}
	return p.Done() * 100 / p.Total
}

// Binding says where a template variable's value comes from for each recipient.
type Binding struct {
	// Source is one of the contact fields (SourceName, SourceFirstName, SourcePhone) or SourceFixed.
	Source string `json:"source"`
	// Value is the fixed value, or the fallback when the contact's field is empty.
	Value string `json:"value,omitempty"`
}

// Binding sources.
const (
	SourceFixed     = "fixed"
	SourceName      = "name"
	SourceFirstName = "first_name"
	SourcePhone     = "phone"
)

// Sources lists the binding sources in the order a form offers them, with their labels.
func Sources() [][2]string {
	return [][2]string{{SourceFirstName, "Contact's first name"}, {SourceName, "Contact's name"},
		{SourcePhone, "Contact's phone number"}, {SourceFixed, "Fixed text"}}
}

// value is the binding's value for contact: the field, or the fallback when it is empty.
func (b Binding) value(c Contact) string {
	var v string
	switch b.Source {
	case SourceFixed:
		return b.Value
	case SourceName:
		v = c.Name
	case SourceFirstName:
		v, _, _ = strings.Cut(strings.TrimSpace(c.Name), " ")
	case SourcePhone:
		if c.WaID != "" {
			v = "+" + c.WaID
		}
	}
	if strings.TrimSpace(v) == "" {
		return b.Value
	}
	return v
}

// Contact is a segment member as the campaign needs it.
type Contact struct {
	ID      int64
	WaID    string
	Name    string
	Consent string // consent.Status: "", opted_in, opted_out
}

// Errors.
var (
	ErrNotFound  = errors.New("campaign not found")
	ErrForbidden = errors.New("forbidden")
	// ErrState is an action the campaign's status does not allow (approving a running one).
	ErrState = errors.New("not possible in the campaign's current state")
)

// FieldErrors are validation messages by form field.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	var parts []string
	for k, v := range fe {
		parts = append(parts, k+": "+v)
	}
	return "invalid campaign: " + strings.Join(parts, "; ")
}

// refusal is a forbidden action with the reason a person reads.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return ErrForbidden }

func forbidden(format string, args ...any) error { return refusal{fmt.Sprintf(format, args...)} }
