package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// InvitationLifetime is how long an invitation link works.
const InvitationLifetime = 72 * time.Hour

// ErrInvitationInvalid covers every way an invitation link can be unusable; the invitee is told
// only that, not which (used, revoked, expired, unknown).
var ErrInvitationInvalid = errors.New("this invitation link is not valid any more: ask for a new one")

// InvitationSender queues an invitation e-mail through q, the transaction that creates the
// invitation, so the mail leaves only if the invitation exists. path is the invitation's page.
// Switchboard needs none: without a mail server the administrator copies the link shown once.
type InvitationSender interface {
	SendInvitation(ctx context.Context, q db.Querier, to, invitedBy, roleName, path string, expires time.Time) error
}

// Invitation is an offer to join the workspace with a role and number scope.
type Invitation struct {
	ID         int64
	Email      string
	RoleID     int64
	RoleName   string
	AllNumbers bool
	NumberIDs  []int64
	InvitedBy  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	// Mailed: the link went out by e-mail (a mail server is configured).
	Mailed bool
}

// InvitationPath is the page of an invitation link.
func InvitationPath(token string) string { return "/invitations/" + token }

// InviteInput is what an administrator fills in to invite someone.
type InviteInput struct {
	Email      string
	RoleID     int64
	AllNumbers bool
	NumberIDs  []int64
}

// Invite creates a single-use invitation and returns it with its token. Only the token's hash is
// stored; the caller shows the link once (no e-mail server is needed; a Notifier can be added).
func (s *Service) Invite(ctx context.Context, actor *authz.Principal, in InviteInput) (Invitation, string, error) {
	in.Email = strings.TrimSpace(in.Email)
	in.NumberIDs = normaliseIDs(in.NumberIDs)
	fe := FieldErrors{}
	if err := ValidateEmail(in.Email); err != nil {
		fe.Add("email", err.Error())
	}
	if !in.AllNumbers && len(in.NumberIDs) == 0 {
		fe.Add("numbers", "Choose at least one phone number, or all numbers.")
	}
	token := rand.Text()
	var inv Invitation
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		role, err := s.store.roleByID(ctx, tx, in.RoleID)
		if errors.Is(err, ErrNotFound) {
			fe.Add("role", "Choose a role for the new member.")
		} else if err != nil {
			return err
		}
		if _, bad := fe["email"]; !bad {
			taken, err := s.store.emailTaken(ctx, tx, in.Email)
			if err != nil {
				return err
			}
			if taken {
				fe.Add("email", "A member with this e-mail address already exists.")
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if err := checkGrant(actor, "the role "+role.Name, role.Permissions); err != nil {
			return err
		}
		if err := checkScopeGrant(actor, in.AllNumbers, in.NumberIDs); err != nil {
			return err
		}
		if err := s.store.checkNumbersExist(ctx, tx, in.NumberIDs); err != nil {
			return err
		}
		if err := s.checkOpenInvitationsReplaceable(ctx, tx, actor, in.Email); err != nil {
			return err
		}
		now := s.clock.Now()
		// A new invitation for the same address replaces any open one.
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ? WHERE email = ? COLLATE NOCASE
			AND accepted_at IS NULL AND revoked_at IS NULL`, millis(now), in.Email); err != nil {
			return fmt.Errorf("replace invitation: %w", err)
		}
		numbers := ""
		if !in.AllNumbers {
			numbers = db.FormatIDs(in.NumberIDs)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO invitations (email, role_id, all_numbers, number_ids, token_hash, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, in.Email, role.ID, in.AllNumbers, numbers, hashSetupToken(token), actor.MemberID,
			millis(now), millis(now.Add(InvitationLifetime)))
		if err != nil {
			return fmt.Errorf("create invitation: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		inv = Invitation{ID: id, Email: in.Email, RoleID: role.ID, RoleName: role.Name, AllNumbers: in.AllNumbers,
			NumberIDs: in.NumberIDs, InvitedBy: actor.Name, CreatedAt: now, ExpiresAt: now.Add(InvitationLifetime)}
		if s.Invitations != nil {
			if err := s.Invitations.SendInvitation(ctx, tx, inv.Email, actor.Name, role.Name, InvitationPath(token), inv.ExpiresAt); err != nil {
				return err
			}
			inv.Mailed = true
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "invitation.created", Target: audit.NewTarget("invitation", id),
			Changes: []audit.Change{{Field: "email", After: in.Email}, {Field: "role", After: role.Name},
				{Field: "numbers", After: scopeLabel(in.AllNumbers, in.NumberIDs)}}})
		return err
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

func (s *Service) inviterStillGrants(ctx context.Context, tx *sql.Tx, inv Invitation, role Role) error {
	var inviter sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT invited_by FROM invitations WHERE id = ?`, inv.ID).Scan(&inviter); err != nil {
		return fmt.Errorf("find inviter: %w", err)
	}
	if !inviter.Valid {
		return ErrInvitationInvalid
	}
	m, err := scanMember(tx.QueryRowContext(ctx,
		`SELECT `+memberColumns+` FROM members m JOIN roles r ON r.id = m.role_id WHERE m.id = ?`, inviter.Int64))
	if err != nil || !m.Active() {
		return ErrInvitationInvalid
	}
	perms, err := s.store.rolePermissions(ctx, tx, m.RoleID)
	if err != nil {
		return err
	}
	p := &authz.Principal{MemberID: m.ID, Permissions: perms, Numbers: authz.NumberScope{All: m.AllNumbers, IDs: m.NumberIDs}}
	if !p.Can(authz.MembersInvite) || checkGrant(p, role.Name, role.Permissions) != nil || checkScopeGrant(p, inv.AllNumbers, inv.NumberIDs) != nil {
		return ErrInvitationInvalid
	}
	return nil
}

// openInvitation loads an invitation that can still be accepted, with the id of who sent it.
func (s *Service) openInvitation(ctx context.Context, tx *sql.Tx, id int64) (Invitation, int64, error) {
	var inviterID sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT invited_by FROM invitations WHERE id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, id).Scan(&inviterID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Invitation{}, 0, ErrNotFound
		}
		return Invitation{}, 0, fmt.Errorf("find invitation: %w", err)
	}
	inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations i JOIN roles r ON r.id = i.role_id
		LEFT JOIN members m ON m.id = i.invited_by WHERE i.id = ?`, id))
	if err != nil {
		return Invitation{}, 0, err
	}
	return inv, inviterID.Int64, nil
}

// checkInvitationManageable applies the manage rule to an invitation: its future member (the
// invitation's role and scope) must lie within the actor's reach, and so must the member who
// sent it, unless that is the actor.
func (s *Service) checkInvitationManageable(ctx context.Context, tx *sql.Tx, actor *authz.Principal, inv Invitation, inviterID int64) error {
	if actor == nil {
		return forbidden("Sign in first.")
	}
	role, err := s.store.roleByID(ctx, tx, inv.RoleID)
	if err != nil {
		return err
	}
	if err := checkWithin(actor, "The invitation for "+inv.Email, role.Permissions, authz.NumberScope{All: inv.AllNumbers, IDs: inv.NumberIDs}); err != nil {
		return err
	}
	if inviterID == 0 || inviterID == actor.MemberID {
		return nil
	}
	_, err = s.memberForChange(ctx, tx, actor, inviterID)
	if errors.Is(err, ErrNotFound) {
		return nil // the inviter was deleted; the invitation itself was checked above
	}
	return err
}

// checkOpenInvitationsReplaceable: a new invitation revokes the open ones for the same address,
// so the actor must be allowed to revoke each of them.
func (s *Service) checkOpenInvitationsReplaceable(ctx context.Context, tx *sql.Tx, actor *authz.Principal, email string) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM invitations WHERE email = ? COLLATE NOCASE
		AND accepted_at IS NULL AND revoked_at IS NULL`, email)
	if err != nil {
		return fmt.Errorf("find open invitations: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("scan invitation id: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find open invitations: %w", err)
	}
	for _, id := range ids {
		inv, inviterID, err := s.openInvitation(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.checkInvitationManageable(ctx, tx, actor, inv, inviterID); err != nil {
			return forbidden("%s already has an open invitation that you cannot replace: %s", email, err.Error())
		}
	}
	return nil
}

const invitationColumns = `i.id, i.email, i.role_id, r.name, i.all_numbers, i.number_ids, coalesce(m.name, ''), i.created_at, i.expires_at`

func scanInvitation(row interface{ Scan(...any) error }) (Invitation, error) {
	var inv Invitation
	var numbers string
	var created, expires int64
	err := row.Scan(&inv.ID, &inv.Email, &inv.RoleID, &inv.RoleName, &inv.AllNumbers, &numbers, &inv.InvitedBy, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Invitation{}, ErrInvitationInvalid
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("scan invitation: %w", err)
	}
	inv.NumberIDs = db.ParseIDs(numbers)
	inv.CreatedAt, inv.ExpiresAt = fromMillis(created), fromMillis(expires)
	return inv, nil
}

// PendingInvitations lists invitations that can still be accepted.
func (s *Service) PendingInvitations(ctx context.Context) ([]Invitation, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+invitationColumns+` FROM invitations i JOIN roles r ON r.id = i.role_id
		LEFT JOIN members m ON m.id = i.invited_by
		WHERE i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ? ORDER BY i.created_at DESC`, millis(s.clock.Now()))
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// InvitationByToken finds the open invitation a link carries.
func (s *Service) InvitationByToken(ctx context.Context, token string) (Invitation, error) {
	return scanInvitation(s.db.R.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations i JOIN roles r ON r.id = i.role_id
		LEFT JOIN members m ON m.id = i.invited_by
		WHERE i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`,
		hashSetupToken(token), millis(s.clock.Now())))
}

// RevokeInvitation makes an open invitation unusable.
func (s *Service) RevokeInvitation(ctx context.Context, actor *authz.Principal, id int64) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		inv, inviterID, err := s.openInvitation(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.checkInvitationManageable(ctx, tx, actor, inv, inviterID); err != nil {
			return err
		}
		email := inv.Email
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = ? WHERE id = ?`, millis(s.clock.Now()), id); err != nil {
			return fmt.Errorf("revoke invitation: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Action: "invitation.revoked", Target: audit.NewTarget("invitation", id),
			Changes: []audit.Change{{Field: "email", Before: email}}})
		return err
	})
}

// AcceptInvitation creates the invited member with the role and scope of the invitation.
func (s *Service) AcceptInvitation(ctx context.Context, token, name, password string) (Member, error) {
	var m Member
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM invitations i JOIN roles r ON r.id = i.role_id
			LEFT JOIN members m ON m.id = i.invited_by
			WHERE i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`,
			hashSetupToken(token), millis(s.clock.Now())))
		if err != nil {
			return err
		}
		role, err := s.store.roleByID(ctx, tx, inv.RoleID)
		if err != nil {
			return err
		}
		// The invitation is only as good as its inviter is now: deactivated, deleted, or no
		// longer holding what they offered, and it lapses.
		if err := s.inviterStillGrants(ctx, tx, inv, role); err != nil {
			return err
		}
		if m, err = s.create(ctx, tx, NewMember{Email: inv.Email, Name: name, Password: password, RoleKey: role.Key}); err != nil {
			return err
		}
		if !inv.AllNumbers {
			if err := s.store.setNumberScope(ctx, tx, m.ID, false, inv.NumberIDs, s.clock.Now()); err != nil {
				return err
			}
			m.AllNumbers, m.NumberIDs = false, inv.NumberIDs
		} else {
			m.AllNumbers = true
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = ?, member_id = ? WHERE id = ?`,
			millis(s.clock.Now()), m.ID, inv.ID); err != nil {
			return fmt.Errorf("use invitation: %w", err)
		}
		if _, err = s.audit.Append(ctx, tx, audit.Event{Actor: audit.MemberActor(m.ID, m.Name), Action: "invitation.accepted",
			Target: audit.NewTarget("invitation", inv.ID), Changes: []audit.Change{{Field: "member", After: m.ID}}}); err != nil {
			return err
		}
		// A new Administrator is a new Administrator whichever way they came in.
		if role.Key != authz.RoleAdministrator {
			return nil
		}
		return raise(ctx, s.Alerts, tx, alerts.Alert{Kind: alerts.KindRoleRaisedToAdministrator, Subject: alerts.MemberSubject(m.ID),
			Title: m.Name + " joined as an Administrator (invited by " + inv.InvitedBy + ")."})
	})
	return m, err
}
