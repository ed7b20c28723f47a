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
	lead, err := s.seedDemoApprover(ctx)
	if err != nil {
		return nil, err
	}
	return append(out, lead), nil
}

// DemoApproverRole is the custom role of the demo's second template approver.
const DemoApproverRole = "Marketing lead"

// DemoApproverEmail signs in the demo's Marketing lead.
const DemoApproverEmail = "marketing@demo.switchboard.test"

// seedDemoApprover adds a custom "Marketing lead" role that writes and approves templates, and a
// member holding it: with the Administrator, the demo has the two people four-eyes review needs.
func (s *Service) seedDemoApprover(ctx context.Context) (DemoCredential, error) {
	cred := DemoCredential{RoleName: DemoApproverRole, Email: DemoApproverEmail, Password: rand.Text()[:16]}
	roles, err := s.store.Roles(ctx)
	if err != nil {
		return cred, err
	}
	var key string
	for _, r := range roles {
		if r.Name == DemoApproverRole && !r.Builtin {
			key = r.Key
		}
	}
	if key == "" {
		admin, err := s.store.ByEmail(ctx, authz.RoleAdministrator+"@demo.switchboard.test")
		if err != nil {
			return cred, err
		}
		p, _, err := s.store.Principal(ctx, admin.ID)
		if err != nil {
			return cred, err
		}
		r, err := s.CreateRole(audit.WithActor(ctx, audit.System()), p, RoleInput{Name: DemoApproverRole,
			Description: "Writes message templates and approves colleagues' templates before they go to Meta."},
			authz.NewSet(authz.TemplatesView, authz.TemplatesCreate, authz.TemplatesApprove, authz.NumbersView))
		if err != nil {
			return cred, err
		}
		stored, err := s.store.RoleByID(ctx, r.ID)
		if err != nil {
			return cred, err
		}
		key = stored.Key
	}
	existing, err := s.store.ByEmail(ctx, cred.Email)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = s.Create(ctx, NewMember{Email: cred.Email, Name: "Demo Marketing Lead", Password: cred.Password, RoleKey: key})
		return cred, err
	case err != nil:
		return cred, err
	}
	return cred, s.resetPassword(ctx, existing, cred.Password)
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
