package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// DemoCredential is a sign-in of the demo workspace, printed at start.
type DemoCredential struct {
	RoleName string
	Email    string
	Password string
}

// SeedDemo makes sure the demo workspace has one member per built-in role and gives each a fresh
// random password, so a demo left running on a network is not open with a published password.
func (s *Service) SeedDemo(ctx context.Context) ([]DemoCredential, error) {
	var out []DemoCredential
	for _, r := range authz.BuiltinRoles() {
		cred := DemoCredential{RoleName: r.Name, Email: r.Key + "@demo.switchboard.test", Password: rand.Text()[:16]}
		existing, err := s.store.ByEmail(ctx, cred.Email)
		switch {
		case errors.Is(err, ErrNotFound):
			if _, err := s.Create(ctx, NewMember{Email: cred.Email, Name: "Demo " + r.Name, Password: cred.Password, RoleKey: r.Key}); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			if err := s.resetPassword(ctx, existing, cred.Password); err != nil {
				return nil, err
			}
		}
		out = append(out, cred)
	}
	return out, nil
}

func (s *Service) resetPassword(ctx context.Context, m Member, password string) error {
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.store.setPasswordHash(ctx, tx, m.ID, hash, s.clock.Now()); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{
			Action: "member.password_reset", Target: memberTarget(m.ID), Outcome: audit.OutcomeSuccess,
		})
		return err
	})
}
