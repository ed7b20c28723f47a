package automation

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
)

// autoAssign gives an open, unassigned conversation to the next member in round-robin order
// among those who are available, under the number's limit of open conversations, in the team
// (when a menu choice named one), and who would see the conversation: that last check is
// inbox.AssignAutomated's, the same visibility predicate as every read. Nobody eligible leaves
// the conversation unassigned, for people to pick up.
func (s *Service) autoAssign(ctx context.Context, tx *db.PreparedTx, conv inbox.AutomationTarget, ns NumberSettings, teamID int64) (bool, error) {
	pool := "number:" + strconv.FormatInt(conv.PhoneNumberID, 10)
	query := `SELECT m.id FROM members m JOIN member_availability a ON a.member_id = m.id AND a.available = 1
		WHERE m.status = 'active'`
	args := []any{}
	if teamID != 0 {
		pool = "team:" + strconv.FormatInt(teamID, 10)
		query += ` AND m.id IN (SELECT member_id FROM automation_team_members WHERE team_id = ?)`
		args = append(args, teamID)
	}
	query += ` AND (SELECT count(*) FROM conversations c WHERE c.assignee_id = m.id AND c.status = 'open') < ? ORDER BY m.id`
	args = append(args, ns.AssignLimit)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("auto-assign candidates: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return false, err
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT last_member FROM automation_round_robin WHERE pool = ?`, pool).Scan(&last); err != nil && err != sql.ErrNoRows {
		return false, err
	}
	// The member after the last one served, wrapping round.
	start := 0
	for i, id := range ids {
		if id > last {
			start = i
			break
		}
		start = 0
	}
	why := "round robin, " + pool
	for i := range ids {
		id := ids[(start+i)%len(ids)]
		ok, err := s.inbox.AssignAutomated(ctx, tx.Tx, conv.ConversationID, id, why)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_round_robin (pool, last_member) VALUES (?, ?)
			ON CONFLICT (pool) DO UPDATE SET last_member = excluded.last_member`, pool, id); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}
