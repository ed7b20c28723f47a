package audit

import (
	"strings"
	"unicode"
)

// Redacted replaces the value of a change to a field that looks like a secret.
const Redacted = "[redacted]"

// Secret-looking changes are redacted rather than refused. The event shares a transaction with
// the change it describes, so refusing would turn a logging slip into a failed password change or
// tempt the caller to skip the event; and "password changed" is exactly what an auditor needs
// to see, only the value must never be stored (ASVS 7.1.1). This is a safety net under domain
// code that should not hand over secrets in the first place.
func redact(changes []Change) []Change {
	if len(changes) == 0 {
		return nil
	}
	out := make([]Change, len(changes))
	for i, c := range changes {
		if isSecretField(c.Field) {
			// nil stays nil so that "was set" and "was cleared" remain visible.
			c.Before, c.After = redactValue(c.Before), redactValue(c.After)
		} else {
			c.Before, c.After = redactNested(c.Before), redactNested(c.After)
		}
		out[i] = c
	}
	return out
}

func redactValue(v any) any {
	if v == nil {
		return nil
	}
	return Redacted
}

// redactNested looks into the generic JSON shapes, which is where a settings blob holding an
// access token would hide. Typed structs are the caller's responsibility.
func redactNested(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			if isSecretField(k) {
				m[k] = redactValue(x)
			} else {
				m[k] = redactNested(x)
			}
		}
		return m
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, x := range v {
			if isSecretField(k) {
				m[k] = Redacted
			} else {
				m[k] = x
			}
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = redactNested(x)
		}
		return s
	default:
		return v
	}
}

// isSecretField reports whether a field name looks like it holds a secret. It errs towards
// redacting: a hidden "country_code" costs an auditor a detail, a stored code costs a breach.
func isSecretField(name string) bool {
	words := splitWords(name)
	if len(words) == 0 {
		return false
	}
	// These roots make a field secret wherever they appear, even glued to other words
	// ("accessToken", "APPSECRET", "totp_secret_encrypted").
	roots := [...]string{
		"password", "passwd", "passphrase", "passcode", "secret", "token", "credential",
		"apikey", "privatekey",
	}
	for _, w := range words {
		for _, r := range roots {
			if strings.Contains(w, r) {
				return true
			}
		}
	}
	// These are too common to match inside other words ("monkey", "encode"), so they count only
	// as a whole word and only as the last one: "totp_seed" and "recovery_codes" are secret,
	// "key_prefix" and "api_key_id" name things shown to users anyway.
	switch words[len(words)-1] {
	case "key", "keys", "code", "codes", "seed", "pin", "otp", "totp", "hotp", "salt", "hash",
		"cookie", "signature", "authorization", "bearer", "dsn", "encrypted", "ciphertext":
		return true
	}
	return false
}

// splitWords lower-cases name and splits it at punctuation and camel-case humps:
// "totpSeed" → [totp seed], "APIKey" → [api key], "access_token" → [access token].
func splitWords(name string) []string {
	rs := []rune(name)
	var words []string
	start := -1
	flush := func(end int) {
		if start >= 0 {
			words = append(words, strings.ToLower(string(rs[start:end])))
			start = -1
		}
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start >= 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				flush(i)
			}
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(rs))
	return words
}
