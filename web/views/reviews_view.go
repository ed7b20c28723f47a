package views

import "strings"

// flagLabels lists flags as words, for the printed report.
func flagLabels(fs []ReviewFlag) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Label
	}
	return strings.Join(out, ", ")
}
