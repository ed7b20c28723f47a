package members

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// IssueSetupToken makes a fresh one-time set-up token while the workspace has no member, so that
// only someone who can read the server's log can claim a new instance. Earlier tokens stop
// working. It returns "" when the workspace already has members.
func (s *Service) IssueSetupToken(ctx context.Context) (string, error) {
	token := rand.Text()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		n, err := s.store.Count(ctx, tx)
		if err != nil {
			return err
		}
		if n > 0 {
			token = ""
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("clear set-up tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at) VALUES (?, ?)`,
			hashSetupToken(token), millis(s.clock.Now())); err != nil {
			return fmt.Errorf("store set-up token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// CheckSetupToken tells whether set-up is still open and token is the current one.
func (s *Service) CheckSetupToken(ctx context.Context, token string) error {
	return s.checkSetup(ctx, s.db.R, token)
}

func (s *Service) checkSetup(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, token string) error {
	var members, tokens int
	err := q.QueryRowContext(ctx,
		`SELECT (SELECT count(*) FROM members), (SELECT count(*) FROM setup_tokens WHERE token_hash = ?)`,
		hashSetupToken(token)).Scan(&members, &tokens)
	if err != nil {
		return fmt.Errorf("check set-up: %w", err)
	}
	if members > 0 {
		return ErrSetupClosed
	}
	if token == "" || tokens == 0 {
		return ErrSetupToken
	}
	return nil
}

// CompleteSetup creates the owner as an Administrator and uses up the token.
func (s *Service) CompleteSetup(ctx context.Context, token string, in NewMember) (Member, error) {
	in.RoleKey = authz.RoleAdministrator
	var m Member
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkSetup(ctx, tx, token); err != nil {
			return err
		}
		var err error
		if m, err = s.create(ctx, tx, in); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("use up set-up token: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{
			Actor: audit.MemberActor(m.ID, m.Name), Action: "setup.completed",
			Target: memberTarget(m.ID), Outcome: audit.OutcomeSuccess,
		})
		return err
	})
	if err != nil {
		if errors.Is(err, ErrSetupToken) || errors.Is(err, ErrSetupClosed) {
			_, _ = s.audit.Record(ctx, audit.Event{Action: "setup.refused", Outcome: audit.OutcomeDenied,
				Changes: []audit.Change{{Field: "reason", After: err.Error()}}})
		}
		return Member{}, err
	}
	return m, nil
}

func hashSetupToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
