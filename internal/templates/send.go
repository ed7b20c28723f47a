package templates

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// SendTemplate is the "template" object of a Cloud API message ({"type":"template",
// "template":{…}}), ready to be marshalled.
type SendTemplate struct {
	Name       string          `json:"name"`
	Language   SendLanguage    `json:"language"`
	Components []SendComponent `json:"components,omitempty"`
}

// SendLanguage names the template's language.
type SendLanguage struct {
	Code string `json:"code"`
}

// SendComponent carries the values of one component: header, body or one button.
type SendComponent struct {
	Type string `json:"type"` // header, body, button
	// SubType and Index identify a button: url, quick_reply or copy_code, and its position.
	SubType    string          `json:"sub_type,omitempty"`
	Index      string          `json:"index,omitempty"`
	Parameters []SendParameter `json:"parameters"`
}

// SendParameter is one value.
type SendParameter struct {
	Type string `json:"type"` // text, image, document, video, payload, coupon_code
	// ParameterName is set for the variables of a named template.
	ParameterName string     `json:"parameter_name,omitempty"`
	Text          string     `json:"text,omitempty"`
	Payload       string     `json:"payload,omitempty"`
	CouponCode    string     `json:"coupon_code,omitempty"`
	Image         *SendMedia `json:"image,omitempty"`
	Document      *SendMedia `json:"document,omitempty"`
	Video         *SendMedia `json:"video,omitempty"`
}

// SendMedia is a header's media by uploaded id or by link.
type SendMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// BuildMessage fills the template Meta holds (t.Live) with v and returns the Cloud API's template
// object. It refuses a template Meta has not approved and values that do not match the template's
// variables one for one, since Meta would refuse the message (132001, 132000) only after it was
// accepted for sending.
func BuildMessage(t Template, v Values) (SendTemplate, error) {
	if !t.Sendable() {
		return SendTemplate{}, notSendable("%q (%s) cannot be sent: %s", t.Name, t.Language, unsendableReason(t))
	}
	c := t.Live.Content
	named := c.format() == ParameterFormatNamed
	msg := SendTemplate{Name: t.Name, Language: SendLanguage{Code: t.Language}}

	header, err := headerComponent(c.Header, v, named)
	if err != nil {
		return SendTemplate{}, err
	}
	if header != nil {
		msg.Components = append(msg.Components, *header)
	}

	keys := variablesOf(c.Body.Text)
	if err := matchValues("message", keys, v.Body); err != nil {
		return SendTemplate{}, err
	}
	if len(keys) > 0 {
		body := SendComponent{Type: "body"}
		for _, k := range keys {
			body.Parameters = append(body.Parameters, textParameter(k, v.Body[k], named))
		}
		msg.Components = append(msg.Components, body)
	}

	buttons, err := buttonComponents(c.Buttons, v.Buttons)
	if err != nil {
		return SendTemplate{}, err
	}
	msg.Components = append(msg.Components, buttons...)
	return msg, nil
}

func notSendable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotSendable, fmt.Sprintf(format, args...))
}

func unsendableReason(t Template) string {
	switch {
	case t.Status == StatusDeleted:
		return "it was deleted"
	case t.Live == nil:
		return "it has not been submitted to Meta"
	case t.MetaStatus == MetaPending:
		return "Meta is still reviewing it"
	default:
		return fmt.Sprintf("Meta has not approved it (status %s)", t.MetaStatus)
	}
}

func textParameter(key, value string, named bool) SendParameter {
	p := SendParameter{Type: "text", Text: value}
	if named {
		p.ParameterName = key
	}
	return p
}

func headerComponent(h Header, v Values, named bool) (*SendComponent, error) {
	switch {
	case h.Format == HeaderText:
		keys := variablesOf(h.Text)
		if err := matchValues("header", keys, v.Header); err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, nil
		}
		return &SendComponent{Type: "header", Parameters: []SendParameter{textParameter(keys[0], v.Header[keys[0]], named)}}, nil
	case h.Format.IsMedia():
		m := v.HeaderMedia
		if m == nil || (m.ID == "" && m.Link == "") {
			return nil, notSendable("choose the %s for the header", strings.ToLower(string(h.Format)))
		}
		media := &SendMedia{ID: m.ID, Link: m.Link}
		p := SendParameter{Type: strings.ToLower(string(h.Format))}
		switch h.Format {
		case HeaderImage:
			p.Image = media
		case HeaderVideo:
			p.Video = media
		case HeaderDocument:
			media.Filename = m.Filename
			p.Document = media
		}
		return &SendComponent{Type: "header", Parameters: []SendParameter{p}}, nil
	case h.Format == HeaderLocation:
		return nil, notSendable("templates with a location header cannot be sent from Switchboard")
	}
	if len(v.Header) > 0 || v.HeaderMedia != nil {
		return nil, notSendable("the template has no header to fill")
	}
	return nil, nil
}

// matchValues requires exactly one value per variable. Meta refuses parameter values with line
// breaks, tabs or more than four consecutive spaces, so those are refused here with the variable
// named.
func matchValues(part string, keys []string, values map[string]string) error {
	var missing []string
	for _, k := range keys {
		s, ok := values[k]
		if !ok || strings.TrimSpace(s) == "" {
			missing = append(missing, placeholder(k))
			continue
		}
		if strings.ContainsAny(s, "\n\r\t") || strings.Contains(s, "     ") {
			return notSendable("the value for %s in the %s cannot contain line breaks, tabs or more than four spaces in a row", placeholder(k), part)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		return notSendable("the %s needs a value for %s", part, missing[0])
	default:
		return notSendable("the %s needs values for %s", part, strings.Join(missing, ", "))
	}
	var extra []string
	for k := range values {
		if !slices.Contains(keys, k) {
			extra = append(extra, placeholder(k))
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return notSendable("the %s has %d variables and no %s", part, len(keys), strings.Join(extra, ", "))
	}
	return nil
}

func buttonComponents(buttons []Button, values map[int]string) ([]SendComponent, error) {
	for i := range values {
		if i < 0 || i >= len(buttons) {
			return nil, notSendable("the template has no button %d", i+1)
		}
	}
	var out []SendComponent
	for i, b := range buttons {
		value, given := values[i]
		given = given && value != ""
		index := strconv.Itoa(i)
		switch {
		case b.Type == ButtonURL && len(variablesOf(b.URL)) == 1, b.Type == ButtonOTP:
			// OTP buttons of authentication templates take the code as a URL parameter.
			if !given {
				return nil, notSendable("button %d (%q) needs a value for its web address", i+1, b.Text)
			}
			out = append(out, SendComponent{Type: "button", SubType: "url", Index: index,
				Parameters: []SendParameter{{Type: "text", Text: value}}})
		case b.Type == ButtonCopyCode:
			if !given {
				return nil, notSendable("button %d needs the code to copy", i+1)
			}
			out = append(out, SendComponent{Type: "button", SubType: "copy_code", Index: index,
				Parameters: []SendParameter{{Type: "coupon_code", CouponCode: value}}})
		case b.Type == ButtonQuickReply:
			// The payload is optional: it comes back with the customer's tap.
			if given {
				out = append(out, SendComponent{Type: "button", SubType: "quick_reply", Index: index,
					Parameters: []SendParameter{{Type: "payload", Payload: value}}})
			}
		case given:
			return nil, notSendable("button %d (%q) takes no value", i+1, b.Text)
		}
	}
	return out, nil
}
