package inbox

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// Box is one of the inbox's lists; see the package documentation for who may open which.
type Box string

// The boxes, in the order the inbox shows them.
const (
	BoxMine       Box = "mine"
	BoxUnassigned Box = "unassigned"
	BoxEscalated  Box = "escalated"
	BoxAll        Box = "all"
	BoxClosed     Box = "closed"
)

// Boxes lists every box in display order.
func Boxes() []Box { return []Box{BoxMine, BoxUnassigned, BoxEscalated, BoxAll, BoxClosed} }

// ParseBox reads a box name from a URL; unknown names are an error.
func ParseBox(s string) (Box, error) {
	for _, b := range Boxes() {
		if string(b) == s {
			return b, nil
		}
	}
	return "", fieldError("box", fmt.Sprintf("%q is not an inbox box", s))
}

// Status of a conversation.
type Status string

// Conversation statuses.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Direction of a message.
type Direction string

// Directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Message states besides Meta's (sent, delivered, read, failed, played — see whatsapp.StatusRank).
const (
	// MessageReceived is every inbound message.
	MessageReceived = "received"
	// MessagePending: the row is written and the call to Meta is under way.
	MessagePending = "pending"
	// MessageAccepted: Meta answered with a wamid; delivery is reported by status webhooks.
	MessageAccepted = "accepted"
)

// View says how much of a customer's personal data a principal sees: with contacts.view_pii
// everything, otherwise phone numbers (and names that are phone numbers) masked.
type View struct {
	PII bool
}

// ViewFor returns the view of p.
func ViewFor(p *authz.Principal) View { return View{PII: p.Can(authz.ContactsViewPII)} }

// Contact is a customer as the viewer may see them.
type Contact struct {
	ID int64
	// Phone is the number in E.164 ("+4915112341234"), or masked ("+49 ••• •••• 1234") without
	// contacts.view_pii; empty for a customer known only by a business-scoped user id.
	Phone string
	// Name is the WhatsApp profile name, masked where it is (or contains) a phone number.
	Name string
	// UserID is the business-scoped user id. It identifies the customer to this business only
	// (that is Meta's point of it), so it is shown unmasked.
	UserID   string
	Username string
	// Masked reports that Phone and Name went through masking.
	Masked bool
}

// Label is the best single name to show for the contact.
func (c Contact) Label() string {
	for _, s := range []string{c.Name, c.Username, c.Phone, c.UserID} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return "Unknown customer"
}

// Window is the 24-hour customer service window of a conversation, as of the service clock.
type Window struct {
	// Open: free-form messages may be sent now.
	Open bool
	// ClosesAt is 24 hours after the customer's last message (zero if they never wrote).
	ClosesAt time.Time
}

func windowAt(lastInbound, now time.Time) Window {
	if lastInbound.IsZero() {
		return Window{}
	}
	closes := lastInbound.Add(windowLength)
	return Window{Open: now.Before(closes), ClosesAt: closes}
}

// Conversation is one conversation as the viewer may see it.
type Conversation struct {
	ID int64
	// PhoneNumberID is phone_numbers.id (ours); NumberName its label or display number.
	PhoneNumberID int64
	NumberName    string
	Contact       Contact
	Status        Status
	AssigneeID    int64 // 0: unassigned
	AssigneeName  string
	Escalated     bool
	// The last escalation, kept after it was dealt with.
	EscalationReason string
	EscalatedBy      int64
	EscalatedAt      time.Time
	LastInboundAt    time.Time
	LastMessageAt    time.Time
	Unread           int
	// Preview is the start of the newest message.
	Preview   string
	Window    Window
	CreatedAt time.Time
	// Labels on the conversation (filled by List).
	Labels []Label
}

// Cursor is where the next page of a list starts: conversations older than (At, ID).
type Cursor struct {
	At int64 // last_message_at, unix ms
	ID int64
}

// IsZero reports the cursor of the first page.
func (c Cursor) IsZero() bool { return c == Cursor{} }

// String is the cursor as it travels in a URL: "<ms>.<id>".
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.At, 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads String's form; "" is the first page.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	at, id, ok := strings.Cut(s, ".")
	var c Cursor
	var err1, err2 error
	c.At, err1 = strconv.ParseInt(at, 10, 64)
	c.ID, err2 = strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || c.ID <= 0 {
		return Cursor{}, fieldError("before", "not a list position")
	}
	return c, nil
}

// ListQuery asks for one page of a box.
type ListQuery struct {
	Box Box
	// Search narrows the box to conversations whose contact name, number or messages match.
	Search string
	// LabelID narrows the box to conversations carrying that label (0: any).
	LabelID int64
	Before  Cursor
	// Limit is the page size: 1 to MaxLimit, DefaultLimit when 0.
	Limit int
}

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Page is one page of a box. Next is zero on the last page.
type Page struct {
	Conversations []Conversation
	Next          Cursor
}

// Counts are the figures beside the boxes, each at most CountCap ("999+"). A box the
// principal may not open counts -1.
type Counts struct {
	Mine       int
	Unassigned int
	Escalated  int
	All        int
	// Unread: open conversations the principal sees that have messages nobody read yet.
	Unread int
	// Boxes the principal may open, in display order.
	Boxes []Box
}

// SendError is what Meta said when it refused a message, or reported it failed.
type SendError struct {
	Code    int
	Title   string
	Details string
}

// Message is one message of a conversation.
type Message struct {
	ID             int64
	ConversationID int64
	Direction      Direction
	WAMID          string
	Type           string
	// Text is the body, caption or a readable summary ("[image]", "[template: order_update]").
	Text     string
	ReplyTo  string
	Status   string
	StatusAt time.Time
	Error    *SendError
	SentBy   int64
	// SentByName is the member who sent an outgoing message.
	SentByName   string
	TemplateName string
	CannedID     int64
	CreatedAt    time.Time
	// Raw is an inbound message as Meta sent it, for types the inbox does not render. It carries
	// the customer's number, so it is set only for viewers with contacts.view_pii.
	Raw json.RawMessage
	// Detail is what the message shows beyond its text (a location, a file name, an order…).
	Detail *Detail
	// EditedAt is set when the customer edited the message, DeletedAt when they deleted it.
	EditedAt  time.Time
	DeletedAt time.Time
	// Reaction is the customer's emoji on this message ("" for none).
	Reaction string
	// Media is the message's file (Messages fills it).
	Media *MediaFile
}

// CannedResponse is a pre-approved reply.
type CannedResponse struct {
	ID        int64
	Title     string
	Body      string
	CreatedBy int64
	UpdatedBy int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CannedInput is the form of a canned response.
type CannedInput struct {
	Title string
	Body  string
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(ms *int64) time.Time {
	if ms == nil {
		return time.Time{}
	}
	return fromMillis(*ms)
}

// workOrder is the order in which boxes are tried for "the first box with work": what is the
// member's own first, then what waits for a supervisor, then what waits for anyone.
var workOrder = []Box{BoxMine, BoxEscalated, BoxUnassigned, BoxAll}

// Count is the number of open conversations in box b (0 for boxes without a count).
func (c Counts) Count(b Box) int {
	switch b {
	case BoxMine:
		return c.Mine
	case BoxUnassigned:
		return c.Unassigned
	case BoxEscalated:
		return c.Escalated
	case BoxAll:
		return c.All
	}
	return 0
}

// DefaultBox is the box the inbox opens when the member did not name one. The member's last
// explicit choice (remembered, may be "") wins while it has conversations; otherwise the first
// box with work, in workOrder, among those the member may open; otherwise the first box they may
// open. An explicit choice is therefore never lost, but an empty box never hides waiting work.
func (c Counts) DefaultBox(remembered Box) Box {
	if remembered != "" && slices.Contains(c.Boxes, remembered) && c.Count(remembered) > 0 {
		return remembered
	}
	for _, b := range workOrder {
		if slices.Contains(c.Boxes, b) && c.Count(b) > 0 {
			return b
		}
	}
	if remembered != "" && slices.Contains(c.Boxes, remembered) {
		return remembered
	}
	if len(c.Boxes) == 0 {
		return ""
	}
	return c.Boxes[0]
}
