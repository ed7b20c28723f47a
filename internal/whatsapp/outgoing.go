package whatsapp

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits Meta enforces on outgoing messages; the client checks them first so that a person sees
// which field is wrong instead of a Graph error code.
const (
	MaxTextBody          = 4096
	MaxCaption           = 1024
	MaxReplyButtons      = 3
	MaxButtonTitle       = 20
	MaxButtonID          = 256
	MaxListRows          = 10
	MaxListSections      = 10
	MaxRowTitle          = 24
	MaxRowDescription    = 72
	MaxRowID             = 200
	MaxSectionTitle      = 24
	MaxListButton        = 20
	MaxInteractiveBody   = 1024
	MaxInteractiveHeader = 60
	MaxInteractiveFooter = 60
	MaxTemplateName      = 512
)

// OutgoingMessage is the body of POST /{phone-number-id}/messages. The Send* methods build it;
// the simulator decodes it.
type OutgoingMessage struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type,omitempty"`
	// To is the customer's phone number in E.164 with "+".
	To string `json:"to,omitempty"`
	// Recipient is a business-scoped user id, for customers known only by one (Meta's 2026
	// username rollout). Meta documents it outside the wire-facts file; see SetRecipient.
	Recipient   string           `json:"recipient,omitempty"`
	Type        string           `json:"type,omitempty"`
	Context     *ReplyContext    `json:"context,omitempty"`
	Text        *OutgoingText    `json:"text,omitempty"`
	Image       *MediaObject     `json:"image,omitempty"`
	Video       *MediaObject     `json:"video,omitempty"`
	Audio       *MediaObject     `json:"audio,omitempty"`
	Document    *MediaObject     `json:"document,omitempty"`
	Sticker     *MediaObject     `json:"sticker,omitempty"`
	Template    *TemplateMessage `json:"template,omitempty"`
	Interactive *Interactive     `json:"interactive,omitempty"`
	Reaction    *Reaction        `json:"reaction,omitempty"`
	Location    *Location        `json:"location,omitempty"`

	// Status and MessageID make the mark-read body: {"status":"read","message_id":"wamid…"}.
	Status    string `json:"status,omitempty"`
	MessageID string `json:"message_id,omitempty"`

	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`
}

// ReplyContext quotes an earlier message.
type ReplyContext struct {
	MessageID string `json:"message_id"`
}

// OutgoingText is a text message. preview_url is always written, as in Meta's examples.
type OutgoingText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

// MediaObject is media to send, by public link or by an uploaded media id.
type MediaObject struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// MediaMessage is the input of SendMedia.
type MediaMessage struct {
	Type     string // TypeImage, TypeDocument, TypeVideo or TypeAudio
	Link     string // https URL Meta will download from
	ID       string // or an uploaded media id
	Caption  string // not for audio
	Filename string // documents only
	ReplyTo  string
}

// TemplateMessage sends an approved template: the template object of the send body.
type TemplateMessage struct {
	Name       string
	Language   string // language code, e.g. "en_US"
	Components []MessageComponent
}

type templateMessageWire struct {
	Name       string             `json:"name"`
	Language   templateLanguage   `json:"language"`
	Components []MessageComponent `json:"components,omitempty"`
}

type templateLanguage struct {
	Code   string `json:"code"`
	Policy string `json:"policy,omitempty"`
}

// MarshalJSON writes Meta's shape: "language":{"code":"en_US"}.
func (t TemplateMessage) MarshalJSON() ([]byte, error) {
	return json.Marshal(templateMessageWire{Name: t.Name, Language: templateLanguage{Code: t.Language}, Components: t.Components})
}

// UnmarshalJSON reads Meta's shape; a bare language string is accepted too.
func (t *TemplateMessage) UnmarshalJSON(b []byte) error {
	var w struct {
		Name       string             `json:"name"`
		Language   json.RawMessage    `json:"language"`
		Components []MessageComponent `json:"components"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*t = TemplateMessage{Name: w.Name, Components: w.Components}
	lang := bytes.TrimSpace(w.Language)
	switch {
	case len(lang) == 0 || bytes.Equal(lang, []byte("null")):
	case lang[0] == '"':
		return json.Unmarshal(lang, &t.Language)
	default:
		var l templateLanguage
		if err := json.Unmarshal(lang, &l); err != nil {
			return err
		}
		t.Language = l.Code
	}
	return nil
}

// MessageComponent fills one part of a template at send time: "header", "body" or "button".
// Buttons also need SubType ("quick_reply", "url", "copy_code", …) and the button's Index.
type MessageComponent struct {
	Type       string
	SubType    string
	Index      int
	Parameters []Parameter
}

type messageComponentOut struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []Parameter `json:"parameters,omitempty"`
}

type messageComponentIn struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type"`
	Index      *FlexString `json:"index"`
	Parameters []Parameter `json:"parameters"`
}

// MarshalJSON writes index only for buttons, as a string, as Meta's reference shows it.
func (c MessageComponent) MarshalJSON() ([]byte, error) {
	w := messageComponentOut{Type: c.Type, SubType: c.SubType, Parameters: c.Parameters}
	if strings.EqualFold(c.Type, "button") {
		w.Index = strconv.Itoa(c.Index)
	}
	return json.Marshal(w)
}

// UnmarshalJSON accepts index as a string or a number.
func (c *MessageComponent) UnmarshalJSON(b []byte) error {
	var w messageComponentIn
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = MessageComponent{Type: w.Type, SubType: w.SubType, Parameters: w.Parameters}
	if w.Index != nil && *w.Index != "" {
		n, err := strconv.Atoi(string(*w.Index))
		if err != nil {
			return invalid("index", "not a number")
		}
		c.Index = n
	}
	return nil
}

// Parameter is one value for a template variable. Name is set for templates with named
// parameters ({{first_name}}) and is written as parameter_name.
type Parameter struct {
	Type       string       `json:"type"`
	Name       string       `json:"parameter_name,omitempty"`
	Text       string       `json:"text,omitempty"`
	Payload    string       `json:"payload,omitempty"`
	CouponCode string       `json:"coupon_code,omitempty"`
	Image      *MediaObject `json:"image,omitempty"`
	Document   *MediaObject `json:"document,omitempty"`
	Video      *MediaObject `json:"video,omitempty"`
	Location   *Location    `json:"location,omitempty"`
	Currency   *Currency    `json:"currency,omitempty"`
	DateTime   *DateTime    `json:"date_time,omitempty"`
}

// Currency is a currency parameter; Amount1000 is the amount times 1000.
type Currency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

// DateTime is a date_time parameter.
type DateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// TextParam is a positional text parameter ({{1}}, {{2}}, …).
func TextParam(text string) Parameter { return Parameter{Type: "text", Text: text} }

// NamedTextParam is a named text parameter ({{first_name}}).
func NamedTextParam(name, text string) Parameter {
	return Parameter{Type: "text", Name: name, Text: text}
}

// BodyComponent fills the template's body variables in order.
func BodyComponent(params ...Parameter) MessageComponent {
	return MessageComponent{Type: "body", Parameters: params}
}

// HeaderComponent fills the template's header (one text variable, or the header media).
func HeaderComponent(params ...Parameter) MessageComponent {
	return MessageComponent{Type: "header", Parameters: params}
}

// ButtonComponent fills the button at index: a quick_reply payload or a url suffix.
func ButtonComponent(subType string, index int, params ...Parameter) MessageComponent {
	return MessageComponent{Type: "button", SubType: subType, Index: index, Parameters: params}
}

// Interactive is the interactive object of the send body: reply buttons or a list.
type Interactive struct {
	Type   string             `json:"type"` // "button" or "list"
	Header *InteractiveHeader `json:"header,omitempty"`
	Body   *InteractiveText   `json:"body,omitempty"`
	Footer *InteractiveText   `json:"footer,omitempty"`
	Action InteractiveAction  `json:"action"`
}

// InteractiveHeader is a text header.
type InteractiveHeader struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// InteractiveText is a body or footer.
type InteractiveText struct {
	Text string `json:"text"`
}

// InteractiveAction holds the buttons, or the list's button label and sections.
type InteractiveAction struct {
	Buttons  []InteractiveButton `json:"buttons,omitempty"`
	Button   string              `json:"button,omitempty"`
	Sections []ListSection       `json:"sections,omitempty"`
}

// InteractiveButton is one reply button on the wire.
type InteractiveButton struct {
	Type  string      `json:"type"`
	Reply ReplyButton `json:"reply"`
}

// ReplyButton is a reply button; its ID comes back in button_reply.id.
type ReplyButton struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ListSection is a titled group of rows.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// ListRow is one choice in a list; its ID comes back in list_reply.id.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// InteractiveMessage is the input of SendInteractive: either Buttons, or ListButton + Sections.
type InteractiveMessage struct {
	Header     string
	Body       string
	Footer     string
	Buttons    []ReplyButton
	ListButton string
	Sections   []ListSection
	ReplyTo    string
}

// Interactive builds the wire object and validates it.
func (m InteractiveMessage) Interactive() (Interactive, error) {
	var in Interactive
	if m.Header != "" {
		in.Header = &InteractiveHeader{Type: "text", Text: m.Header}
	}
	if m.Body != "" {
		in.Body = &InteractiveText{Text: m.Body}
	}
	if m.Footer != "" {
		in.Footer = &InteractiveText{Text: m.Footer}
	}
	switch {
	case len(m.Buttons) > 0 && len(m.Sections) > 0:
		return Interactive{}, invalid("interactive", "either reply buttons or a list, not both")
	case len(m.Buttons) > 0:
		in.Type = "button"
		for _, b := range m.Buttons {
			in.Action.Buttons = append(in.Action.Buttons, InteractiveButton{Type: "reply", Reply: b})
		}
	default:
		in.Type = "list"
		in.Action.Button = m.ListButton
		in.Action.Sections = m.Sections
	}
	if err := ValidateInteractive(in); err != nil {
		return Interactive{}, err
	}
	return in, nil
}

// ValidateInteractive checks Meta's limits: at most 3 reply buttons with titles of at most 20
// characters and unique ids; a list of at most 10 rows in all, row titles of at most 24.
func ValidateInteractive(in Interactive) error {
	if in.Body == nil || strings.TrimSpace(in.Body.Text) == "" {
		return invalid("body", "is required")
	}
	if err := maxLen("body", in.Body.Text, MaxInteractiveBody); err != nil {
		return err
	}
	if in.Header != nil {
		if in.Header.Type != "text" {
			return invalid("header", "only text headers are supported")
		}
		if err := maxLen("header", in.Header.Text, MaxInteractiveHeader); err != nil {
			return err
		}
	}
	if in.Footer != nil {
		if err := maxLen("footer", in.Footer.Text, MaxInteractiveFooter); err != nil {
			return err
		}
	}
	switch in.Type {
	case "button":
		bs := in.Action.Buttons
		if len(bs) == 0 || len(bs) > MaxReplyButtons {
			return invalid("buttons", "need 1 to %d reply buttons, got %d", MaxReplyButtons, len(bs))
		}
		seen := map[string]bool{}
		for i, b := range bs {
			f := "buttons[" + strconv.Itoa(i) + "]"
			if b.Type != "reply" {
				return invalid(f+".type", "must be reply")
			}
			if err := required(f+".id", b.Reply.ID, MaxButtonID); err != nil {
				return err
			}
			if err := required(f+".title", b.Reply.Title, MaxButtonTitle); err != nil {
				return err
			}
			if seen[b.Reply.ID] {
				return invalid(f+".id", "duplicate id %q", b.Reply.ID)
			}
			seen[b.Reply.ID] = true
		}
	case "list":
		if err := required("list button", in.Action.Button, MaxListButton); err != nil {
			return err
		}
		ss := in.Action.Sections
		if len(ss) == 0 || len(ss) > MaxListSections {
			return invalid("sections", "need 1 to %d sections, got %d", MaxListSections, len(ss))
		}
		rows := 0
		seen := map[string]bool{}
		for i, s := range ss {
			f := "sections[" + strconv.Itoa(i) + "]"
			// Meta requires a section title as soon as there is more than one section.
			if len(ss) > 1 && strings.TrimSpace(s.Title) == "" {
				return invalid(f+".title", "is required when there are several sections")
			}
			if err := maxLen(f+".title", s.Title, MaxSectionTitle); err != nil {
				return err
			}
			if len(s.Rows) == 0 {
				return invalid(f+".rows", "need at least one row")
			}
			for j, r := range s.Rows {
				rf := f + ".rows[" + strconv.Itoa(j) + "]"
				if err := required(rf+".id", r.ID, MaxRowID); err != nil {
					return err
				}
				if err := required(rf+".title", r.Title, MaxRowTitle); err != nil {
					return err
				}
				if err := maxLen(rf+".description", r.Description, MaxRowDescription); err != nil {
					return err
				}
				if seen[r.ID] {
					return invalid(rf+".id", "duplicate id %q", r.ID)
				}
				seen[r.ID] = true
				rows++
			}
		}
		if rows > MaxListRows {
			return invalid("sections", "at most %d rows in all, got %d", MaxListRows, rows)
		}
	default:
		return invalid("interactive.type", "must be button or list, got %q", in.Type)
	}
	return nil
}

var (
	e164Re         = regexp.MustCompile(`^\+?[1-9][0-9]{6,14}$`)
	bsuidRe        = regexp.MustCompile(`^[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,128}$`)
	numericIDRe    = regexp.MustCompile(`^[0-9]{1,32}$`)
	templateNameRe = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageRe     = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
	paramNameRe    = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
)

// SetRecipient addresses msg to `to`: a phone number (E.164, with or without the "+", written
// with it) goes in "to"; a business-scoped user id (e.g. "US.13491208655302741918") goes in
// "recipient", which is how Meta addresses customers who hide their number behind a username.
func (msg *OutgoingMessage) SetRecipient(to string) error {
	switch {
	case e164Re.MatchString(to):
		msg.To = "+" + strings.TrimPrefix(to, "+")
		msg.Recipient = ""
	case bsuidRe.MatchString(to):
		msg.Recipient = to
		msg.To = ""
	default:
		return invalid("to", "%q is not an E.164 phone number or a business-scoped user id", to)
	}
	return nil
}

// NormalizePhone returns the digits of an E.164 number (the wa_id form), or false.
func NormalizePhone(s string) (string, bool) {
	if !e164Re.MatchString(s) {
		return "", false
	}
	return strings.TrimPrefix(s, "+"), true
}

// ValidateText checks a text message body: present and at most 4,096 characters.
func ValidateText(body string) error { return required("body", body, MaxTextBody) }

// ValidateTemplateMessage checks the shape of a template send. Whether the parameters match the
// approved template is Meta's to decide (132000); the templates package can check it earlier.
func ValidateTemplateMessage(t TemplateMessage) error {
	if !templateNameRe.MatchString(t.Name) {
		return invalid("template name", "%q must be 1–512 lower-case letters, digits or underscores", t.Name)
	}
	if !languageRe.MatchString(t.Language) {
		return invalid("template language", "%q is not a language code such as en or en_US", t.Language)
	}
	for i, c := range t.Components {
		f := "components[" + strconv.Itoa(i) + "]"
		switch strings.ToLower(c.Type) {
		case "header", "body":
		case "button":
			switch c.SubType {
			case "quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "voice_call":
			default:
				return invalid(f+".sub_type", "%q is not a button sub_type", c.SubType)
			}
			if c.Index < 0 || c.Index > 9 {
				return invalid(f+".index", "must be 0 to 9")
			}
		default:
			return invalid(f+".type", "must be header, body or button, got %q", c.Type)
		}
		for j, p := range c.Parameters {
			pf := f + ".parameters[" + strconv.Itoa(j) + "]"
			if p.Name != "" && !paramNameRe.MatchString(p.Name) {
				return invalid(pf+".parameter_name", "%q must be lower-case letters, digits or underscores", p.Name)
			}
			switch p.Type {
			case "text":
				// Meta refuses empty variables; a blank would also render as "Hi ," to the customer.
				if strings.TrimSpace(p.Text) == "" {
					return invalid(pf+".text", "is empty")
				}
			case "payload":
				if p.Payload == "" {
					return invalid(pf+".payload", "is empty")
				}
			case "image", "document", "video":
				m := map[string]*MediaObject{"image": p.Image, "document": p.Document, "video": p.Video}[p.Type]
				if m == nil || (m.Link == "" && m.ID == "") {
					return invalid(pf+"."+p.Type, "needs a link or an id")
				}
			case "currency":
				if p.Currency == nil {
					return invalid(pf+".currency", "is missing")
				}
			case "date_time":
				if p.DateTime == nil {
					return invalid(pf+".date_time", "is missing")
				}
			case "coupon_code":
				if p.CouponCode == "" {
					return invalid(pf+".coupon_code", "is empty")
				}
			case "location", "action":
			default:
				return invalid(pf+".type", "%q is not a parameter type", p.Type)
			}
		}
	}
	return nil
}

// ValidateMedia checks a media send: a type Meta accepts, a link (http or https) or an id, a
// caption of at most 1,024 characters where captions exist, and a filename only on documents.
func ValidateMedia(m MediaMessage) error {
	switch m.Type {
	case TypeImage, TypeVideo, TypeDocument:
	case TypeAudio:
		// Meta's audio object has no caption; it would be dropped silently.
		if m.Caption != "" {
			return invalid("caption", "audio messages have no caption")
		}
	default:
		return invalid("type", "%q is not image, document, video or audio", m.Type)
	}
	switch {
	case m.Link == "" && m.ID == "":
		return invalid("link", "a link or a media id is required")
	case m.Link != "" && m.ID != "":
		return invalid("link", "give a link or a media id, not both")
	case m.Link != "":
		u, err := url.Parse(m.Link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid("link", "must be an absolute http(s) URL")
		}
	case !numericIDRe.MatchString(m.ID):
		return invalid("id", "%q is not a media id", m.ID)
	}
	if m.Filename != "" && m.Type != TypeDocument {
		return invalid("filename", "only documents have a filename")
	}
	return maxLen("caption", m.Caption, MaxCaption)
}

func required(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "is required")
	}
	return maxLen(field, s, max)
}

// maxLen counts characters, not bytes: Meta's limits are in characters, and a body of emoji
// would otherwise be refused at a quarter of its allowed length.
func maxLen(field, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "is %d characters; at most %d", n, max)
	}
	return nil
}

func checkID(field, id string) error {
	if !numericIDRe.MatchString(id) {
		// IDs go into the URL path; refusing anything but digits also keeps "../" out of it.
		return invalid(field, "%q is not a numeric id", id)
	}
	return nil
}
