package views

import "strconv"

// Option is a value and label of a select.
type Option struct {
	Value string
	Label string
}

// Plural says "1 member" or "3 members": a count with its noun, singular only for one.
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
