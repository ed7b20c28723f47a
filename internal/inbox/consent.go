package inbox

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard/switchboard/internal/db"
)

// InboundObserver is told of each new inbound text message inside the ingest transaction, so
// that an opt-out keyword ("STOP") commits with the message itself (internal/consent).
type InboundObserver interface {
	InboundText(ctx context.Context, q db.Querier, contactID int64, text string) error
}

// TemplateGate may refuse a template before it is sent, inside the send transaction: marketing
// consent refuses MARKETING templates to contacts who have not opted in. A refusal wraps
// ErrNoConsent and its message is shown to the member as it is.
type TemplateGate interface {
	CheckTemplate(ctx context.Context, q db.Querier, conversationID int64, template, language string) error
}

// ErrNoConsent marks a template refused for want of the contact's consent.
var ErrNoConsent = errors.New("the contact has not consented")

// SetConsentHooks connects marketing consent at wiring; nil hooks leave the inbox as it was.
func (s *Service) SetConsentHooks(inbound InboundObserver, gate TemplateGate) {
	s.inbound, s.gate = inbound, gate
}

// ConversationParties names a conversation's contact and the WhatsApp Business Account (Meta's
// id) of its business number, read through q, for the TemplateGate.
func ConversationParties(ctx context.Context, q db.Querier, conversationID int64) (contactID int64, wabaID string, contactName string, err error) {
	err = q.QueryRowContext(ctx, `SELECT c.contact_id, w.waba_id, ct.profile_name FROM conversations c
		JOIN contacts ct ON ct.id = c.contact_id
		JOIN phone_numbers pn ON pn.id = c.phone_number_id JOIN wabas w ON w.id = pn.waba_ref
		WHERE c.id = ?`, conversationID).Scan(&contactID, &wabaID, &contactName)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", "", ErrNotFound
	}
	return contactID, wabaID, contactName, err
}
