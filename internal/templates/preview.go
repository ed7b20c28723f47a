package templates

// Values fill a template's variables, keyed like the variables themselves: "1", "2"… in a
// numbered template, "first_name"… in a named one. The preview and BuildMessage share it, so
// what an agent previews is what is sent.
type Values struct {
	Header map[string]string
	Body   map[string]string
	// HeaderMedia is the image, document or video of a media header.
	HeaderMedia *Media
	// Buttons is keyed by the button's position from 0: the value of a URL button's {{1}}, the
	// code of a copy-code button, or the payload of a quick reply.
	Buttons map[int]string
}

// Media is a header's media, by the id of an upload or by a public link.
type Media struct {
	ID       string
	Link     string
	Filename string // documents only: the name the customer sees
}

// Preview is a template as a phone would show it, variables filled. Strings are plain text:
// escaping them is the view's job.
type Preview struct {
	HeaderFormat HeaderFormat
	Header       string // text headers only
	Body         string
	Footer       string
	Buttons      []PreviewButton
}

// PreviewButton is a button as shown, with what it does.
type PreviewButton struct {
	Type ButtonType
	Text string
	// Target is the URL a URL button opens, the number a phone button calls or the code a
	// copy-code button copies.
	Target string
}

// copyCodeLabel is the label WhatsApp shows on a copy-code button, which carries no text of its
// own in the template.
const copyCodeLabel = "Copy offer code"

// Render fills c with v for a preview. A variable without a value takes the template's example,
// and one without either stays visible as {{1}} so that the author sees what is missing.
func Render(c Content, v Values) Preview {
	p := Preview{HeaderFormat: c.Header.Format, Body: fill(c.Body.Text, lookup(v.Body, c.Body.Examples)), Footer: c.Footer}
	if p.HeaderFormat == "" {
		p.HeaderFormat = HeaderNone
	}
	if c.Header.Format == HeaderText {
		keys := variablesOf(c.Header.Text)
		examples := map[string]string{}
		if len(keys) == 1 && c.Header.Example != "" {
			examples[keys[0]] = c.Header.Example
		}
		p.Header = fill(c.Header.Text, lookup(v.Header, examples))
	}
	for i, b := range c.Buttons {
		pb := PreviewButton{Type: b.Type, Text: b.Text}
		value, ok := v.Buttons[i]
		if !ok || value == "" {
			value = b.Example
		}
		switch b.Type {
		case ButtonURL:
			pb.Target = b.URL
			if value != "" {
				pb.Target = fill(b.URL, func(string) (string, bool) { return value, true })
			}
		case ButtonPhoneNumber:
			pb.Target = b.PhoneNumber
		case ButtonCopyCode:
			if pb.Text == "" {
				pb.Text = copyCodeLabel
			}
			pb.Target = value
		}
		p.Buttons = append(p.Buttons, pb)
	}
	return p
}

// lookup prefers a supplied value and falls back to the example.
func lookup(values, examples map[string]string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		if s := values[key]; s != "" {
			return s, true
		}
		if s := examples[key]; s != "" {
			return s, true
		}
		return "", false
	}
}
