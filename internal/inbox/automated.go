package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// AutomationName is how automated messages, assignments and closings are attributed: in the
// conversation and as the activity log's actor.
const AutomationName = "Automation"

// AutomationActor is the activity log's actor of everything internal/automation does.
func AutomationActor() audit.Actor { return audit.SystemActor(AutomationName) }

// InteractiveSender is the optional part of a Sender that sends reply buttons and lists. The
// Cloud API sender has it; a Sender without it cannot send automated menus.
type InteractiveSender interface {
	SendInteractive(ctx context.Context, phoneNumberID, to string, m whatsapp.InteractiveMessage) (wamid string, err error)
}

// AutomatedMessage is one message automation sends: Text, or an Interactive message whose body
// is shown as its text in the conversation.
type AutomatedMessage struct {
	// Kind names why it was sent (away, keyword, menu, rating…), for the activity log.
	Kind        string
	Text        string
	CannedID    int64
	Interactive *whatsapp.InteractiveMessage
	// Recorded, if set, runs in the transaction that records Meta's answer (sendErr is nil
	// when Meta accepted the message), so that the caller's own bookkeeping shares its commit.
	Recorded func(ctx context.Context, tx *sql.Tx, sendErr error) error
}

// AutomationTarget is what a claim needs to know of the conversation before a message goes out.
type AutomationTarget struct {
	ConversationID int64
	ContactID      int64
	PhoneNumberID  int64
	Status         Status
	AssigneeID     int64
	LastInboundAt  time.Time
	ClosedAt       time.Time
}

// ClaimFunc is called inside the transaction that writes the pending message, after the window
// and the number were checked: it refuses the send (an error; nothing is written) or records
// that msgID is under way, so that a crash cannot send it twice.
type ClaimFunc func(ctx context.Context, tx *sql.Tx, t AutomationTarget, msgID int64) error

// AutomationConversation reads what automation decides on, through q, for any conversation:
// automation acts for the workspace, not for a member, so no visibility applies here; whom it
// assigns to is checked against that member's visibility (AssignAutomated).
func AutomationConversation(ctx context.Context, q db.Querier, id int64) (AutomationTarget, error) {
	var (
		t        AutomationTarget
		assignee sql.NullInt64
		last     sql.NullInt64
		closed   sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT id, contact_id, phone_number_id, status, assignee_id, last_inbound_at, closed_at
		FROM conversations WHERE id = ?`, id).Scan(&t.ConversationID, &t.ContactID, &t.PhoneNumberID, &t.Status, &assignee, &last, &closed)
	if errors.Is(err, sql.ErrNoRows) {
		return AutomationTarget{}, ErrNotFound
	}
	if err != nil {
		return AutomationTarget{}, fmt.Errorf("load conversation: %w", err)
	}
	t.AssigneeID = assignee.Int64
	if last.Valid {
		t.LastInboundAt = fromMillis(last.Int64)
	}
	if closed.Valid {
		t.ClosedAt = fromMillis(closed.Int64)
	}
	return t, nil
}

// WindowOpenAt reports whether the 24-hour window of a customer who last wrote at lastInbound
// is open at now.
func WindowOpenAt(lastInbound, now time.Time) bool { return windowAt(lastInbound, now).Open }

// VisibilitySQL is the visibility predicate (authz.Visibility) as SQL over the conversations row
// named alias, for other areas' reads of things that belong to conversations (ratings in
// analytics): the same clause the inbox filters with, never a second copy.
func VisibilitySQL(v authz.Visibility, alias string) (string, []any) {
	return visibilityClause(v, alias)
}

// SendAutomated sends m in conversation convID on behalf of automation. Like send, the message
// is committed as pending before Meta is called, but:
//   - the window is always required: automation never sends outside it (not even templates);
//   - claim runs inside that transaction (consent, once-per-conversation markers, the job's state);
//   - the message has no member as sender, nobody becomes a participant and the unread count stays
//     (an automated answer is not a person reading);
//   - the activity event's actor is Automation.
func (s *Service) SendAutomated(ctx context.Context, convID int64, m AutomatedMessage, claim ClaimFunc) (Message, error) {
	const action = "message.sent"
	if s.sender == nil {
		return Message{}, errors.New("inbox: no sender configured")
	}
	typ := whatsapp.TypeText
	var call func(ctx context.Context, pn, to string) (string, error)
	switch {
	case m.Interactive != nil:
		is, ok := s.sender.(InteractiveSender)
		if !ok {
			return Message{}, errors.New("inbox: the sender cannot send interactive messages")
		}
		if _, err := m.Interactive.Interactive(); err != nil {
			return Message{}, asFieldError("interactive", err)
		}
		typ = whatsapp.TypeInteractive
		if m.Text == "" {
			m.Text = m.Interactive.Body
		}
		im := *m.Interactive
		call = func(ctx context.Context, pn, to string) (string, error) { return is.SendInteractive(ctx, pn, to, im) }
	default:
		if err := asFieldError("body", whatsapp.ValidateText(m.Text)); err != nil {
			return Message{}, err
		}
		text := m.Text
		call = func(ctx context.Context, pn, to string) (string, error) { return s.sender.SendText(ctx, pn, to, text) }
	}
	var (
		c     convRow
		msgID int64
	)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = visibleConversation(ctx, tx, authz.Visibility{AllNumbers: true}, convID); err != nil {
			return err
		}
		t, err := AutomationConversation(ctx, tx, convID)
		if err != nil {
			return err
		}
		now := s.now()
		if !windowAt(c.LastInboundAt, now).Open {
			return ErrWindowClosed
		}
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
		// An interactive message keeps its buttons or list rows in detail: the conversation
		// shows what the customer saw, not only the body.
		res, err := tx.ExecContext(ctx, `INSERT INTO messages (conversation_id, direction, type, text, status, status_at,
			canned_id, created_at, detail) VALUES (?, 'out', ?, ?, 'pending', ?, ?, ?, ?)`,
			convID, typ, m.Text, millis(now), nullID(m.CannedID), millis(now), sentDetail(m.Interactive))
		if err != nil {
			return fmt.Errorf("store outgoing message: %w", err)
		}
		if msgID, err = res.LastInsertId(); err != nil {
			return err
		}
		if claim != nil {
			if err := claim(ctx, tx, t, msgID); err != nil {
				return err
			}
		}
		if _, err = tx.ExecContext(ctx, `UPDATE conversations SET last_message_at = max(last_message_at, ?), updated_at = ? WHERE id = ?`,
			millis(now), millis(now), convID); err != nil {
			return fmt.Errorf("update conversation: %w", err)
		}
		if err := catchUpRollups(ctx, tx); err != nil {
			return err
		}
		return s.IndexSearch(ctx, tx)
	})
	if err := s.changed(convID, err); err != nil {
		return Message{}, err
	}

	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	wamid, callErr := call(callCtx, c.MetaNumberID, c.recipient())
	cancel()
	if callErr == nil && wamid == "" {
		callErr = whatsapp.ErrNoMessageID
	}
	ctx = context.WithoutCancel(ctx)
	changes := []audit.Change{{Field: "message_id", After: msgID}, {Field: "type", After: typ}, {Field: "automation", After: m.Kind}}
	if m.CannedID != 0 {
		changes = append(changes, audit.Change{Field: "canned_response_id", After: m.CannedID})
	}
	var out Message
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		ev := audit.Event{Actor: AutomationActor(), Action: action, Target: conversationTarget(convID), Outcome: audit.OutcomeSuccess}
		if callErr == nil {
			if err := countStatus(ctx, tx, msgID, MessageAccepted, sql.NullInt64{}); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET wamid = ?, status = ?, status_at = ? WHERE id = ?`,
				wamid, MessageAccepted, millis(now), msgID); err != nil {
				return fmt.Errorf("store wamid: %w", err)
			}
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
		if m.Recorded != nil {
			if err := m.Recorded(ctx, tx, callErr); err != nil {
				return err
			}
		}
		var err error
		out, err = messageByID(ctx, tx, msgID, View{})
		return err
	})
	if err := s.changed(convID, err); err != nil {
		return Message{}, errors.Join(err, callErr)
	}
	if callErr != nil {
		return out, fmt.Errorf("%w: %w", ErrSendFailed, callErr)
	}
	return out, nil
}

// AssignAutomated gives an open, unassigned conversation to memberID inside the caller's
// transaction, with Automation as the activity event's actor. The member must be active and
// see the conversation once assigned: the same check as Assign, the same predicate as every
// read. It reports false, changing nothing, when the conversation is no longer open and
// unassigned (a person was quicker), or the member would not see it or cannot answer in it.
func (s *Service) AssignAutomated(ctx context.Context, tx *sql.Tx, convID, memberID int64, why string) (bool, error) {
	t, err := AutomationConversation(ctx, tx, convID)
	if err != nil {
		return false, err
	}
	if t.Status != StatusOpen || t.AssigneeID != 0 {
		return false, nil
	}
	target, err := loadAssignable(ctx, tx, memberID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !target.Conversations().Allows(authz.ConversationFacts{PhoneNumberID: t.PhoneNumberID, AssigneeID: memberID}) {
		return false, nil
	}
	// Work goes to members who can answer: a read-only viewer (an Analyst) would see it and do nothing.
	if !target.CanAny(authz.MessagesSendText, authz.MessagesSendCanned, authz.MessagesSendTemplate, authz.MessagesSendMedia) {
		return false, nil
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = ?, escalated = 0, updated_at = ? WHERE id = ?`,
		memberID, millis(now), convID); err != nil {
		return false, fmt.Errorf("assign: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_participants WHERE conversation_id = ? AND why = 'assigned'`, convID); err != nil {
		return false, fmt.Errorf("assign: %w", err)
	}
	if err := addParticipant(ctx, tx, convID, memberID, "assigned", now); err != nil {
		return false, err
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Actor: AutomationActor(), Action: "conversation.assigned",
		Target: conversationTarget(convID), Outcome: audit.OutcomeSuccess, Changes: []audit.Change{
			{Field: "assignee_id", Before: nil, After: memberID}, {Field: "assignee_name", After: target.Name},
			{Field: "automation", After: why}}})
	return err == nil, err
}

// RecloseAutomated closes again a conversation that a customer's answer to a rating reopened,
// keeping the closing time it had (closedAt), so that the answer does not count as a new
// closing. It does nothing if the conversation was assigned or is closed already.
func (s *Service) RecloseAutomated(ctx context.Context, tx *sql.Tx, convID int64, closedAt time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE conversations SET status = 'closed', closed_at = ?, unread_count = 0, updated_at = ?
		WHERE id = ? AND status = 'open'`, millis(closedAt), millis(s.now()), convID)
	if err != nil {
		return fmt.Errorf("close again: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Actor: AutomationActor(), Action: "conversation.closed",
		Target: conversationTarget(convID), Outcome: audit.OutcomeSuccess, Changes: []audit.Change{
			{Field: "status", Before: string(StatusOpen), After: string(StatusClosed)},
			{Field: "automation", After: "rating answer"}}})
	return err
}

// Publish announces committed changes to conversations to open inbox pages.
func (s *Service) Publish(ids ...int64) { s.Live.Publish(ids...) }

// CannedByID reads a canned response through q for automation, which answers with them on the
// workspace's behalf (the rule's author chose it with canned_responses.manage).
func (s *Service) CannedByID(ctx context.Context, q db.Querier, id int64) (CannedResponse, error) {
	return s.cannedByID(ctx, q, id)
}

// LabelByName finds a label by its name (case does not matter), through q.
func LabelByName(ctx context.Context, q db.Querier, name string) (Label, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM labels WHERE name = ? COLLATE NOCASE`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Label{}, ErrNotFound
	}
	if err != nil {
		return Label{}, fmt.Errorf("find label: %w", err)
	}
	return labelByID(ctx, q, id)
}

// LabelAutomated puts the label named name on a conversation inside the caller's transaction,
// with Automation as the activity event's actor (a customer's menu choice). It reports false
// when the label no longer exists or the conversation has it already.
func (s *Service) LabelAutomated(ctx context.Context, tx *sql.Tx, convID int64, name string) (bool, error) {
	l, err := LabelByName(ctx, tx, name)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	changed, err := setLabel(ctx, tx, "conversation_labels", "conversation_id", convID, l.ID, 0, millis(s.now()), true)
	if err != nil || !changed {
		return false, err
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Actor: AutomationActor(), Action: "conversation.labelled",
		Target: conversationTarget(convID), Outcome: audit.OutcomeSuccess, Changes: []audit.Change{
			{Field: "label", After: l.Name}, {Field: "automation", After: "menu choice"}}})
	return err == nil, err
}
