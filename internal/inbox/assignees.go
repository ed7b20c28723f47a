package inbox

import (
	"context"

	"github.com/switchboard/switchboard/internal/authz"
)

// Assignee is a member a conversation can be given to.
type Assignee struct {
	ID       int64
	Name     string
	RoleName string
	Current  bool // the conversation's assignee now
}

// Assignees lists the active members who would see the conversation once it is assigned to
// them, by the same predicate that Assign checks: offering anyone else only leads to a refusal,
// and shows the assigner names of members outside the conversation's number.
func (s *Service) Assignees(ctx context.Context, p *authz.Principal, id int64) ([]Assignee, error) {
	if !p.Can(authz.ConversationsAssign) {
		return nil, forbidden("Assigning conversations needs the conversations.assign permission.")
	}
	c, err := visibleConversation(ctx, s.db.R, p.Conversations(), id)
	if err != nil {
		return nil, err
	}
	members, err := loadActiveAssignables(ctx, s.db.R)
	if err != nil {
		return nil, err
	}
	var out []Assignee
	for _, m := range members {
		if !m.Conversations().Allows(authz.ConversationFacts{PhoneNumberID: c.PhoneNumberID, AssigneeID: m.MemberID}) {
			continue
		}
		out = append(out, Assignee{ID: m.MemberID, Name: m.Name, RoleName: m.RoleName, Current: m.MemberID == c.AssigneeID})
	}
	return out, nil
}
