package auth

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Password length limits, in characters (runes). NIST SP 800-63B 5.1.1.2 and ASVS 4.0.3 2.1.1
// ask for at least 8 and allow a higher floor; the product sets 12. The maximum only keeps form
// input sane: 800-63B asks to allow at least 64, and we allow 256.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// minContextWordLength keeps short fragments ("bo", "ann") from refusing unrelated passwords.
const minContextWordLength = 4

// PasswordError is why a new password was refused. Its message is written for the member and can
// be shown on the form as it is.
type PasswordError struct {
	Reason string
}

func (e *PasswordError) Error() string { return e.Reason }

// The reasons ValidateNewPassword gives; test for them with errors.Is.
var (
	ErrPasswordTooShort = &PasswordError{fmt.Sprintf("Use at least %d characters.", MinPasswordLength)}
	ErrPasswordTooLong  = &PasswordError{fmt.Sprintf("Use at most %d characters.", MaxPasswordLength)}
	ErrPasswordCommon   = &PasswordError{"This password is on a list of commonly used passwords. Choose another one."}
	// ErrPasswordRepetitive covers "aaaaaaaaaaaa" or "monkeymonkey": the length is only apparent.
	ErrPasswordRepetitive = &PasswordError{"This password repeats a short word or pattern. Choose another one."}
	ErrPasswordContext    = &PasswordError{"This password is mostly your name, your e-mail address or the name of this service. Choose another one."}
)

// ValidateNewPassword applies the password policy to a password a member is choosing, following
// NIST SP 800-63B 5.1.1.2 (ASVS 4.0.3 2.1.x, ASVS 5.0 6.2.x): a length range, no composition rules
// (they make passwords harder to remember, not harder to guess), and a check against passwords
// known to be common, repetitive or derived from the context. context holds words specific to this
// member and service, such as their name, their e-mail address and "Switchboard"; a password is
// refused when half or more of it is made of such words (each word of 4 or more characters counts,
// as do the parts of a name or address split at spaces and punctuation).
//
// Every error it returns is a *PasswordError.
func ValidateNewPassword(password string, context ...string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return ErrPasswordTooShort
	case n > MaxPasswordLength:
		return ErrPasswordTooLong
	}
	lower := strings.ToLower(password)
	if _, ok := commonPasswords()[lower]; ok {
		return ErrPasswordCommon
	}
	runes := []rune(lower)
	if isRepetition(runes) {
		return ErrPasswordRepetitive
	}
	if mostlyContext(runes, context) {
		return ErrPasswordContext
	}
	return nil
}

// commonPasswordsFile is the list shipped in the binary (ASVS 4.0.3 2.1.7 / ASVS 5.0 6.2.4).
// It was made from the npm package @zxcvbn-ts/language-common (MIT; src/passwords.json): every
// entry of 12 or more characters, plus every concatenation of two of its 100 most common entries
// that reaches 12 characters ("qwerty123456", "passwordpassword"), lower-cased, de-duplicated and
// sorted. Shorter entries are not kept because the length rule refuses them already. The file's
// header names the version and carries the licence notice.
//
//go:embed commonpasswords.txt
var commonPasswordsFile string

// commonPasswords is the embedded list as a set, built on first use; it is never written after
// that, so it is a constant in effect, not shared mutable state.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, strings.Count(commonPasswordsFile, "\n"))
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[line] = struct{}{}
	}
	return set
})

// isRepetition reports whether s is a unit shorter than the minimum length repeated to reach it,
// such as "abcabcabcabc". NIST SP 800-63B 5.1.1.2 names repetitive characters among what to refuse.
func isRepetition(s []rune) bool {
	for unit := 1; unit < MinPasswordLength && unit < len(s); unit++ {
		if len(s)%unit != 0 {
			continue
		}
		repeats := true
		for i := unit; i < len(s); i++ {
			if s[i] != s[i-unit] {
				repeats = false
				break
			}
		}
		if repeats {
			return true
		}
	}
	return false
}

// mostlyContext reports whether occurrences of the context words cover half or more of password
// (lower-cased runes). NIST SP 800-63B 5.1.1.2 asks to refuse "context-specific words, such as the
// name of the service, the username". Counting coverage rather than mere presence keeps a long
// passphrase that happens to contain a name acceptable.
func mostlyContext(password []rune, context []string) bool {
	covered := make([]bool, len(password))
	count := 0
	for _, word := range contextWords(context) {
		for i := 0; i+len(word) <= len(password); i++ {
			if !slices.Equal(password[i:i+len(word)], word) {
				continue
			}
			for j := i; j < i+len(word); j++ {
				if !covered[j] {
					covered[j] = true
					count++
				}
			}
		}
	}
	return count > 0 && 2*count >= len(password)
}

// contextWords returns each context string and its parts split at anything that is not a letter
// or digit ("alice.smith@example.com" gives itself, "alice", "smith" and "example"), lower-cased,
// keeping those of at least minContextWordLength runes.
func contextWords(context []string) [][]rune {
	var words [][]rune
	add := func(w string) {
		if r := []rune(w); len(r) >= minContextWordLength {
			words = append(words, r)
		}
	}
	for _, c := range context {
		c = strings.ToLower(strings.TrimSpace(c))
		add(c)
		for _, part := range strings.FieldsFunc(c, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			add(part)
		}
	}
	return words
}
