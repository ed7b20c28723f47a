package analytics

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
)

// Ratings are customers' ratings of closed conversations (internal/automation asks for them),
// for the Analytics page. They are read straight from conversation_ratings rather than from
// rollups: one row per rated closing is few enough to count in place.
type Ratings struct {
	// Asked is how many closings were asked for a rating in the period; Rated how many answered.
	Asked, Rated int
	// Average is the mean score of Rated (0 when none).
	Average float64
	// ByScore counts each score, index 1 to 5.
	ByScore [6]int
	// Agents is the average per agent who had the conversation when it closed, best first.
	Agents []AgentRating
	// Comments are the newest comments, only from conversations the viewer may see.
	Comments []RatingComment
}

// AgentRating is one agent's ratings.
type AgentRating struct {
	Name    string
	Rated   int
	Average float64
}

// RatingComment is a customer's comment with its score.
type RatingComment struct {
	ConversationID int64
	Score          int
	Comment        string
	AgentName      string
	RatedAt        time.Time
}

// Share is the part of Rated that gave score, in percent.
func (r Ratings) Share(score int) int {
	if r.Rated == 0 || score < 1 || score > 5 {
		return 0
	}
	return (r.ByScore[score]*100 + r.Rated/2) / r.Rated
}

// Ratings returns the ratings of conversations closed in period, for numberID (0: every number
// p works in). Figures follow the analytics scope (p's numbers, like every other figure of the
// page); comments are customer correspondence and follow the conversations' visibility
// predicate, so a viewer who does not see a conversation does not read its comment.
func (s *Service) Ratings(ctx context.Context, p *authz.Principal, period Period, numberID int64) (Ratings, error) {
	ns, err := scope(p, authz.AnalyticsView, numberID)
	if err != nil {
		return Ratings{}, err
	}
	var out Ratings
	if ns.empty() {
		return out, nil
	}
	cond := []string{"r.closed_at >= ?", "r.closed_at < ?"}
	args := []any{period.Start.UnixMilli(), period.End.UnixMilli()}
	if !ns.all {
		cond = append(cond, "r.phone_number_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ns.ids)), ", ")+")")
		for _, id := range ns.ids {
			args = append(args, id)
		}
	}
	where := strings.Join(cond, " AND ")
	r := s.store.db.Reports
	var sum int64
	if err := r.QueryRowContext(ctx, `SELECT count(*), count(r.score), coalesce(sum(r.score), 0) FROM conversation_ratings r WHERE `+where, args...).
		Scan(&out.Asked, &out.Rated, &sum); err != nil {
		return out, fmt.Errorf("ratings: %w", err)
	}
	if out.Rated == 0 {
		return out, nil
	}
	out.Average = float64(sum) / float64(out.Rated)
	rows, err := r.QueryContext(ctx, `SELECT r.score, count(*) FROM conversation_ratings r WHERE r.score IS NOT NULL AND `+where+` GROUP BY r.score`, args...)
	if err != nil {
		return out, fmt.Errorf("ratings by score: %w", err)
	}
	for rows.Next() {
		var score, n int
		if err := rows.Scan(&score, &n); err != nil {
			rows.Close()
			return out, err
		}
		if score >= 1 && score <= 5 {
			out.ByScore[score] = n
		}
	}
	rows.Close()
	rows, err = r.QueryContext(ctx, `SELECT coalesce(m.name, 'Nobody assigned'), count(*), avg(r.score) FROM conversation_ratings r
		LEFT JOIN members m ON m.id = r.assignee_id WHERE r.score IS NOT NULL AND `+where+`
		GROUP BY r.assignee_id ORDER BY avg(r.score) DESC, count(*) DESC LIMIT 20`, args...)
	if err != nil {
		return out, fmt.Errorf("ratings by agent: %w", err)
	}
	for rows.Next() {
		var a AgentRating
		if err := rows.Scan(&a.Name, &a.Rated, &a.Average); err != nil {
			rows.Close()
			return out, err
		}
		out.Agents = append(out.Agents, a)
	}
	rows.Close()
	vis, visArgs := inbox.VisibilitySQL(p.Conversations(), "c")
	rows, err = r.QueryContext(ctx, `SELECT r.conversation_id, r.score, r.comment, coalesce(m.name, ''), r.rated_at
		FROM conversation_ratings r JOIN conversations c ON c.id = r.conversation_id LEFT JOIN members m ON m.id = r.assignee_id
		WHERE r.score IS NOT NULL AND r.comment != '' AND `+where+` AND `+vis+` ORDER BY r.rated_at DESC LIMIT 10`,
		append(append([]any{}, args...), visArgs...)...)
	if err != nil {
		return out, fmt.Errorf("rating comments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c  RatingComment
			at int64
		)
		if err := rows.Scan(&c.ConversationID, &c.Score, &c.Comment, &c.AgentName, &at); err != nil {
			return out, err
		}
		c.RatedAt = time.UnixMilli(at).UTC()
		out.Comments = append(out.Comments, c)
	}
	return out, rows.Err()
}
