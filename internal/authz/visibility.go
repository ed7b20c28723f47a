package authz

import "slices"

// Visibility is the one predicate that decides which conversations (and everything hanging off
// them: messages, contacts seen through them, exports) a principal may see. Lists, single
// records, counts, search and the API all derive their filter from it, so they cannot disagree.
// A record outside it answers 404, never 403, so its existence does not leak.
type Visibility struct {
	// None: the principal may see no conversation at all.
	None bool
	// AllNumbers: every phone number of the workspace; otherwise only NumberIDs.
	AllNumbers bool
	NumberIDs  []int64
	// InvolvedMemberID, when not zero, restricts to conversations assigned to, escalated by or
	// answered by that member (conversations.view_assigned without view_all).
	InvolvedMemberID int64
}

// ConversationFacts are the facts about one conversation that visibility depends on.
type ConversationFacts struct {
	PhoneNumberID   int64
	AssigneeID      int64
	InvolvedMembers []int64 // members who escalated or took part, besides the assignee
}

// Conversations returns the principal's visibility over conversations.
func (p *Principal) Conversations() Visibility {
	if p == nil {
		return Visibility{None: true}
	}
	v := Visibility{AllNumbers: p.Numbers.All, NumberIDs: p.Numbers.IDs}
	switch {
	case p.Can(ConversationsViewAll):
	case p.Can(ConversationsViewAssigned):
		v.InvolvedMemberID = p.MemberID
	default:
		return Visibility{None: true}
	}
	if !v.AllNumbers && len(v.NumberIDs) == 0 {
		return Visibility{None: true}
	}
	return v
}

// SeesNumber reports whether the principal works in the phone number with this id.
func (n NumberScope) SeesNumber(id int64) bool {
	return n.All || slices.Contains(n.IDs, id)
}

// Covers reports whether every phone number of other lies within n.
func (n NumberScope) Covers(other NumberScope) bool {
	if n.All {
		return true
	}
	if other.All {
		return false
	}
	for _, id := range other.IDs {
		if !slices.Contains(n.IDs, id) {
			return false
		}
	}
	return true
}

// Allows applies the predicate to one conversation in memory; stores apply the same rule in SQL.
func (v Visibility) Allows(c ConversationFacts) bool {
	if v.None {
		return false
	}
	if !v.AllNumbers && !slices.Contains(v.NumberIDs, c.PhoneNumberID) {
		return false
	}
	if v.InvolvedMemberID != 0 {
		return c.AssigneeID == v.InvolvedMemberID || slices.Contains(c.InvolvedMembers, v.InvolvedMemberID)
	}
	return true
}
