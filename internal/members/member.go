// Package members owns the people of a workspace: members, their roles and number scope, the
// first-run set-up and signing in with a password.
package members

import (
	"errors"
	"fmt"
	"time"
)

// Status of a member account.
type Status string

// Statuses.
const (
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
)

// Member is one person with access to the workspace.
type Member struct {
	ID           int64
	Email        string
	Name         string
	PasswordHash string
	RoleID       int64
	RoleKey      string
	RoleName     string
	Status       Status
	SessionEpoch int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastSignInAt time.Time // zero when never
	AllNumbers   bool
	NumberIDs    []int64 // phone_numbers ids when not AllNumbers

	TwoFactorEnabled      bool
	RoleRequiresTwoFactor bool

	// TimeZone is the IANA zone the member chose for reading and entering times; "" when not
	// chosen yet (pages then use UTC).
	TimeZone string
}

// Active reports whether the member may sign in.
func (m Member) Active() bool { return m.Status == StatusActive }

// Errors the web layer maps to answers.
var (
	ErrNotFound           = errors.New("not found")
	ErrInvalidCredentials = errors.New("the e-mail address or password is not right")
	ErrSetupClosed        = errors.New("this workspace already has an owner")
	ErrSetupToken         = errors.New("this set-up link is not valid: use the link printed in the server log")
)

// ErrForbidden and ErrConflict classify a RuleError: the first is a request the actor may not
// make (an escalation), the second one the workspace's state does not allow (the last
// administrator, a role still in use).
var (
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("conflict")
)

// RuleError is a refusal by one of the access rules, with a message for the person refused.
type RuleError struct {
	Kind    error
	Message string
}

func (e *RuleError) Error() string { return e.Message }
func (e *RuleError) Unwrap() error { return e.Kind }

func forbidden(format string, args ...any) error {
	return &RuleError{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &RuleError{Kind: ErrConflict, Message: fmt.Sprintf(format, args...)}
}

// ValidationError is bad input on one field, with a message that can be shown beside it.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// FieldErrors collects the validation errors of a form by field name.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Err returns fe as an error, or nil when empty.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func (fe FieldErrors) Error() string {
	return fmt.Sprintf("%d invalid fields", len(fe))
}
