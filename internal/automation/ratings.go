package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// ratingIDPrefix starts a rating choice's id on the wire: "rate:<rating id>:<score>".
const ratingIDPrefix = "rate:"

// Rating is a customer's rating of a closed conversation.
type Rating struct {
	ID           int64
	Score        int // 0: asked, not answered
	Comment      string
	AssigneeName string
	ClosedAt     time.Time
	RatedAt      time.Time
}

var ratingTitles = [...]string{5: "Excellent", 4: "Good", 3: "Okay", 2: "Poor", 1: "Very poor"}

// ratingMessage asks for 1–5 as a list (Meta allows three buttons, and five scores are needed).
func ratingMessage(ratingID int64) whatsapp.InteractiveMessage {
	var rows []whatsapp.ListRow
	for score := 5; score >= 1; score-- {
		rows = append(rows, whatsapp.ListRow{ID: ratingIDPrefix + strconv.FormatInt(ratingID, 10) + ":" + strconv.Itoa(score),
			Title: strings.Repeat("★", score) + " " + strconv.Itoa(score), Description: ratingTitles[score]})
	}
	return whatsapp.InteractiveMessage{Body: "Thank you for contacting us. How did we do? Please rate this conversation from 1 to 5.",
		ListButton: "Rate us", Sections: []whatsapp.ListSection{{Title: "Your rating", Rows: rows}}}
}

// ratingThanks follows a score, and invites the optional comment.
const ratingThanks = "Thank you for your rating! If you would like to tell us more, just write it in your next message."

// planClosings asks for a rating for each conversation closed since the cursor, on numbers that
// ask for ratings. The rating row and its job are written with the cursor's move.
func (s *Service) planClosings(ctx context.Context) error {
	// Looked for on a reader first: the worker polls, and an idle poll must not take the writer.
	var any bool
	if err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM conversations c, automation_state a
		WHERE a.id = 1 AND c.status = 'closed' AND (c.closed_at, c.id) > (a.closed_at, a.closed_id))`).Scan(&any); err != nil {
		return fmt.Errorf("new closings: %w", err)
	}
	if !any {
		return nil
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var at, id int64
		if err := tx.QueryRowContext(ctx, `SELECT closed_at, closed_id FROM automation_state WHERE id = 1`).Scan(&at, &id); err != nil {
			return fmt.Errorf("closing cursor: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, closed_at, phone_number_id, coalesce(assignee_id, 0) FROM conversations
			WHERE status = 'closed' AND (closed_at, id) > (?, ?) ORDER BY closed_at, id LIMIT 100`, at, id)
		if err != nil {
			return fmt.Errorf("new closings: %w", err)
		}
		type closing struct{ id, at, pn, assignee int64 }
		var list []closing
		for rows.Next() {
			var c closing
			if err := rows.Scan(&c.id, &c.at, &c.pn, &c.assignee); err != nil {
				rows.Close()
				return err
			}
			list = append(list, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(list) == 0 {
			return err
		}
		now := s.clock.Now().UnixMilli()
		for _, c := range list {
			ns, err := numberSettings(ctx, tx, c.pn)
			if err != nil {
				return err
			}
			if !ns.RatingEnabled {
				continue
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO conversation_ratings (conversation_id, phone_number_id, assignee_id, closed_at, asked_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (conversation_id, closed_at) DO NOTHING`, c.id, c.pn, nullID(c.assignee), c.at, now)
			if err != nil {
				return fmt.Errorf("ask rating: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			rid, _ := res.LastInsertId()
			im := ratingMessage(rid)
			if err := s.enqueue(ctx, tx, c.id, KindRating, "rating:"+strconv.FormatInt(rid, 10), payload{Interactive: &im}); err != nil {
				return err
			}
		}
		last := list[len(list)-1]
		_, err = tx.ExecContext(ctx, `UPDATE automation_state SET closed_at = ?, closed_id = ? WHERE id = 1`, last.at, last.id)
		return err
	})
}

// rated stores a score chosen from the rating list, thanks the customer and closes the
// conversation again (the answer reopened it).
func (s *Service) rated(ctx context.Context, tx *db.PreparedTx, conv inbox.AutomationTarget, choice, msgKey string) (bool, error) {
	rest := strings.TrimPrefix(choice, ratingIDPrefix)
	idText, scoreText, _ := strings.Cut(rest, ":")
	rid, err1 := strconv.ParseInt(idText, 10, 64)
	score, err2 := strconv.Atoi(scoreText)
	if err1 != nil || err2 != nil || score < 1 || score > 5 {
		return false, nil
	}
	var closedAt int64
	var prev sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT closed_at, score FROM conversation_ratings WHERE id = ? AND conversation_id = ?`,
		rid, conv.ConversationID).Scan(&closedAt, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := s.clock.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE conversation_ratings SET score = ?, rated_at = ? WHERE id = ?`, score, now.UnixMilli(), rid); err != nil {
		return false, fmt.Errorf("store rating: %w", err)
	}
	if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: inbox.AutomationActor(), Action: "automation.rating_received",
		Target: audit.Target{Type: "conversation", ID: strconv.FormatInt(conv.ConversationID, 10)}, Outcome: audit.OutcomeSuccess,
		Changes: []audit.Change{{Field: "score", Before: nullScore(prev), After: score}}}); err != nil {
		return false, err
	}
	if !prev.Valid {
		if err := s.enqueue(ctx, tx, conv.ConversationID, KindRatingThank, msgKey+"rating_thanks", payload{Text: ratingThanks}); err != nil {
			return false, err
		}
	}
	return true, s.inbox.RecloseAutomated(ctx, tx.Tx, conv.ConversationID, time.UnixMilli(closedAt))
}

func nullScore(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return v.Int64
}

// commented stores a text written soon after a rating as its comment, if the conversation was
// closed and the rating has none yet.
func (s *Service) commented(ctx context.Context, tx *db.PreparedTx, conv inbox.AutomationTarget, text string, now time.Time) (bool, error) {
	var (
		rid, closedAt int64
	)
	err := tx.QueryRowContext(ctx, `SELECT id, closed_at FROM conversation_ratings WHERE conversation_id = ? AND score IS NOT NULL
		AND comment = '' AND rated_at >= ? ORDER BY id DESC LIMIT 1`, conv.ConversationID, now.Add(-commentWindow).UnixMilli()).Scan(&rid, &closedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	comment := truncate(strings.TrimSpace(text), 1000)
	if _, err := tx.ExecContext(ctx, `UPDATE conversation_ratings SET comment = ? WHERE id = ?`, comment, rid); err != nil {
		return false, fmt.Errorf("store rating comment: %w", err)
	}
	if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: inbox.AutomationActor(), Action: "automation.rating_commented",
		Target: audit.Target{Type: "conversation", ID: strconv.FormatInt(conv.ConversationID, 10)}, Outcome: audit.OutcomeSuccess,
		Changes: []audit.Change{{Field: "rating_id", After: rid}}}); err != nil {
		return false, err
	}
	return true, s.inbox.RecloseAutomated(ctx, tx.Tx, conv.ConversationID, time.UnixMilli(closedAt))
}

// SeesRatings reports whether p may see customers' ratings of agents: supervisors, who assign
// conversations or see them all. The agent who was rated is not shown their own score here.
func SeesRatings(p *authz.Principal) bool {
	return p.CanAny(authz.ConversationsAssign, authz.ConversationsViewAll)
}

// Ratings lists a conversation's ratings, newest first, for a supervisor who sees it: the
// caller has checked visibility by loading the conversation through the inbox.
func (s *Service) Ratings(ctx context.Context, p *authz.Principal, conversationID int64) ([]Rating, error) {
	if !SeesRatings(p) {
		return nil, nil
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.id, coalesce(r.score, 0), r.comment, coalesce(m.name, ''), r.closed_at, coalesce(r.rated_at, 0)
		FROM conversation_ratings r LEFT JOIN members m ON m.id = r.assignee_id
		WHERE r.conversation_id = ? ORDER BY r.id DESC LIMIT 20`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("ratings: %w", err)
	}
	defer rows.Close()
	var out []Rating
	for rows.Next() {
		var (
			r             Rating
			closed, rated int64
		)
		if err := rows.Scan(&r.ID, &r.Score, &r.Comment, &r.AssigneeName, &closed, &rated); err != nil {
			return nil, err
		}
		r.ClosedAt = time.UnixMilli(closed).UTC()
		if rated != 0 {
			r.RatedAt = time.UnixMilli(rated).UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AutomatedMessages reports which of the given message ids automation sent, for the conversation
// page to show them as sent by "Automation".
func (s *Service) AutomatedMessages(ctx context.Context, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT message_id FROM automation_messages WHERE message_id IN (?`+
		strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("automated messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// RoutedTo names the team and label a menu choice gave the conversation ("" when none).
func (s *Service) RoutedTo(ctx context.Context, conversationID int64) (team, label string, err error) {
	err = s.db.R.QueryRowContext(ctx, `SELECT coalesce(t.name, ''), a.label FROM automation_conversations a
		LEFT JOIN automation_teams t ON t.id = a.team_id WHERE a.conversation_id = ?`, conversationID).Scan(&team, &label)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return team, label, err
}
