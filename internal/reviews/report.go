package reviews

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// ReportCSV writes a campaign's report: one row per member under review with the decision, who
// took it, when, and what changed. Cells that a spreadsheet would run as a formula are
// prefixed with a quote.
func ReportCSV(w io.Writer, c Campaign, items []Item) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"review", "review_id", "status", "member", "email", "role_at_review", "numbers", "flags",
		"decision", "new_role", "comment", "decided_by", "decided_at", "what_changed"}); err != nil {
		return err
	}
	for _, it := range items {
		var flags []string
		for _, f := range it.Flags {
			flags = append(flags, f.Label())
		}
		decided := ""
		if !it.DecidedAt.IsZero() {
			decided = it.DecidedAt.UTC().Format(time.RFC3339)
		}
		row := []string{c.Title, strconv.FormatInt(c.ID, 10), string(c.Status), it.MemberName, it.MemberEmail, it.RoleName, it.Numbers,
			strings.Join(flags, "; "), it.Decision.Label(), it.NewRoleName, it.Comment, it.DecidedByName, decided, it.Change}
		for i, cell := range row {
			row[i] = safeCell(cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
