package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Detail is what a message shows beyond its text, kept as JSON in messages.detail. It never
// holds the customer's own number; the numbers on a shared contact card are masked on reading
// for viewers without contacts.view_pii.
type Detail struct {
	FileName    string            `json:"file_name,omitempty"`
	Voice       bool              `json:"voice,omitempty"`
	Location    *LocationDetail   `json:"location,omitempty"`
	Description string            `json:"description,omitempty"` // a list reply's row description
	Payload     string            `json:"payload,omitempty"`     // a template button's payload
	Referral    *ReferralDetail   `json:"referral,omitempty"`
	Order       *OrderDetail      `json:"order,omitempty"`
	Contacts    []ContactCard     `json:"contacts,omitempty"`
	Errors      []SendError       `json:"errors,omitempty"`
	ReactionTo  string            `json:"reaction_to,omitempty"` // the wamid reacted to
	Emoji       string            `json:"emoji,omitempty"`
	System      string            `json:"system,omitempty"` // a system notice's type
	FlowAnswers map[string]string `json:"flow_answers,omitempty"`
	// Interactive is an interactive message that was sent (an automated menu, rule or rating).
	Interactive *InteractiveDetail `json:"interactive,omitempty"`
	// Chose is the title of the reply button or list row a customer's interactive reply chose.
	Chose string `json:"chose,omitempty"`
}

// LocationDetail is a shared location.
type LocationDetail struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// ReferralDetail is the ad or post the customer came from.
type ReferralDetail struct {
	SourceType string `json:"source_type,omitempty"`
	SourceURL  string `json:"source_url,omitempty"`
	Headline   string `json:"headline,omitempty"`
	Body       string `json:"body,omitempty"`
}

// OrderDetail is a cart from the catalogue.
type OrderDetail struct {
	CatalogID string      `json:"catalog_id,omitempty"`
	Items     []OrderLine `json:"items"`
}

// OrderLine is one product of an order.
type OrderLine struct {
	Product  string `json:"product"`
	Quantity string `json:"quantity,omitempty"`
	Price    string `json:"price,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// ContactCard is one card of a shared contact message.
type ContactCard struct {
	Name   string   `json:"name"`
	Phones []string `json:"phones,omitempty"`
}

// detailOf builds the stored detail of an inbound message; nil (SQL NULL) when there is none.
func detailOf(m whatsapp.Message) any {
	d := Detail{}
	if md := m.Media(); md != nil {
		d.FileName = cleanFileName(md.Filename)
		d.Voice = md.Voice
	}
	if l := m.Location; l != nil {
		d.Location = &LocationDetail{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	}
	if i := m.Interactive; i != nil {
		if i.ButtonReply != nil {
			d.Chose = i.ButtonReply.Title
		}
		if i.ListReply != nil {
			d.Description = i.ListReply.Description
			d.Chose = i.ListReply.Title
		}
		if i.NFMReply != nil && i.NFMReply.ResponseJSON != "" {
			var answers map[string]any
			if json.Unmarshal([]byte(i.NFMReply.ResponseJSON), &answers) == nil {
				d.FlowAnswers = map[string]string{}
				for k, v := range answers {
					if k != "flow_token" {
						d.FlowAnswers[k] = fmt.Sprint(v)
					}
				}
			}
		}
	}
	if m.Button != nil && m.Button.Payload != m.Button.Text {
		d.Payload = m.Button.Payload
	}
	if r := m.Referral; r != nil {
		d.Referral = &ReferralDetail{SourceType: r.SourceType, SourceURL: r.SourceURL, Headline: r.Headline, Body: r.Body}
	}
	if o := m.Order; o != nil {
		d.Order = &OrderDetail{CatalogID: o.CatalogID, Items: []OrderLine{}}
		for _, it := range o.ProductItems {
			d.Order.Items = append(d.Order.Items, OrderLine{Product: it.ProductRetailerID, Quantity: string(it.Quantity),
				Price: string(it.ItemPrice), Currency: it.Currency})
		}
	}
	for _, c := range m.Contacts {
		card := ContactCard{Name: firstNonEmpty(c.Name.FormattedName, strings.TrimSpace(c.Name.FirstName+" "+c.Name.LastName))}
		for _, p := range c.Phones {
			card.Phones = append(card.Phones, firstNonEmpty(p.Phone, p.WaID))
		}
		d.Contacts = append(d.Contacts, card)
	}
	for _, e := range m.Errors {
		d.Errors = append(d.Errors, SendError{Code: e.Code, Title: firstNonEmpty(e.Title, e.Message), Details: e.Details()})
	}
	if r := m.Reaction; r != nil {
		d.ReactionTo, d.Emoji = r.MessageID, r.Emoji
	}
	if m.System != nil {
		d.System = m.System.Type
	}
	b, err := json.Marshal(d)
	if err != nil || string(b) == "{}" {
		return nil
	}
	return string(b)
}

// cleanFileName keeps a file name as a name: no directories, no control characters, bounded.
func cleanFileName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	return name
}

// parseDetail reads messages.detail; v decides whether shared contact numbers are masked.
func parseDetail(raw sql.NullString, v View) *Detail {
	if !raw.Valid || raw.String == "" {
		return nil
	}
	var d Detail
	if json.Unmarshal([]byte(raw.String), &d) != nil {
		return nil
	}
	if !v.PII {
		for i := range d.Contacts {
			for j, p := range d.Contacts[i].Phones {
				d.Contacts[i].Phones[j] = MaskPhone(p)
			}
		}
	}
	return &d
}

// applyChange applies a customer's edit or revoke to the message it names, in the same
// conversation. It reports handled = false when that message is not known (it came before
// Switchboard was connected, or the change overtook it), and the change is then stored as a
// message of its own so that nothing is lost. Both are idempotent: Meta redelivers.
func (s *Service) applyChange(ctx context.Context, q db.Querier, in whatsapp.InboundMessage, now time.Time) (bool, error) {
	m := in.Message
	var original string
	switch {
	case in.Type == whatsapp.TypeEdit && m.Edit != nil && m.Edit.Message != nil:
		original = m.Edit.OriginalMessageID
	case in.Type == whatsapp.TypeRevoke && m.Revoke != nil:
		original = m.Revoke.OriginalMessageID
	default:
		return false, nil
	}
	var (
		msgID, convID int64
		sender        string
	)
	err := queryRowQ(ctx, q, `SELECT m.id, m.conversation_id, coalesce(ct.wa_id, ct.user_id, '') FROM messages m
		JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
		WHERE m.wamid = ? AND m.direction = 'in'`, original).Scan(&msgID, &convID, &sender)
	if errors.Is(err, sql.ErrNoRows) || original == "" {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find edited message: %w", err)
	}
	// Only the customer who wrote a message may change it.
	if sender != in.WaID && sender != in.UserID {
		s.logger().WarnContext(ctx, "inbox: edit or revoke from another sender ignored", "message", msgID)
		return true, nil
	}
	at := now
	if !in.Timestamp.IsZero() && in.Timestamp.Before(now) {
		at = in.Timestamp
	}
	if in.Type == whatsapp.TypeEdit {
		// An older edit delivered late never overwrites a newer one.
		edited := m.Edit.Message
		_, err = execQ(ctx, q, `UPDATE messages SET text = ?, detail = coalesce(?, detail), edited_at = ?
			WHERE id = ? AND deleted_at IS NULL AND (edited_at IS NULL OR edited_at <= ?)`,
			edited.Summary(), detailOf(*edited), millis(at), msgID, millis(at))
	} else {
		// The text goes: the customer withdrew it. The row stays, marked, so the conversation
		// still shows that something was said and deleted.
		_, err = execQ(ctx, q, `UPDATE messages SET text = '', detail = NULL, deleted_at = coalesce(deleted_at, ?) WHERE id = ?`,
			millis(at), msgID)
		if err == nil {
			_, err = execQ(ctx, q, `DELETE FROM media WHERE message_id = ? AND state = 'pending'`, msgID)
		}
	}
	if err != nil {
		return false, fmt.Errorf("apply %s: %w", in.Type, err)
	}
	touch(ctx, q, convID)
	return true, nil
}

// afterInbound does what a stored inbound message asks for beyond itself: queue its media for
// fetching, put a reaction on the message it names, move a contact who changed number.
func (s *Service) afterInbound(ctx context.Context, q db.Querier, in whatsapp.InboundMessage, convID, contactID, msgID int64, now time.Time) error {
	m := in.Message
	if md := m.Media(); md != nil && md.ID != "" {
		if _, err := execQ(ctx, q, `INSERT INTO media (message_id, conversation_id, kind, meta_media_id, mime_type, file_name,
			state, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
			msgID, convID, in.Type, md.ID, md.MimeType, cleanFileName(md.Filename), millis(now), millis(now)); err != nil {
			return fmt.Errorf("queue media: %w", err)
		}
		s.Media.wake()
	}
	if r := m.Reaction; r != nil && r.MessageID != "" {
		if _, err := execQ(ctx, q, `UPDATE messages SET reaction = ? WHERE wamid = ? AND conversation_id = ?`,
			r.Emoji, r.MessageID, convID); err != nil {
			return fmt.Errorf("apply reaction: %w", err)
		}
	}
	if sys := m.System; sys != nil && sys.Type == "user_changed_number" && sys.NewWaID != "" {
		return s.moveContact(ctx, q, contactID, in.WaID, sys.NewWaID, now)
	}
	return nil
}

// moveContact follows a customer to their new number (Meta's user_changed_number notice):
// their conversations, labels and fields stay with them, and the next message from the new
// number lands in the same conversation. Should another contact already hold the new number
// (they wrote from it before the notice arrived), the two are left apart and the notice says so.
func (s *Service) moveContact(ctx context.Context, q db.Querier, contactID int64, oldWaID, newWaID string, now time.Time) error {
	var taken int
	err := queryRowQ(ctx, q, `SELECT count(*) FROM contacts WHERE wa_id = ? AND id <> ?`, newWaID, contactID).Scan(&taken)
	if err != nil {
		return fmt.Errorf("check new number: %w", err)
	}
	if taken > 0 {
		s.logger().WarnContext(ctx, "inbox: a contact changed to a number another contact has; kept apart", "contact", contactID)
		return nil
	}
	if _, err := execQ(ctx, q, `UPDATE contacts SET wa_id = ?, previous_wa_id = ?, updated_at = ? WHERE id = ?`,
		newWaID, oldWaID, millis(now), contactID); err != nil {
		return fmt.Errorf("move contact: %w", err)
	}
	// The log names the contact and the last digits only: an erasure must be able to leave the
	// event without personal data.
	_, err = s.audit.Append(audit.WithActor(ctx, audit.SystemActor("webhook: user_changed_number")), q, audit.Event{
		Actor: audit.SystemActor("webhook: user_changed_number"), Action: "contact.number_changed",
		Target:  audit.NewTarget("contact", contactID),
		Changes: []audit.Change{{Field: "number", Before: MaskPhone("+" + oldWaID), After: MaskPhone("+" + newWaID)}},
	})
	return err
}
