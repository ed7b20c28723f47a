package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Session is one signed-in browser of a member.
type Session struct {
	ID         string
	MemberID   int64
	UserAgent  string
	ClientAddr string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// StartSession records a new signed-in session and returns its id.
func (s *Store) StartSession(ctx context.Context, memberID int64, userAgent, addr string, at time.Time) (string, error) {
	id := rand.Text()
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO member_sessions (id, member_id, user_agent, client_addr, created_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, memberID, userAgent, addr, millis(at), millis(at)); err != nil {
		return "", fmt.Errorf("record session: %w", err)
	}
	return id, nil
}

// SessionExists reports whether the session is still live (not ended by its member, an
// administrator, or a privilege change).
func (s *Store) SessionExists(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM member_sessions WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("find session: %w", err)
	}
	return n > 0, nil
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.db.W.ExecContext(ctx, `UPDATE member_sessions SET last_seen_at = ? WHERE id = ?`, millis(at), id); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// ForgetSession removes a session record (sign-out, time-out).
func (s *Store) ForgetSession(ctx context.Context, id string) error {
	if _, err := s.db.W.ExecContext(ctx, `DELETE FROM member_sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("forget session: %w", err)
	}
	return nil
}

// Sessions lists a member's live sessions, most recently active first.
func (s *Store) Sessions(ctx context.Context, memberID int64) ([]Session, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, member_id, user_agent, client_addr, created_at, last_seen_at
		FROM member_sessions WHERE member_id = ? ORDER BY last_seen_at DESC`, memberID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var ss Session
		var created, seen int64
		if err := rows.Scan(&ss.ID, &ss.MemberID, &ss.UserAgent, &ss.ClientAddr, &created, &seen); err != nil {
			return nil, err
		}
		ss.CreatedAt, ss.LastSeenAt = fromMillis(created), fromMillis(seen)
		out = append(out, ss)
	}
	return out, rows.Err()
}

// revokeSessions ends every session of a member at once: the epoch makes the scs sessions
// invalid, and the records go so the sessions page agrees.
func (s *Store) revokeSessions(ctx context.Context, q db.Querier, memberID int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE members SET session_epoch = session_epoch + 1 WHERE id = ?`, memberID); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM member_sessions WHERE member_id = ?`, memberID); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// EndSession ends one session: the member's own, or anyone's for those who may manage members.
func (s *Service) EndSession(ctx context.Context, actor *authz.Principal, sessionID string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var memberID int64
		err := tx.QueryRowContext(ctx, `SELECT member_id FROM member_sessions WHERE id = ?`, sessionID).Scan(&memberID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("find session: %w", err)
		}
		if memberID != actor.MemberID {
			if !actor.Can(authz.MembersManage) {
				return ErrNotFound // someone else's session: not even its existence is told
			}
			if _, err := s.memberForChange(ctx, tx, actor, memberID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM member_sessions WHERE id = ?`, sessionID); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "member.session_ended", Target: memberTarget(memberID)})
		return err
	})
}
