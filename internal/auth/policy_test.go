package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// ASVS 4.0.3 2.1.7, ASVS 5.0 6.2.4, NIST SP 800-63B 5.1.1.2.
func TestValidateNewPassword(t *testing.T) {
	member := []string{"Alice Smith", "alice.smith@example.com", "Switchboard"}
	tests := []struct {
		name     string
		password string
		context  []string
		want     error
	}{
		// Length counts characters, not bytes.
		{"empty", "", nil, ErrPasswordTooShort},
		{"11 characters", "tulip-ribbo", nil, ErrPasswordTooShort},
		{"12 characters", "tulip-ribbon", nil, nil},
		{"11 characters, 13 bytes", "grüße-köln!", nil, ErrPasswordTooShort},
		{"12 characters, 14 bytes", "grüße-köln!!", nil, nil},
		{"256 characters", strings.Repeat("correct horse battery staple ", 9)[:256], nil, nil},
		{"257 characters", strings.Repeat("correct horse battery staple ", 9)[:257], nil, ErrPasswordTooLong},

		// No composition rules: no digit, capital or symbol needed.
		{"lower-case passphrase", "correct horse battery staple", nil, nil},
		{"letters only", "quietmarmaladeorbit", nil, nil},
		{"digits only, not common", "804215937766", nil, nil},

		// Real entries of the shipped list, compared without regard to case.
		{"listed keyboard pattern", "qwerty123456", nil, ErrPasswordCommon},
		{"listed keyboard columns", "1qaz2wsx3edc", nil, ErrPasswordCommon},
		{"listed word", "administrator", nil, ErrPasswordCommon},
		{"listed phrase", "peanutbutter", nil, ErrPasswordCommon},
		{"listed, upper case", "IloveYou123456", nil, ErrPasswordCommon},
		{"listed concatenation", "password1234", nil, ErrPasswordCommon},
		{"listed repetition", "passwordpassword", nil, ErrPasswordCommon},

		{"one character repeated", "aaaaaaaaaaaa", nil, ErrPasswordRepetitive},
		{"short unit repeated", "Ab1!Ab1!Ab1!", nil, ErrPasswordRepetitive},
		{"word repeated, any case", "XyzzyxyzzyXYZZY", nil, ErrPasswordRepetitive},
		{"long unit repeated", "tulip-ribbontulip-ribbon", nil, nil},

		{"equal to e-mail", "Alice.Smith@example.com", member, ErrPasswordContext},
		{"mostly e-mail local part", "alice.smith2024", member, ErrPasswordContext},
		{"mostly name parts", "smith-alice!!99", member, ErrPasswordContext},
		{"mostly service name", "Switchboard2024!", member, ErrPasswordContext},
		{"context word inside a passphrase", "alice likes quiet marmalade", member, nil},
		{"service name inside a passphrase", "my switchboard is a blue heron", member, nil},
		{"context words too short to count", "bo-and-the-river", []string{"Bo", "the"}, nil},
		{"empty context", "tulip-ribbon", []string{"", "  "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateNewPassword(tt.password, tt.context...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ValidateNewPassword(%q) = %v, want %v", tt.password, err, tt.want)
			}
		})
	}
}

// Errors go on the form as they are, so each must read as a sentence for a person.
func TestPasswordErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrPasswordTooShort, "Use at least 12 characters."},
		{ErrPasswordTooLong, "Use at most 256 characters."},
		{ErrPasswordCommon, "This password is on a list of commonly used passwords. Choose another one."},
		{ErrPasswordRepetitive, "This password repeats a short word or pattern. Choose another one."},
		{ErrPasswordContext, "This password is mostly your name, your e-mail address or the name of this service. Choose another one."},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Fatalf("message = %q, want %q", got, tt.want)
			}
			var pe *PasswordError
			if !errors.As(tt.err, &pe) {
				t.Fatalf("%v is not a *PasswordError", tt.err)
			}
		})
	}
}

// The shipped list is what its header says: lower-case, sorted, unique, long enough to matter, and
// every entry refused.
func TestCommonPasswordsFile(t *testing.T) {
	const maxSize = 300 << 10
	if len(commonPasswordsFile) > maxSize {
		t.Fatalf("list is %d bytes, keep it under %d", len(commonPasswordsFile), maxSize)
	}
	first, _, _ := strings.Cut(commonPasswordsFile, "\n")
	for _, want := range []string{"#", "@zxcvbn-ts/language-common", "4.1.3", "MIT"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first line %q does not name %q", first, want)
		}
	}
	var entries []string
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		if !strings.HasPrefix(line, "#") {
			entries = append(entries, line)
		}
	}
	if len(entries) < 9000 {
		t.Fatalf("only %d entries", len(entries))
	}
	if !slices.IsSorted(entries) {
		t.Fatal("entries are not sorted")
	}
	if len(slices.Compact(slices.Clone(entries))) != len(entries) {
		t.Fatal("entries are not unique")
	}
	if len(commonPasswords()) != len(entries) {
		t.Fatalf("loaded %d entries, file has %d", len(commonPasswords()), len(entries))
	}
	for _, e := range entries {
		if e != strings.ToLower(e) || utf8.RuneCountInString(e) < MinPasswordLength {
			t.Fatalf("entry %q is not lower-case or shorter than %d", e, MinPasswordLength)
		}
		if err := ValidateNewPassword(e); !errors.Is(err, ErrPasswordCommon) {
			t.Fatalf("listed %q: err = %v, want ErrPasswordCommon", e, err)
		}
	}
}
