package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Meta is the part of the Cloud API's template management this package needs. The types below
// are shaped exactly like Meta's JSON, so an adapter over the Cloud API client only adds the
// HTTP; the sandbox simulator can implement it too.
type Meta interface {
	// CreateTemplate: POST /{WABA_ID}/message_templates.
	CreateTemplate(ctx context.Context, wabaID string, req CreateRequest) (CreateResult, error)
	// EditTemplate: POST /{TEMPLATE_ID}. Meta allows it on APPROVED, REJECTED and PAUSED
	// templates; the components are replaced whole and the template is reviewed again.
	EditTemplate(ctx context.Context, metaTemplateID string, req EditRequest) error
	// ListTemplates: GET /{WABA_ID}/message_templates?after=…, one page. after is "" for the
	// first page and a page's Paging.Cursors.After for the next.
	ListTemplates(ctx context.Context, wabaID, after string) (ListPage, error)
	// DeleteTemplate: DELETE /{WABA_ID}/message_templates?name=…&hsm_id=…. Pass hsm_id whenever
	// metaTemplateID is set: by name alone Meta deletes the template in every language.
	DeleteTemplate(ctx context.Context, wabaID, name, metaTemplateID string) error
}

// MetaError is an error answer of the Cloud API ({"error":{…}}). Adapters should return it so
// that the activity log records Meta's code and message, and nothing else of the call.
type MetaError struct {
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode,omitempty"`
	Message     string `json:"message"`
	UserTitle   string `json:"error_user_title,omitempty"`
	UserMessage string `json:"error_user_msg,omitempty"`
}

func (e *MetaError) Error() string {
	msg := e.Message
	if e.UserMessage != "" {
		msg = e.UserMessage
	}
	return fmt.Sprintf("Meta answered with error %d: %s", e.Code, msg)
}

// CreateRequest is the body of a template creation.
type CreateRequest struct {
	Name            string      `json:"name"`
	Language        string      `json:"language"`
	Category        string      `json:"category"`
	ParameterFormat string      `json:"parameter_format,omitempty"`
	Components      []Component `json:"components"`
}

// EditRequest is the body of a template edit.
type EditRequest struct {
	Category   string      `json:"category,omitempty"`
	Components []Component `json:"components"`
}

// CreateResult is Meta's answer to a creation: {"id","status","category"}.
type CreateResult struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// Component is one of HEADER, BODY, FOOTER, BUTTONS.
type Component struct {
	Type    string            `json:"type"`
	Format  string            `json:"format,omitempty"`
	Text    string            `json:"text,omitempty"`
	Example *ComponentExample `json:"example,omitempty"`
	Buttons []WireButton      `json:"buttons,omitempty"`
}

// ComponentExample holds the sample values Meta reviews a component with.
type ComponentExample struct {
	HeaderText            []string     `json:"header_text,omitempty"`
	HeaderTextNamedParams []NamedParam `json:"header_text_named_params,omitempty"`
	HeaderHandle          []string     `json:"header_handle,omitempty"`
	// BodyText is one row of values, in the order of the variables.
	BodyText            [][]string   `json:"body_text,omitempty"`
	BodyTextNamedParams []NamedParam `json:"body_text_named_params,omitempty"`
}

// NamedParam is the example of a named variable.
type NamedParam struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// WireButton is a button as Meta writes it. Its example is a list for URL buttons and a plain
// string for copy-code buttons, so it has its own JSON encoding.
type WireButton struct {
	Type        string
	Text        string
	URL         string
	PhoneNumber string
	Example     []string
	OTPType     string // OTP buttons of imported authentication templates
}

type wireButtonJSON struct {
	Type        string          `json:"type"`
	Text        string          `json:"text,omitempty"`
	URL         string          `json:"url,omitempty"`
	PhoneNumber string          `json:"phone_number,omitempty"`
	OTPType     string          `json:"otp_type,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// MarshalJSON writes the example in the shape Meta expects for the button's type.
func (b WireButton) MarshalJSON() ([]byte, error) {
	w := wireButtonJSON{Type: b.Type, Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber, OTPType: b.OTPType}
	if len(b.Example) > 0 {
		var (
			ex  []byte
			err error
		)
		if b.Type == string(ButtonCopyCode) {
			ex, err = json.Marshal(b.Example[0])
		} else {
			ex, err = json.Marshal(b.Example)
		}
		if err != nil {
			return nil, err
		}
		w.Example = ex
	}
	return json.Marshal(w)
}

// UnmarshalJSON accepts the example as a string or a list, whatever the type: what Meta sends
// back is read leniently.
func (b *WireButton) UnmarshalJSON(data []byte) error {
	var w wireButtonJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*b = WireButton{Type: w.Type, Text: w.Text, URL: w.URL, PhoneNumber: w.PhoneNumber, OTPType: w.OTPType}
	ex := bytes.TrimSpace(w.Example)
	switch {
	case len(ex) == 0 || bytes.Equal(ex, []byte("null")):
	case ex[0] == '"':
		var s string
		if err := json.Unmarshal(ex, &s); err != nil {
			return fmt.Errorf("button example: %w", err)
		}
		b.Example = []string{s}
	default:
		if err := json.Unmarshal(ex, &b.Example); err != nil {
			return fmt.Errorf("button example: %w", err)
		}
	}
	return nil
}

// ListPage is one page of GET /{WABA_ID}/message_templates.
type ListPage struct {
	Data   []RemoteTemplate `json:"data"`
	Paging Paging           `json:"paging"`
}

// Paging is the Graph API's cursor paging: there is a next page while Next is set.
type Paging struct {
	Cursors Cursors `json:"cursors"`
	Next    string  `json:"next,omitempty"`
}

// Cursors of a page.
type Cursors struct {
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// RemoteTemplate is a template as Meta lists it.
type RemoteTemplate struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Language        string        `json:"language"`
	Status          string        `json:"status"`
	Category        string        `json:"category"`
	ParameterFormat string        `json:"parameter_format,omitempty"`
	Components      []Component   `json:"components"`
	RejectedReason  string        `json:"rejected_reason,omitempty"`
	QualityScore    *QualityScore `json:"quality_score,omitempty"`
}

// QualityScore is Meta's quality rating of a template.
type QualityScore struct {
	Score string `json:"score"`
}

// createRequest is what Meta receives when a revision is first submitted.
func createRequest(name, language string, c Content) CreateRequest {
	return CreateRequest{
		Name: name, Language: language, Category: string(c.Category),
		ParameterFormat: string(c.format()), Components: components(c),
	}
}

// components writes c as Meta's components array.
func components(c Content) []Component {
	var out []Component
	named := c.format() == ParameterFormatNamed
	switch h := c.Header; {
	case h.Format == HeaderText:
		comp := Component{Type: "HEADER", Format: string(HeaderText), Text: h.Text}
		if keys := variablesOf(h.Text); len(keys) == 1 {
			if named {
				comp.Example = &ComponentExample{HeaderTextNamedParams: []NamedParam{{ParamName: keys[0], Example: h.Example}}}
			} else {
				comp.Example = &ComponentExample{HeaderText: []string{h.Example}}
			}
		}
		out = append(out, comp)
	case h.Format.IsMedia() || h.Format == HeaderLocation:
		comp := Component{Type: "HEADER", Format: string(h.Format)}
		if h.MediaHandle != "" {
			comp.Example = &ComponentExample{HeaderHandle: []string{h.MediaHandle}}
		}
		out = append(out, comp)
	}

	body := Component{Type: "BODY", Text: c.Body.Text}
	if keys := variablesOf(c.Body.Text); len(keys) > 0 {
		if named {
			params := make([]NamedParam, len(keys))
			for i, k := range keys {
				params[i] = NamedParam{ParamName: k, Example: c.Body.Examples[k]}
			}
			body.Example = &ComponentExample{BodyTextNamedParams: params}
		} else {
			row := make([]string, len(keys))
			for i, k := range keys {
				row[i] = c.Body.Examples[k]
			}
			body.Example = &ComponentExample{BodyText: [][]string{row}}
		}
	}
	out = append(out, body)

	if c.Footer != "" {
		out = append(out, Component{Type: "FOOTER", Text: c.Footer})
	}
	if len(c.Buttons) > 0 {
		buttons := make([]WireButton, len(c.Buttons))
		for i, b := range c.Buttons {
			w := WireButton{Type: string(b.Type), Text: b.Text, URL: b.URL, PhoneNumber: b.PhoneNumber}
			switch {
			case b.Type == ButtonCopyCode:
				// Meta labels copy-code buttons itself; a text would be refused.
				w.Text = ""
				if b.Example != "" {
					w.Example = []string{b.Example}
				}
			case b.Type == ButtonURL && len(variablesOf(b.URL)) == 1:
				w.Example = []string{b.Example}
			}
			buttons[i] = w
		}
		out = append(out, Component{Type: "BUTTONS", Buttons: buttons})
	}
	return out
}

// contentOf reads a template listed by Meta back into Content. It is lenient: a template made
// elsewhere may use what Switchboard does not compose (location headers, OTP or flow buttons),
// and it is kept as it is rather than refused.
func contentOf(rt RemoteTemplate) Content {
	c := Content{
		Category:        Category(strings.ToUpper(rt.Category)),
		ParameterFormat: ParameterFormat(strings.ToLower(rt.ParameterFormat)),
		Header:          Header{Format: HeaderNone},
		Body:            Body{Examples: map[string]string{}},
	}
	if c.ParameterFormat == "" {
		c.ParameterFormat = ParameterFormatPositional
	}
	for _, comp := range rt.Components {
		ex := comp.Example
		if ex == nil {
			ex = &ComponentExample{}
		}
		switch strings.ToUpper(comp.Type) {
		case "HEADER":
			c.Header = Header{Format: HeaderFormat(strings.ToUpper(comp.Format)), Text: comp.Text}
			if len(ex.HeaderText) > 0 {
				c.Header.Example = ex.HeaderText[0]
			}
			if len(ex.HeaderTextNamedParams) > 0 {
				c.Header.Example = ex.HeaderTextNamedParams[0].Example
			}
			if len(ex.HeaderHandle) > 0 {
				c.Header.MediaHandle = ex.HeaderHandle[0]
			}
		case "BODY":
			c.Body.Text = comp.Text
			keys := variablesOf(comp.Text)
			if len(ex.BodyText) > 0 {
				for i, k := range keys {
					if i < len(ex.BodyText[0]) {
						c.Body.Examples[k] = ex.BodyText[0][i]
					}
				}
			}
			for _, p := range ex.BodyTextNamedParams {
				c.Body.Examples[p.ParamName] = p.Example
			}
		case "FOOTER":
			c.Footer = comp.Text
		case "BUTTONS":
			for _, w := range comp.Buttons {
				b := Button{Type: ButtonType(strings.ToUpper(w.Type)), Text: w.Text, URL: w.URL, PhoneNumber: w.PhoneNumber}
				if len(w.Example) > 0 {
					b.Example = w.Example[0]
				}
				c.Buttons = append(c.Buttons, b)
			}
		}
	}
	return c
}
