package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ObjectWABA is the only webhook `object` Meta sends for WhatsApp.
const ObjectWABA = "whatsapp_business_account"

// Webhook change fields Switchboard models. Anything else arrives as an OtherChange event.
const (
	FieldMessages           = "messages"
	FieldTemplateStatus     = "message_template_status_update"
	FieldTemplateQuality    = "message_template_quality_update"
	FieldPhoneNumberQuality = "phone_number_quality_update"
	FieldPhoneNumberName    = "phone_number_name_update"
	FieldAccountUpdate      = "account_update"
)

// Message types listed in Meta's webhook reference.
const (
	TypeText        = "text"
	TypeImage       = "image"
	TypeVideo       = "video"
	TypeAudio       = "audio"
	TypeDocument    = "document"
	TypeSticker     = "sticker"
	TypeInteractive = "interactive"
	TypeButton      = "button"
	TypeReaction    = "reaction"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeOrder       = "order"
	TypeSystem      = "system"
	TypeUnsupported = "unsupported"
	TypeTemplate    = "template" // outgoing only
	// Edits and revokes come from customers on the WhatsApp Business app ("coexistence"): they
	// change an earlier message rather than adding one.
	TypeEdit   = "edit"
	TypeRevoke = "revoke"
)

// MaxWebhookBody is the largest webhook body Meta sends (3 MB); the handler should refuse more
// with 413 before reading it all.
const MaxWebhookBody = 3 << 20

// ErrMalformedWebhook wraps every ParseWebhook failure, so that a handler can answer 400 for a
// body that is not a webhook at all without inspecting the JSON error.
var ErrMalformedWebhook = errors.New("whatsapp: malformed webhook")

// Webhook is the envelope of every POST Meta makes to /webhooks/whatsapp.
type Webhook struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry groups the changes of one WhatsApp Business Account; ID is the WABA id.
type Entry struct {
	ID      string   `json:"id"`
	Changes []Change `json:"changes"`
}

// Change is one `changes[]` element. Value is kept exactly as received; the typed pointer for
// Field is filled when the value decodes. A value that does not decode into its type leaves the
// pointer nil and Err set instead of failing the whole POST: Meta batches up to 1,000 changes and
// retries the batch for 7 days, so one surprising change must not block the others.
type Change struct {
	Field string
	Value json.RawMessage

	Messages           *MessagesValue            // Field == FieldMessages
	TemplateStatus     *TemplateStatusUpdate     // Field == FieldTemplateStatus
	TemplateQuality    *TemplateQualityUpdate    // Field == FieldTemplateQuality
	PhoneNumberQuality *PhoneNumberQualityUpdate // Field == FieldPhoneNumberQuality
	PhoneNumberName    *PhoneNumberNameUpdate    // Field == FieldPhoneNumberName
	AccountUpdate      *AccountUpdate            // Field == FieldAccountUpdate

	Err error // why Value could not be decoded into its type
}

type changeWire struct {
	Value json.RawMessage `json:"value"`
	Field string          `json:"field"`
}

// UnmarshalJSON keeps the raw value and decodes the part of it that Field names.
func (c *Change) UnmarshalJSON(data []byte) error {
	var w changeWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*c = Change{Field: w.Field, Value: cloneRaw(w.Value)}
	if len(c.Value) == 0 || bytes.Equal(c.Value, []byte("null")) {
		return nil
	}
	var err error
	switch c.Field {
	case FieldMessages:
		var v MessagesValue
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.Messages = &v
		}
	case FieldTemplateStatus:
		var v TemplateStatusUpdate
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.TemplateStatus = &v
		}
	case FieldTemplateQuality:
		var v TemplateQualityUpdate
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.TemplateQuality = &v
		}
	case FieldPhoneNumberQuality:
		var v PhoneNumberQualityUpdate
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.PhoneNumberQuality = &v
		}
	case FieldPhoneNumberName:
		var v PhoneNumberNameUpdate
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.PhoneNumberName = &v
		}
	case FieldAccountUpdate:
		var v AccountUpdate
		if err = json.Unmarshal(c.Value, &v); err == nil {
			c.AccountUpdate = &v
		}
	}
	if err != nil {
		c.Err = fmt.Errorf("decode %q value: %w", c.Field, err)
	}
	return nil
}

// MarshalJSON writes Value when set (so a parsed change re-encodes as received), otherwise the
// typed value for Field; the simulator builds webhooks this way.
func (c Change) MarshalJSON() ([]byte, error) {
	value := c.Value
	if len(value) == 0 {
		var typed any
		switch {
		case c.Messages != nil:
			typed = c.Messages
		case c.TemplateStatus != nil:
			typed = c.TemplateStatus
		case c.TemplateQuality != nil:
			typed = c.TemplateQuality
		case c.PhoneNumberQuality != nil:
			typed = c.PhoneNumberQuality
		case c.PhoneNumberName != nil:
			typed = c.PhoneNumberName
		case c.AccountUpdate != nil:
			typed = c.AccountUpdate
		}
		b, err := json.Marshal(typed)
		if err != nil {
			return nil, err
		}
		value = b
	}
	return json.Marshal(changeWire{Value: value, Field: c.Field})
}

// MessagesValue is the value of a "messages" change: inbound messages, statuses of what we sent,
// or system errors, for one business phone number.
type MessagesValue struct {
	MessagingProduct string         `json:"messaging_product"`
	Metadata         Metadata       `json:"metadata"`
	Contacts         []Contact      `json:"contacts,omitempty"`
	Messages         []Message      `json:"messages,omitempty"`
	Statuses         []Status       `json:"statuses,omitempty"`
	Errors           []WebhookError `json:"errors,omitempty"`
}

// Metadata names the business phone number the change belongs to.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// Contact is the sender's profile. From April 2026 Meta adds the business-scoped user id
// (user_id) and may omit wa_id for users with a username, so neither is guaranteed alone.
type Contact struct {
	Profile Profile `json:"profile"`
	WaID    string  `json:"wa_id,omitempty"`
	UserID  string  `json:"user_id,omitempty"`
}

// Profile is what the customer shows of themselves.
type Profile struct {
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Message is one inbound message. Only the object named by Type is set. Raw is the message's
// JSON exactly as received, so fields and types Switchboard does not model are not lost.
type Message struct {
	From string `json:"from,omitempty"`
	// FromUserID is the business-scoped user id that Meta's BSUID rollout adds to messages; with
	// a username-only customer it may be the only sender id.
	FromUserID  string            `json:"from_user_id,omitempty"`
	ID          string            `json:"id"`
	Timestamp   Timestamp         `json:"timestamp"`
	Type        string            `json:"type"`
	Context     *MessageContext   `json:"context,omitempty"`
	Text        *Text             `json:"text,omitempty"`
	Image       *Media            `json:"image,omitempty"`
	Video       *Media            `json:"video,omitempty"`
	Audio       *Media            `json:"audio,omitempty"`
	Document    *Media            `json:"document,omitempty"`
	Sticker     *Media            `json:"sticker,omitempty"`
	Interactive *InteractiveReply `json:"interactive,omitempty"`
	Button      *ButtonReply      `json:"button,omitempty"`
	Reaction    *Reaction         `json:"reaction,omitempty"`
	Location    *Location         `json:"location,omitempty"`
	Contacts    []SharedContact   `json:"contacts,omitempty"`
	Order       *Order            `json:"order,omitempty"`
	System      *System           `json:"system,omitempty"`
	Edit        *Edit             `json:"edit,omitempty"`
	Revoke      *Revoke           `json:"revoke,omitempty"`
	Referral    *Referral         `json:"referral,omitempty"`
	Errors      []WebhookError    `json:"errors,omitempty"`

	Raw json.RawMessage `json:"-"`
}

type messageAlias Message

// UnmarshalJSON decodes the known fields and keeps a copy of the raw message.
func (m *Message) UnmarshalJSON(data []byte) error {
	var a messageAlias
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*m = Message(a)
	m.Raw = cloneRaw(data)
	return nil
}

// MessageContext is present on replies (and forwards): ID is the message replied to.
type MessageContext struct {
	From                string `json:"from,omitempty"`
	ID                  string `json:"id,omitempty"`
	Forwarded           bool   `json:"forwarded,omitempty"`
	FrequentlyForwarded bool   `json:"frequently_forwarded,omitempty"`
}

// Text is a text message.
type Text struct {
	Body string `json:"body"`
}

// Media is an inbound image, video, audio, document or sticker. ID is fetched with GetMedia.
type Media struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	URL      string `json:"url,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

// InteractiveReply is the customer's tap on reply buttons (button_reply) or a list (list_reply).
type InteractiveReply struct {
	Type        string       `json:"type"`
	ButtonReply *ReplyChoice `json:"button_reply,omitempty"`
	ListReply   *ReplyChoice `json:"list_reply,omitempty"`
	// NFMReply is the answer to a WhatsApp Flow (type "nfm_reply").
	NFMReply *FlowReply `json:"nfm_reply,omitempty"`
}

// FlowReply is a completed WhatsApp Flow: ResponseJSON holds the answers as a JSON string.
type FlowReply struct {
	Name         string `json:"name,omitempty"`
	Body         string `json:"body,omitempty"`
	ResponseJSON string `json:"response_json,omitempty"`
}

// Edit is a customer's change to an earlier message: Message is the new content (text, or media
// with a new caption) of OriginalMessageID.
type Edit struct {
	OriginalMessageID string   `json:"original_message_id"`
	Message           *Message `json:"message,omitempty"`
}

// Revoke is a customer deleting an earlier message for everyone.
type Revoke struct {
	OriginalMessageID string `json:"original_message_id"`
}

// Referral says the customer wrote after tapping an ad or post (click-to-WhatsApp).
type Referral struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	SourceType   string `json:"source_type,omitempty"`
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	CtwaClid     string `json:"ctwa_clid,omitempty"`
}

// ReplyChoice is the button or row the customer chose.
type ReplyChoice struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// ButtonReply is a tap on a template's quick-reply button.
type ButtonReply struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// Reaction is an emoji on an earlier message; an empty Emoji removes the reaction.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Location is a shared location (also used to send one).
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// SharedContact is one contact card of a "contacts" message (the rest stays in Raw).
type SharedContact struct {
	Name   ContactName    `json:"name"`
	Phones []ContactPhone `json:"phones,omitempty"`
	Emails []ContactEmail `json:"emails,omitempty"`
}

// ContactName is the name on a contact card.
type ContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
}

// ContactPhone is a phone number on a contact card.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactEmail is an e-mail address on a contact card.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// Order is a cart sent from a catalog.
type Order struct {
	CatalogID    string      `json:"catalog_id"`
	Text         string      `json:"text,omitempty"`
	ProductItems []OrderItem `json:"product_items"`
}

// OrderItem is one line of an order. Numbers are json.Number because Meta's examples show them
// both as numbers and as strings; json.Number accepts either.
type OrderItem struct {
	ProductRetailerID string      `json:"product_retailer_id"`
	Quantity          json.Number `json:"quantity,omitempty"`
	ItemPrice         json.Number `json:"item_price,omitempty"`
	Currency          string      `json:"currency,omitempty"`
}

// System is a notice from WhatsApp about the customer (changed number, changed identity or
// user id). System messages arrive without a contacts[] array.
type System struct {
	Body     string `json:"body,omitempty"`
	Type     string `json:"type,omitempty"`
	Identity string `json:"identity,omitempty"`
	WaID     string `json:"wa_id,omitempty"`
	NewWaID  string `json:"new_wa_id,omitempty"`
	Customer string `json:"customer,omitempty"`
}

// WebhookError is the error shape used by failed statuses, unsupported messages and value.errors.
type WebhookError struct {
	Code      int        `json:"code"`
	Title     string     `json:"title,omitempty"`
	Message   string     `json:"message,omitempty"`
	ErrorData *ErrorData `json:"error_data,omitempty"`
	Href      string     `json:"href,omitempty"`
}

// Details returns error_data.details, the most specific text Meta gives.
func (e WebhookError) Details() string {
	if e.ErrorData == nil {
		return ""
	}
	return e.ErrorData.Details
}

// Status reports what happened to a message Switchboard sent. Statuses arrive out of order and
// duplicated; see StatusRank. Raw is the status exactly as received.
type Status struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	Timestamp   Timestamp `json:"timestamp"`
	RecipientID string    `json:"recipient_id,omitempty"`
	// RecipientUserID is the business-scoped user id (Meta's 2026 BSUID rollout).
	RecipientUserID       string         `json:"recipient_user_id,omitempty"`
	BizOpaqueCallbackData string         `json:"biz_opaque_callback_data,omitempty"`
	Conversation          *Conversation  `json:"conversation,omitempty"`
	Pricing               *Pricing       `json:"pricing,omitempty"`
	Errors                []WebhookError `json:"errors,omitempty"`

	Raw json.RawMessage `json:"-"`
}

type statusAlias Status

// UnmarshalJSON decodes the known fields and keeps a copy of the raw status.
func (s *Status) UnmarshalJSON(data []byte) error {
	var a statusAlias
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*s = Status(a)
	s.Raw = cloneRaw(data)
	return nil
}

// Conversation is the (pre-v24.0) conversation a status was billed in.
type Conversation struct {
	ID                  string              `json:"id"`
	ExpirationTimestamp Timestamp           `json:"expiration_timestamp,omitempty"`
	Origin              *ConversationOrigin `json:"origin,omitempty"`
}

// ConversationOrigin is the conversation's category.
type ConversationOrigin struct {
	Type string `json:"type"`
}

// Pricing is how Meta bills the message (per delivered template message since July 2025).
type Pricing struct {
	Billable     bool   `json:"billable"`
	PricingModel string `json:"pricing_model,omitempty"`
	Type         string `json:"type,omitempty"`
	Category     string `json:"category,omitempty"`
}

// TemplateStatusUpdate is the value of a message_template_status_update change.
type TemplateStatusUpdate struct {
	Event string `json:"event"`
	// MessageTemplateID is an integer on this webhook but a string everywhere else in the API.
	MessageTemplateID       FlexString         `json:"message_template_id"`
	MessageTemplateName     string             `json:"message_template_name"`
	MessageTemplateLanguage string             `json:"message_template_language"`
	Reason                  string             `json:"reason,omitempty"`
	MessageTemplateCategory string             `json:"message_template_category,omitempty"`
	OtherInfo               *TemplateOtherInfo `json:"other_info,omitempty"`
}

// TemplateOtherInfo explains a DISABLED, LOCKED or similar event.
type TemplateOtherInfo struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// TemplateQualityUpdate is the value of a message_template_quality_update change.
type TemplateQualityUpdate struct {
	PreviousQualityScore    string     `json:"previous_quality_score"`
	NewQualityScore         string     `json:"new_quality_score"`
	MessageTemplateID       FlexString `json:"message_template_id"`
	MessageTemplateName     string     `json:"message_template_name"`
	MessageTemplateLanguage string     `json:"message_template_language"`
}

// PhoneNumberQualityUpdate is the value of a phone_number_quality_update change. Event is
// FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE or ONBOARDING; CurrentLimit the messaging limit tier
// ("TIER_1K", "TIER_UNLIMITED"), an open set.
type PhoneNumberQualityUpdate struct {
	DisplayPhoneNumber string     `json:"display_phone_number"`
	Event              string     `json:"event"`
	CurrentLimit       FlexString `json:"current_limit,omitempty"`
	OldLimit           FlexString `json:"old_limit,omitempty"`
}

// PhoneNumberNameUpdate is the value of a phone_number_name_update change: Meta's decision on
// a requested display name (APPROVED, REJECTED, DEFERRED, …).
type PhoneNumberNameUpdate struct {
	DisplayPhoneNumber    string `json:"display_phone_number"`
	Decision              string `json:"decision"`
	RequestedVerifiedName string `json:"requested_verified_name"`
	RejectionReason       string `json:"rejection_reason,omitempty"`
}

// AccountUpdate is the value of an account_update change: the business account was verified,
// restricted, banned or had a policy violation (Event), with details in the info objects.
type AccountUpdate struct {
	PhoneNumber     string         `json:"phone_number,omitempty"`
	Event           string         `json:"event"`
	BanInfo         *BanInfo       `json:"ban_info,omitempty"`
	ViolationInfo   *ViolationInfo `json:"violation_info,omitempty"`
	RestrictionInfo []Restriction  `json:"restriction_info,omitempty"`
}

// BanInfo is the state of an account ban.
type BanInfo struct {
	WABABanState FlexList `json:"waba_ban_state,omitempty"`
	WABABanDate  string   `json:"waba_ban_date,omitempty"`
}

// ViolationInfo names the policy an account violated.
type ViolationInfo struct {
	ViolationType string `json:"violation_type,omitempty"`
}

// Restriction is one limit put on an account after violations.
type Restriction struct {
	RestrictionType string    `json:"restriction_type,omitempty"`
	Expiration      Timestamp `json:"expiration,omitempty"`
}

// Timestamp is Meta's unix time in seconds, sent as a string. It also accepts a JSON number so
// that a shape change does not drop the message.
type Timestamp string

// UnmarshalJSON accepts a string or a number.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = Timestamp(s)
	return nil
}

// Time parses the timestamp; see ParseTimestamp.
func (t Timestamp) Time() (time.Time, error) { return ParseTimestamp(string(t)) }

// TimestampOf formats t the way Meta sends timestamps.
func TimestampOf(t time.Time) Timestamp { return Timestamp(strconv.FormatInt(t.Unix(), 10)) }

// ErrBadTimestamp is returned for a timestamp that is not unix seconds in a sane range.
var ErrBadTimestamp = errors.New("whatsapp: bad timestamp")

// maxUnix is 9999-12-31T23:59:59Z; anything later is a corrupt value, not a date.
const maxUnix = 253402300799

// ParseTimestamp turns Meta's unix-seconds string into a UTC time.
func ParseTimestamp(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxUnix {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadTimestamp, s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// FlexString is a value Meta sends sometimes as a JSON string and sometimes as a number
// (message_template_id, file_size, messaging limits). Numbers keep their exact digits, so large
// ids never pass through float64. Objects and arrays keep their JSON text.
type FlexString string

// UnmarshalJSON accepts a string, a number, a boolean, null or any other JSON value.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	default:
		*f = FlexString(b)
	}
	return nil
}

// MarshalJSON writes a plain non-negative integer as a JSON number (Meta's shape for
// message_template_id on webhooks) and anything else as a string.
func (f FlexString) MarshalJSON() ([]byte, error) {
	if isJSONInteger(string(f)) {
		return []byte(f), nil
	}
	return json.Marshal(string(f))
}

func isJSONInteger(s string) bool {
	if s == "" || len(s) > 40 || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseWebhook decodes a webhook body. Call it only after VerifySignature has accepted the same
// bytes. Unknown fields are ignored by the decoder (they survive in the Raw copies), and a change
// whose value does not decode is kept with Change.Err rather than failing the POST.
func ParseWebhook(body []byte) (Webhook, error) {
	var w Webhook
	if len(bytes.TrimSpace(body)) == 0 {
		return w, fmt.Errorf("%w: empty body", ErrMalformedWebhook)
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return Webhook{}, fmt.Errorf("%w: %w", ErrMalformedWebhook, err)
	}
	if w.Object == "" {
		return Webhook{}, fmt.Errorf("%w: no object", ErrMalformedWebhook)
	}
	return w, nil
}

func cloneRaw(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

// FlexList is a list of strings that Meta sends as an array or, in some examples, as one string.
type FlexList []string

// UnmarshalJSON accepts ["A","B"], "A" or null.
func (l *FlexList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var ss []string
		if err := json.Unmarshal(b, &ss); err != nil {
			return err
		}
		*l = ss
		return nil
	}
	var s FlexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = nil
	if s != "" {
		*l = FlexList{string(s)}
	}
	return nil
}
