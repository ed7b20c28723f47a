package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// conversationColumns is what every conversation read selects, over conversations c, contacts
// ct, phone_numbers pn and the assignee am (LEFT JOIN). The preview is the start of the newest
// message, one index probe per row shown.
const conversationColumns = `c.id, c.phone_number_id, coalesce(nullif(pn.label, ''), pn.display_phone_number),
	ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username,
	c.status, coalesce(c.assignee_id, 0), coalesce(am.name, ''),
	c.escalated, c.escalation_reason, coalesce(c.escalated_by, 0), c.escalated_at,
	c.last_inbound_at, c.last_message_at, c.unread_count, c.created_at, c.preview`

const conversationFrom = ` FROM conversations c
	JOIN contacts ct ON ct.id = c.contact_id
	JOIN phone_numbers pn ON pn.id = c.phone_number_id
	LEFT JOIN members am ON am.id = c.assignee_id`

const previewRunes = 120

func scanConversation(row interface{ Scan(...any) error }, v View, now time.Time) (Conversation, error) {
	var (
		c                            Conversation
		waID, userID, name, username string
		escalated                    int
		escalatedAt, lastInbound     *int64
		lastMessage, created         int64
		preview                      string
	)
	err := row.Scan(&c.ID, &c.PhoneNumberID, &c.NumberName,
		&c.Contact.ID, &waID, &userID, &name, &username,
		&c.Status, &c.AssigneeID, &c.AssigneeName,
		&escalated, &c.EscalationReason, &c.EscalatedBy, &escalatedAt,
		&lastInbound, &lastMessage, &c.Unread, &created, &preview)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, ErrNotFound
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("scan conversation: %w", err)
	}
	id := c.Contact.ID
	c.Contact = maskContact(v, waID, userID, name, username)
	c.Contact.ID = id
	c.Escalated = escalated == 1
	c.EscalatedAt = nullMillis(escalatedAt)
	c.LastInboundAt = nullMillis(lastInbound)
	c.LastMessageAt = fromMillis(lastMessage)
	c.CreatedAt = fromMillis(created)
	c.Preview = truncateRunes(preview, previewRunes)
	c.Window = windowAt(c.LastInboundAt, now)
	return c, nil
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// convRow is what the write paths need to know about one conversation.
type convRow struct {
	ID            int64
	PhoneNumberID int64  // ours
	MetaNumberID  string // Meta's phone_number_id, for sending
	WaID          string
	UserID        string
	Status        Status
	AssigneeID    int64
	Escalated     bool
	LastInboundAt time.Time
	LastInboundID string // wamid of the newest inbound message, for mark-read
}

// recipient is how Meta addresses the customer: the number in E.164, or the business-scoped
// user id for a customer known only by one.
func (r convRow) recipient() string {
	if r.WaID != "" {
		return "+" + r.WaID
	}
	return r.UserID
}

// visibleConversation loads conversation id if v allows it. Outside v it is ErrNotFound, like
// a conversation that does not exist.
func visibleConversation(ctx context.Context, q db.Querier, v authz.Visibility, id int64) (convRow, error) {
	vis, args := visibilityClause(v, "c")
	var (
		r           convRow
		escalated   int
		lastInbound *int64
	)
	err := q.QueryRowContext(ctx, `SELECT c.id, c.phone_number_id, pn.phone_number_id,
			coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), c.status, coalesce(c.assignee_id, 0),
			c.escalated, c.last_inbound_at,
			coalesce((SELECT m.wamid FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
				AND m.wamid IS NOT NULL ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')
		FROM conversations c
		JOIN contacts ct ON ct.id = c.contact_id
		JOIN phone_numbers pn ON pn.id = c.phone_number_id
		WHERE c.id = ? AND `+vis, append([]any{id}, args...)...).Scan(
		&r.ID, &r.PhoneNumberID, &r.MetaNumberID, &r.WaID, &r.UserID, &r.Status, &r.AssigneeID,
		&escalated, &lastInbound, &r.LastInboundID)
	if errors.Is(err, sql.ErrNoRows) {
		return convRow{}, ErrNotFound
	}
	if err != nil {
		return convRow{}, fmt.Errorf("load conversation: %w", err)
	}
	r.Escalated = escalated == 1
	r.LastInboundAt = nullMillis(lastInbound)
	return r, nil
}

// boxCondition is the box's own filter over conversations c. mine needs the member's id.
func boxCondition(b Box, memberID int64) (string, []any) {
	switch b {
	case BoxMine:
		return "c.status = 'open' AND c.assignee_id = ?", []any{memberID}
	case BoxUnassigned:
		return "c.status = 'open' AND c.assignee_id IS NULL", nil
	case BoxEscalated:
		return "c.status = 'open' AND c.escalated = 1", nil
	case BoxClosed:
		return "c.status = 'closed'", nil
	default:
		return "c.status = 'open'", nil
	}
}

const messageColumns = `m.id, m.conversation_id, m.direction, coalesce(m.wamid, ''), m.type, m.text, m.raw,
	m.reply_to, m.status, m.status_at, m.error_code, m.error_title, m.error_details,
	coalesce(m.sent_by, 0), coalesce(nullif(m.automated_by, ''), sb.name, ''), m.template_name, coalesce(m.canned_id, 0), m.created_at,
	m.detail, m.edited_at, m.deleted_at, m.reaction`

func scanMessage(row interface{ Scan(...any) error }, v View) (Message, error) {
	var (
		m         Message
		raw       sql.NullString
		statusAt  *int64
		errCode   sql.NullInt64
		errTitle  string
		errDetail string
		created   int64
		detail    sql.NullString
		edited    *int64
		deleted   *int64
	)
	err := row.Scan(&m.ID, &m.ConversationID, &m.Direction, &m.WAMID, &m.Type, &m.Text, &raw,
		&m.ReplyTo, &m.Status, &statusAt, &errCode, &errTitle, &errDetail,
		&m.SentBy, &m.SentByName, &m.TemplateName, &m.CannedID, &created,
		&detail, &edited, &deleted, &m.Reaction)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("scan message: %w", err)
	}
	m.StatusAt = nullMillis(statusAt)
	m.Detail = parseDetail(detail, v)
	m.EditedAt, m.DeletedAt = nullMillis(edited), nullMillis(deleted)
	m.CreatedAt = fromMillis(created)
	if errCode.Valid || errTitle != "" {
		m.Error = &SendError{Code: int(errCode.Int64), Title: errTitle, Details: errDetail}
	}
	if raw.Valid && v.PII {
		m.Raw = []byte(raw.String)
	}
	return m, nil
}

// addParticipant records that member took part in the conversation for why.
func addParticipant(ctx context.Context, q db.Querier, convID, memberID int64, why string, at time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO conversation_participants (conversation_id, member_id, why, at)
		VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET at = excluded.at`, convID, memberID, why, millis(at))
	if err != nil {
		return fmt.Errorf("record participant: %w", err)
	}
	return nil
}

// assignableColumns describe a member as the access rules see them: permissions and number
// scope, as the members area stores them.
const assignableColumns = `m.id, m.name, r.name, m.all_numbers,
	(SELECT group_concat(phone_number_id, ' ') FROM member_numbers WHERE member_id = m.id),
	(SELECT group_concat(permission, ' ') FROM role_permissions WHERE role_id = m.role_id)
	FROM members m JOIN roles r ON r.id = m.role_id`

// loadAssignable loads an active member who may be given a conversation. Anyone else (unknown,
// deactivated) is ErrNotFound.
func loadAssignable(ctx context.Context, q db.Querier, memberID int64) (*authz.Principal, error) {
	p, err := scanAssignable(q.QueryRowContext(ctx, `SELECT `+assignableColumns+` WHERE m.id = ? AND m.status = 'active'`, memberID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load member: %w", err)
	}
	return p, nil
}

// loadActiveAssignables loads every active member, by name.
func loadActiveAssignables(ctx context.Context, q db.Querier) ([]*authz.Principal, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+assignableColumns+` WHERE m.status = 'active' ORDER BY m.name COLLATE NOCASE, m.id`)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []*authz.Principal
	for rows.Next() {
		p, err := scanAssignable(rows)
		if err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func scanAssignable(row interface{ Scan(...any) error }) (*authz.Principal, error) {
	var (
		p       authz.Principal
		all     int
		numbers sql.NullString
		perms   sql.NullString
	)
	if err := row.Scan(&p.MemberID, &p.Name, &p.RoleName, &all, &numbers, &perms); err != nil {
		return nil, err
	}
	p.Numbers.All = all == 1
	for _, f := range strings.Fields(numbers.String) {
		var id int64
		if _, err := fmt.Sscan(f, &id); err == nil {
			p.Numbers.IDs = append(p.Numbers.IDs, id)
		}
	}
	for _, f := range strings.Fields(perms.String) {
		// An id this binary does not know grants nothing.
		if perm, err := authz.Parse(f); err == nil {
			p.Permissions = p.Permissions.With(perm)
		}
	}
	return &p, nil
}
