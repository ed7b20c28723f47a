package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Automated describes a message Switchboard sends by itself (a campaign, an automation) through
// the one send path, so that the same rules hold as for a member: the number must be on, the
// TemplateGate refuses MARKETING templates without consent, free text needs the window. The
// message shows By in place of a member's name, and the activity event names Actor.
type Automated struct {
	// By is shown in the conversation and recorded in the event: "Campaign “Spring sale”".
	By    string
	Actor audit.Actor
	// CallbackData goes to Meta as biz_opaque_callback_data and comes back on every status
	// webhook of the message (StatusObserver), even when the send's answer was lost.
	CallbackData string
	// Check runs in the first transaction, after the gate: a refusal returned here aborts the
	// send with nothing stored (an opted-out contact, a recipient already claimed).
	Check func(ctx context.Context, tx *sql.Tx) error
	// Intent runs in the same transaction that stores the pending message, before Meta is
	// called: the caller records that the send is in flight, atomically with the message row.
	Intent func(ctx context.Context, tx *sql.Tx, messageID int64) error
	// Pace, when set, is waited for right before Meta is called (a campaign's throughput): the
	// pace is kept where Meta measures it. An error aborts the call and goes to Outcome.
	Pace func(ctx context.Context) error
	// Outcome runs in the transaction that stores Meta's answer (wamid, or callErr).
	Outcome func(ctx context.Context, tx *sql.Tx, messageID int64, wamid string, callErr error) error
}

func (a *Automated) by() string {
	if a == nil {
		return ""
	}
	return a.By
}

// ErrNotCalled is returned by an Automated.Pace that decided not to send after all (the campaign
// was paused while the message waited for its turn): Meta was never called.
var ErrNotCalled = errors.New("not sent: stopped before it went to WhatsApp")

// TaggedSender is a Sender that can attach biz_opaque_callback_data to a template message. The
// wiring's Cloud API sender implements it; without it the callback data is not sent.
type TaggedSender interface {
	SendTemplateTagged(ctx context.Context, phoneNumberID, to string, t whatsapp.TemplateMessage, callbackData string) (wamid string, err error)
}

// automatedPrincipal sends for the automation: it may send templates and sees every
// conversation, since the automation was authorised when it was approved (a campaign's number
// within its creator's and approver's scope).
func automatedPrincipal(a Automated) *authz.Principal {
	return &authz.Principal{Name: a.By, Permissions: authz.NewSet(authz.MessagesSendTemplate, authz.ConversationsViewAll),
		Numbers: authz.NumberScope{All: true}}
}

// SendTemplateAutomated sends an approved template to a conversation for a, keeping shown as the
// message's text. Errors are those of SendTemplate; ErrNoConsent is returned unrecorded, for the
// automation to count.
func (s *Service) SendTemplateAutomated(ctx context.Context, a Automated, conversationID int64, t whatsapp.TemplateMessage, shown string) (Message, error) {
	text := strings.TrimSpace(shown)
	if text == "" {
		text = "[template: " + t.Name + "]"
	}
	return s.send(ctx, automatedPrincipal(a), conversationID, outgoing{perm: authz.MessagesSendTemplate,
		typ: whatsapp.TypeTemplate, text: text, template: t.Name, language: t.Language, auto: &a,
		validate: func() error { return asFieldError("template", whatsapp.ValidateTemplateMessage(t)) },
		call: func(ctx context.Context, pn, to string) (string, error) {
			if a.Pace != nil {
				if err := a.Pace(ctx); err != nil {
					return "", err
				}
			}
			if ts, ok := s.sender.(TaggedSender); ok && a.CallbackData != "" {
				return ts.SendTemplateTagged(ctx, pn, to, t, a.CallbackData)
			}
			return s.sender.SendTemplate(ctx, pn, to, t)
		}})
}

// ConversationFor returns the conversation of a contact on a business number (ours, not Meta's),
// creating it closed when there is none: a broadcast must not fill the open inbox, and the
// customer's answer opens it as any inbound message does.
func ConversationFor(ctx context.Context, q db.Querier, contactID, phoneNumberID int64, nowMillis int64) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM conversations WHERE contact_id = ? AND phone_number_id = ?`, contactID, phoneNumberID).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find conversation: %w", err)
	}
	res, err := q.ExecContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, status, last_message_at, closed_at, created_at, updated_at)
		VALUES (?, ?, 'closed', ?, ?, ?, ?)`, contactID, phoneNumberID, nowMillis, nowMillis, nowMillis, nowMillis)
	if err != nil {
		return 0, fmt.Errorf("create conversation: %w", err)
	}
	return res.LastInsertId()
}

// AdoptWamid gives a pending outgoing message the wamid Meta reported for it by a status webhook
// after the send's own answer was lost (a crash between the call and its commit), and applies
// the statuses that waited for it. A message that already has a wamid is left alone.
func (s *Service) AdoptWamid(ctx context.Context, tx *sql.Tx, messageID int64, wamid string) error {
	var pending bool
	if err := tx.QueryRowContext(ctx, `SELECT wamid IS NULL AND direction = 'out' FROM messages WHERE id = ?`, messageID).Scan(&pending); err != nil {
		return fmt.Errorf("adopt wamid: %w", err)
	}
	if !pending {
		return nil
	}
	if err := countStatus(ctx, tx, messageID, MessageAccepted, sql.NullInt64{}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET wamid = ?, status = ?, status_at = ?, error_code = NULL, error_title = '',
		error_details = '' WHERE id = ?`, wamid, MessageAccepted, millis(s.now()), messageID); err != nil {
		return fmt.Errorf("adopt wamid: %w", err)
	}
	if err := noteRollup(ctx, tx, func(q db.Querier, d *rollup.Delta, mark int64) error {
		if messageID > mark {
			return nil
		}
		return d.BillableOf(ctx, q, messageID)
	}); err != nil {
		return err
	}
	if err := s.applyParkedStatuses(ctx, tx, messageID, wamid, MessageAccepted); err != nil {
		return err
	}
	var convID int64
	if err := tx.QueryRowContext(ctx, `SELECT conversation_id FROM messages WHERE id = ?`, messageID).Scan(&convID); err == nil {
		s.Live.Publish(convID)
	}
	return nil
}

// StatusObserver is told of each new status webhook that carries biz_opaque_callback_data,
// inside the ingest transaction, before the status is applied to its message.
type StatusObserver interface {
	StatusWithCallback(ctx context.Context, q db.Querier, wamid, status, callbackData string) error
}

// SetStatusObserver connects an observer of callback data at wiring.
func (s *Service) SetStatusObserver(o StatusObserver) { s.statusObserver = o }

// AbandonPending marks a pending outgoing message that Meta never confirmed as failed with
// title: its sender is about to send it again (a campaign after a crash, campaigns/runner.go).
// A message that has its wamid is left alone.
func (s *Service) AbandonPending(ctx context.Context, tx *sql.Tx, messageID int64, title string) error {
	var pending bool
	if err := tx.QueryRowContext(ctx, `SELECT wamid IS NULL AND status <> 'failed' FROM messages WHERE id = ?`, messageID).Scan(&pending); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("abandon message: %w", err)
	}
	if !pending {
		return nil
	}
	if err := countStatus(ctx, tx, messageID, whatsapp.StatusFailed, sql.NullInt64{Int64: whatsapp.CodeUnknown, Valid: true}); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, status_at = ?, error_code = ?, error_title = ? WHERE id = ?`,
		whatsapp.StatusFailed, millis(s.now()), whatsapp.CodeUnknown, title, messageID); err != nil {
		return fmt.Errorf("abandon message: %w", err)
	}
	return nil
}

// EnsureConversations creates, closed, the conversations missing between the contacts and a
// business number, in the caller's transaction: a broadcast prepares a batch of recipients in
// one commit instead of one per message (ConversationFor).
func EnsureConversations(ctx context.Context, q db.Querier, contactIDs []int64, phoneNumberID, nowMillis int64) error {
	for len(contactIDs) > 0 {
		n := min(len(contactIDs), 500)
		args := []any{phoneNumberID, nowMillis, nowMillis, nowMillis, nowMillis}
		for _, id := range contactIDs[:n] {
			args = append(args, id)
		}
		args = append(args, phoneNumberID)
		if _, err := q.ExecContext(ctx, `INSERT INTO conversations (contact_id, phone_number_id, status, last_message_at, closed_at, created_at, updated_at)
			SELECT c.id, ?, 'closed', ?, ?, ?, ? FROM contacts c WHERE c.id IN (`+placeholders(n)+`)
			AND NOT EXISTS (SELECT 1 FROM conversations v WHERE v.contact_id = c.id AND v.phone_number_id = ?)`, args...); err != nil {
			return fmt.Errorf("create conversations: %w", err)
		}
		contactIDs = contactIDs[n:]
	}
	return nil
}
