package members

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// checkGrant enforces "no escalation": nobody hands out a permission they do not hold
// themselves, whether by assigning a role, inviting, or building a custom role.
func checkGrant(actor *authz.Principal, what string, perms authz.Set) error {
	if actor == nil {
		return forbidden("Sign in first.")
	}
	if missing := perms.Minus(actor.Permissions); missing.Len() > 0 {
		return forbidden("You cannot grant %s: it includes permissions you do not hold (%s).", what, strings.Join(missing.Labels(), ", "))
	}
	return nil
}

// checkManageable is the one rule for acting on another member (role, number scope, status,
// sessions, 2FA reset, delete, their invitations), for pages and API alike: the target's
// permissions and number scope must both lie within the actor's. Without the scope half, a
// supervisor of one number could hand a role with conversations.view_all to a member of every
// number and so widen what that member sees beyond anything the supervisor may see.
func checkManageable(actor *authz.Principal, target Member, targetPerms authz.Set) error {
	if actor == nil {
		return forbidden("Sign in first.")
	}
	if actor.MemberID == target.ID {
		return conflict("You cannot change your own access. Ask another administrator.")
	}
	return checkWithin(actor, target.Name, targetPerms, authz.NumberScope{All: target.AllNumbers, IDs: target.NumberIDs})
}

// checkWithin is the subset half of checkManageable, also used for invitations, whose future
// member is described by the invitation's role and scope.
func checkWithin(actor *authz.Principal, who string, perms authz.Set, scope authz.NumberScope) error {
	if missing := perms.Minus(actor.Permissions); missing.Len() > 0 {
		return forbidden("%s holds permissions you do not hold (%s), so you cannot change their access.", who, strings.Join(missing.Labels(), ", "))
	}
	if !actor.Numbers.Covers(scope) {
		return forbidden("%s works in phone numbers you do not work in, so you cannot change their access.", who)
	}
	return nil
}

// checkScopeGrant enforces no escalation for number scope: a member scoped to some numbers can
// only give access to those numbers.
func checkScopeGrant(actor *authz.Principal, all bool, ids []int64) error {
	if actor.Numbers.Covers(authz.NumberScope{All: all, IDs: ids}) {
		return nil
	}
	if all {
		return forbidden("You work in some phone numbers only, so you cannot give access to all numbers.")
	}
	return forbidden("You cannot give access to a phone number you do not work in yourself.")
}

// otherActiveAdministrators counts active Administrators other than memberID, so the last one
// is never demoted, deactivated or deleted and the workspace can always be managed.
func (s *Store) otherActiveAdministrators(ctx context.Context, q db.Querier, memberID int64) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM members m JOIN roles r ON r.id = m.role_id
		WHERE r.key = ? AND m.status = 'active' AND m.id <> ?`, authz.RoleAdministrator, memberID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count administrators: %w", err)
	}
	return n, nil
}

func (s *Store) guardLastAdministrator(ctx context.Context, q db.Querier, m Member, action string) error {
	if m.RoleKey != authz.RoleAdministrator || !m.Active() {
		return nil
	}
	n, err := s.otherActiveAdministrators(ctx, q, m.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return conflict("%s is the last active Administrator and cannot be %s. Make someone else an Administrator first.", m.Name, action)
	}
	return nil
}
