package db

import (
	"slices"
	"strconv"
	"strings"
)

// FormatIDs stores a set of row ids in one TEXT column ("3 7 12"): number scopes, chosen
// recipients and reviewers, where a join table would cost more than the list is worth.
func FormatIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, " ")
}

// ParseIDs reads what FormatIDs wrote, sorted; anything that is not a positive id is dropped.
func ParseIDs(s string) []int64 {
	var out []int64
	for _, f := range strings.Fields(s) {
		if id, err := strconv.ParseInt(f, 10, 64); err == nil && id > 0 {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
