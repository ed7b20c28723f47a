package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// CustomerSays plays a customer writing a text to the business number: it opens (or restarts)
// the 24-hour window and posts Meta's signed inbound webhook. from is the customer's wa_id
// (digits) or a business-scoped user id for a customer known only by one.
func (s *Simulator) CustomerSays(ctx context.Context, phoneNumberID, from, name, text string) (messageID string, err error) {
	return s.CustomerSends(ctx, phoneNumberID, from, name, whatsapp.Message{Type: whatsapp.TypeText, Text: &whatsapp.Text{Body: text}})
}

// CustomerSends is CustomerSays for any message type: fill Type and its object (an image with
// an id from AddMedia, a button reply with Context, a reaction…); ID, From and Timestamp are
// filled when empty. A "system" message is sent without contacts, as Meta does.
func (s *Simulator) CustomerSends(ctx context.Context, phoneNumberID, from, name string, m whatsapp.Message) (messageID string, err error) {
	isUserID := bsuidRe.MatchString(from)
	if !isUserID {
		digits, ok := whatsapp.NormalizePhone(from)
		if !ok {
			return "", fmt.Errorf("simulator: customer %q is neither a phone number nor a business-scoped user id", from)
		}
		from = digits
	}
	if m.ID == "" {
		m.ID = newWamid()
	}
	if m.Timestamp == "" {
		m.Timestamp = whatsapp.TimestampOf(s.clock.Now())
	}
	contact := whatsapp.Contact{Profile: whatsapp.Profile{Name: name}}
	if isUserID {
		m.From, m.FromUserID = "", from
		contact.UserID = from
	} else {
		m.From = from
		contact.WaID = from
	}

	s.mu.Lock()
	ph, ok := s.phones[phoneNumberID]
	if !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("%w: phone number %s", ErrUnknown, phoneNumberID)
	}
	key := customerKey{phoneNumberID, from}
	s.windows[key] = s.clock.Now()
	if name != "" {
		s.names[key] = name
	}
	s.inbound[m.ID] = key
	value := s.valueLocked(ph)
	s.mu.Unlock()

	if m.Context != nil && m.Context.ID != "" && m.Context.From == "" {
		// A reply quotes a message of the business number, and Meta names that number.
		m.Context.From = value.Metadata.DisplayPhoneNumber
	}
	if m.Type != whatsapp.TypeSystem {
		value.Contacts = []whatsapp.Contact{contact}
	}
	value.Messages = []whatsapp.Message{m}
	return m.ID, s.post(ctx, ph.wabaID, whatsapp.Change{Field: whatsapp.FieldMessages, Messages: value})
}

func (s *Simulator) valueLocked(ph *phone) *whatsapp.MessagesValue {
	return &whatsapp.MessagesValue{MessagingProduct: "whatsapp", Metadata: whatsapp.Metadata{
		// Webhook metadata carries the number as digits, unlike the formatted phone_numbers API.
		DisplayPhoneNumber: digitsOnly(ph.info.DisplayPhoneNumber), PhoneNumberID: ph.info.ID}}
}

// Deliver posts a status webhook (sent, delivered, read or failed) for a message the simulator
// accepted. Statuses are sent as asked, in any order, so that tests can replay Meta's
// out-of-order deliveries. A failed status carries 131026 (undeliverable); see DeliverError.
func (s *Simulator) Deliver(ctx context.Context, messageID, status string) error {
	var errs []whatsapp.WebhookError
	if status == whatsapp.StatusFailed {
		errs = []whatsapp.WebhookError{webhookError(whatsapp.CodeUndeliverable, "Message undeliverable", "Message Undeliverable.")}
	}
	return s.deliver(ctx, messageID, status, errs)
}

// DeliverError posts a failed status with the given Cloud API error (131049 marketing limits,
// 131050 user stopped marketing, …), the way those errors usually arrive.
func (s *Simulator) DeliverError(ctx context.Context, messageID string, code int, title, details string) error {
	return s.deliver(ctx, messageID, whatsapp.StatusFailed, []whatsapp.WebhookError{webhookError(code, title, details)})
}

func webhookError(code int, title, details string) whatsapp.WebhookError {
	return whatsapp.WebhookError{Code: code, Title: title, Message: title, ErrorData: &whatsapp.ErrorData{Details: details},
		Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
}

func (s *Simulator) deliver(ctx context.Context, messageID, status string, errs []whatsapp.WebhookError) error {
	switch status {
	case whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead, whatsapp.StatusFailed, whatsapp.StatusPlayed:
	default:
		return fmt.Errorf("simulator: status %q is not sent, delivered, read, failed or played", status)
	}
	s.mu.Lock()
	i, ok := s.sentIndex[messageID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: message %s", ErrUnknown, messageID)
	}
	rec := &s.sent[i]
	rec.Status = status
	ph := s.phones[rec.PhoneNumberID]
	st := whatsapp.Status{ID: messageID, Status: status, Timestamp: whatsapp.TimestampOf(s.clock.Now()), Errors: errs}
	// Meta echoes biz_opaque_callback_data on every status of the message.
	st.BizOpaqueCallbackData = rec.Message.BizOpaqueCallbackData
	if bsuidRe.MatchString(rec.To) {
		st.RecipientUserID = rec.To
	} else {
		st.RecipientID = rec.To
	}
	// Pricing comes with sent and with delivered (Meta sends it on one of delivered/read).
	if status == whatsapp.StatusSent || status == whatsapp.StatusDelivered {
		st.Pricing = s.pricingLocked(rec)
	}
	value := s.valueLocked(ph)
	s.mu.Unlock()

	value.Statuses = []whatsapp.Status{st}
	return s.post(ctx, ph.wabaID, whatsapp.Change{Field: whatsapp.FieldMessages, Messages: value})
}

// pricingLocked follows per-message pricing (since 1 July 2025): non-template messages and
// utility templates inside an open window are free customer service; other templates are
// billed by category.
func (s *Simulator) pricingLocked(rec *SentMessage) *whatsapp.Pricing {
	if rec.TemplateCategory == "" {
		return &whatsapp.Pricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
	}
	category := strings.ToLower(rec.TemplateCategory)
	if rec.TemplateCategory == whatsapp.CategoryUtility && s.windowOpenLocked(customerKey{rec.PhoneNumberID, rec.To}) {
		return &whatsapp.Pricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: category}
	}
	return &whatsapp.Pricing{Billable: true, PricingModel: "PMP", Type: "regular", Category: category}
}

// templateStatus is the status a template event leaves the template in; FLAGGED warns without
// changing it ("" with ok).
func templateStatus(event string) (status string, ok bool) {
	switch event {
	case "APPROVED", "REINSTATED", "UNARCHIVED":
		return whatsapp.TemplateApproved, true
	case "REJECTED", "PENDING", "DISABLED", "PAUSED", "IN_APPEAL", "LIMIT_EXCEEDED", "LOCKED", "ARCHIVED",
		"DELETED", "PENDING_DELETION":
		return event, true
	case "FLAGGED":
		return "", true
	}
	return "", false
}

// SetTemplateStatus plays Meta's review: it moves the template to the status event implies and
// posts a message_template_status_update webhook. reason is "NONE" when empty.
func (s *Simulator) SetTemplateStatus(ctx context.Context, templateID, event, reason string) error {
	status, ok := templateStatus(event)
	if !ok {
		return fmt.Errorf("simulator: unknown template event %q", event)
	}
	if reason == "" {
		reason = "NONE"
	}
	s.mu.Lock()
	t, ok := s.templates[templateID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: template %s", ErrUnknown, templateID)
	}
	if status != "" {
		t.t.Status = status
	}
	if status == whatsapp.TemplateRejected {
		t.t.RejectedReason = reason
	}
	update := &whatsapp.TemplateStatusUpdate{Event: event, MessageTemplateID: whatsapp.FlexString(t.t.ID),
		MessageTemplateName: t.t.Name, MessageTemplateLanguage: t.t.Language, Reason: reason,
		MessageTemplateCategory: t.t.Category}
	wabaID := t.wabaID
	s.mu.Unlock()
	return s.post(ctx, wabaID, whatsapp.Change{Field: whatsapp.FieldTemplateStatus, TemplateStatus: update})
}

// post signs and delivers one change. Meta treats any answer but 200 as a failure and retries
// (for up to 7 days); the simulator retries a few times with doubling waits, then gives up and
// reports the last failure.
func (s *Simulator) post(ctx context.Context, wabaID string, c whatsapp.Change) error {
	if s.opts.WebhookURL == "" {
		return nil
	}
	body, err := json.Marshal(whatsapp.Webhook{Object: whatsapp.ObjectWABA,
		Entry: []whatsapp.Entry{{ID: wabaID, Changes: []whatsapp.Change{c}}}})
	if err != nil {
		return fmt.Errorf("simulator: encode webhook: %w", err)
	}
	signature := whatsapp.Sign([]byte(s.opts.AppSecret), body)
	wait := s.opts.WebhookBackoff
	var last error
	for attempt := 1; attempt <= s.opts.WebhookAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("simulator: webhook delivery: %w (last: %w)", ctx.Err(), last)
			case <-time.After(wait):
			}
			wait *= 2
		}
		last = s.postOnce(ctx, body, signature)
		if last == nil {
			return nil
		}
		s.log.Warn("simulator: webhook delivery failed", "attempt", attempt, "err", last)
	}
	return fmt.Errorf("simulator: webhook not accepted after %d attempts: %w", s.opts.WebhookAttempts, last)
}

func (s *Simulator) postOnce(ctx context.Context, body []byte, signature string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, signature)
	req.Header.Set("User-Agent", "facebookexternalua")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}
