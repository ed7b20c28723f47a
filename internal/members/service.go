package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// Service is the members area's behaviour: each method validates, changes state and writes its
// activity event in one transaction.
type Service struct {
	db        *db.DB
	store     *Store
	audit     *audit.Log
	passwords *auth.Verifier
	clock     clock.Clock
	// Alerts, when set at wiring, is told of events administrators should notice; Throttle,
	// when set, limits failed sign-ins per account and per address.
	Alerts   *alerts.Service
	Throttle *auth.Throttle
	// Invitations and Resets, when set at wiring (a mail server is configured), queue invitation
	// and password reset e-mails in the transaction that creates the link; nil shows links to copy.
	Invitations InvitationSender
	Resets      PasswordResetSender

	// throttled thins out the record of refused attempts: an attacker gets thousands of them a
	// second, and each would otherwise be an fsynced write.
	throttled *audit.Sampler
}

// NewService wires the members service.
func NewService(d *db.DB, store *Store, log *audit.Log, passwords *auth.Verifier, clk clock.Clock) *Service {
	return &Service{db: d, store: store, audit: log, passwords: passwords, clock: clk, throttled: audit.NewSampler(time.Minute)}
}

// Store gives read access to the members store.
func (s *Service) Store() *Store { return s.store }

// NewMember is the input for creating a member.
type NewMember struct {
	Email    string
	Name     string
	Password string
	RoleKey  string
}

const maxNameLength = 100

func (in *NewMember) normalise() {
	in.Email = strings.TrimSpace(in.Email)
	in.Name = strings.TrimSpace(in.Name)
	in.RoleKey = strings.TrimSpace(in.RoleKey)
}

func (in NewMember) validate() FieldErrors {
	fe := FieldErrors{}
	if in.Name == "" {
		fe.Add("name", "Enter a name.")
	} else if utf8.RuneCountInString(in.Name) > maxNameLength {
		fe.Add("name", fmt.Sprintf("Use at most %d characters.", maxNameLength))
	} else if strings.ContainsAny(in.Name, "\x00\r\n") {
		fe.Add("name", "A name cannot contain line breaks.")
	}
	if err := ValidateEmail(in.Email); err != nil {
		fe.Add("email", err.Error())
	}
	if err := auth.ValidateNewPassword(in.Password, in.Email, in.Name, "switchboard"); err != nil {
		fe.Add("password", err.Error())
	}
	return fe
}

// ValidateEmail accepts a plain address such as ada@example.com (no display name).
func ValidateEmail(email string) error {
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@'):], ".") {
		return errors.New("Enter an e-mail address such as ada@example.com.")
	}
	return nil
}

// Create adds a member with the given role. The password must meet the password policy.
func (s *Service) Create(ctx context.Context, in NewMember) (Member, error) {
	var m Member
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		m, err = s.create(ctx, tx, in)
		return err
	})
	return m, err
}

func (s *Service) create(ctx context.Context, tx *sql.Tx, in NewMember) (Member, error) {
	in.normalise()
	fe := in.validate()
	role, err := s.store.RoleByKey(ctx, tx, in.RoleKey)
	if errors.Is(err, ErrNotFound) {
		fe.Add("role", "Choose one of the roles.")
	} else if err != nil {
		return Member{}, err
	}
	if _, ok := fe["email"]; !ok {
		taken, err := s.store.emailTaken(ctx, tx, in.Email)
		if err != nil {
			return Member{}, err
		}
		if taken {
			fe.Add("email", "A member with this e-mail address already exists.")
		}
	}
	if err := fe.Err(); err != nil {
		return Member{}, err
	}
	hash, err := s.passwords.Hash(in.Password)
	if err != nil {
		return Member{}, err
	}
	now := s.clock.Now()
	id, err := s.store.insert(ctx, tx, newMemberRow{Email: in.Email, Name: in.Name, PasswordHash: hash, RoleID: role.ID, At: now})
	if err != nil {
		return Member{}, err
	}
	if _, err := s.audit.Append(ctx, tx, audit.Event{
		Action: "member.created",
		Target: memberTarget(id),
		Changes: []audit.Change{
			{Field: "email", After: in.Email},
			{Field: "name", After: in.Name},
			{Field: "role", After: role.Name},
		},
		Outcome: audit.OutcomeSuccess,
	}); err != nil {
		return Member{}, err
	}
	return Member{ID: id, Email: in.Email, Name: in.Name, PasswordHash: hash, RoleID: role.ID, RoleKey: role.Key,
		RoleName: role.Name, Status: StatusActive, CreatedAt: now, UpdatedAt: now}, nil
}

// ThrottledError refuses a sign-in attempt before the password is checked, because of too many
// recent failures for the account or from the address. It reads the same whether or not the
// account exists.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	wait := e.RetryAfter.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return "Too many failed attempts. Try again in " + wait.String() + "."
}

// SignIn checks an e-mail address and password. Every outcome costs one password hash and
// answers the same error, so neither the message nor the timing tells whether an account exists.
// With a Throttle, repeated failures lock the account and the address for growing periods.
func (s *Service) SignIn(ctx context.Context, email, password string) (Member, error) {
	email = strings.TrimSpace(email)
	addr := audit.RequestFrom(ctx).ClientAddr
	if s.Throttle != nil {
		dec, err := s.Throttle.Check(ctx, email, addr)
		if err != nil {
			return Member{}, err
		}
		if !dec.Allowed {
			if err := s.recordThrottled(ctx, email, addr, dec.Reason); err != nil {
				return Member{}, err
			}
			return Member{}, &ThrottledError{RetryAfter: dec.RetryAfter}
		}
	}
	m, err := s.store.ByEmail(ctx, email)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Member{}, err
	}
	ok := s.passwords.VerifyOrDummy(password, m.PasswordHash, found)
	if !ok || !m.Active() {
		return Member{}, s.signInFailed(ctx, m, found, ok, email, addr)
	}
	if m.TwoFactorEnabled {
		// Half a sign-in: no success is counted until the code step (the throttle keeps its
		// count, the log says only that the password was right).
		if s.Throttle != nil {
			s.Throttle.Release(email, addr)
		}
		if _, err := s.audit.Record(ctx, audit.Event{Actor: audit.MemberActor(m.ID, m.Name), Action: "member.password_accepted",
			Target: memberTarget(m.ID)}); err != nil {
			return Member{}, err
		}
		return m, nil
	}
	return s.CompleteSignIn(ctx, m)
}

// CompleteSignIn records a finished sign-in (after the code step, for members with 2FA): the
// throttle's success, the last sign-in time, the event, and an alert for a new address.
func (s *Service) CompleteSignIn(ctx context.Context, m Member) (Member, error) {
	addr := audit.RequestFrom(ctx).ClientAddr
	if s.Throttle != nil {
		if err := s.Throttle.Success(ctx, m.Email, addr); err != nil {
			return Member{}, err
		}
	}
	now := s.clock.Now()
	var newAddress *alerts.Alert
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.store.setLastSignIn(ctx, tx, m.ID, now); err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{
			Actor: audit.MemberActor(m.ID, m.Name), Action: "member.signed_in",
			Target: memberTarget(m.ID), Outcome: audit.OutcomeSuccess,
		}); err != nil {
			return err
		}
		if s.Alerts == nil {
			return nil
		}
		isNew, err := s.Alerts.SignedInFrom(ctx, tx, m.ID, addr)
		if err != nil || !isNew {
			return err
		}
		a, err := s.Alerts.Raise(ctx, tx, alerts.NewAddressSignIn(m.ID, m.Name, addr))
		newAddress = &a
		return err
	})
	if err != nil {
		return Member{}, err
	}
	if newAddress != nil {
		s.notify(ctx, *newAddress)
	}
	m.LastSignInAt = now
	return m, nil
}

// recordThrottled writes the first refused attempt per account or address each minute, with the
// number left out since the last one written.
func (s *Service) recordThrottled(ctx context.Context, email, addr, reason string) error {
	key := reason + "|" + addr
	if reason == auth.ReasonAccountLocked {
		key += "|" + strings.ToLower(email)
	}
	record, left := s.throttled.Allow(key, s.clock.Now())
	if !record {
		return nil
	}
	changes := []audit.Change{{Field: "reason", After: reason}}
	if left > 0 {
		changes = append(changes, audit.Change{Field: "refusals_not_recorded_before", After: left})
	}
	_, err := s.audit.Record(ctx, audit.Event{Action: "member.sign_in_throttled", Outcome: audit.OutcomeDenied, Changes: changes})
	return err
}

// signInFailed records a failed sign-in, counts it against the account and the address, and
// raises an alert when that starts a lock.
func (s *Service) signInFailed(ctx context.Context, m Member, found, passwordOK bool, email, addr string) error {
	var out auth.Outcome
	if s.Throttle != nil {
		var err error
		if out, err = s.Throttle.Failure(ctx, email, addr); err != nil {
			return err
		}
	}
	ev := audit.Event{Action: "member.sign_in_failed", Outcome: audit.OutcomeFailed}
	if found {
		ev.Actor = audit.MemberActor(m.ID, m.Name)
		ev.Target = memberTarget(m.ID)
		reason := "wrong password"
		if passwordOK {
			reason = "account deactivated"
		}
		ev.Changes = []audit.Change{{Field: "reason", After: reason}}
	} else {
		// What was typed is not kept: people type passwords into the e-mail field.
		ev.Changes = []audit.Change{{Field: "reason", After: "unknown account"}}
	}
	var raised []alerts.Alert
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.audit.Append(ctx, tx, ev); err != nil {
			return err
		}
		if s.Alerts == nil {
			return nil
		}
		var pending []alerts.Alert
		if out.AccountLockedNow {
			var id int64
			var name string
			if found {
				id, name = m.ID, m.Name
			}
			pending = append(pending, alerts.AccountLocked(id, name, out.AccountFailures, addr))
		}
		if out.AddressLockedNow {
			pending = append(pending, alerts.AddressLocked(addr, out.AddressFailures))
		}
		// The failed sign-ins rule's own threshold, counted from the events just written.
		if found && !out.AccountLockedNow {
			a, ok, err := s.Alerts.SignInFailed(ctx, tx, m.ID, m.Name, addr)
			if err != nil {
				return err
			}
			if ok {
				pending = append(pending, a)
			}
		}
		for _, a := range pending {
			got, err := s.Alerts.Raise(ctx, tx, a)
			if err != nil {
				return err
			}
			raised = append(raised, got)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range raised {
		s.notify(ctx, a)
	}
	return ErrInvalidCredentials
}

func (s *Service) notify(ctx context.Context, a alerts.Alert) {
	if s.Alerts != nil {
		_ = s.Alerts.Notify(ctx, a) // delivery problems are the notifier's to log; sign-in goes on
	}
}

// RecordSignOut writes the sign-out event.
func (s *Service) RecordSignOut(ctx context.Context, memberID int64, name string) error {
	_, err := s.audit.Record(ctx, audit.Event{
		Actor: audit.MemberActor(memberID, name), Action: "member.signed_out",
		Target: memberTarget(memberID), Outcome: audit.OutcomeSuccess,
	})
	return err
}

func memberTarget(id int64) audit.Target {
	return audit.Target{Type: "member", ID: strconv.FormatInt(id, 10)}
}

// Reauthenticate checks a signed-in member's password again before a sensitive action.
func (s *Service) Reauthenticate(ctx context.Context, memberID int64, password string) error {
	m, err := s.store.ByID(ctx, memberID)
	if err != nil {
		return err
	}
	ok := s.passwords.VerifyOrDummy(password, m.PasswordHash, true)
	ev := audit.Event{Action: "member.reauthenticated", Target: memberTarget(m.ID)}
	if !ok {
		ev.Action, ev.Outcome = "member.reauthentication_failed", audit.OutcomeFailed
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return err
	}
	if !ok {
		return ErrInvalidCredentials
	}
	return nil
}

// ChangePassword replaces a member's password after checking the current one. Every session of
// the member ends (ASVS 3.3.3): the caller starts a fresh one for the browser that made the change.
func (s *Service) ChangePassword(ctx context.Context, memberID int64, current, next string) error {
	m, err := s.store.ByID(ctx, memberID)
	if err != nil {
		return err
	}
	if !s.passwords.VerifyOrDummy(current, m.PasswordHash, true) {
		if _, err := s.audit.Record(ctx, audit.Event{Action: "member.password_change_failed", Target: memberTarget(m.ID),
			Outcome: audit.OutcomeFailed}); err != nil {
			return err
		}
		return FieldErrors{"current_password": "That is not your current password."}
	}
	if err := auth.ValidateNewPassword(next, m.Email, m.Name, "switchboard"); err != nil {
		return FieldErrors{"new_password": err.Error()}
	}
	if current == next {
		return FieldErrors{"new_password": "Choose a password you have not used here."}
	}
	hash, err := s.passwords.Hash(next)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.store.setPasswordHash(ctx, tx, m.ID, hash, s.clock.Now()); err != nil {
			return err
		}
		if err := s.store.revokeSessions(ctx, tx, m.ID); err != nil {
			return err
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "member.password_changed", Target: memberTarget(m.ID)})
		return err
	})
}
