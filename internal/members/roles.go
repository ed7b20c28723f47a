package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// SyncBuiltinRoles writes the built-in roles of internal/authz to the database, so that their
// permissions always match the code this binary was built from.
func (s *Store) SyncBuiltinRoles(ctx context.Context, now time.Time) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, r := range authz.BuiltinRoles() {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM roles WHERE key = ?`, r.Key).Scan(&id)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				res, err := tx.ExecContext(ctx,
					`INSERT INTO roles (key, name, description, builtin, requires_2fa, created_at, updated_at)
					 VALUES (?, ?, ?, 1, ?, ?, ?)`,
					r.Key, r.Name, r.Description, r.RequiresTwoFactor, millis(now), millis(now))
				if err != nil {
					return fmt.Errorf("insert role %s: %w", r.Key, err)
				}
				if id, err = res.LastInsertId(); err != nil {
					return err
				}
			case err != nil:
				return fmt.Errorf("find role %s: %w", r.Key, err)
			default:
				// Name and description follow the code; requires_2fa is the workspace's own setting.
				if _, err := tx.ExecContext(ctx, `UPDATE roles SET name = ?, description = ? WHERE id = ?`,
					r.Name, r.Description, id); err != nil {
					return fmt.Errorf("update role %s: %w", r.Key, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM role_permissions WHERE role_id = ?`, id); err != nil {
				return fmt.Errorf("reset role %s: %w", r.Key, err)
			}
			for _, pid := range r.Permissions.IDs() {
				if _, err := tx.ExecContext(ctx, `INSERT INTO role_permissions (role_id, permission) VALUES (?, ?)`, id, pid); err != nil {
					return fmt.Errorf("grant %s to %s: %w", pid, r.Key, err)
				}
			}
		}
		return nil
	})
}

// Role is a role as stored.
type Role struct {
	ID                int64
	Key               string
	Name              string
	Description       string
	Builtin           bool
	RequiresTwoFactor bool
	Permissions       authz.Set
}

// RoleByKey finds a role by its key.
func (s *Store) RoleByKey(ctx context.Context, q db.Querier, key string) (Role, error) {
	return s.role(ctx, q, `key = ?`, key)
}

func (s *Store) roleByID(ctx context.Context, q db.Querier, id int64) (Role, error) {
	return s.role(ctx, q, `id = ?`, id)
}

func (s *Store) role(ctx context.Context, q db.Querier, where string, arg any) (Role, error) {
	var r Role
	err := q.QueryRowContext(ctx,
		`SELECT id, key, name, description, builtin, requires_2fa FROM roles WHERE `+where, arg).
		Scan(&r.ID, &r.Key, &r.Name, &r.Description, &r.Builtin, &r.RequiresTwoFactor)
	if errors.Is(err, sql.ErrNoRows) {
		return Role{}, ErrNotFound
	}
	if err != nil {
		return Role{}, fmt.Errorf("find role: %w", err)
	}
	if r.Permissions, err = s.rolePermissions(ctx, q, r.ID); err != nil {
		return Role{}, err
	}
	return r, nil
}

func (s *Store) rolePermissions(ctx context.Context, q db.Querier, roleID int64) (authz.Set, error) {
	rows, err := q.QueryContext(ctx, `SELECT permission FROM role_permissions WHERE role_id = ?`, roleID)
	if err != nil {
		return authz.Set{}, fmt.Errorf("role permissions: %w", err)
	}
	defer rows.Close()
	var set authz.Set
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return authz.Set{}, err
		}
		// An id this binary does not know (a downgrade) is skipped: it grants nothing.
		if p, err := authz.Parse(id); err == nil {
			set = set.With(p)
		}
	}
	return set, rows.Err()
}

func sortRoles(rs []RoleSummary, builtinOrder map[string]int) {
	slices.SortStableFunc(rs, func(a, b RoleSummary) int {
		switch {
		case a.Builtin && b.Builtin:
			return builtinOrder[a.Key] - builtinOrder[b.Key]
		case a.Builtin:
			return -1
		case b.Builtin:
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
}
