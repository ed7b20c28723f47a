package inbox

import (
	"strings"

	"github.com/switchboard/switchboard/internal/authz"
)

// visibilityClause is authz.Visibility.Allows written in SQL over the conversations row named
// alias. It is the only place that turns visibility into SQL: List, Counts, Search, Get, the
// message reads, sending, assignment and Export all filter through it, so no two of them can
// disagree about what a member sees. TestVisibilityClauseMatchesAllows checks it against
// Allows on random data.
//
// The involved set is the assignee column plus conversation_participants, exactly the facts
// Allows takes (AssigneeID, InvolvedMembers).
func visibilityClause(v authz.Visibility, alias string) (string, []any) {
	if v.None || (!v.AllNumbers && len(v.NumberIDs) == 0) {
		return "0", nil
	}
	var (
		parts []string
		args  []any
	)
	if !v.AllNumbers {
		parts = append(parts, alias+".phone_number_id IN ("+placeholders(len(v.NumberIDs))+")")
		for _, id := range v.NumberIDs {
			args = append(args, id)
		}
	}
	if v.InvolvedMemberID != 0 {
		parts = append(parts, "("+alias+".assignee_id = ? OR "+alias+".id IN (SELECT conversation_id FROM conversation_participants WHERE member_id = ?))")
		args = append(args, v.InvolvedMemberID, v.InvolvedMemberID)
	}
	if len(parts) == 0 {
		return "1", nil
	}
	return strings.Join(parts, " AND "), args
}

// countsClause is visibilityClause for the box counters of inbox_counts (migrations/0027):
// member 0's rows count every open conversation, a member's own rows the open conversations
// they are involved in. TestBoxCountersMatchScans checks the sums against counting through
// visibilityClause.
func countsClause(v authz.Visibility) (string, []any) {
	if v.None || (!v.AllNumbers && len(v.NumberIDs) == 0) {
		return "0", nil
	}
	cond, args := "member_id = ?", []any{v.InvolvedMemberID}
	if !v.AllNumbers {
		cond += " AND phone_number_id IN (" + placeholders(len(v.NumberIDs)) + ")"
		for _, id := range v.NumberIDs {
			args = append(args, id)
		}
	}
	return cond, args
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
