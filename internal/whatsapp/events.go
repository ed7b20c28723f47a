package whatsapp

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one thing a webhook told us, flattened out of the entry/change/value nesting so that
// the ingest store can iterate and persist each one on its own. It is one of InboundMessage,
// StatusUpdate, TemplateStatus, TemplateQuality, PhoneNumberQuality, ErrorReport or OtherChange.
type Event interface{ event() }

// InboundMessage is a message from a customer to one of our phone numbers. Deduplicate on
// MessageID: Meta delivers the same webhook more than once.
type InboundMessage struct {
	WABAID        string
	PhoneNumberID string
	DisplayPhone  string
	// From identifies the customer: wa_id when Meta sends it, else the business-scoped user id.
	From        string
	WaID        string
	UserID      string
	ContactName string
	Username    string
	MessageID   string
	// Timestamp is when the customer sent it; zero if Meta's value did not parse.
	Timestamp time.Time
	Type      string
	// Text is the best human-readable summary (body, caption, button title, "[image]", …).
	Text    string
	ReplyTo string
	Message Message
	Raw     json.RawMessage
}

// StatusUpdate reports a sent, delivered, read, failed (or played) message. Deduplicate on
// MessageID + Status and apply with StatusAdvances.
type StatusUpdate struct {
	WABAID          string
	PhoneNumberID   string
	MessageID       string
	Status          string
	Timestamp       time.Time
	RecipientID     string
	RecipientUserID string
	Pricing         *Pricing
	ConversationID  string
	Errors          []WebhookError
	// CallbackData is the biz_opaque_callback_data sent with the message, echoed by Meta.
	CallbackData string
	Raw          json.RawMessage
}

// TemplateStatus is a template's review or lifecycle event (APPROVED, REJECTED, PAUSED, …).
type TemplateStatus struct {
	WABAID     string
	TemplateID string
	Name       string
	Language   string
	Event      string
	Reason     string
	Category   string
	Raw        json.RawMessage
}

// TemplateQuality is a change in a template's quality score.
type TemplateQuality struct {
	WABAID        string
	TemplateID    string
	Name          string
	Language      string
	PreviousScore string
	NewScore      string
	Raw           json.RawMessage
}

// PhoneNumberQuality is a change in a phone number's quality or messaging limit.
type PhoneNumberQuality struct {
	WABAID       string
	DisplayPhone string
	Event        string
	CurrentLimit string
	Raw          json.RawMessage
}

// PhoneNumberName is Meta's decision on a phone number's requested display name.
type PhoneNumberName struct {
	WABAID          string
	DisplayPhone    string
	Decision        string
	RequestedName   string
	RejectionReason string
	Raw             json.RawMessage
}

// AccountUpdated is a change in the business account's standing (verified, restricted,
// banned, a policy violation). Detail is a readable summary of the info objects.
type AccountUpdated struct {
	WABAID string
	Phone  string
	Event  string
	Detail string
	Raw    json.RawMessage
}

// ErrorReport carries value.errors[]: problems Meta reports for a phone number that are not
// tied to one message (the same shape as a failed status's errors). Raw is the whole value.
type ErrorReport struct {
	WABAID        string
	PhoneNumberID string
	Errors        []WebhookError
	Raw           json.RawMessage
}

// OtherChange is a change Switchboard does not model, or one whose value did not decode (Err).
// The store should keep Raw: Meta offers no API to fetch a missed webhook again.
type OtherChange struct {
	WABAID string
	Field  string
	Raw    json.RawMessage
	Err    error
}

func (InboundMessage) event()     {}
func (StatusUpdate) event()       {}
func (TemplateStatus) event()     {}
func (TemplateQuality) event()    {}
func (PhoneNumberQuality) event() {}
func (PhoneNumberName) event()    {}
func (AccountUpdated) event()     {}
func (ErrorReport) event()        {}
func (OtherChange) event()        {}

// Events flattens the webhook into events, in the order Meta sent them. Every change yields at
// least one event, so nothing in a verified POST is silently dropped.
func (w Webhook) Events() []Event {
	var out []Event
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			out = append(out, changeEvents(w.Object, e.ID, c)...)
		}
	}
	return out
}

func changeEvents(object, wabaID string, c Change) []Event {
	other := OtherChange{WABAID: wabaID, Field: c.Field, Raw: c.Value, Err: c.Err}
	if object != ObjectWABA {
		other.Err = fmt.Errorf("whatsapp: webhook object %q is not %q", object, ObjectWABA)
		return []Event{other}
	}
	var out []Event
	switch {
	case c.Messages != nil:
		out = messagesEvents(wabaID, c.Messages, c.Value)
	case c.TemplateStatus != nil:
		t := c.TemplateStatus
		out = []Event{TemplateStatus{
			WABAID: wabaID, TemplateID: string(t.MessageTemplateID), Name: t.MessageTemplateName,
			Language: t.MessageTemplateLanguage, Event: t.Event, Reason: t.Reason,
			Category: t.MessageTemplateCategory, Raw: c.Value,
		}}
	case c.TemplateQuality != nil:
		t := c.TemplateQuality
		out = []Event{TemplateQuality{
			WABAID: wabaID, TemplateID: string(t.MessageTemplateID), Name: t.MessageTemplateName,
			Language: t.MessageTemplateLanguage, PreviousScore: t.PreviousQualityScore,
			NewScore: t.NewQualityScore, Raw: c.Value,
		}}
	case c.PhoneNumberQuality != nil:
		p := c.PhoneNumberQuality
		out = []Event{PhoneNumberQuality{
			WABAID: wabaID, DisplayPhone: p.DisplayPhoneNumber, Event: p.Event,
			CurrentLimit: string(p.CurrentLimit), Raw: c.Value,
		}}
	case c.PhoneNumberName != nil:
		p := c.PhoneNumberName
		out = []Event{PhoneNumberName{WABAID: wabaID, DisplayPhone: p.DisplayPhoneNumber, Decision: p.Decision,
			RequestedName: p.RequestedVerifiedName, RejectionReason: p.RejectionReason, Raw: c.Value}}
	case c.AccountUpdate != nil:
		a := c.AccountUpdate
		out = []Event{AccountUpdated{WABAID: wabaID, Phone: a.PhoneNumber, Event: a.Event, Detail: a.detail(), Raw: c.Value}}
	}
	if len(out) == 0 {
		return []Event{other}
	}
	return out
}

func messagesEvents(wabaID string, v *MessagesValue, raw json.RawMessage) []Event {
	var out []Event
	for _, m := range v.Messages {
		contact := contactFor(v.Contacts, m)
		in := InboundMessage{
			WABAID:        wabaID,
			PhoneNumberID: v.Metadata.PhoneNumberID,
			DisplayPhone:  v.Metadata.DisplayPhoneNumber,
			WaID:          firstNonEmpty(m.From, contact.WaID),
			UserID:        firstNonEmpty(m.FromUserID, contact.UserID),
			ContactName:   contact.Profile.Name,
			Username:      contact.Profile.Username,
			MessageID:     m.ID,
			Type:          m.Type,
			Text:          m.Summary(),
			Message:       m,
			Raw:           m.Raw,
		}
		in.From = firstNonEmpty(in.WaID, in.UserID)
		in.Timestamp, _ = m.Timestamp.Time()
		if m.Context != nil {
			in.ReplyTo = m.Context.ID
		}
		out = append(out, in)
	}
	for _, s := range v.Statuses {
		st := StatusUpdate{
			WABAID:          wabaID,
			PhoneNumberID:   v.Metadata.PhoneNumberID,
			MessageID:       s.ID,
			Status:          s.Status,
			RecipientID:     s.RecipientID,
			RecipientUserID: s.RecipientUserID,
			Pricing:         s.Pricing,
			Errors:          s.Errors,
			CallbackData:    s.BizOpaqueCallbackData,
			Raw:             s.Raw,
		}
		st.Timestamp, _ = s.Timestamp.Time()
		if s.Conversation != nil {
			st.ConversationID = s.Conversation.ID
		}
		out = append(out, st)
	}
	if len(v.Errors) > 0 {
		out = append(out, ErrorReport{
			WABAID: wabaID, PhoneNumberID: v.Metadata.PhoneNumberID, Errors: v.Errors, Raw: raw,
		})
	}
	return out
}

// contactFor finds the profile that belongs to m. Meta sends one contact per sender; a message
// without any sender id (a username-only customer before from_user_id existed) takes the lone
// contact. System messages have no contacts[] at all.
func contactFor(contacts []Contact, m Message) Contact {
	for _, c := range contacts {
		if (m.From != "" && c.WaID == m.From) || (m.FromUserID != "" && c.UserID == m.FromUserID) {
			return c
		}
	}
	if len(contacts) == 1 && (m.From == "" || contacts[0].WaID == "") {
		return contacts[0]
	}
	return Contact{}
}

// Media returns the media object of an image, video, audio, document or sticker message.
func (m Message) Media() *Media {
	switch m.Type {
	case TypeImage:
		return m.Image
	case TypeVideo:
		return m.Video
	case TypeAudio:
		return m.Audio
	case TypeDocument:
		return m.Document
	case TypeSticker:
		return m.Sticker
	}
	return nil
}

// Summary is the best one-line, human-readable rendering of the message for an inbox list:
// the text itself where there is one, otherwise a bracketed description such as "[image]".
func (m Message) Summary() string {
	switch m.Type {
	case TypeText:
		if m.Text != nil {
			return m.Text.Body
		}
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		md := m.Media()
		if md != nil && md.Caption != "" {
			return md.Caption
		}
		if md != nil && md.Filename != "" {
			return "[" + m.Type + ": " + md.Filename + "]"
		}
		if m.Type == TypeAudio && md != nil && md.Voice {
			return "[voice message]"
		}
		return "[" + m.Type + "]"
	case TypeInteractive:
		if i := m.Interactive; i != nil {
			if i.ButtonReply != nil {
				return i.ButtonReply.Title
			}
			if i.ListReply != nil {
				return i.ListReply.Title
			}
			if i.NFMReply != nil {
				return firstNonEmpty(i.NFMReply.Body, "[form answered]")
			}
		}
		if len(m.Errors) > 0 {
			return "[interactive message not delivered: " + firstNonEmpty(m.Errors[0].Title, m.Errors[0].Message) + "]"
		}
	case TypeEdit:
		if m.Edit != nil && m.Edit.Message != nil {
			return m.Edit.Message.Summary()
		}
		return "[edited a message]"
	case TypeRevoke:
		return "[deleted a message]"
	case TypeButton:
		if m.Button != nil {
			return firstNonEmpty(m.Button.Text, m.Button.Payload)
		}
	case TypeReaction:
		if m.Reaction != nil {
			if m.Reaction.Emoji == "" {
				return "[removed a reaction]"
			}
			return "[reacted " + m.Reaction.Emoji + "]"
		}
	case TypeLocation:
		if l := m.Location; l != nil {
			if place := strings.TrimSpace(strings.Join(nonEmpty(l.Name, l.Address), ", ")); place != "" {
				return "[location: " + place + "]"
			}
			return "[location: " + strconv.FormatFloat(l.Latitude, 'f', 5, 64) + ", " +
				strconv.FormatFloat(l.Longitude, 'f', 5, 64) + "]"
		}
	case TypeContacts:
		var names []string
		for _, c := range m.Contacts {
			names = append(names, c.Name.FormattedName)
		}
		if n := strings.Join(nonEmpty(names...), ", "); n != "" {
			return "[contact: " + n + "]"
		}
		return "[contact]"
	case TypeOrder:
		if m.Order != nil {
			s := "[order: " + strconv.Itoa(len(m.Order.ProductItems)) + " items]"
			if m.Order.Text != "" {
				s += " " + m.Order.Text
			}
			return s
		}
	case TypeSystem:
		if m.System != nil && m.System.Body != "" {
			return m.System.Body
		}
	case TypeUnsupported:
		if len(m.Errors) > 0 {
			return "[unsupported message: " + firstNonEmpty(m.Errors[0].Title, m.Errors[0].Message, m.Errors[0].Details()) + "]"
		}
		return "[unsupported message]"
	}
	if m.Type == "" {
		return "[message]"
	}
	// The type comes from the wire; keep the summary short whatever Meta (or a forger who got
	// past the signature) puts there.
	t := []rune(m.Type)
	if len(t) > 32 {
		t = t[:32]
	}
	return "[" + string(t) + "]"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// detail is a readable summary of an account update's info objects.
func (a *AccountUpdate) detail() string {
	var parts []string
	if a.BanInfo != nil {
		if len(a.BanInfo.WABABanState) > 0 {
			parts = append(parts, "ban: "+strings.Join(a.BanInfo.WABABanState, ", "))
		}
		if a.BanInfo.WABABanDate != "" {
			parts = append(parts, "ban date "+a.BanInfo.WABABanDate)
		}
	}
	if a.ViolationInfo != nil && a.ViolationInfo.ViolationType != "" {
		parts = append(parts, "violation: "+a.ViolationInfo.ViolationType)
	}
	for _, r := range a.RestrictionInfo {
		s := "restriction: " + r.RestrictionType
		if t, err := r.Expiration.Time(); err == nil {
			s += " until " + t.Format("2 Jan 2006 15:04 UTC")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
