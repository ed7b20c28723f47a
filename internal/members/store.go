package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Store is the SQL of the members area. Methods that take a db.Querier run inside the caller's
// transaction; the others read through the reader pool.
type Store struct {
	db *db.DB
}

// NewStore returns the store over d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

const memberColumns = `m.id, m.email, m.name, m.password_hash, m.role_id, r.key, r.name, m.status,
	m.session_epoch, m.created_at, m.updated_at, m.last_sign_in_at, m.all_numbers,
	(SELECT group_concat(phone_number_id, ' ') FROM member_numbers WHERE member_id = m.id),
	m.totp_enabled_at IS NOT NULL, r.requires_2fa, m.time_zone`

func scanMember(row interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var created, updated int64
	var lastSignIn sql.NullInt64
	var numbers sql.NullString
	err := row.Scan(&m.ID, &m.Email, &m.Name, &m.PasswordHash, &m.RoleID, &m.RoleKey, &m.RoleName, &m.Status,
		&m.SessionEpoch, &created, &updated, &lastSignIn, &m.AllNumbers, &numbers, &m.TwoFactorEnabled, &m.RoleRequiresTwoFactor, &m.TimeZone)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrNotFound
	}
	if err != nil {
		return Member{}, fmt.Errorf("scan member: %w", err)
	}
	m.CreatedAt = fromMillis(created)
	m.UpdatedAt = fromMillis(updated)
	if lastSignIn.Valid {
		m.LastSignInAt = fromMillis(lastSignIn.Int64)
	}
	m.NumberIDs = db.ParseIDs(numbers.String)
	return m, nil
}

// ByEmail finds a member by e-mail address, case-insensitively.
func (s *Store) ByEmail(ctx context.Context, email string) (Member, error) {
	return scanMember(s.db.R.QueryRowContext(ctx,
		`SELECT `+memberColumns+` FROM members m JOIN roles r ON r.id = m.role_id WHERE m.email = ? COLLATE NOCASE`, email))
}

// ByID finds a member by id.
func (s *Store) ByID(ctx context.Context, id int64) (Member, error) {
	return s.byID(ctx, s.db.R, id)
}

func (s *Store) byID(ctx context.Context, q db.Querier, id int64) (Member, error) {
	return scanMember(q.QueryRowContext(ctx,
		`SELECT `+memberColumns+` FROM members m JOIN roles r ON r.id = m.role_id WHERE m.id = ?`, id))
}

// List returns every member, by name.
func (s *Store) List(ctx context.Context) ([]Member, error) {
	rows, err := s.db.R.QueryContext(ctx,
		`SELECT `+memberColumns+` FROM members m JOIN roles r ON r.id = m.role_id ORDER BY m.name COLLATE NOCASE, m.id`)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Count returns how many members exist, active or not.
func (s *Store) Count(ctx context.Context, q db.Querier) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM members`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	return n, nil
}

type newMemberRow struct {
	Email, Name, PasswordHash string
	RoleID                    int64
	At                        time.Time
}

func (s *Store) insert(ctx context.Context, q db.Querier, r newMemberRow) (int64, error) {
	res, err := q.ExecContext(ctx,
		`INSERT INTO members (email, name, password_hash, role_id, status, created_at, updated_at)
		 VALUES (?, ?, ?, ?, 'active', ?, ?)`,
		r.Email, r.Name, r.PasswordHash, r.RoleID, millis(r.At), millis(r.At))
	if err != nil {
		return 0, fmt.Errorf("insert member: %w", err)
	}
	return res.LastInsertId()
}

func (s *Store) emailTaken(ctx context.Context, q db.Querier, email string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM members WHERE email = ? COLLATE NOCASE`, email).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check e-mail: %w", err)
	}
	return n > 0, nil
}

func (s *Store) setLastSignIn(ctx context.Context, q db.Querier, id int64, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE members SET last_sign_in_at = ? WHERE id = ?`, millis(at), id); err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}

func (s *Store) setPasswordHash(ctx context.Context, q db.Querier, id int64, hash string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE members SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, millis(at), id); err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	return nil
}

// Principal loads what the access checks need about a member, fresh on every request.
func (s *Store) Principal(ctx context.Context, memberID int64) (*authz.Principal, Member, error) {
	return s.PrincipalIn(ctx, s.db.R, memberID)
}

// PrincipalIn is Principal read through q: inside a write transaction, that transaction, since
// a read through the reader pool there holds the writer while it waits for a reader.
func (s *Store) PrincipalIn(ctx context.Context, q db.Querier, memberID int64) (*authz.Principal, Member, error) {
	m, err := s.byID(ctx, q, memberID)
	if err != nil {
		return nil, Member{}, err
	}
	perms, err := s.rolePermissions(ctx, q, m.RoleID)
	if err != nil {
		return nil, Member{}, err
	}
	return &authz.Principal{
		MemberID: m.ID, Name: m.Name, Email: m.Email, RoleID: m.RoleID, RoleName: m.RoleName,
		Permissions: perms, Numbers: authz.NumberScope{All: m.AllNumbers, IDs: m.NumberIDs},
		TwoFactorEnabled: m.TwoFactorEnabled, TimeZone: m.TimeZone,
	}, m, nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
