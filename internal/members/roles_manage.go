package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// RoleSummary is a role with how many members hold it.
type RoleSummary struct {
	Role
	Members int
}

// Roles lists every role: built-in ones first in their fixed order, then custom ones by name.
func (s *Store) Roles(ctx context.Context) ([]RoleSummary, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT r.id, r.key, r.name, r.description, r.builtin, r.requires_2fa,
		(SELECT count(*) FROM members m WHERE m.role_id = r.id),
		coalesce((SELECT group_concat(permission, ' ') FROM role_permissions p WHERE p.role_id = r.id), '')
		FROM roles r ORDER BY r.builtin DESC, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	defer rows.Close()
	var out []RoleSummary
	for rows.Next() {
		var r RoleSummary
		var perms string
		if err := rows.Scan(&r.ID, &r.Key, &r.Name, &r.Description, &r.Builtin, &r.RequiresTwoFactor, &r.Members, &perms); err != nil {
			return nil, fmt.Errorf("scan role: %w", err)
		}
		for _, id := range strings.Fields(perms) {
			if p, err := authz.Parse(id); err == nil {
				r.Permissions = r.Permissions.With(p)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Built-in roles in the order the product describes them, custom ones after, by name.
	order := map[string]int{}
	for i, b := range authz.BuiltinRoles() {
		order[b.Key] = i
	}
	sortRoles(out, order)
	return out, nil
}

// LeastPrivilegedFirst orders roles by how many permissions they grant, fewest first, built-in
// and custom alike (ties by name), so a form offering them leads with the safest choice.
func LeastPrivilegedFirst(rs []RoleSummary) {
	slices.SortStableFunc(rs, func(a, b RoleSummary) int {
		if d := a.Permissions.Len() - b.Permissions.Len(); d != 0 {
			return d
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}

// RoleByID finds a role by id.
func (s *Store) RoleByID(ctx context.Context, id int64) (Role, error) {
	return s.roleByID(ctx, s.db.R, id)
}

// RoleInput is the editable part of a custom role.
type RoleInput struct {
	Name              string
	Description       string
	RequiresTwoFactor bool
}

const maxRoleDescription = 300

func (in *RoleInput) validate() FieldErrors {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	fe := FieldErrors{}
	switch {
	case in.Name == "":
		fe.Add("name", "Enter a name for the role.")
	case utf8.RuneCountInString(in.Name) > 60:
		fe.Add("name", "Use at most 60 characters.")
	case strings.ContainsAny(in.Name, "\x00\r\n"):
		fe.Add("name", "A role name cannot contain line breaks.")
	}
	if utf8.RuneCountInString(in.Description) > maxRoleDescription {
		fe.Add("description", fmt.Sprintf("Use at most %d characters.", maxRoleDescription))
	}
	return fe
}

// CreateRole makes a custom role from permissions the actor holds.
func (s *Service) CreateRole(ctx context.Context, actor *authz.Principal, in RoleInput, perms authz.Set) (Role, error) {
	if fe := in.validate(); len(fe) > 0 {
		return Role{}, fe
	}
	if !actor.Can(authz.SecurityManage) {
		in.RequiresTwoFactor = false
	}
	if err := checkGrant(actor, "these permissions", perms); err != nil {
		return Role{}, err
	}
	var r Role
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.store.checkRoleName(ctx, tx, in.Name, 0); err != nil {
			return err
		}
		now := millis(s.clock.Now())
		res, err := tx.ExecContext(ctx, `INSERT INTO roles (key, name, description, builtin, requires_2fa, created_at, updated_at)
			VALUES (?, ?, ?, 0, ?, ?, ?)`, "custom_"+strings.ToLower(rand.Text()[:12]), in.Name, in.Description, in.RequiresTwoFactor, now, now)
		if err != nil {
			return fmt.Errorf("create role: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, pid := range perms.IDs() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)`, id, pid); err != nil {
				return fmt.Errorf("grant %s: %w", pid, err)
			}
		}
		r = Role{ID: id, Name: in.Name, Description: in.Description, RequiresTwoFactor: in.RequiresTwoFactor, Permissions: perms}
		return s.appendRoleEvent(ctx, tx, "role.created", id, []audit.Change{
			{Field: "name", After: in.Name},
			{Field: "permissions", After: perms.IDs()},
			{Field: "requires_2fa", After: in.RequiresTwoFactor},
		})
	})
	return r, err
}

// DuplicateRole copies any role, built-in or custom, into a new editable custom role.
func (s *Service) DuplicateRole(ctx context.Context, actor *authz.Principal, roleID int64) (Role, error) {
	src, err := s.store.RoleByID(ctx, roleID)
	if err != nil {
		return Role{}, err
	}
	name, err := s.store.freeRoleName(ctx, "Copy of "+src.Name)
	if err != nil {
		return Role{}, err
	}
	return s.CreateRole(ctx, actor, RoleInput{Name: name, Description: src.Description, RequiresTwoFactor: src.RequiresTwoFactor}, src.Permissions)
}

// UpdateRole renames or re-describes a custom role, or changes whether it requires 2FA.
func (s *Service) UpdateRole(ctx context.Context, actor *authz.Principal, roleID int64, in RoleInput) error {
	if fe := in.validate(); len(fe) > 0 {
		return fe
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.customRoleForChange(ctx, tx, actor, roleID)
		if err != nil {
			return err
		}
		if err := s.store.checkRoleName(ctx, tx, in.Name, r.ID); err != nil {
			return err
		}
		var changes []audit.Change
		if r.Name != in.Name {
			changes = append(changes, audit.Change{Field: "name", Before: r.Name, After: in.Name})
		}
		if r.Description != in.Description {
			changes = append(changes, audit.Change{Field: "description", Before: r.Description, After: in.Description})
		}
		// Whether a role requires 2FA is security policy: only security.manage changes it.
		if !actor.Can(authz.SecurityManage) {
			in.RequiresTwoFactor = r.RequiresTwoFactor
		}
		if r.RequiresTwoFactor != in.RequiresTwoFactor {
			changes = append(changes, audit.Change{Field: "requires_2fa", Before: r.RequiresTwoFactor, After: in.RequiresTwoFactor})
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, description = ?, requires_2fa = ?, updated_at = ? WHERE id = ?`,
			in.Name, in.Description, in.RequiresTwoFactor, millis(s.clock.Now()), r.ID); err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		return s.appendRoleEvent(ctx, tx, "role.updated", r.ID, changes)
	})
}

// SetRolePermission grants or revokes one permission of a custom role. Granting needs the actor
// to hold the permission; the role's members get the change on their next request.
func (s *Service) SetRolePermission(ctx context.Context, actor *authz.Principal, roleID int64, perm authz.Permission, granted bool) (Role, error) {
	if !perm.Valid() {
		return Role{}, &ValidationError{Field: "permission", Message: "Unknown permission."}
	}
	var r Role
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = s.customRoleForChange(ctx, tx, actor, roleID); err != nil {
			return err
		}
		if r.Permissions.Has(perm) == granted {
			return nil
		}
		before := r.Permissions
		if granted {
			if err := checkGrant(actor, "“"+perm.Label()+"”", authz.NewSet(perm)); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)`, r.ID, perm.ID())
			r.Permissions = r.Permissions.With(perm)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM role_permissions WHERE role_id = ? AND permission = ?`, r.ID, perm.ID())
			r.Permissions = r.Permissions.Without(perm)
		}
		if err != nil {
			return fmt.Errorf("change role permission: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE roles SET updated_at = ? WHERE id = ?`, millis(s.clock.Now()), r.ID); err != nil {
			return err
		}
		action := "role.permission_revoked"
		if granted {
			action = "role.permission_granted"
		}
		return s.appendRoleEvent(ctx, tx, action, r.ID, []audit.Change{
			{Field: "permission", After: perm.ID()},
			{Field: "permissions", Before: before.IDs(), After: r.Permissions.IDs()},
		})
	})
	return r, err
}

// DeleteRole removes a custom role that no member and no open invitation holds.
func (s *Service) DeleteRole(ctx context.Context, actor *authz.Principal, roleID int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := s.customRoleForChange(ctx, tx, actor, roleID)
		if err != nil {
			return err
		}
		var holders, invited int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM members WHERE role_id = ?),
			(SELECT count(*) FROM invitations WHERE role_id = ? AND accepted_at IS NULL AND revoked_at IS NULL)`, r.ID, r.ID).
			Scan(&holders, &invited); err != nil {
			return fmt.Errorf("check role use: %w", err)
		}
		if holders > 0 {
			return conflict("%d member(s) hold the role %s. Give them another role first.", holders, r.Name)
		}
		if invited > 0 {
			return conflict("An open invitation offers the role %s. Revoke it first.", r.Name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE role_id = ?`, r.ID); err != nil {
			return fmt.Errorf("delete old invitations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = ?`, r.ID); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		return s.appendRoleEvent(ctx, tx, "role.deleted", r.ID, []audit.Change{
			{Field: "name", Before: r.Name}, {Field: "permissions", Before: r.Permissions.IDs()},
		})
	})
}

// customRoleForChange loads a role for editing: built-in roles are read-only, and a role that
// holds permissions the actor lacks cannot be edited by them.
func (s *Service) customRoleForChange(ctx context.Context, tx *sql.Tx, actor *authz.Principal, roleID int64) (Role, error) {
	r, err := s.store.roleByID(ctx, tx, roleID)
	if err != nil {
		return Role{}, err
	}
	if r.Builtin {
		return Role{}, conflict("%s is a built-in role and cannot be changed. Duplicate it to make an editable copy.", r.Name)
	}
	if err := checkGrant(actor, "changes to the role "+r.Name, r.Permissions); err != nil {
		return Role{}, err
	}
	return r, nil
}

func (st *Store) checkRoleName(ctx context.Context, q db.Querier, name string, exceptID int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM roles WHERE name = ? COLLATE NOCASE AND id <> ?`, name, exceptID).Scan(&n); err != nil {
		return fmt.Errorf("check role name: %w", err)
	}
	if n > 0 {
		return FieldErrors{"name": "A role with this name already exists."}
	}
	return nil
}

func (st *Store) freeRoleName(ctx context.Context, base string) (string, error) {
	name := base
	for i := 2; i < 100; i++ {
		if err := st.checkRoleName(ctx, st.db.R, name, 0); err == nil {
			return name, nil
		} else if _, ok := err.(FieldErrors); !ok {
			return "", err
		}
		name = fmt.Sprintf("%s (%d)", base, i)
	}
	return name, nil
}

func (s *Service) appendRoleEvent(ctx context.Context, q db.Querier, action string, roleID int64, changes []audit.Change) error {
	_, err := s.audit.Append(ctx, q, audit.Event{Action: action, Target: audit.NewTarget("role", roleID), Changes: changes, Outcome: audit.OutcomeSuccess})
	return err
}

// SetRolesRequiringTwoFactor marks exactly the given roles, built-in or custom, as requiring
// 2FA. It is part of the security policy (security.manage), not of editing roles, so built-in
// roles may change here.
func (s *Service) SetRolesRequiringTwoFactor(ctx context.Context, actor *authz.Principal, roleIDs []int64) error {
	if !actor.Can(authz.SecurityManage) {
		return forbidden("Changing the 2FA policy needs the security.manage permission.")
	}
	want := map[int64]bool{}
	for _, id := range roleIDs {
		want[id] = true
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, name, requires_2fa FROM roles`)
		if err != nil {
			return fmt.Errorf("read roles: %w", err)
		}
		type change struct {
			id   int64
			name string
			to   bool
		}
		var changes []change
		for rows.Next() {
			var c change
			var cur bool
			if err := rows.Scan(&c.id, &c.name, &cur); err != nil {
				rows.Close()
				return err
			}
			if c.to = want[c.id]; c.to != cur {
				changes = append(changes, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `UPDATE roles SET requires_2fa = ?, updated_at = ? WHERE id = ?`, c.to, millis(s.clock.Now()), c.id); err != nil {
				return fmt.Errorf("update role: %w", err)
			}
			if err := s.appendRoleEvent(ctx, tx, "role.2fa_requirement_changed", c.id, []audit.Change{
				{Field: "role", After: c.name}, {Field: "requires_2fa", Before: !c.to, After: c.to},
			}); err != nil {
				return err
			}
		}
		return nil
	})
}
