package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// Team is a named set of members that a menu choice routes conversations to.
type Team struct {
	ID      int64
	Name    string
	Members []TeamMember
}

// TeamMember is a member of a team (or a candidate on the team form).
type TeamMember struct {
	ID        int64
	Name      string
	Available bool
	InTeam    bool
}

// Teams lists the teams with their members.
func (s *Service) Teams(ctx context.Context) ([]Team, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT t.id, t.name, coalesce(m.id, 0), coalesce(m.name, ''), coalesce(a.available, 0)
		FROM automation_teams t LEFT JOIN automation_team_members tm ON tm.team_id = t.id
		LEFT JOIN members m ON m.id = tm.member_id AND m.status = 'active'
		LEFT JOIN member_availability a ON a.member_id = m.id
		ORDER BY t.name COLLATE NOCASE, t.id, m.name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	defer rows.Close()
	var out []Team
	for rows.Next() {
		var (
			t     Team
			m     TeamMember
			avail int
		)
		if err := rows.Scan(&t.ID, &t.Name, &m.ID, &m.Name, &avail); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != t.ID {
			out = append(out, t)
		}
		if m.ID != 0 {
			m.Available, m.InTeam = avail == 1, true
			last := &out[len(out)-1]
			last.Members = append(last.Members, m)
		}
	}
	return out, rows.Err()
}

// Candidates are the active members who see conversations (only they can be assigned), with
// their availability.
func (s *Service) Candidates(ctx context.Context) ([]TeamMember, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT m.id, m.name, coalesce(a.available, 0) FROM members m
		LEFT JOIN member_availability a ON a.member_id = m.id WHERE m.status = 'active' ORDER BY m.name COLLATE NOCASE, m.id`)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []TeamMember
	for rows.Next() {
		var m TeamMember
		var avail int
		if err := rows.Scan(&m.ID, &m.Name, &avail); err != nil {
			return nil, err
		}
		m.Available = avail == 1
		out = append(out, m)
	}
	return out, rows.Err()
}

// SaveTeam creates a team (id 0) or renames it and sets its members.
func (s *Service) SaveTeam(ctx context.Context, p *authz.Principal, id int64, name string, memberIDs []int64) (int64, error) {
	action := "automation.team_updated"
	if id == 0 {
		action = "automation.team_created"
	}
	if err := s.allowed(ctx, p, action); err != nil {
		return 0, err
	}
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return 0, FieldErrors{"name": "Name the team, such as “Sales” or “Support”."}
	case n > maxName:
		return 0, FieldErrors{"name": fmt.Sprintf("Use at most %d characters.", maxName)}
	}
	slices.Sort(memberIDs)
	memberIDs = slices.Compact(memberIDs)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := s.clock.Now().UnixMilli()
		var before []int64
		beforeName := ""
		if id == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO automation_teams (name, created_at, updated_at) VALUES (?, ?, ?)`, name, now, now)
			if err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return FieldErrors{"name": "A team with this name exists already."}
				}
				return fmt.Errorf("create team: %w", err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return err
			}
		} else {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM automation_teams WHERE id = ?`, id).Scan(&beforeName); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return ErrNotFound
				}
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT member_id FROM automation_team_members WHERE team_id = ? ORDER BY member_id`, id)
			if err != nil {
				return err
			}
			for rows.Next() {
				var m int64
				if err := rows.Scan(&m); err != nil {
					rows.Close()
					return err
				}
				before = append(before, m)
			}
			rows.Close()
			if _, err := tx.ExecContext(ctx, `UPDATE automation_teams SET name = ?, updated_at = ? WHERE id = ?`, name, now, id); err != nil {
				if strings.Contains(err.Error(), "UNIQUE") {
					return FieldErrors{"name": "A team with this name exists already."}
				}
				return fmt.Errorf("rename team: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM automation_team_members WHERE team_id = ?`, id); err != nil {
				return err
			}
		}
		for _, m := range memberIDs {
			res, err := tx.ExecContext(ctx, `INSERT INTO automation_team_members (team_id, member_id)
				SELECT ?, id FROM members WHERE id = ? AND status = 'active'`, id, m)
			if err != nil {
				return fmt.Errorf("add team member: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return FieldErrors{"members": "Choose active members only."}
			}
		}
		changes := []audit.Change{{Field: "members", Before: idsText(before), After: idsText(memberIDs)}}
		if beforeName != name {
			changes = append(changes, audit.Change{Field: "name", Before: beforeName, After: name})
		}
		return s.record(ctx, tx, p, action, target("automation_team", id), changes...)
	})
	return id, err
}

func idsText(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, " ")
}

// DeleteTeam removes a team; menu options that routed to it route nowhere.
func (s *Service) DeleteTeam(ctx context.Context, p *authz.Principal, id int64) error {
	const action = "automation.team_deleted"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM automation_teams WHERE id = ?`, id).Scan(&name); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		for _, q := range []string{`DELETE FROM automation_team_members WHERE team_id = ?`, `DELETE FROM automation_teams WHERE id = ?`} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("delete team: %w", err)
			}
		}
		return s.record(ctx, tx, p, action, target("automation_team", id), audit.Change{Field: "name", Before: name})
	})
}

// Available reports whether the member takes new conversations now.
func (s *Service) Available(ctx context.Context, memberID int64) (bool, error) {
	var v int
	err := s.db.R.QueryRowContext(ctx, `SELECT available FROM member_availability WHERE member_id = ?`, memberID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return v == 1, err
}

// SetAvailable is a member marking themselves available or away. Any member may, for
// themselves only: p is the member.
func (s *Service) SetAvailable(ctx context.Context, p *authz.Principal, available bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var cur sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT available FROM member_availability WHERE member_id = ?`, p.MemberID).Scan(&cur); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur.Valid && (cur.Int64 == 1) == available {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO member_availability (member_id, available, changed_at) VALUES (?, ?, ?)
			ON CONFLICT (member_id) DO UPDATE SET available = excluded.available, changed_at = excluded.changed_at`,
			p.MemberID, boolInt(available), s.clock.Now().UnixMilli()); err != nil {
			return fmt.Errorf("set availability: %w", err)
		}
		word := map[bool]string{true: "available", false: "away"}
		return s.record(ctx, tx, p, "member.availability_changed", target("member", p.MemberID),
			audit.Change{Field: "availability", Before: word[cur.Int64 == 1], After: word[available]})
	})
}
