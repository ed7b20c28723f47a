package members

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// memberForChange loads a member with their role's permissions inside tx and checks that actor
// may change them.
func (s *Service) memberForChange(ctx context.Context, tx *sql.Tx, actor *authz.Principal, id int64) (Member, error) {
	m, err := scanMember(tx.QueryRowContext(ctx,
		`SELECT `+memberColumns+` FROM members m JOIN roles r ON r.id = m.role_id WHERE m.id = ?`, id))
	if err != nil {
		return Member{}, err
	}
	perms, err := s.store.rolePermissions(ctx, tx, m.RoleID)
	if err != nil {
		return Member{}, err
	}
	return m, checkManageable(actor, m, perms)
}

// CheckManageable tells whether actor may act on the member with this id, and if not, why: pages
// use it to offer only the controls that would be accepted.
func (s *Service) CheckManageable(ctx context.Context, actor *authz.Principal, memberID int64) error {
	if !actor.Can(authz.MembersManage) {
		return forbidden("Managing members needs the Manage members permission.")
	}
	m, err := s.store.ByID(ctx, memberID)
	if err != nil {
		return err
	}
	perms, err := s.store.rolePermissions(ctx, s.db.R, m.RoleID)
	if err != nil {
		return err
	}
	return checkManageable(actor, m, perms)
}

// ChangeRole gives a member another role. The new role's permissions must be a subset of the
// actor's, the actor cannot change their own role, and the last Administrator stays one.
func (s *Service) ChangeRole(ctx context.Context, actor *authz.Principal, memberID, roleID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		role, err := s.store.roleByID(ctx, tx, roleID)
		if err != nil {
			return err
		}
		if role.ID == m.RoleID {
			return nil
		}
		if err := checkGrant(actor, "the role "+role.Name, role.Permissions); err != nil {
			return err
		}
		if role.Key != authz.RoleAdministrator {
			if err := s.store.guardLastAdministrator(ctx, tx, m, "demoted"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role_id = ?, updated_at = ? WHERE id = ?`,
			role.ID, millis(s.clock.Now()), m.ID); err != nil {
			return fmt.Errorf("change role: %w", err)
		}
		// A role change is a privilege change: the member's sessions start over.
		if err := s.store.revokeSessions(ctx, tx, m.ID); err != nil {
			return err
		}
		if role.Key == authz.RoleAdministrator {
			if err := raise(ctx, s.Alerts, tx, alerts.Alert{Kind: alerts.KindRoleRaisedToAdministrator, Subject: alerts.MemberSubject(m.ID),
				Title: actor.Name + " made " + m.Name + " an Administrator."}); err != nil {
				return err
			}
		}
		return s.appendMemberEvent(ctx, tx, "member.role_changed", m, []audit.Change{{Field: "role", Before: m.RoleName, After: role.Name}})
	})
}

// SetNumberScope restricts a member to the given phone numbers, or opens all numbers.
func (s *Service) SetNumberScope(ctx context.Context, actor *authz.Principal, memberID int64, all bool, numberIDs []int64) error {
	numberIDs = normaliseIDs(numberIDs)
	if err := checkScopeGrant(actor, all, numberIDs); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		if err := s.store.checkNumbersExist(ctx, tx, numberIDs); err != nil {
			return err
		}
		if all {
			numberIDs = nil
		}
		if m.AllNumbers == all && slices.Equal(m.NumberIDs, numberIDs) {
			return nil
		}
		if err := s.store.setNumberScope(ctx, tx, m.ID, all, numberIDs, s.clock.Now()); err != nil {
			return err
		}
		return s.appendMemberEvent(ctx, tx, "member.scope_changed", m, []audit.Change{
			{Field: "numbers", Before: scopeLabel(m.AllNumbers, m.NumberIDs), After: scopeLabel(all, numberIDs)},
		})
	})
}

// Deactivate stops a member at once: their sessions end on their next request.
func (s *Service) Deactivate(ctx context.Context, actor *authz.Principal, memberID int64) error {
	return s.setStatus(ctx, actor, memberID, StatusDeactivated)
}

// Reactivate lets a deactivated member sign in again.
func (s *Service) Reactivate(ctx context.Context, actor *authz.Principal, memberID int64) error {
	return s.setStatus(ctx, actor, memberID, StatusActive)
}

func (s *Service) setStatus(ctx context.Context, actor *authz.Principal, memberID int64, status Status) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		if m.Status == status {
			return nil
		}
		action := "member.reactivated"
		if status == StatusDeactivated {
			action = "member.deactivated"
			if err := s.store.guardLastAdministrator(ctx, tx, m, "deactivated"); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET status = ?, updated_at = ? WHERE id = ?`,
			status, millis(s.clock.Now()), m.ID); err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		if err := s.store.revokeSessions(ctx, tx, m.ID); err != nil {
			return err
		}
		return s.appendMemberEvent(ctx, tx, action, m, []audit.Change{{Field: "status", Before: m.Status, After: status}})
	})
}

// Delete removes a member. Their activity stays in the log under their id and name.
func (s *Service) Delete(ctx context.Context, actor *authz.Principal, memberID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		if err := s.store.guardLastAdministrator(ctx, tx, m, "deleted"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE id = ?`, m.ID); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				return conflict("%s is still referenced by work in the workspace (for example templates they wrote). Deactivate them instead.", m.Name)
			}
			return fmt.Errorf("delete member: %w", err)
		}
		return s.appendMemberEvent(ctx, tx, "member.deleted", m, []audit.Change{
			{Field: "email", Before: m.Email}, {Field: "name", Before: m.Name}, {Field: "role", Before: m.RoleName},
		})
	})
}

// EndSessions signs a member out everywhere.
func (s *Service) EndSessions(ctx context.Context, actor *authz.Principal, memberID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		if err := s.store.revokeSessions(ctx, tx, m.ID); err != nil {
			return err
		}
		return s.appendMemberEvent(ctx, tx, "member.sessions_ended", m, nil)
	})
}

func (s *Service) appendMemberEvent(ctx context.Context, q db.Querier, action string, m Member, changes []audit.Change) error {
	_, err := s.audit.Append(ctx, q, audit.Event{Action: action, Target: memberTarget(m.ID), Changes: changes, Outcome: audit.OutcomeSuccess})
	return err
}

func (st *Store) setNumberScope(ctx context.Context, q db.Querier, memberID int64, all bool, ids []int64, at interface{ UnixMilli() int64 }) error {
	if _, err := q.ExecContext(ctx, `UPDATE members SET all_numbers = ?, updated_at = ? WHERE id = ?`, all, at.UnixMilli(), memberID); err != nil {
		return fmt.Errorf("set scope: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM member_numbers WHERE member_id = ?`, memberID); err != nil {
		return fmt.Errorf("clear scope: %w", err)
	}
	for _, id := range ids {
		if _, err := q.ExecContext(ctx, `INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, memberID, id); err != nil {
			return fmt.Errorf("add number to scope: %w", err)
		}
	}
	return nil
}

func (st *Store) checkNumbersExist(ctx context.Context, q db.Querier, ids []int64) error {
	for _, id := range ids {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM phone_numbers WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("check phone number: %w", err)
		}
		if n == 0 {
			return &ValidationError{Field: "numbers", Message: "One of the chosen phone numbers does not exist."}
		}
	}
	return nil
}

func normaliseIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func scopeLabel(all bool, ids []int64) string {
	if all {
		return "all numbers"
	}
	if len(ids) == 0 {
		return "no numbers"
	}
	return "numbers " + db.FormatIDs(ids)
}
