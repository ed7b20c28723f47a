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
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// PasswordResetLifetime is how long a password reset link works (once).
const PasswordResetLifetime = 30 * time.Minute

// ErrResetInvalid covers every way a reset link can be unusable (used, expired, replaced by a
// password change, unknown, its member deactivated); the visitor is told only that.
var ErrResetInvalid = errors.New("this password reset link does not work: it was used or has expired (links last 30 minutes)")

// ErrNoMail refuses a self-service reset where no mail server is configured: the link could
// reach its owner no other way.
var ErrNoMail = errors.New("this workspace cannot send e-mail")

// PasswordResetSender queues a reset link in the transaction that creates it. issuedBy is the
// administrator's name, "" for a reset the member asked for.
type PasswordResetSender interface {
	SendPasswordReset(ctx context.Context, q db.Querier, to, name, issuedBy, path string, expires time.Time) error
}

// resetThrottleKey keeps reset requests on their own per-account counter: asking for links must
// not lock an account's sign-in (the per-address counter is shared, as with any guessing).
func resetThrottleKey(email string) string { return "password-reset\x00" + email }

// ResetPath is the page of a reset link.
func ResetPath(token string) string { return "/password-reset/" + token }

// RequestPasswordReset is "Forgot your password?": when email belongs to an active member, a
// reset link is e-mailed. The caller answers the same whatever happened (only a throttle or an
// error differ, and those do not depend on the address), and both paths do the same work: a
// throttle write and one transaction with one activity event.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if s.Resets == nil {
		return ErrNoMail
	}
	email = strings.TrimSpace(email)
	addr := audit.RequestFrom(ctx).ClientAddr
	if s.Throttle != nil {
		key := resetThrottleKey(email)
		dec, err := s.Throttle.Check(ctx, key, addr)
		if err != nil {
			return err
		}
		if !dec.Allowed {
			if err := s.recordThrottled(ctx, key, addr, dec.Reason); err != nil {
				return err
			}
			return &ThrottledError{RetryAfter: dec.RetryAfter}
		}
		// Every request counts: a link per minute is plenty for a person, and a flood of them
		// at one inbox (or at many from one address) is refused.
		if _, err := s.Throttle.Failure(ctx, key, addr); err != nil {
			return err
		}
	}
	m, err := s.store.ByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	found := err == nil && m.Active()
	token := rand.Text()
	now := s.clock.Now()
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		ev := audit.Event{Action: "member.password_reset_requested"}
		if !found {
			// What was typed is not kept: it may be someone's password.
			ev.Outcome = audit.OutcomeFailed
			ev.Changes = []audit.Change{{Field: "reason", After: "unknown or deactivated account"}}
			_, err := s.audit.Append(ctx, tx, ev)
			return err
		}
		if err := s.insertReset(ctx, tx, m.ID, 0, token, now); err != nil {
			return err
		}
		if err := s.Resets.SendPasswordReset(ctx, tx, m.Email, m.Name, "", ResetPath(token), now.Add(PasswordResetLifetime)); err != nil {
			return err
		}
		ev.Target = memberTarget(m.ID)
		ev.Changes = []audit.Change{{Field: "delivery", After: "e-mail"}}
		_, err := s.audit.Append(ctx, tx, ev)
		return err
	})
}

func (s *Service) insertReset(ctx context.Context, tx *sql.Tx, memberID, issuedBy int64, token string, now time.Time) error {
	var by any
	if issuedBy > 0 {
		by = issuedBy
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (member_id, token_hash, issued_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, memberID, hashSetupToken(token), by, millis(now), millis(now.Add(PasswordResetLifetime))); err != nil {
		return fmt.Errorf("store reset link: %w", err)
	}
	return nil
}

// IssuedReset is a reset link an administrator issued: e-mailed, or Path to show once when no
// mail server is configured.
type IssuedReset struct {
	Member  Member
	Mailed  bool
	Path    string // "" when mailed: the link went to the member only
	Expires time.Time
}

// IssuePasswordReset makes a reset link for another member, within the rule on which members
// the actor may manage. The link never bypasses the member's 2FA.
func (s *Service) IssuePasswordReset(ctx context.Context, actor *authz.Principal, memberID int64) (IssuedReset, error) {
	token := rand.Text()
	now := s.clock.Now()
	var out IssuedReset
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := s.memberForChange(ctx, tx, actor, memberID)
		if err != nil {
			return err
		}
		if !m.Active() {
			return conflict("%s is deactivated: reactivate them first.", m.Name)
		}
		if err := s.insertReset(ctx, tx, m.ID, actor.MemberID, token, now); err != nil {
			return err
		}
		out = IssuedReset{Member: m, Expires: now.Add(PasswordResetLifetime)}
		delivery := "link shown to " + actor.Name
		if s.Resets != nil {
			if err := s.Resets.SendPasswordReset(ctx, tx, m.Email, m.Name, actor.Name, ResetPath(token), out.Expires); err != nil {
				return err
			}
			out.Mailed, delivery = true, "e-mail"
		} else {
			out.Path = ResetPath(token)
		}
		return s.appendMemberEvent(ctx, tx, "member.password_reset_issued", m, []audit.Change{{Field: "delivery", After: delivery}})
	})
	return out, err
}

// PasswordResetFor returns the member a reset link is for, while it works.
func (s *Service) PasswordResetFor(ctx context.Context, token string) (Member, error) {
	var memberID int64
	err := s.db.R.QueryRowContext(ctx, `SELECT member_id FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`,
		hashSetupToken(token), millis(s.clock.Now())).Scan(&memberID)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, ErrResetInvalid
	}
	if err != nil {
		return Member{}, fmt.Errorf("find reset link: %w", err)
	}
	m, err := s.store.ByID(ctx, memberID)
	if errors.Is(err, ErrNotFound) || (err == nil && !m.Active()) {
		return Member{}, ErrResetInvalid
	}
	return m, err
}

// ResetPassword sets a new password with a reset link. The link and every other open link of
// the member stop working, and every session of the member ends. Two-factor authentication is
// left as it is: the member signs in afterwards, code step included.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (Member, error) {
	m, err := s.PasswordResetFor(ctx, token)
	if errors.Is(err, ErrResetInvalid) {
		return Member{}, s.resetRefused(ctx)
	}
	if err != nil {
		return Member{}, err
	}
	if err := auth.ValidateNewPassword(password, m.Email, m.Name, "switchboard"); err != nil {
		return Member{}, FieldErrors{"password": err.Error()}
	}
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return Member{}, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Checked again inside the transaction: two tabs submitting one link get one reset.
		res, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND member_id = ?
			AND used_at IS NULL AND expires_at > ?`, millis(s.clock.Now()), hashSetupToken(token), m.ID, millis(s.clock.Now()))
		if err != nil {
			return fmt.Errorf("use reset link: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrResetInvalid
		}
		return s.setPassword(ctx, tx, m, hash, audit.Event{Actor: audit.MemberActor(m.ID, m.Name),
			Changes: []audit.Change{{Field: "by", After: "reset link"}}})
	})
	if errors.Is(err, ErrResetInvalid) {
		return Member{}, s.resetRefused(ctx)
	}
	return m, err
}

// setPassword stores a new password hash, ends every session and voids every open reset link.
func (s *Service) setPassword(ctx context.Context, tx *sql.Tx, m Member, hash string, ev audit.Event) error {
	now := s.clock.Now()
	if err := s.store.setPasswordHash(ctx, tx, m.ID, hash, now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE member_id = ? AND used_at IS NULL`, millis(now), m.ID); err != nil {
		return fmt.Errorf("void reset links: %w", err)
	}
	if err := s.store.revokeSessions(ctx, tx, m.ID); err != nil {
		return err
	}
	ev.Action, ev.Target = "member.password_reset", memberTarget(m.ID)
	_, err := s.audit.Append(ctx, tx, ev)
	return err
}

// resetRefused records a link that did not work (sampled: a script could try thousands) and
// returns ErrResetInvalid.
func (s *Service) resetRefused(ctx context.Context) error {
	addr := audit.RequestFrom(ctx).ClientAddr
	record, left := s.throttled.Allow("reset-link|"+addr, s.clock.Now())
	if record {
		changes := []audit.Change{{Field: "reason", After: "link used, expired or unknown"}}
		if left > 0 {
			changes = append(changes, audit.Change{Field: "refusals_not_recorded_before", After: left})
		}
		if _, err := s.audit.Record(ctx, audit.Event{Action: "member.password_reset_refused", Outcome: audit.OutcomeDenied,
			Changes: changes}); err != nil {
			return err
		}
	}
	return ErrResetInvalid
}

// SetPasswordByEmail replaces a member's password without the old one or a link: the command
// line, for the owner who is locked out (whoever runs it can read the database anyway). Sessions
// end, open reset links stop working, and 2FA stays.
func (s *Service) SetPasswordByEmail(ctx context.Context, email, password string) (Member, error) {
	m, err := s.store.ByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		return Member{}, err
	}
	if err := auth.ValidateNewPassword(password, m.Email, m.Name, "switchboard"); err != nil {
		return Member{}, FieldErrors{"password": err.Error()}
	}
	hash, err := s.passwords.Hash(password)
	if err != nil {
		return Member{}, err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		return s.setPassword(ctx, tx, m, hash, audit.Event{Changes: []audit.Change{{Field: "by", After: "command line"}}})
	})
	return m, err
}

// CreateFromCommandLine adds a member like Create, and raises the "role raised to
// Administrator" alert when the member is one: the command line passes none of the web's
// checks (re-authentication, no escalation), so the other administrators are told.
func (s *Service) CreateFromCommandLine(ctx context.Context, in NewMember) (Member, error) {
	var m Member
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if m, err = s.create(ctx, tx, in); err != nil {
			return err
		}
		if m.RoleKey != authz.RoleAdministrator {
			return nil
		}
		by := "the command line"
		if a, ok := audit.ActorFrom(ctx); ok && a.Name != "" {
			by = a.Name
		}
		return raise(ctx, s.Alerts, tx, alerts.Alert{Kind: alerts.KindRoleRaisedToAdministrator, Subject: alerts.MemberSubject(m.ID),
			Title: m.Name + " was added as an Administrator from " + by + "."})
	})
	return m, err
}

// AlertMailRecipients lists the addresses of active members who may see security alerts and
// have not turned alert e-mail off, read through q (the transaction raising the alert).
func (s *Store) AlertMailRecipients(ctx context.Context, q db.Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.email FROM members m
		JOIN role_permissions rp ON rp.role_id = m.role_id AND rp.permission = ?
		WHERE m.status = 'active' AND m.alert_mail = 1 ORDER BY m.id`, authz.AlertsView.ID())
	if err != nil {
		return nil, fmt.Errorf("alert recipients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AlertRecipient is a member an alert may be e-mailed to.
type AlertRecipient struct {
	ID    int64
	Email string
}

// AlertMailRecipientsAmong is AlertMailRecipients limited to the members ids (an alert rule's
// choice): only those still active, still allowed to see alerts and not opted out get it.
func (s *Store) AlertMailRecipientsAmong(ctx context.Context, q db.Querier, ids []int64) ([]AlertRecipient, error) {
	var out []AlertRecipient
	for _, id := range ids {
		var r AlertRecipient
		err := q.QueryRowContext(ctx, `SELECT m.id, m.email FROM members m
			JOIN role_permissions rp ON rp.role_id = m.role_id AND rp.permission = ?
			WHERE m.id = ? AND m.status = 'active' AND m.alert_mail = 1`, authz.AlertsView.ID(), id).Scan(&r.ID, &r.Email)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("alert recipients: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// MayReceiveAlerts reports whether a member is active and may see alerts, so an alert rule may
// e-mail them.
func (s *Store) MayReceiveAlerts(ctx context.Context, q db.Querier, id int64) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM members m
		JOIN role_permissions rp ON rp.role_id = m.role_id AND rp.permission = ?
		WHERE m.id = ? AND m.status = 'active'`, authz.AlertsView.ID(), id).Scan(&n); err != nil {
		return false, fmt.Errorf("alert recipient: %w", err)
	}
	return n > 0, nil
}

// AlertMail reports whether the member gets security alerts by e-mail (when they may see them).
func (s *Store) AlertMail(ctx context.Context, memberID int64) (bool, error) {
	var on bool
	if err := s.db.R.QueryRowContext(ctx, `SELECT alert_mail FROM members WHERE id = ?`, memberID).Scan(&on); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return false, ErrNotFound
		}
		return false, fmt.Errorf("read alert mail setting: %w", err)
	}
	return on, nil
}

// SetAlertMail turns the member's own alert e-mail on or off.
func (s *Service) SetAlertMail(ctx context.Context, memberID int64, on bool) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var before bool
		if err := tx.QueryRowContext(ctx, `SELECT alert_mail FROM members WHERE id = ?`, memberID).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("read alert mail setting: %w", err)
		}
		if before == on {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET alert_mail = ?, updated_at = ? WHERE id = ?`, on, millis(s.clock.Now()), memberID); err != nil {
			return fmt.Errorf("save alert mail setting: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "member.alert_mail_changed", Target: memberTarget(memberID),
			Changes: []audit.Change{{Field: "alert_mail", Before: before, After: on}}})
		return err
	})
}

// ListFromCommandLine lists every member for `switchboard user list`, with an activity event:
// the list names every account of the workspace.
func (s *Service) ListFromCommandLine(ctx context.Context) ([]Member, error) {
	list, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.audit.Record(ctx, audit.Event{Action: "member.listed", Changes: []audit.Change{{Field: "members", After: len(list)}}}); err != nil {
		return nil, err
	}
	return list, nil
}
