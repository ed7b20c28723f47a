package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app understands (SHA-1 is what
// Google Authenticator and most others implement; HMAC-SHA-1 remains sound for this use).
const (
	TOTPPeriod = 30
	TOTPDigits = otp.DigitsSix
)

// Errors of a second-factor check.
var (
	ErrTOTPInvalid     = errors.New("that code is not right: check the time on your phone and use the newest code")
	ErrTOTPReplay      = errors.New("that code was already used: wait for the next one")
	ErrRecoveryInvalid = errors.New("that recovery code is not right or was already used")
)

// NewTOTPKey makes a new random seed for an authenticator app.
func NewTOTPKey(issuer, account string) (*otp.Key, error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: TOTPPeriod, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("generate TOTP key: %w", err)
	}
	return key, nil
}

// TOTPStep is the 30-second step that contains t.
func TOTPStep(t time.Time) int64 { return t.Unix() / TOTPPeriod }

// ValidateTOTP checks code against secret at now, allowing one step of drift either way (RFC 6238
// §6). It returns the step the code belongs to, which the caller stores: a code of a step at or
// before lastStep is refused as a replay (RFC 6238 §5.2), which pquerna/otp's Validate does not do.
func ValidateTOTP(code, secret string, lastStep int64, now time.Time) (int64, error) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != TOTPDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, ErrTOTPInvalid
	}
	current := TOTPStep(now)
	for _, step := range []int64{current - 1, current, current + 1} {
		ok, err := totp.ValidateCustom(code, secret, time.Unix(step*TOTPPeriod, 0).UTC(), totp.ValidateOpts{
			Period: TOTPPeriod, Skew: 0, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, fmt.Errorf("validate TOTP: %w", err)
		}
		if ok {
			if step <= lastStep {
				return step, ErrTOTPReplay
			}
			return step, nil
		}
	}
	return 0, ErrTOTPInvalid
}

// RecoveryCodeCount is how many recovery codes a member gets.
const RecoveryCodeCount = 10

// NewRecoveryCodes makes fresh recovery codes, formatted for people (xxxxx-xxxxx), with the hashes
// to store.
func NewRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodeCount {
		raw := strings.ToLower(rand.Text()[:10])
		code := raw[:5] + "-" + raw[5:]
		codes = append(codes, code)
		hashes = append(hashes, HashRecoveryCode(code))
	}
	return codes, hashes
}

// HashRecoveryCode normalises what a person typed (case, spaces, dashes) and hashes it. The codes
// carry 50 random bits, so a fast hash is enough: there is nothing to guess offline faster than
// online, where sign-in throttling applies.
func HashRecoveryCode(code string) string {
	norm := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:])
}
