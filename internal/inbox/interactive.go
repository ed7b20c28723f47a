package inbox

import (
	"encoding/json"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// InteractiveDetail is an interactive message as WhatsApp shows it to the customer: the text
// parts, then either reply buttons or a list's button and its rows. It is kept in
// messages.detail so that the conversation can show what the customer saw, not just the body.
// The choices' ids are left out: they mean nothing to a person reading the conversation.
type InteractiveDetail struct {
	Header     string               `json:"header,omitempty"`
	Body       string               `json:"body"`
	Footer     string               `json:"footer,omitempty"`
	Buttons    []string             `json:"buttons,omitempty"`
	ListButton string               `json:"list_button,omitempty"`
	Sections   []InteractiveSection `json:"sections,omitempty"`
}

// InteractiveSection is a titled group of a list's rows.
type InteractiveSection struct {
	Title string           `json:"title,omitempty"`
	Rows  []InteractiveRow `json:"rows"`
}

// InteractiveRow is one choice of a list.
type InteractiveRow struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// interactiveDetailOf is what is kept of an interactive message that is sent.
func interactiveDetailOf(m whatsapp.InteractiveMessage) *InteractiveDetail {
	d := &InteractiveDetail{Header: m.Header, Body: m.Body, Footer: m.Footer}
	for _, b := range m.Buttons {
		d.Buttons = append(d.Buttons, b.Title)
	}
	if len(m.Buttons) == 0 {
		d.ListButton = m.ListButton
		for _, s := range m.Sections {
			sec := InteractiveSection{Title: s.Title, Rows: []InteractiveRow{}}
			for _, r := range s.Rows {
				sec.Rows = append(sec.Rows, InteractiveRow{Title: r.Title, Description: r.Description})
			}
			d.Sections = append(d.Sections, sec)
		}
	}
	return d
}

// sentDetail is messages.detail of an outgoing interactive message (nil, SQL NULL, for others).
func sentDetail(m *whatsapp.InteractiveMessage) any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(Detail{Interactive: interactiveDetailOf(*m)})
	if err != nil {
		return nil
	}
	return string(b)
}
