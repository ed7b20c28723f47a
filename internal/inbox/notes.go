package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Note is an internal note in a conversation: written by a member for the team, never sent to
// the customer. Whoever sees the conversation sees its notes.
type Note struct {
	ID             int64
	ConversationID int64
	AuthorID       int64
	AuthorName     string
	Body           string
	CreatedAt      time.Time
	// Mentioned are the members the note notified: those it names who could see the conversation.
	Mentioned []Mentionable
}

// Mentionable is a member a note may mention: one who sees the conversation.
type Mentionable struct {
	ID   int64
	Name string
}

const maxNoteRunes = 2000

// CanNote reports whether p may write notes: a member who works conversations (replies,
// escalates or assigns). A read-only viewer such as an Analyst reads notes but writes none.
func CanNote(p *authz.Principal) bool {
	return p.CanAny(authz.ConversationsAssign, authz.ConversationsEscalate, authz.MessagesSendText,
		authz.MessagesSendCanned, authz.MessagesSendTemplate, authz.MessagesSendMedia)
}

// AddNote writes a note in a conversation p sees. "@Name" mentions of members who can see the
// conversation (the one visibility predicate, with the conversation as it is now) are stored
// and notify those members live; a mention of anyone else notifies nobody and tells nothing.
func (s *Service) AddNote(ctx context.Context, p *authz.Principal, convID int64, body string) (Note, error) {
	const action = "conversation.note_added"
	if !CanNote(p) {
		return Note{}, s.refuse(ctx, p, action, convID, forbidden("Writing notes is for members who work conversations."))
	}
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return Note{}, fieldError("note", "Write the note first.")
	case utf8.RuneCountInString(body) > maxNoteRunes:
		return Note{}, fieldError("note", fmt.Sprintf("Use at most %d characters.", maxNoteRunes))
	case strings.ContainsRune(body, 0):
		return Note{}, fieldError("note", "The note contains a character that cannot be stored.")
	}
	var note Note
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := visibleConversation(ctx, tx, p.Conversations(), convID); err != nil {
			return err
		}
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO conversation_notes (conversation_id, author_id, body, created_at)
			VALUES (?, ?, ?, ?)`, convID, p.MemberID, body, millis(now))
		if err != nil {
			return fmt.Errorf("store note: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		candidates, err := mentionable(ctx, tx, convID)
		if err != nil {
			return err
		}
		mentioned := mentionsIn(body, candidates, p.MemberID)
		ids := make([]any, 0, len(mentioned))
		for _, m := range mentioned {
			if _, err := tx.ExecContext(ctx, `INSERT INTO note_mentions (note_id, member_id) VALUES (?, ?)`, id, m.ID); err != nil {
				return fmt.Errorf("store mention: %w", err)
			}
			ids = append(ids, m.ID)
		}
		// The event names the note and whom it notified; the text stays in the conversation.
		changes := []audit.Change{{Field: "note_id", After: id}}
		if len(ids) > 0 {
			changes = append(changes, audit.Change{Field: "mentioned_member_ids", After: ids})
		}
		if err := s.appendEvent(ctx, tx, p, action, convID, changes); err != nil {
			return err
		}
		note = Note{ID: id, ConversationID: convID, AuthorID: p.MemberID, AuthorName: p.Name, Body: body,
			CreatedAt: now, Mentioned: mentioned}
		return nil
	})
	if err := s.changed(convID, err); err != nil {
		return Note{}, err
	}
	for _, m := range note.Mentioned {
		s.Live.Notify(LiveEvent{ConversationID: convID, Kind: LiveMention, MemberID: m.ID})
	}
	return note, nil
}

// Notes lists a conversation's notes, oldest first, for a member who sees the conversation.
func (s *Service) Notes(ctx context.Context, p *authz.Principal, convID int64) ([]Note, error) {
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT n.id, n.conversation_id, coalesce(n.author_id, 0), coalesce(m.name, ''),
		n.body, n.created_at FROM conversation_notes n LEFT JOIN members m ON m.id = n.author_id
		WHERE n.conversation_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT ?`, convID, MaxLimit)
	if err != nil {
		return nil, fmt.Errorf("list notes: %w", err)
	}
	defer rows.Close()
	var out []Note
	for rows.Next() {
		var (
			n  Note
			at int64
		)
		if err := rows.Scan(&n.ID, &n.ConversationID, &n.AuthorID, &n.AuthorName, &n.Body, &at); err != nil {
			return nil, fmt.Errorf("scan note: %w", err)
		}
		n.CreatedAt = fromMillis(at)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list notes: %w", err)
	}
	// Newest MaxLimit were read; the page shows them oldest first.
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || (out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID)
	})
	return out, nil
}

// Mentionable lists the members a note in the conversation may mention: the active members
// who see it, as the conversation is now. It is what the composer offers after "@".
func (s *Service) Mentionable(ctx context.Context, p *authz.Principal, convID int64) ([]Mentionable, error) {
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return nil, err
	}
	all, err := mentionable(ctx, s.db.R, convID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if m.ID != p.MemberID {
			out = append(out, m)
		}
	}
	return out, nil
}

// mentionable filters the active members through the visibility predicate over the
// conversation's facts (number, assignee, participants): the same check the live stream applies.
func mentionable(ctx context.Context, q db.Querier, convID int64) ([]Mentionable, error) {
	facts, err := conversationFacts(ctx, q, []int64{convID})
	if err != nil {
		return nil, err
	}
	if len(facts) == 0 {
		return nil, ErrNotFound
	}
	members, err := loadActiveAssignables(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []Mentionable
	for _, m := range members {
		if m.Conversations().Allows(facts[0].ConversationFacts) {
			out = append(out, Mentionable{ID: m.MemberID, Name: m.Name})
		}
	}
	return out, nil
}

// mentionsIn finds "@Full Name" (or "@First" when no other candidate shares that first name)
// in body, case-insensitively, ending at a non-letter; the author is never notified.
func mentionsIn(body string, candidates []Mentionable, author int64) []Mentionable {
	lower := strings.ToLower(body)
	firsts := map[string]int{}
	for _, c := range candidates {
		firsts[strings.ToLower(firstName(c.Name))]++
	}
	var out []Mentionable
	for _, c := range candidates {
		if c.ID == author {
			continue
		}
		names := []string{strings.ToLower(c.Name)}
		if f := strings.ToLower(firstName(c.Name)); firsts[f] == 1 && f != names[0] {
			names = append(names, f)
		}
		for _, n := range names {
			if n != "" && mentionedAs(lower, n) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func mentionedAs(lower, name string) bool {
	at := "@" + name
	for i := 0; ; {
		j := strings.Index(lower[i:], at)
		if j < 0 {
			return false
		}
		end := i + j + len(at)
		if end == len(lower) {
			return true
		}
		if r, _ := utf8.DecodeRuneInString(lower[end:]); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return true
		}
		i = end
	}
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// Notice is something a member asked to hear about: a new customer message in a conversation
// they may see (theirs, unassigned, or one they were mentioned in), or a mention of them.
type Notice struct {
	// ID is the message id (Kind "message") or the note id (Kind "mention"): the cursor.
	ID             int64
	Kind           string
	ConversationID int64
	Contact        string
	From           string // the member who mentioned, for a mention
	Text           string
	At             time.Time
}

// NoticeQuery asks for what happened after the cursors, among the kinds the member wants.
type NoticeQuery struct {
	MessagesAfter, MentionsAfter int64
	Mine, Unassigned, Mentioned  bool
}

// NoticeCursors are the newest message and mention ids now: a page starts listening from there.
type NoticeCursors struct{ Messages, Mentions int64 }

const noticeLimit = 5

// Cursors returns the newest message id and the newest mention of p, for a page to start from.
func (s *Service) Cursors(ctx context.Context, p *authz.Principal) (NoticeCursors, error) {
	var c NoticeCursors
	err := s.db.R.QueryRowContext(ctx, `SELECT coalesce((SELECT max(id) FROM messages), 0),
		coalesce((SELECT max(note_id) FROM note_mentions WHERE member_id = ?), 0)`, p.MemberID).Scan(&c.Messages, &c.Mentions)
	if err != nil {
		return c, fmt.Errorf("notice cursors: %w", err)
	}
	return c, nil
}

// Notices lists, newest first, the customer messages and mentions after q's cursors in
// conversations p sees now (the visibility predicate), limited to the kinds asked for.
func (s *Service) Notices(ctx context.Context, p *authz.Principal, q NoticeQuery) ([]Notice, error) {
	v := p.Conversations()
	vis, visArgs := visibilityClause(v, "c")
	view := ViewFor(p)
	var out []Notice
	var which []string
	var args []any
	if q.Mine {
		which = append(which, "c.assignee_id = ?")
		args = append(args, p.MemberID)
	}
	if q.Unassigned {
		which = append(which, "c.assignee_id IS NULL")
	}
	if q.Mentioned {
		which = append(which, `c.id IN (SELECT n.conversation_id FROM note_mentions nm JOIN conversation_notes n ON n.id = nm.note_id WHERE nm.member_id = ?)`)
		args = append(args, p.MemberID)
	}
	if len(which) > 0 {
		rows, err := s.db.R.QueryContext(ctx, `SELECT m.id, m.conversation_id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''),
			ct.profile_name, ct.username, substr(m.text, 1, 200), m.created_at
			FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN contacts ct ON ct.id = c.contact_id
			WHERE m.id > ? AND m.direction = 'in' AND c.status = 'open' AND (`+strings.Join(which, " OR ")+`) AND `+vis+`
			ORDER BY m.id DESC LIMIT ?`, append(append(append([]any{q.MessagesAfter}, args...), visArgs...), noticeLimit)...)
		if err != nil {
			return nil, fmt.Errorf("list message notices: %w", err)
		}
		if out, err = scanNotices(rows, "message", view, out); err != nil {
			return nil, err
		}
	}
	{
		rows, err := s.db.R.QueryContext(ctx, `SELECT n.id, n.conversation_id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''),
			ct.profile_name, ct.username, substr(n.body, 1, 200), n.created_at, coalesce(a.name, '')
			FROM note_mentions nm JOIN conversation_notes n ON n.id = nm.note_id
			JOIN conversations c ON c.id = n.conversation_id JOIN contacts ct ON ct.id = c.contact_id
			LEFT JOIN members a ON a.id = n.author_id
			WHERE nm.member_id = ? AND nm.note_id > ? AND `+vis+` ORDER BY n.id DESC LIMIT ?`,
			append(append([]any{p.MemberID, q.MentionsAfter}, visArgs...), noticeLimit)...)
		if err != nil {
			return nil, fmt.Errorf("list mention notices: %w", err)
		}
		if out, err = scanNotices(rows, "mention", view, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanNotices(rows *sql.Rows, kind string, view View, out []Notice) ([]Notice, error) {
	defer rows.Close()
	for rows.Next() {
		var (
			n                            Notice
			waID, userID, name, username string
			at                           int64
		)
		dest := []any{&n.ID, &n.ConversationID, &waID, &userID, &name, &username, &n.Text, &at}
		if kind == "mention" {
			dest = append(dest, &n.From)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan notice: %w", err)
		}
		n.Kind = kind
		n.At = fromMillis(at)
		n.Contact = maskContact(view, waID, userID, name, username).Label()
		out = append(out, n)
	}
	return out, rows.Err()
}
