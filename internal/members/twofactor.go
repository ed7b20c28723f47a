package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pquerna/otp"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/secrets"
	"github.com/switchboard/switchboard/internal/settings"
)

// TwoFactor is enrolment, verification and reset of members' second factor (TOTP and recovery
// codes).
type TwoFactor struct {
	db       *db.DB
	store    *Store
	audit    *audit.Log
	box      *secrets.Box
	clock    clock.Clock
	settings *settings.Store
	alerts   *alerts.Service
	issuer   string
}

// NewTwoFactor wires the two-factor service. alerts may be nil.
func NewTwoFactor(d *db.DB, store *Store, log *audit.Log, box *secrets.Box, clk clock.Clock, st *settings.Store, al *alerts.Service) *TwoFactor {
	return &TwoFactor{db: d, store: store, audit: log, box: box, clock: clk, settings: st, alerts: al, issuer: "Switchboard"}
}

// ErrAlreadyEnrolled refuses a second enrolment: replacing an authenticator goes through
// removing the current one, which needs re-authentication; otherwise a stolen session could swap
// in its own authenticator and pass every re-authentication after.
var ErrAlreadyEnrolled = errors.New("two-factor authentication is already on: turn it off first to use another authenticator")

// ErrNoPendingEnrolment means enrolment was not started (or already finished).
var ErrNoPendingEnrolment = errors.New("start enrolment again: no authenticator is waiting for confirmation")

// TwoFactorState is what a member's security page shows.
type TwoFactorState struct {
	Enabled           bool
	EnabledAt         time.Time
	Required          bool
	RecoveryCodesLeft int
}

type totpRow struct {
	secretEnc, pendingEnc []byte
	enabledAt             sql.NullInt64
	lastStep              int64
	roleRequires          bool
}

func (t *TwoFactor) row(ctx context.Context, q db.Querier, memberID int64) (totpRow, error) {
	var r totpRow
	err := q.QueryRowContext(ctx, `SELECT m.totp_secret_enc, m.totp_pending_enc, m.totp_enabled_at, m.totp_last_step, r.requires_2fa
		FROM members m JOIN roles r ON r.id = m.role_id WHERE m.id = ?`, memberID).
		Scan(&r.secretEnc, &r.pendingEnc, &r.enabledAt, &r.lastStep, &r.roleRequires)
	if errors.Is(err, sql.ErrNoRows) {
		return totpRow{}, ErrNotFound
	}
	if err != nil {
		return totpRow{}, fmt.Errorf("read two-factor state: %w", err)
	}
	return r, nil
}

func boxContext(memberID int64) string { return "member:" + strconv.FormatInt(memberID, 10) + ":totp" }

// State tells whether the member has 2FA, must have it, and how many recovery codes are left.
func (t *TwoFactor) State(ctx context.Context, memberID int64) (TwoFactorState, error) {
	r, err := t.row(ctx, t.db.R, memberID)
	if err != nil {
		return TwoFactorState{}, err
	}
	policy, err := t.settings.Security(ctx)
	if err != nil {
		return TwoFactorState{}, err
	}
	st := TwoFactorState{Enabled: r.enabledAt.Valid, Required: policy.TwoFactor == settings.TwoFactorEveryone || r.roleRequires}
	if st.Enabled {
		st.EnabledAt = fromMillis(r.enabledAt.Int64)
	}
	if err := t.db.R.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE member_id = ? AND used_at IS NULL`, memberID).
		Scan(&st.RecoveryCodesLeft); err != nil {
		return TwoFactorState{}, fmt.Errorf("count recovery codes: %w", err)
	}
	return st, nil
}

// BeginEnrolment makes a new seed for the member and keeps it, encrypted, until a correct code
// confirms that the authenticator app has it.
func (t *TwoFactor) BeginEnrolment(ctx context.Context, m Member) (*otp.Key, error) {
	if r, err := t.row(ctx, t.db.R, m.ID); err != nil {
		return nil, err
	} else if r.enabledAt.Valid {
		return nil, ErrAlreadyEnrolled
	}
	key, err := auth.NewTOTPKey(t.issuer, m.Email)
	if err != nil {
		return nil, err
	}
	sealed, err := t.box.Seal([]byte(key.String()), boxContext(m.ID))
	if err != nil {
		return nil, err
	}
	err = t.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE members SET totp_pending_enc = ? WHERE id = ?`, sealed, m.ID); err != nil {
			return fmt.Errorf("store pending seed: %w", err)
		}
		_, err := t.audit.Append(ctx, tx, audit.Event{Action: "member.2fa_enrolment_started", Target: memberTarget(m.ID)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// PendingKey returns the seed waiting for confirmation, to show it again.
func (t *TwoFactor) PendingKey(ctx context.Context, memberID int64) (*otp.Key, error) {
	r, err := t.row(ctx, t.db.R, memberID)
	if err != nil {
		return nil, err
	}
	if r.pendingEnc == nil {
		return nil, ErrNoPendingEnrolment
	}
	raw, err := t.box.Open(r.pendingEnc, boxContext(memberID))
	if err != nil {
		return nil, err
	}
	return otp.NewKeyFromURL(string(raw))
}

// ConfirmEnrolment turns 2FA on once code proves the app has the seed, and returns the member's
// recovery codes (shown once). The member's other sessions end: 2FA changed.
func (t *TwoFactor) ConfirmEnrolment(ctx context.Context, memberID int64, code string) ([]string, error) {
	var codes []string
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := t.row(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if r.enabledAt.Valid {
			return ErrAlreadyEnrolled
		}
		if r.pendingEnc == nil {
			return ErrNoPendingEnrolment
		}
		raw, err := t.box.Open(r.pendingEnc, boxContext(memberID))
		if err != nil {
			return err
		}
		key, err := otp.NewKeyFromURL(string(raw))
		if err != nil {
			return fmt.Errorf("pending seed: %w", err)
		}
		step, err := auth.ValidateTOTP(code, key.Secret(), 0, t.clock.Now())
		if err != nil {
			return err
		}
		sealed, err := t.box.Seal([]byte(key.Secret()), boxContext(memberID))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET totp_secret_enc = ?, totp_pending_enc = NULL, totp_enabled_at = ?,
			totp_last_step = ? WHERE id = ?`, sealed, millis(t.clock.Now()), step, memberID); err != nil {
			return fmt.Errorf("enable 2FA: %w", err)
		}
		if err := t.store.revokeSessions(ctx, tx, memberID); err != nil {
			return err
		}
		if codes, err = t.replaceRecoveryCodes(ctx, tx, memberID); err != nil {
			return err
		}
		_, err = t.audit.Append(ctx, tx, audit.Event{Action: "member.2fa_enabled", Target: memberTarget(memberID)})
		return err
	})
	return codes, err
}

// Verify checks a TOTP code at sign-in (or re-authentication). A replayed code is refused,
// recorded and alerted on: it means someone saw a code the member already used.
func (t *TwoFactor) Verify(ctx context.Context, memberID int64, code string) error {
	var result error
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := t.row(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if r.secretEnc == nil {
			return auth.ErrTOTPInvalid
		}
		secret, err := t.box.Open(r.secretEnc, boxContext(memberID))
		if err != nil {
			return err
		}
		step, verr := auth.ValidateTOTP(code, string(secret), r.lastStep, t.clock.Now())
		switch {
		case errors.Is(verr, auth.ErrTOTPReplay):
			result = verr
			if _, err := t.audit.Append(ctx, tx, audit.Event{Action: "member.totp_replayed", Target: memberTarget(memberID),
				Outcome: audit.OutcomeDenied}); err != nil {
				return err
			}
			return raise(ctx, t.alerts, tx, alerts.Alert{Kind: alerts.KindTOTPReplay, Subject: alerts.MemberSubject(memberID),
				Title: "An already used 2FA code was tried again for a member's account."})
		case verr != nil:
			result = verr
			_, err := t.audit.Append(ctx, tx, audit.Event{Action: "member.2fa_failed", Target: memberTarget(memberID),
				Outcome: audit.OutcomeFailed})
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET totp_last_step = ? WHERE id = ?`, step, memberID); err != nil {
			return fmt.Errorf("record TOTP step: %w", err)
		}
		_, err = t.audit.Append(ctx, tx, audit.Event{Action: "member.2fa_verified", Target: memberTarget(memberID)})
		return err
	})
	if err != nil {
		return err
	}
	return result
}

// UseRecoveryCode accepts one unused recovery code instead of a TOTP code, once.
func (t *TwoFactor) UseRecoveryCode(ctx context.Context, memberID int64, code string) error {
	var result error
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE member_id = ? AND code_hash = ? AND used_at IS NULL`,
			millis(t.clock.Now()), memberID, auth.HashRecoveryCode(code))
		if err != nil {
			return fmt.Errorf("use recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			result = auth.ErrRecoveryInvalid
			_, err := t.audit.Append(ctx, tx, audit.Event{Action: "member.recovery_code_failed", Target: memberTarget(memberID),
				Outcome: audit.OutcomeFailed})
			return err
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE member_id = ? AND used_at IS NULL`, memberID).Scan(&left); err != nil {
			return err
		}
		_, err = t.audit.Append(ctx, tx, audit.Event{Action: "member.recovery_code_used", Target: memberTarget(memberID),
			Changes: []audit.Change{{Field: "recovery_codes_left", After: left}}})
		return err
	})
	if err != nil {
		return err
	}
	return result
}

// RegenerateRecoveryCodes replaces all recovery codes with new ones, returned to show once.
func (t *TwoFactor) RegenerateRecoveryCodes(ctx context.Context, memberID int64) ([]string, error) {
	var codes []string
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := t.row(ctx, tx, memberID)
		if err != nil {
			return err
		}
		if !r.enabledAt.Valid {
			return conflict("Turn on two-factor authentication first.")
		}
		if codes, err = t.replaceRecoveryCodes(ctx, tx, memberID); err != nil {
			return err
		}
		_, err = t.audit.Append(ctx, tx, audit.Event{Action: "member.recovery_codes_regenerated", Target: memberTarget(memberID)})
		return err
	})
	return codes, err
}

func (t *TwoFactor) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, memberID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE member_id = ?`, memberID); err != nil {
		return nil, fmt.Errorf("clear recovery codes: %w", err)
	}
	codes, hashes := auth.NewRecoveryCodes()
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (member_id, code_hash) VALUES (?, ?)`, memberID, h); err != nil {
			return nil, fmt.Errorf("store recovery code: %w", err)
		}
	}
	return codes, nil
}

// Remove turns off the member's own 2FA, unless their role or the policy requires it.
func (t *TwoFactor) Remove(ctx context.Context, memberID int64) error {
	st, err := t.State(ctx, memberID)
	if err != nil {
		return err
	}
	if st.Required {
		return conflict("Your role requires two-factor authentication, so it cannot be turned off.")
	}
	return t.clear(ctx, memberID, "member.2fa_removed", alerts.KindTwoFactorRemoved, "A member turned off two-factor authentication.")
}

// Reset clears a member's second factor for them (a lost phone). Only someone who may manage the
// member can, and the caller must have checked that the actor's own session is 2FA-verified and
// recently re-authenticated; it is recorded and alerted on, since it is how an account takeover
// would look.
func (t *TwoFactor) Reset(ctx context.Context, actor *authz.Principal, memberID int64) error {
	if !actor.Can(authz.MembersManage) {
		return forbidden("Resetting 2FA needs the members.manage permission.")
	}
	target, err := t.store.ByID(ctx, memberID)
	if err != nil {
		return err
	}
	perms, err := t.store.rolePermissions(ctx, t.db.R, target.RoleID)
	if err != nil {
		return err
	}
	if err := checkManageable(actor, target, perms); err != nil {
		return err
	}
	return t.clear(ctx, memberID, "member.2fa_reset", alerts.KindTwoFactorReset, actor.Name+" reset the two-factor authentication of "+target.Name+".")
}

func (t *TwoFactor) clear(ctx context.Context, memberID int64, action string, alertKind alerts.Kind, title string) error {
	return t.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE members SET totp_secret_enc = NULL, totp_pending_enc = NULL, totp_enabled_at = NULL
			WHERE id = ?`, memberID); err != nil {
			return fmt.Errorf("clear 2FA: %w", err)
		}
		if err := t.store.revokeSessions(ctx, tx, memberID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE member_id = ?`, memberID); err != nil {
			return fmt.Errorf("clear recovery codes: %w", err)
		}
		if _, err := t.audit.Append(ctx, tx, audit.Event{Action: action, Target: memberTarget(memberID)}); err != nil {
			return err
		}
		return raise(ctx, t.alerts, tx, alerts.Alert{Kind: alertKind, Subject: alerts.MemberSubject(memberID), Title: title})
	})
}
