package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: TOTPPeriod, Digits: TOTPDigits, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPDriftAndReplay(t *testing.T) {
	key, err := NewTOTPKey("Switchboard", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	secret := key.Secret()
	now := time.Date(2026, 3, 1, 12, 0, 15, 0, time.UTC)
	cases := []struct {
		name    string
		codeAt  time.Time
		last    int64
		wantErr error
	}{
		{"current step", now, 0, nil},
		{"31 s ago (one step of drift)", now.Add(-31 * time.Second), 0, nil},
		{"31 s ahead", now.Add(31 * time.Second), 0, nil},
		{"61 s ago is refused", now.Add(-61 * time.Second), 0, ErrTOTPInvalid},
		{"61 s ahead is refused", now.Add(61 * time.Second), 0, ErrTOTPInvalid},
		{"the step already used is refused", now, TOTPStep(now), ErrTOTPReplay},
		{"an older step than the last used is refused", now.Add(-30 * time.Second), TOTPStep(now), ErrTOTPReplay},
	}
	for _, c := range cases {
		step, err := ValidateTOTP(codeAt(t, secret, c.codeAt), secret, c.last, now)
		if !errors.Is(err, c.wantErr) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.wantErr)
		}
		if c.wantErr == nil && step != TOTPStep(c.codeAt) {
			t.Errorf("%s: step %d, want %d", c.name, step, TOTPStep(c.codeAt))
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "12 34 5a"} {
		if _, err := ValidateTOTP(bad, secret, 0, now); !errors.Is(err, ErrTOTPInvalid) {
			t.Errorf("code %q: %v", bad, err)
		}
	}
	if key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("key parameters: %d %v %v", key.Period(), key.Digits(), key.Algorithm())
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes()
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Errorf("code %q malformed or repeated", c)
		}
		seen[c] = true
		if hashes[i] == c || HashRecoveryCode(" "+stringsUpper(c)+" ") != hashes[i] || HashRecoveryCode(c[:5]+c[6:]) != hashes[i] {
			t.Errorf("code %q does not hash consistently", c)
		}
	}
}

func stringsUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
