package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Sender delivers messages to Meta. The wiring adapts whatsapp.Client with the stored
// credentials of the number's WhatsApp Business Account. phoneNumberID is Meta's id of the
// business number; to is the customer in E.164 ("+4915…") or a business-scoped user id. Errors
// should keep the *whatsapp.APIError (wrapped is fine) so that Meta's code reaches the message.
type Sender interface {
	SendText(ctx context.Context, phoneNumberID, to, body string) (wamid string, err error)
	SendTemplate(ctx context.Context, phoneNumberID, to string, t whatsapp.TemplateMessage) (wamid string, err error)
	SendMedia(ctx context.Context, phoneNumberID, to string, m whatsapp.MediaMessage) (wamid string, err error)
	MarkRead(ctx context.Context, phoneNumberID, wamid string) error
}

// ErrSendFailed wraps a send that reached Meta's side and failed (or never got there). The
// message is kept with status failed and Meta's error, and is returned with the error.
var ErrSendFailed = errors.New("the message could not be sent")

// sendTimeout bounds one call to Meta. The call runs detached from the request's context: once
// the message row exists, a closed browser tab must not leave it unresolved.
const sendTimeout = 30 * time.Second

// outgoing describes one send.
type outgoing struct {
	perm        authz.Permission
	needsWindow bool
	typ         string
	text        string
	template    string
	language    string
	cannedID    int64
	// auto is set for a message Switchboard sends by itself (campaign_send.go).
	auto *Automated
	// validate checks the input once the permission is known to be held.
	validate func() error
	call     func(ctx context.Context, phoneNumberID, to string) (string, error)
}

// SendText sends free text: messages.send_text, inside the 24-hour window.
func (s *Service) SendText(ctx context.Context, p *authz.Principal, conversationID int64, body string) (Message, error) {
	return s.send(ctx, p, conversationID, outgoing{perm: authz.MessagesSendText, needsWindow: true,
		typ: whatsapp.TypeText, text: body,
		validate: func() error { return asFieldError("body", whatsapp.ValidateText(body)) },
		call: func(ctx context.Context, pn, to string) (string, error) {
			return s.sender.SendText(ctx, pn, to, body)
		}})
}

// SendCanned sends a canned response: messages.send_canned. To WhatsApp it is free text, so
// the 24-hour window applies.
func (s *Service) SendCanned(ctx context.Context, p *authz.Principal, conversationID, cannedID int64) (Message, error) {
	if !p.Can(authz.MessagesSendCanned) {
		return Message{}, s.refuse(ctx, p, "message.sent", conversationID, forbidden("Sending canned responses needs the messages.send_canned permission."))
	}
	cr, err := s.cannedByID(ctx, s.db.R, cannedID)
	if errors.Is(err, ErrNotFound) {
		return Message{}, fieldError("canned_response", "Choose one of the canned responses.")
	}
	if err != nil {
		return Message{}, err
	}
	conv, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return Message{}, err
	}
	body := FillCanned(cr.Body, conv.Contact, p.Name)
	return s.send(ctx, p, conversationID, outgoing{perm: authz.MessagesSendCanned, needsWindow: true,
		typ: whatsapp.TypeText, text: body, cannedID: cr.ID,
		call: func(ctx context.Context, pn, to string) (string, error) {
			return s.sender.SendText(ctx, pn, to, body)
		}})
}

// SendTemplate sends an approved template, prepared by the templates package:
// messages.send_template, allowed outside the window (that is what templates are for).
func (s *Service) SendTemplate(ctx context.Context, p *authz.Principal, conversationID int64, t whatsapp.TemplateMessage) (Message, error) {
	return s.SendTemplateAs(ctx, p, conversationID, t, "")
}

// SendTemplateAs is SendTemplate that keeps shown, the message as the customer reads it (the
// template's text with its values), as the message's text in the conversation; an empty shown
// keeps a summary naming the template.
func (s *Service) SendTemplateAs(ctx context.Context, p *authz.Principal, conversationID int64, t whatsapp.TemplateMessage, shown string) (Message, error) {
	text := strings.TrimSpace(shown)
	if text == "" {
		text = "[template: " + t.Name + "]"
	}
	return s.send(ctx, p, conversationID, outgoing{perm: authz.MessagesSendTemplate,
		typ: whatsapp.TypeTemplate, text: text, template: t.Name, language: t.Language,
		validate: func() error { return asFieldError("template", whatsapp.ValidateTemplateMessage(t)) },
		call: func(ctx context.Context, pn, to string) (string, error) {
			return s.sender.SendTemplate(ctx, pn, to, t)
		}})
}

// SendMedia sends an image, document, video or audio: messages.send_media, inside the window.
func (s *Service) SendMedia(ctx context.Context, p *authz.Principal, conversationID int64, m whatsapp.MediaMessage) (Message, error) {
	text := m.Caption
	if text == "" {
		text = "[" + m.Type + "]"
		if m.Filename != "" {
			text = "[" + m.Type + ": " + m.Filename + "]"
		}
	}
	return s.send(ctx, p, conversationID, outgoing{perm: authz.MessagesSendMedia, needsWindow: true,
		typ: m.Type, text: text,
		validate: func() error { return asFieldError("media", whatsapp.ValidateMedia(m)) },
		call: func(ctx context.Context, pn, to string) (string, error) {
			return s.sender.SendMedia(ctx, pn, to, m)
		}})
}

// send is the one path of every outgoing message:
//
//  1. permission, then visibility (ErrNotFound), then the window, all before Meta is called;
//  2. the message row is committed as pending, the sender becomes a participant;
//  3. Meta is called;
//  4. the row gets its wamid (status accepted, plus any status webhook that overtook the
//     answer) or Meta's error, and the activity event records the outcome.
//
// The event names the conversation, type, template and canned response, never the text: that
// is customer correspondence, and it is in the conversation for whoever may see it.
func (s *Service) send(ctx context.Context, p *authz.Principal, convID int64, o outgoing) (Message, error) {
	const action = "message.sent"
	if !p.Can(o.perm) {
		return Message{}, s.refuse(ctx, p, action, convID, forbidden("Sending this needs the permission “%s”.", o.perm.Label()))
	}
	if o.validate != nil {
		if err := o.validate(); err != nil {
			return Message{}, err
		}
	}
	if s.sender == nil {
		return Message{}, errors.New("inbox: no sender configured")
	}
	var (
		c     convRow
		msgID int64
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = visibleConversation(ctx, tx, p.Conversations(), convID)
		if err != nil {
			return err
		}
		if o.template != "" && s.gate != nil {
			if err := s.gate.CheckTemplate(ctx, tx, convID, o.template, o.language); err != nil {
				return err
			}
		}
		now := s.now()
		if o.needsWindow && !windowAt(c.LastInboundAt, now).Open {
			return ErrWindowClosed
		}
		if o.auto != nil && o.auto.Check != nil {
			if err := o.auto.Check(ctx, tx); err != nil {
				return err
			}
		}
		// An administrator switched the number off, or disconnected its account, in Settings →
		// WhatsApp: nothing goes out from it.
		var enabled, connected bool
		if err := tx.QueryRowContext(ctx, `SELECT p.enabled, w.disconnected_at IS NULL FROM phone_numbers p
			JOIN wabas w ON w.id = p.waba_ref WHERE p.id = ?`, c.PhoneNumberID).Scan(&enabled, &connected); err != nil {
			return fmt.Errorf("check phone number: %w", err)
		}
		if !connected {
			return ErrNumberDisconnected
		}
		if !enabled {
			return ErrNumberDisabled
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, direction, type, text, status, status_at,
			sent_by, template_name, template_language, canned_id, created_at, automated_by) VALUES (?, 'out', ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)`,
			convID, o.typ, o.text, millis(now), nullID(p.MemberID), o.template, o.language, nullID(o.cannedID), millis(now), o.auto.by())
		if err != nil {
			return fmt.Errorf("store outgoing message: %w", err)
		}
		if msgID, err = res.LastInsertId(); err != nil {
			return err
		}
		if o.auto != nil {
			// Automated: no member replied, and nobody has read the conversation.
			if o.auto.Intent != nil {
				if err := o.auto.Intent(ctx, tx, msgID); err != nil {
					return err
				}
			}
			_, err = tx.ExecContext(ctx, `UPDATE conversations SET last_message_at = max(last_message_at, ?), updated_at = ? WHERE id = ?`,
				millis(now), millis(now), convID)
			if err != nil {
				return fmt.Errorf("update conversation: %w", err)
			}
			if err := catchUpRollups(ctx, tx); err != nil {
				return err
			}
			return s.IndexSearch(ctx, tx)
		}
		if err := addParticipant(ctx, tx, convID, p.MemberID, "replied", now); err != nil {
			return err
		}
		// Replying is reading: the team's unread count goes to zero.
		if _, err = tx.ExecContext(ctx, `UPDATE conversations SET last_message_at = max(last_message_at, ?),
			unread_count = 0, updated_at = ? WHERE id = ?`, millis(now), millis(now), convID); err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if err := catchUpRollups(ctx, tx); err != nil {
			return err
		}
		return s.IndexSearch(ctx, tx)
	})
	if errors.Is(err, ErrNoConsent) && o.auto != nil {
		// The automation that sent it counts the refusal itself (a campaign's "left out").
		return Message{}, err
	}
	if errors.Is(err, ErrNoConsent) {
		// Recorded as a refusal with its reason; shown beside the template picker.
		if refused := s.refuse(ctx, p, action, convID, err); refused != err {
			return Message{}, refused
		}
		return Message{}, fieldError("template", err.Error())
	}
	if err := s.changed(convID, err); err != nil {
		return Message{}, err
	}

	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	wamid, callErr := o.call(callCtx, c.MetaNumberID, c.recipient())
	cancel()
	if callErr == nil && wamid == "" {
		callErr = whatsapp.ErrNoMessageID
	}

	ctx = context.WithoutCancel(ctx)
	changes := []audit.Change{{Field: "message_id", After: msgID}, {Field: "type", After: o.typ}}
	if o.template != "" {
		changes = append(changes, audit.Change{Field: "template", After: o.template})
	}
	if o.cannedID != 0 {
		changes = append(changes, audit.Change{Field: "canned_response_id", After: o.cannedID})
	}
	var m Message
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		ev := audit.Event{Actor: memberActor(p), Action: action, Target: conversationTarget(convID), Outcome: audit.OutcomeSuccess}
		if o.auto != nil {
			ev.Actor = o.auto.Actor
			changes = append(changes, audit.Change{Field: "sent_by", After: o.auto.By})
		}
		if callErr == nil {
			if err := countStatus(ctx, tx, msgID, MessageAccepted, sql.NullInt64{}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET wamid = ?, status = ?, status_at = ? WHERE id = ?`,
				wamid, MessageAccepted, millis(now), msgID); err != nil {
				return fmt.Errorf("store wamid: %w", err)
			}
			// Statuses that overtook the call's answer are billed now that the message has its wamid.
			if err := countWamid(ctx, tx, msgID); err != nil {
				return err
			}
			if err := s.applyParkedStatuses(ctx, tx, msgID, wamid, MessageAccepted); err != nil {
				return err
			}
			ev.Changes = append(changes, audit.Change{Field: "wamid", After: wamid})
		} else {
			se := sendErrorOf(callErr)
			if err := countStatus(ctx, tx, msgID, whatsapp.StatusFailed, sql.NullInt64{Int64: int64(se.Code), Valid: true}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, status_at = ?, error_code = ?, error_title = ?,
				error_details = ? WHERE id = ?`, whatsapp.StatusFailed, millis(now), se.Code, se.Title, se.Details, msgID); err != nil {
				return fmt.Errorf("store send failure: %w", err)
			}
			ev.Outcome = audit.OutcomeFailed
			ev.Changes = append(changes, audit.Change{Field: "error", After: fmt.Sprintf("%d: %s", se.Code, se.Title)})
		}
		if _, err := s.audit.Append(ctx, tx, ev); err != nil {
			return err
		}
		if o.auto != nil && o.auto.Outcome != nil {
			if err := o.auto.Outcome(ctx, tx, msgID, wamid, callErr); err != nil {
				return err
			}
		}
		var err error
		m, err = messageByID(ctx, tx, msgID, ViewFor(p))
		return err
	})
	if err := s.changed(convID, err); err != nil {
		return Message{}, errors.Join(err, callErr)
	}
	if callErr != nil {
		if api, ok := whatsapp.AsAPIError(callErr); ok && api.IsOutsideWindow() {
			return m, fmt.Errorf("%w (%w)", ErrWindowClosed, callErr)
		}
		return m, fmt.Errorf("%w: %w", ErrSendFailed, callErr)
	}
	return m, nil
}

// sendErrorOf keeps Meta's code, title and details; any other failure (network, timeout) is
// summarised without its text, which may carry URLs.
func sendErrorOf(err error) SendError {
	if api, ok := whatsapp.AsAPIError(err); ok {
		title := api.UserTitle
		if title == "" {
			title = api.Message
		}
		return SendError{Code: api.Code, Title: title, Details: api.Details}
	}
	if errors.Is(err, ErrNotCalled) {
		return SendError{Code: whatsapp.CodeUnknown, Title: "Not sent: stopped before it went to WhatsApp"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return SendError{Code: whatsapp.CodeUnknown, Title: "WhatsApp did not answer in time"}
	}
	return SendError{Code: whatsapp.CodeUnknown, Title: "WhatsApp could not be reached"}
}

func messageByID(ctx context.Context, q db.Querier, id int64, v View) (Message, error) {
	return scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+`
		FROM messages m LEFT JOIN members sb ON sb.id = m.sent_by WHERE m.id = ?`, id), v)
}

// asFieldError names a validation error by the form's field; nil stays nil.
func asFieldError(field string, err error) error {
	if err == nil {
		return nil
	}
	var ve *whatsapp.ValidationError
	if errors.As(err, &ve) {
		msg := strings.TrimSpace(ve.Problem)
		if ve.Field != "" && ve.Field != field {
			msg = ve.Field + " " + msg
		}
		return fieldError(field, msg)
	}
	return fieldError(field, err.Error())
}
