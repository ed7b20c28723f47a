package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// windowLength is Meta's customer service window.
const windowLength = whatsapp.CustomerServiceWindow

// Service is the shared inbox. Every method takes the principal it acts for, checks the
// permission the action needs and the visibility predicate itself (the web layer's route guard
// is the first line, this the second), and writes a state change and its activity event in one
// transaction.
type Service struct {
	db     *db.DB
	audit  *audit.Log
	clock  clock.Clock
	sender Sender
	// Live, if set, is told of every committed change to a conversation, for open inbox pages.
	Live *Live
	// Media, if set, fetches inbound media from Meta and keeps the files (media.go).
	Media *MediaFetcher
	// Transport uploads media for sending (SendMediaFile); nil where nothing is uploaded.
	Transport MediaTransport
	// Logger receives what cannot be returned: a failed mark-read call to Meta, skipped webhook
	// events. slog.Default() when nil.
	Logger *slog.Logger
	// inbound and gate connect marketing consent (SetConsentHooks); nil when not wired.
	inbound InboundObserver
	gate    TemplateGate
	// presence is who has which conversation open (presence.go).
	presence *presence
	// statusObserver sees callback data of status webhooks (SetStatusObserver); nil when not wired.
	statusObserver StatusObserver
	// searchIndexed is when IndexSearch last ran (Unix nanoseconds), for the Ingester's
	// batches to index less often under load: at most searchLag apart while bodies queue.
	searchIndexed atomic.Int64
	searchLag     time.Duration
}

// NewService wires the inbox. sender may be nil where nothing is sent (reports, tests of
// reads); sending then fails.
func NewService(d *db.DB, log *audit.Log, clk clock.Clock, sender Sender) *Service {
	return &Service{db: d, audit: log, clock: clk, sender: sender, presence: newPresence(), searchLag: defaultSearchLag}
}

// changed announces a change to conversation id once err says it was committed.
func (s *Service) changed(id int64, err error) error {
	if err == nil {
		s.Live.Publish(id)
	}
	return err
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// BoxAllowed reports whether p may open box b (the table in the package documentation). What
// the box then lists is always narrowed by p's visibility.
func BoxAllowed(p *authz.Principal, b Box) bool {
	switch b {
	case BoxMine, BoxClosed:
		return p.CanAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll)
	case BoxUnassigned, BoxEscalated:
		return p.CanAny(authz.ConversationsViewAll, authz.ConversationsAssign)
	case BoxAll:
		return p.CanAny(authz.ConversationsViewAll, authz.ConversationsViewAssigned, authz.ConversationsAssign)
	}
	return false
}

// List returns one page of a box, newest activity first, optionally narrowed by a search.
func (s *Service) List(ctx context.Context, p *authz.Principal, q ListQuery) (Page, error) {
	if q.Box == "" {
		q.Box = BoxAll
	}
	if _, err := ParseBox(string(q.Box)); err != nil {
		return Page{}, err
	}
	if !BoxAllowed(p, q.Box) {
		return Page{}, forbidden("You cannot open the %s box.", q.Box)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return Page{}, fieldError("limit", fmt.Sprintf("Ask for 1 to %d conversations.", MaxLimit))
	}
	view := ViewFor(p)
	query, args, err := s.listSQL(ctx, p, q, view, limit+1)
	if err != nil || query == "" {
		return Page{}, err
	}
	rows, err := s.db.R.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	now := s.now()
	var page Page
	for rows.Next() {
		c, err := scanConversation(rows, view, now)
		if err != nil {
			return Page{}, err
		}
		page.Conversations = append(page.Conversations, c)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list conversations: %w", err)
	}
	if len(page.Conversations) > limit {
		page.Conversations = page.Conversations[:limit]
		last := page.Conversations[limit-1]
		page.Next = Cursor{At: millis(last.LastMessageAt), ID: last.ID}
	}
	if err := s.attachLabels(ctx, page.Conversations); err != nil {
		return Page{}, err
	}
	return page, nil
}

// listSQL builds the list query; "" when a search cannot match anything.
func (s *Service) listSQL(ctx context.Context, p *authz.Principal, q ListQuery, view View, limit int) (string, []any, error) {
	sr, searching, err := parseSearch(q.Search, view)
	if err != nil {
		return "", nil, err
	}
	if err := sr.preferExact(ctx, s.db.R); err != nil {
		return "", nil, err
	}
	box, args := boxCondition(q.Box, p.MemberID)
	vis, visArgs := visibilityClause(p.Conversations(), "c")
	where := []string{box, vis}
	args = append(args, visArgs...)
	if searching {
		hits, hitArgs := sr.hits()
		if hits == "" {
			return "", nil, nil
		}
		where = append(where, "c.id IN ("+hits+")")
		args = append(args, hitArgs...)
	}
	if q.LabelID != 0 {
		// Narrows what the visibility predicate admits; it never widens it.
		where = append(where, "c.id IN (SELECT conversation_id FROM conversation_labels WHERE label_id = ?)")
		args = append(args, q.LabelID)
	}
	if !q.Before.IsZero() {
		where = append(where, "(c.last_message_at, c.id) < (?, ?)")
		args = append(args, q.Before.At, q.Before.ID)
	}
	args = append(args, limit)
	// The page's ids are chosen over conversations alone, and joined afterwards: with the joins
	// in the same query, SQLite may drive the loop from phone_numbers (a number-scoped member's
	// IN list) and sort every older conversation of those numbers, preview subquery included,
	// before taking 50 (measured: 1.5 s for page 2 at 100k conversations, against 3 ms).
	return `SELECT ` + conversationColumns + ` FROM (SELECT c.id FROM conversations c WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?) page
	JOIN conversations c ON c.id = page.id
	JOIN contacts ct ON ct.id = c.contact_id
	JOIN phone_numbers pn ON pn.id = c.phone_number_id
	LEFT JOIN members am ON am.id = c.assignee_id
	ORDER BY c.last_message_at DESC, c.id DESC`, args, nil
}

// CountCap bounds every figure of Counts: a box with CountCap or more conversations counts
// CountCap (show "999+").
const CountCap = 1000

// Counts returns the figure of every box p may open and the number of unread conversations,
// each capped at CountCap. They are sums over the rows of inbox_counts that p's visibility
// selects (countsClause), which triggers keep as conversations change (migrations/0027), so a
// page view reads a few rows however large the inbox is.
func (s *Service) Counts(ctx context.Context, p *authz.Principal) (Counts, error) {
	sums, err := boxSums(ctx, s.db.R, p.Conversations(), p.MemberID)
	if err != nil {
		return Counts{}, err
	}
	mine, unassigned, escalated, all, unread := sums[0], sums[1], sums[2], sums[3], sums[4]
	out := Counts{Unread: min(unread, CountCap)}
	for _, b := range []struct {
		box  Box
		n    int
		into *int
	}{{BoxMine, mine, &out.Mine}, {BoxUnassigned, unassigned, &out.Unassigned}, {BoxEscalated, escalated, &out.Escalated}, {BoxAll, all, &out.All}} {
		*b.into = min(b.n, CountCap)
		if !BoxAllowed(p, b.box) {
			*b.into = -1
		}
	}
	for _, b := range Boxes() {
		if BoxAllowed(p, b) {
			out.Boxes = append(out.Boxes, b)
		}
	}
	return out, nil
}

// boxSums reads the open conversations v sees from inbox_counts, uncapped: assigned to
// memberID, unassigned, escalated, all, unread.
func boxSums(ctx context.Context, q db.Querier, v authz.Visibility, memberID int64) ([5]int, error) {
	where, args := countsClause(v)
	var n [5]int
	err := q.QueryRowContext(ctx, `SELECT coalesce(sum(n) FILTER (WHERE assignee_id = ?), 0),
			coalesce(sum(n) FILTER (WHERE assignee_id = 0), 0), coalesce(sum(n) FILTER (WHERE escalated = 1), 0),
			coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE unread = 1), 0)
		FROM inbox_counts WHERE `+where, append([]any{memberID}, args...)...).Scan(&n[0], &n[1], &n[2], &n[3], &n[4])
	if err != nil {
		return n, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}

// Get returns one conversation with its contact and window. Outside p's visibility it is
// ErrNotFound, exactly like a conversation that does not exist.
func (s *Service) Get(ctx context.Context, p *authz.Principal, id int64) (Conversation, error) {
	vis, args := visibilityClause(p.Conversations(), "c")
	row := s.db.R.QueryRowContext(ctx, `SELECT `+conversationColumns+conversationFrom+
		` WHERE c.id = ? AND `+vis, append([]any{id}, args...)...)
	return scanConversation(row, ViewFor(p), s.now())
}

// Messages returns up to limit messages of a conversation, newest first, older than the
// message before (0: from the newest).
func (s *Service) Messages(ctx context.Context, p *authz.Principal, id, before int64, limit int) ([]Message, error) {
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, fieldError("limit", fmt.Sprintf("Ask for 1 to %d messages.", MaxLimit))
	}
	v := p.Conversations()
	if _, err := visibleConversation(ctx, s.db.R, v, id); err != nil {
		return nil, err
	}
	vis, visArgs := visibilityClause(v, "c")
	args := append([]any{id}, visArgs...)
	cursor := ""
	if before > 0 {
		cursor = ` AND (m.created_at, m.id) < (SELECT b.created_at, b.id FROM messages b WHERE b.id = ? AND b.conversation_id = m.conversation_id)`
		args = append(args, before)
	}
	args = append(args, limit)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN conversations c ON c.id = m.conversation_id
		LEFT JOIN members sb ON sb.id = m.sent_by
		WHERE m.conversation_id = ? AND `+vis+cursor+`
		ORDER BY m.created_at DESC, m.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	view := ViewFor(p)
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows, view)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	if err := s.attachMedia(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Assign gives the conversation to memberID, or takes it from its assignee when memberID is 0.
// It needs conversations.assign and a conversation the assigner sees; the new assignee must be
// an active member who will see it (the number in their scope, and view_assigned or view_all).
// Assigning deals with an escalation, so it clears the escalated flag.
func (s *Service) Assign(ctx context.Context, p *authz.Principal, id, memberID int64) error {
	const action = "conversation.assigned"
	if !p.Can(authz.ConversationsAssign) {
		return s.refuse(ctx, p, action, id, forbidden("Assigning conversations needs the conversations.assign permission."))
	}
	return s.changed(id, s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := visibleConversation(ctx, tx, p.Conversations(), id)
		if err != nil {
			return err
		}
		if c.AssigneeID == memberID {
			return nil
		}
		var name string
		if memberID != 0 {
			target, err := loadAssignable(ctx, tx, memberID)
			if errors.Is(err, ErrNotFound) {
				return fieldError("member", "Choose an active member.")
			}
			if err != nil {
				return err
			}
			if !target.Conversations().Allows(authz.ConversationFacts{PhoneNumberID: c.PhoneNumberID, AssigneeID: memberID}) {
				return fieldError("member", target.Name+" cannot see this conversation: the number is outside their scope or their role does not see conversations.")
			}
			name = target.Name
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET assignee_id = ?, escalated = 0, updated_at = ? WHERE id = ?`,
			nullID(memberID), millis(now), id); err != nil {
			return fmt.Errorf("assign: %w", err)
		}
		// Involvement by assignment ends with it; replying or escalating stays.
		if _, err := tx.ExecContext(ctx, `DELETE FROM conversation_participants WHERE conversation_id = ? AND why = 'assigned'`, id); err != nil {
			return fmt.Errorf("assign: %w", err)
		}
		if memberID != 0 {
			if err := addParticipant(ctx, tx, id, memberID, "assigned", now); err != nil {
				return err
			}
		}
		changes := []audit.Change{{Field: "assignee_id", Before: nullID(c.AssigneeID), After: nullID(memberID)}}
		if name != "" {
			changes = append(changes, audit.Change{Field: "assignee_name", After: name})
		}
		if c.Escalated {
			changes = append(changes, audit.Change{Field: "escalated", Before: true, After: false})
		}
		return s.appendEvent(ctx, tx, p, action, id, changes)
	}))
}

const maxReasonRunes = 500

// Escalate flags the conversation for members who hold conversations.assign, with a reason,
// and makes the escalating member a participant (so they keep seeing it).
func (s *Service) Escalate(ctx context.Context, p *authz.Principal, id int64, reason string) error {
	const action = "conversation.escalated"
	if !p.Can(authz.ConversationsEscalate) {
		return s.refuse(ctx, p, action, id, forbidden("Escalating needs the conversations.escalate permission."))
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return fieldError("reason", "Say why you escalate: the supervisor reads it first.")
	case utf8.RuneCountInString(reason) > maxReasonRunes:
		return fieldError("reason", "Use at most 500 characters.")
	case strings.ContainsRune(reason, 0):
		return fieldError("reason", "The reason contains a character that cannot be stored.")
	}
	return s.changed(id, s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := visibleConversation(ctx, tx, p.Conversations(), id)
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET escalated = 1, escalation_reason = ?, escalated_by = ?,
			escalated_at = ?, updated_at = ? WHERE id = ?`, reason, p.MemberID, millis(now), millis(now), id); err != nil {
			return fmt.Errorf("escalate: %w", err)
		}
		if err := addParticipant(ctx, tx, id, p.MemberID, "escalated", now); err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, p, action, id, []audit.Change{
			{Field: "escalated", Before: c.Escalated, After: true},
			{Field: "reason", After: reason},
		})
	}))
}

// canWork reports whether p may change the state of a conversation it sees: its assignee, or
// a member who assigns conversations. A read-only viewer (an Analyst) may not.
func canWork(p *authz.Principal, c convRow) bool {
	return p.Can(authz.ConversationsAssign) || (c.AssigneeID != 0 && c.AssigneeID == p.MemberID)
}

// Close closes the conversation (the assignee, or a member with conversations.assign). A new
// message from the customer opens it again. Closing ends an escalation.
func (s *Service) Close(ctx context.Context, p *authz.Principal, id int64) error {
	return s.setStatus(ctx, p, id, StatusClosed)
}

// Reopen opens a closed conversation again.
func (s *Service) Reopen(ctx context.Context, p *authz.Principal, id int64) error {
	return s.setStatus(ctx, p, id, StatusOpen)
}

func (s *Service) setStatus(ctx context.Context, p *authz.Principal, id int64, to Status) error {
	action := "conversation.closed"
	if to == StatusOpen {
		action = "conversation.reopened"
	}
	var refusal error
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := visibleConversation(ctx, tx, p.Conversations(), id)
		if err != nil {
			return err
		}
		if !canWork(p, c) {
			refusal = forbidden("Only the assignee or a member who assigns conversations can close or reopen it.")
			return refusal
		}
		if c.Status == to {
			return nil
		}
		now := s.now()
		q := `UPDATE conversations SET status = 'closed', closed_at = ?, escalated = 0, updated_at = ? WHERE id = ?`
		args := []any{millis(now), millis(now), id}
		if to == StatusOpen {
			q = `UPDATE conversations SET status = 'open', closed_at = NULL, updated_at = ? WHERE id = ?`
			args = args[1:]
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		changes := []audit.Change{{Field: "status", Before: string(c.Status), After: string(to)}}
		if to == StatusClosed && c.Escalated {
			changes = append(changes, audit.Change{Field: "escalated", Before: true, After: false})
		}
		return s.appendEvent(ctx, tx, p, action, id, changes)
	})
	if refusal != nil && errors.Is(err, refusal) {
		return s.refuse(ctx, p, action, id, refusal)
	}
	return s.changed(id, err)
}

// MarkRead clears the team's unread count when a member who works conversations (one who may
// reply or assign) opens it, and tells Meta, which shows the customer blue ticks. A read-only
// viewer such as an Analyst reading along changes nothing: the team must still see it as new.
// It is not an activity event: it happens on every page view and changes no access.
func (s *Service) MarkRead(ctx context.Context, p *authz.Principal, id int64) error {
	c, err := visibleConversation(ctx, s.db.R, p.Conversations(), id)
	if err != nil {
		return err
	}
	if !p.CanAny(authz.ConversationsAssign, authz.MessagesSendText, authz.MessagesSendCanned,
		authz.MessagesSendTemplate, authz.MessagesSendMedia) {
		return nil
	}
	var cleared int64
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE conversations SET unread_count = 0 WHERE id = ? AND unread_count > 0`, id)
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		cleared, err = res.RowsAffected()
		return err
	})
	if err != nil || cleared == 0 {
		return err
	}
	s.Live.Publish(id)
	if c.LastInboundID == "" || s.sender == nil {
		return nil
	}
	// Blue ticks are a courtesy: a failure must not fail the page that opened the conversation.
	if err := s.sender.MarkRead(ctx, c.MetaNumberID, c.LastInboundID); err != nil {
		s.logger().WarnContext(ctx, "inbox: mark read at Meta failed", "conversation", id, "error", err)
	}
	return nil
}

// appendEvent writes the activity event of a change made by p, inside the change's tx.
func (s *Service) appendEvent(ctx context.Context, q db.Querier, p *authz.Principal, action string, convID int64, changes []audit.Change) error {
	_, err := s.audit.Append(ctx, q, audit.Event{Actor: memberActor(p), Action: action,
		Target: conversationTarget(convID), Changes: changes, Outcome: audit.OutcomeSuccess})
	return err
}

// refuse records a refused action (a missing permission) in a transaction of its own, since the
// action changed nothing, and returns cause.
func (s *Service) refuse(ctx context.Context, p *authz.Principal, action string, convID int64, cause error) error {
	ev := audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}
	if convID != 0 {
		ev.Target = conversationTarget(convID)
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func conversationTarget(id int64) audit.Target {
	return audit.Target{Type: "conversation", ID: strconv.FormatInt(id, 10)}
}

func memberActor(p *authz.Principal) audit.Actor {
	return audit.PrincipalActor(p)
}

// nullID is an optional member or row id as SQL (and audit) wants it: NULL for none.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// RevealContact returns the conversation's contact unmasked, for a member with
// contacts.view_pii who asks to see the number, and records the reveal: lists show numbers
// masked even to such members, so that seeing one is a deliberate, audited act.
func (s *Service) RevealContact(ctx context.Context, p *authz.Principal, conversationID int64) (Contact, error) {
	const action = "contact.revealed"
	if !p.Can(authz.ContactsViewPII) {
		return Contact{}, s.refuse(ctx, p, action, conversationID, forbidden("Seeing customers' numbers needs the contacts.view_pii permission."))
	}
	c, err := s.Get(ctx, p, conversationID)
	if err != nil {
		return Contact{}, err
	}
	if _, err := s.audit.Record(ctx, audit.Event{Actor: memberActor(p), Action: action, Target: conversationTarget(conversationID),
		Changes: []audit.Change{{Field: "contact_id", After: c.Contact.ID}}}); err != nil {
		return Contact{}, fmt.Errorf("record reveal: %w", err)
	}
	return c.Contact, nil
}
