package reviews

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// Decide records a reviewer's decision on one member. Keep changes nothing; change role and
// revoke (deactivation, which ends the member's sessions) apply at once through the members
// service, as the reviewer: a reviewer who may not manage that member is refused with the
// members rules' own reason, and nothing is recorded.
//
// The change commits in the members service's transaction and the decision in the next one; if
// the second failed, the member's change stays in the activity log on its own and the item stays
// open to be decided again (as keep, since the change is already made).
func (s *Service) Decide(ctx context.Context, actor *authz.Principal, campaignID, itemID int64, in DecisionInput) (Item, error) {
	c, _, err := s.Campaign(ctx, campaignID)
	if err != nil {
		return Item{}, err
	}
	it, err := scanItem(s.db.R.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM access_review_items WHERE id = ? AND campaign_id = ?`,
		itemID, campaignID))
	if err != nil {
		return Item{}, err
	}
	if !c.IsReviewer(actor.MemberID) {
		return Item{}, &members.RuleError{Kind: members.ErrForbidden, Message: "You are not a reviewer of this access review."}
	}
	if it.MemberID == actor.MemberID {
		return Item{}, &members.RuleError{Kind: members.ErrForbidden, Message: "Nobody reviews their own access: another reviewer decides on you."}
	}
	if c.Status != StatusOpen {
		return Item{}, conflict("This access review is closed; its decisions can no longer change.")
	}
	if it.Decision != DecisionNone {
		return Item{}, conflict("%s decided on %s already (%s).", it.DecidedByName, it.MemberName, it.Decision.Label())
	}
	in.Comment = strings.TrimSpace(in.Comment)
	fe := FieldErrors{}
	switch in.Decision {
	case DecisionKeep, DecisionChangeRole, DecisionRevoke:
	default:
		fe.Add("decision", "Choose keep, change role or revoke.")
	}
	if in.Decision != DecisionKeep && in.Comment == "" {
		fe.Add("comment", "Say why, for the report.")
	}
	if utf8.RuneCountInString(in.Comment) > maxComment {
		fe.Add("comment", fmt.Sprintf("Use at most %d characters.", maxComment))
	}
	var role members.Role
	if in.Decision == DecisionChangeRole {
		role, err = s.members.Store().RoleByID(ctx, in.RoleID)
		if errors.Is(err, members.ErrNotFound) {
			fe.Add("role", "Choose the new role.")
		} else if err != nil {
			return Item{}, err
		}
	}
	if err := fe.Err(); err != nil {
		return Item{}, err
	}

	change := "No change"
	switch in.Decision {
	case DecisionChangeRole, DecisionRevoke:
		// The one rule for acting on another member, with the members.manage check in front.
		if err := s.members.CheckManageable(ctx, actor, it.MemberID); err != nil {
			return Item{}, err
		}
		m, err := s.members.Store().ByID(ctx, it.MemberID)
		if err != nil {
			return Item{}, err
		}
		if in.Decision == DecisionRevoke {
			if err := s.members.Deactivate(ctx, actor, it.MemberID); err != nil {
				return Item{}, err
			}
			change = "Deactivated; sessions ended"
			if !m.Active() {
				change = "Already deactivated"
			}
		} else {
			if err := s.members.ChangeRole(ctx, actor, it.MemberID, role.ID); err != nil {
				return Item{}, err
			}
			change = "Role " + m.RoleName + " → " + role.Name
			if m.RoleID == role.ID {
				change = "Already " + role.Name
			}
		}
	}

	now := s.clock.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE access_review_items SET decision = ?, new_role_name = ?, comment = ?, change = ?,
			decided_by = ?, decided_by_name = ?, decided_at = ? WHERE id = ? AND decision = ''`,
			in.Decision, role.Name, in.Comment, change, actor.MemberID, actor.Name, millis(now), it.ID)
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflict("Another reviewer decided on %s a moment ago.", it.MemberName)
		}
		changes := []audit.Change{
			{Field: "member", After: it.MemberName}, {Field: "member_id", After: it.MemberID},
			{Field: "decision", After: string(in.Decision)}, {Field: "change", After: change},
		}
		if in.Comment != "" {
			changes = append(changes, audit.Change{Field: "comment", After: in.Comment})
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "access_review.decided", Target: campaignTarget(campaignID), Changes: changes})
		return err
	})
	if err != nil {
		return Item{}, err
	}
	it.Decision, it.NewRoleName, it.Comment, it.Change = in.Decision, role.Name, in.Comment, change
	it.DecidedBy, it.DecidedByName, it.DecidedAt = actor.MemberID, actor.Name, now
	return it, nil
}

// Close ends a campaign; its items become the report and no longer change (a trigger holds
// them). Members nobody decided on are reported as not reviewed.
func (s *Service) Close(ctx context.Context, actor *authz.Principal, campaignID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := scanCampaign(tx.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM access_review_campaigns c WHERE c.id = ?`, campaignID))
		if err != nil {
			return err
		}
		if c.Status != StatusOpen {
			return conflict("This access review is closed already.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE access_review_campaigns SET status = 'closed', closed_at = ?, closed_by_name = ?
			WHERE id = ?`, millis(s.clock.Now()), actor.Name, c.ID); err != nil {
			return fmt.Errorf("close access review: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "access_review.closed", Target: campaignTarget(c.ID), Changes: []audit.Change{
			{Field: "status", Before: "open", After: "closed"}, {Field: "decided", After: c.Decided}, {Field: "not_reviewed", After: c.Total - c.Decided},
		}})
		return err
	})
}
