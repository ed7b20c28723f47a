// Package apikeys is API keys: created by members who hold api_keys.manage, shown once, stored
// as a hash, and turned into an *authz.Principal on every request. A key acts for its creator
// with at most the creator's access: its effective permissions are its scopes intersected with
// the creator's permissions as they are now, and likewise its number scope, so a key cannot
// outlive a demotion, and it stops when its creator is deactivated.
package apikeys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// Prefix marks a Switchboard secret, so that secret scanners (and people) recognise a leaked one.
const Prefix = "sb_live_"

// secretBytes is the entropy of a key: 256 bits, which is why a plain SHA-256 is a safe way to
// store it (nothing to brute-force), unlike a password.
const secretBytes = 32

// Expiry limits.
const (
	DefaultExpiry = 90 * 24 * time.Hour
	MaxExpiry     = 365 * 24 * time.Hour
	maxNameRunes  = 100
)

// Errors the web layer maps to answers.
var (
	ErrNotFound = errors.New("API key not found")
	// ErrForbidden is wrapped by refusals: a missing permission, a scope the creator lacks.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized: the secret is unknown, revoked or expired, or its creator was deactivated.
	// The reasons are one error so an API client learns nothing about someone else's key.
	ErrUnauthorized = errors.New("the API key is not valid")
)

// RuleError is a refusal with a message for the person refused.
type RuleError struct {
	Kind    error
	Message string
}

func (e *RuleError) Error() string { return e.Message }
func (e *RuleError) Unwrap() error { return e.Kind }

func forbidden(format string, args ...any) error {
	return &RuleError{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors are validation errors by field name ("name", "scopes", "numbers", "expiry").
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	fields := make([]string, 0, len(fe))
	for f := range fe {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return fmt.Sprintf("%d invalid fields: %s", len(fe), strings.Join(fields, ", "))
}

// Key is an API key as listed; the secret is never kept.
type Key struct {
	ID            int64
	Name          string
	Last4         string
	Scopes        authz.Set
	Numbers       authz.NumberScope
	CreatedBy     int64
	CreatedByName string
	CreatedAt     time.Time
	ExpiresAt     time.Time // zero: never
	RevokedAt     time.Time
	RevokedByName string
	LastUsedAt    time.Time
	LastUsedAddr  string
	// CreatorEpoch is the creator's session epoch when the key was made; once theirs moves on
	// (a password, 2FA or role change, "sign out everywhere") the key no longer works.
	CreatorEpoch int64
}

// Status of a key at a time.
func (k Key) Status(now time.Time) string {
	switch {
	case !k.RevokedAt.IsZero():
		return "revoked"
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return "expired"
	}
	return "active"
}

// NewKey is the form of a new key.
type NewKey struct {
	Name   string
	Scopes []string // permission ids
	// AllNumbers or NumberIDs: the number scope, within the creator's.
	AllNumbers bool
	NumberIDs  []int64
	// ExpiresIn is the lifetime (DefaultExpiry when zero); NoExpiry asks for a key that never
	// expires, allowed only where the workspace setting says so.
	ExpiresIn time.Duration
	NoExpiry  bool
}

// newSecret returns a fresh secret and its hash.
func newSecret() (string, [32]byte, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", [32]byte{}, fmt.Errorf("generate API key: %w", err)
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, sha256.Sum256([]byte(secret)), nil
}

// hashSecret hashes what a client sent; anything not shaped like a key is refused before a
// lookup.
func hashSecret(secret string) ([32]byte, bool) {
	if !strings.HasPrefix(secret, Prefix) || len(secret) != len(Prefix)+base64.RawURLEncoding.EncodedLen(secretBytes) {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(secret)), true
}

// effective is what a key may do now: its scopes and numbers narrowed by its creator's current
// permissions and numbers.
func effective(k Key, creator *authz.Principal) *authz.Principal {
	return &authz.Principal{
		MemberID:    creator.MemberID,
		Name:        creator.Name,
		Email:       creator.Email,
		RoleID:      creator.RoleID,
		RoleName:    creator.RoleName,
		Permissions: k.Scopes.Intersect(creator.Permissions),
		Numbers:     k.Numbers.Intersect(creator.Numbers),
		// The creator passed 2FA (a fresh re-authentication) to make the key; the key itself is
		// the credential and has nothing to enrol.
		TwoFactorEnabled: creator.TwoFactorEnabled,
		APIKeyID:         k.ID,
		APIKeyName:       k.Name,
	}
}
