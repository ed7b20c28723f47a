package templates

import (
	"reflect"
	"strings"

	"github.com/switchboard/switchboard/internal/audit"
)

// normalizeDraft tidies form input before it is validated and stored: spaces trimmed, codes in
// Meta's case, and values that the chosen options make meaningless dropped (a media handle left
// over after switching to a text header, examples of variables no longer in the text), so that
// what is stored is exactly what would go to Meta.
func normalizeDraft(d Draft) Draft {
	d.WABAID = strings.TrimSpace(d.WABAID)
	d.Name = strings.TrimSpace(d.Name)
	d.Language = strings.TrimSpace(d.Language)
	d.Content = normalizeContent(d.Content)
	return d
}

func normalizeContent(c Content) Content {
	c.Category = Category(strings.ToUpper(strings.TrimSpace(string(c.Category))))
	c.ParameterFormat = ParameterFormat(strings.ToLower(strings.TrimSpace(string(c.ParameterFormat))))
	if c.ParameterFormat == "" {
		c.ParameterFormat = ParameterFormatPositional
	}

	h := c.Header
	h.Format = HeaderFormat(strings.ToUpper(strings.TrimSpace(string(h.Format))))
	if h.Format == "" {
		h.Format = HeaderNone
	}
	h.Text, h.Example, h.MediaHandle = strings.TrimSpace(h.Text), strings.TrimSpace(h.Example), strings.TrimSpace(h.MediaHandle)
	if h.Format != HeaderText || len(variablesOf(h.Text)) == 0 {
		h.Example = ""
	}
	if !h.Format.IsMedia() {
		h.MediaHandle = ""
	}
	c.Header = h

	c.Body.Text = strings.TrimSpace(c.Body.Text)
	examples := map[string]string{}
	for _, k := range variablesOf(c.Body.Text) {
		if v := strings.TrimSpace(c.Body.Examples[k]); v != "" {
			examples[k] = v
		}
	}
	c.Body.Examples = examples
	c.Footer = strings.TrimSpace(c.Footer)

	var buttons []Button
	for _, b := range c.Buttons {
		b.Type = ButtonType(strings.ToUpper(strings.TrimSpace(string(b.Type))))
		b.Text, b.URL = strings.TrimSpace(b.Text), strings.TrimSpace(b.URL)
		b.PhoneNumber, b.Example = strings.TrimSpace(b.PhoneNumber), strings.TrimSpace(b.Example)
		switch b.Type {
		case ButtonQuickReply:
			b.URL, b.PhoneNumber, b.Example = "", "", ""
		case ButtonURL:
			b.PhoneNumber = ""
			if len(variablesOf(b.URL)) == 0 {
				b.Example = ""
			}
		case ButtonPhoneNumber:
			b.URL, b.Example = "", ""
		case ButtonCopyCode:
			// WhatsApp labels the button itself.
			b.Text, b.URL, b.PhoneNumber = "", "", ""
		}
		buttons = append(buttons, b)
	}
	c.Buttons = buttons
	return canonical(c)
}

// canonical gives empty collections one form (an empty map of examples, no buttons slice), so
// that content read back from the database compares equal to the same content from a form.
func canonical(c Content) Content {
	if c.Body.Examples == nil {
		c.Body.Examples = map[string]string{}
	}
	if len(c.Buttons) == 0 {
		c.Buttons = nil
	}
	return c
}

// draftOf is the draft a template's newest revision amounts to, for validating it again.
func draftOf(t Template) Draft {
	return Draft{WABAID: t.WABAID, Name: t.Name, Language: t.Language, Content: t.Content}
}

// contentChanges lists the fields of content that differ, for the activity log. A nil before
// lists every field of after as new.
func contentChanges(before *Content, after Content) []audit.Change {
	var b Content
	if before != nil {
		b = *before
	}
	fields := []struct {
		name          string
		before, after any
	}{
		{"category", b.Category, after.Category},
		{"parameter_format", b.ParameterFormat, after.ParameterFormat},
		{"header", b.Header, after.Header},
		{"body", b.Body, after.Body},
		{"footer", b.Footer, after.Footer},
		{"buttons", b.Buttons, after.Buttons},
	}
	var out []audit.Change
	for _, f := range fields {
		if before == nil {
			out = append(out, audit.Change{Field: f.name, After: f.after})
			continue
		}
		if !reflect.DeepEqual(f.before, f.after) {
			out = append(out, audit.Change{Field: f.name, Before: f.before, After: f.after})
		}
	}
	return out
}

func statusChange(before, after Status) audit.Change {
	return audit.Change{Field: "status", Before: string(before), After: string(after)}
}

func metaStatusChange(before, after MetaStatus) audit.Change {
	return audit.Change{Field: "meta_status", Before: string(before), After: string(after)}
}
