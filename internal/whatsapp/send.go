package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// SendResult is Meta's acceptance of a message. Accepted is not delivered: delivery arrives
// later as a status webhook for MessageID.
type SendResult struct {
	MessageID string
	WaID      string
	// MessageStatus is set for templates ("accepted", "held_for_quality_assessment", "paused").
	MessageStatus string
}

// SendResponse is the wire answer to POST /{phone-number-id}/messages.
type SendResponse struct {
	MessagingProduct string                `json:"messaging_product"`
	Contacts         []SendResponseContact `json:"contacts"`
	Messages         []SendResponseMessage `json:"messages"`
}

// SendResponseContact echoes the recipient.
type SendResponseContact struct {
	Input  string `json:"input"`
	WaID   string `json:"wa_id,omitempty"`
	UserID string `json:"user_id,omitempty"`
}

// SendResponseMessage carries the new message id.
type SendResponseMessage struct {
	ID            string `json:"id"`
	MessageStatus string `json:"message_status,omitempty"`
}

// ErrNoMessageID is returned when Meta answers 200 without a message id, which leaves nothing
// to match status webhooks against.
var ErrNoMessageID = errors.New("whatsapp: send response has no message id")

// Send posts a message built by the caller (for types without a helper: reactions, locations,
// stickers). It fills messaging_product and recipient_type and checks the phone number id; the
// recipient must already be set (see SetRecipient).
func (c *Client) Send(ctx context.Context, creds Credentials, phoneNumberID string, msg OutgoingMessage) (SendResult, error) {
	if err := checkID("phone number id", phoneNumberID); err != nil {
		return SendResult{}, err
	}
	if msg.To == "" && msg.Recipient == "" {
		return SendResult{}, invalid("to", "is required")
	}
	if msg.Type == "" {
		return SendResult{}, invalid("type", "is required")
	}
	msg.MessagingProduct = "whatsapp"
	msg.RecipientType = "individual"
	var resp SendResponse
	if err := c.do(ctx, creds, http.MethodPost, phoneNumberID+"/messages", nil, msg, &resp); err != nil {
		return SendResult{}, err
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return SendResult{}, ErrNoMessageID
	}
	r := SendResult{MessageID: resp.Messages[0].ID, MessageStatus: resp.Messages[0].MessageStatus}
	if len(resp.Contacts) > 0 {
		r.WaID = resp.Contacts[0].WaID
	}
	return r, nil
}

// SendText sends a free-form text, allowed only inside the 24-hour customer service window
// (else 131047). replyTo, when set, quotes that message.
func (c *Client) SendText(ctx context.Context, creds Credentials, phoneNumberID, to, body, replyTo string) (SendResult, error) {
	if err := ValidateText(body); err != nil {
		return SendResult{}, err
	}
	msg := OutgoingMessage{Type: TypeText, Text: &OutgoingText{Body: body}}
	if err := prepare(&msg, to, replyTo); err != nil {
		return SendResult{}, err
	}
	return c.Send(ctx, creds, phoneNumberID, msg)
}

// SendTemplate sends an approved template, the only kind of message allowed outside the
// 24-hour window.
func (c *Client) SendTemplate(ctx context.Context, creds Credentials, phoneNumberID, to string, t TemplateMessage) (SendResult, error) {
	if err := ValidateTemplateMessage(t); err != nil {
		return SendResult{}, err
	}
	msg := OutgoingMessage{Type: TypeTemplate, Template: &t}
	if err := prepare(&msg, to, ""); err != nil {
		return SendResult{}, err
	}
	return c.Send(ctx, creds, phoneNumberID, msg)
}

// SendMedia sends an image, document, video or audio by link (or uploaded id).
func (c *Client) SendMedia(ctx context.Context, creds Credentials, phoneNumberID, to string, m MediaMessage) (SendResult, error) {
	if err := ValidateMedia(m); err != nil {
		return SendResult{}, err
	}
	obj := &MediaObject{ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}
	msg := OutgoingMessage{Type: m.Type}
	switch m.Type {
	case TypeImage:
		msg.Image = obj
	case TypeVideo:
		msg.Video = obj
	case TypeAudio:
		msg.Audio = obj
	case TypeDocument:
		msg.Document = obj
	}
	if err := prepare(&msg, to, m.ReplyTo); err != nil {
		return SendResult{}, err
	}
	return c.Send(ctx, creds, phoneNumberID, msg)
}

// SendInteractive sends reply buttons (at most 3, titles of at most 20 characters) or a list
// (at most 10 rows, titles of at most 24).
func (c *Client) SendInteractive(ctx context.Context, creds Credentials, phoneNumberID, to string, m InteractiveMessage) (SendResult, error) {
	in, err := m.Interactive()
	if err != nil {
		return SendResult{}, err
	}
	msg := OutgoingMessage{Type: TypeInteractive, Interactive: &in}
	if err := prepare(&msg, to, m.ReplyTo); err != nil {
		return SendResult{}, err
	}
	return c.Send(ctx, creds, phoneNumberID, msg)
}

// MarkRead marks an inbound message (and those before it) as read, which shows the customer
// blue ticks.
func (c *Client) MarkRead(ctx context.Context, creds Credentials, phoneNumberID, messageID string) error {
	if err := checkID("phone number id", phoneNumberID); err != nil {
		return err
	}
	if messageID == "" {
		return invalid("message id", "is required")
	}
	body := OutgoingMessage{MessagingProduct: "whatsapp", Status: StatusRead, MessageID: messageID}
	if err := c.doSuccess(ctx, creds, http.MethodPost, phoneNumberID+"/messages", nil, body); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}

func prepare(msg *OutgoingMessage, to, replyTo string) error {
	if err := msg.SetRecipient(to); err != nil {
		return err
	}
	if replyTo != "" {
		msg.Context = &ReplyContext{MessageID: replyTo}
	}
	return nil
}
