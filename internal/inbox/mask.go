package inbox

import (
	"strings"
	"unicode/utf8"
)

// Masking keeps what a member needs to tell customers apart and talk about them (country,
// last four digits) and hides the rest. The middle is always the same width, so the mask does
// not give away how long the number is.
const (
	maskMiddle = "••• ••••"
	maskAll    = "••• •••• ••••"
)

// twoDigitCodes are the ITU-T E.164 country calling codes of two digits. Calling codes are a
// prefix code: 1 (NANP) and 7 (Russia, Kazakhstan) are the only one-digit codes, these are all
// the two-digit ones, and every other code is three digits long. So the longest known prefix
// decides, with no table of 200 countries to keep up to date.
var twoDigitCodes = map[string]bool{
	"20": true, "27": true,
	"30": true, "31": true, "32": true, "33": true, "34": true, "36": true, "39": true,
	"40": true, "41": true, "43": true, "44": true, "45": true, "46": true, "47": true, "48": true, "49": true,
	"51": true, "52": true, "53": true, "54": true, "55": true, "56": true, "57": true, "58": true,
	"60": true, "61": true, "62": true, "63": true, "64": true, "65": true, "66": true,
	"81": true, "82": true, "84": true, "86": true,
	"90": true, "91": true, "92": true, "93": true, "94": true, "95": true, "98": true,
}

// CountryCode returns the calling code at the start of an international number's digits
// (without "+"): "1" for 1650…, "49" for 4915…, "351" for 3519…. It returns "" when digits is
// too short to hold a code and a subscriber number.
func CountryCode(digits string) string {
	if len(digits) < 4 || !allDigits(digits) || digits[0] == '0' {
		return ""
	}
	switch {
	case digits[0] == '1' || digits[0] == '7':
		return digits[:1]
	case twoDigitCodes[digits[:2]]:
		return digits[:2]
	default:
		return digits[:3]
	}
}

// MaskPhone masks an international phone number, keeping the country calling code and the last
// four digits: "+4915112341234" → "+49 ••• •••• 1234". Spaces, dashes, dots and brackets in
// the input are ignored; a leading "+" is optional (a wa_id has none). Anything that is not such
// a number is masked whole, never returned as it came.
func MaskPhone(phone string) string {
	digits, ok := phoneDigits(phone)
	cc := CountryCode(digits)
	if !ok || cc == "" || len(digits) < len(cc)+5 {
		return maskAll
	}
	return "+" + cc + " " + maskMiddle + " " + digits[len(digits)-4:]
}

// maskLocal masks a number written without its country code ("0151 1234 1234").
func maskLocal(digits string) string {
	if len(digits) < 8 {
		return maskAll
	}
	return maskMiddle + " " + digits[len(digits)-4:]
}

// phoneDigits returns the digits of a phone number written with an optional "+" and the usual
// separators, or false when anything else is in it.
func phoneDigits(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case isPhoneSeparator(r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

func isPhoneSeparator(r rune) bool {
	switch r {
	case ' ', '-', '.', '(', ')', '/', '\u00a0':
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// minPhoneDigits is how many digits in a row (separators allowed) make a phone number inside a
// display name. Shorter runs ("Room 101", "Agent 007", a year) are left alone; the shortest
// real subscriber numbers with area code have more.
const minPhoneDigits = 6

// MaskName masks a display name that is, or contains, a phone number: customers without a
// profile name often show as their number, and some put it in their name. phone is the
// contact's own number (wa_id digits or E.164); a run that is that number, written with or
// without the country code, is masked like the number itself. Other runs of at least six
// digits are masked keeping their last four.
func MaskName(name, phone string) string {
	own, _ := phoneDigits(phone)
	var out strings.Builder
	i := 0
	for i < len(name) {
		start, end, digits := nextDigitRun(name, i)
		if start < 0 {
			out.WriteString(name[i:])
			break
		}
		out.WriteString(name[i:start])
		run := name[start:end]
		switch {
		case len(digits) < minPhoneDigits:
			out.WriteString(run)
		case own != "" && (digits == own || strings.HasSuffix(own, strings.TrimLeft(digits, "0"))):
			out.WriteString(MaskPhone(own))
		case strings.HasPrefix(run, "+") || strings.HasPrefix(run, "00"):
			out.WriteString(MaskPhone(strings.TrimPrefix(digits, "00")))
		default:
			out.WriteString(maskLocal(digits))
		}
		i = end
	}
	return out.String()
}

// nextDigitRun finds the next phone-like run at or after i: digits (possibly after a "+" or
// "("), with separators between them. It returns the byte range, which ends at the last digit,
// and the run's digits; start is -1 when there is none.
func nextDigitRun(s string, i int) (start, end int, digits string) {
	for j := i; j < len(s); j++ {
		c := s[j]
		opener := (c == '+' || c == '(') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9'
		if !(c >= '0' && c <= '9') && !opener {
			continue
		}
		var d []byte
		end = j
		for k := j; k < len(s); {
			r, size := utf8.DecodeRuneInString(s[k:])
			switch {
			case r >= '0' && r <= '9':
				d = append(d, byte(r))
				k += size
				end = k
				continue
			case (r == '+' && k == j) || isPhoneSeparator(r):
				k += size
				continue
			}
			break
		}
		return j, end, string(d)
	}
	return -1, -1, ""
}

// maskContact applies the view to a contact's raw fields.
func maskContact(v View, waID, userID, name, username string) Contact {
	c := Contact{UserID: userID, Username: username}
	if waID != "" {
		c.Phone = "+" + waID
	}
	c.Name = name
	if !v.PII {
		c.Masked = true
		if waID != "" {
			c.Phone = MaskPhone(waID)
		}
		c.Name = MaskName(name, waID)
		c.Username = MaskName(username, waID)
	}
	return c
}
