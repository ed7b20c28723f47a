package inbox

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Import targets a CSV column can be mapped to; a custom field is "field:<key>".
const (
	TargetNone   = ""
	TargetPhone  = "phone"
	TargetName   = "name"
	TargetNotes  = "notes"
	TargetLabels = "labels"
)

// ImportTarget is one choice of the column mapping.
type ImportTarget struct {
	Value string
	Label string
}

// RowError is a problem with one line of the file (Line counts the header as line 1).
type RowError struct {
	Line    int
	Message string
}

// ImportPreview is what an import would do: the columns and their mapping, the first rows,
// every row's problem, and how many contacts would be created and updated.
type ImportPreview struct {
	Header  []string
	Mapping []string // target per column
	Targets []ImportTarget
	Sample  [][]string
	Rows    int
	Errors  []RowError
	Creates int
	Updates int
}

// ImportResult is what an import did.
type ImportResult struct {
	Created, Updated int
}

// ErrImportRows: the file has rows with problems, so nothing was imported (the preview lists
// them).
var ErrImportRows = errors.New("some rows have problems: nothing was imported")

// maxImportRows bounds one file; a workspace with more contacts imports in parts.
const maxImportRows = 200_000

// canImport: importing writes phone numbers into the workspace's contacts, which only a member
// who may see numbers, and whom visibility does not narrow, could then see in full.
func (s *Service) canImport(p *authz.Principal) error {
	vis, _ := visibilityClause(p.Conversations(), "c")
	if !p.Can(authz.ContactsViewPII) || vis != "1" {
		return forbidden("Importing contacts needs permission to see customers' numbers and access to every number and conversation.")
	}
	return nil
}

type importRow struct {
	line   int
	waID   string
	name   string
	notes  string
	labels []int64
	fields map[int64]string
}

type importPlan struct {
	preview ImportPreview
	rows    []importRow
}

// PreviewImport reads the file and checks every row without changing anything. mapping gives
// the target per column; nil guesses it from the header.
func (s *Service) PreviewImport(ctx context.Context, p *authz.Principal, data []byte, mapping []string) (ImportPreview, error) {
	if err := s.canImport(p); err != nil {
		return ImportPreview{}, err
	}
	plan, err := s.planImport(ctx, data, mapping)
	return plan.preview, err
}

// ImportContacts imports the file in one transaction: contacts are created or updated (by
// number), with their name, notes, labels and fields. A file with any bad row imports nothing
// and returns ErrImportRows with the preview that lists the problems.
func (s *Service) ImportContacts(ctx context.Context, p *authz.Principal, data []byte, mapping []string) (ImportResult, ImportPreview, error) {
	const action = "contacts.imported"
	if err := s.canImport(p); err != nil {
		return ImportResult{}, ImportPreview{}, s.refuseContactsBulk(ctx, p, action, err)
	}
	plan, err := s.planImport(ctx, data, mapping)
	if err != nil {
		return ImportResult{}, plan.preview, err
	}
	if len(plan.preview.Errors) > 0 {
		return ImportResult{}, plan.preview, ErrImportRows
	}
	var res ImportResult
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := millis(s.now())
		upsert, err := tx.PrepareContext(ctx, `INSERT INTO contacts (wa_id, name, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (wa_id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE contacts.name END,
			notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE contacts.notes END, updated_at = excluded.updated_at
			RETURNING id`)
		if err != nil {
			return err
		}
		defer upsert.Close()
		exists, err := tx.PrepareContext(ctx, `SELECT count(*) FROM contacts WHERE wa_id = ?`)
		if err != nil {
			return err
		}
		defer exists.Close()
		label, err := tx.PrepareContext(ctx, `INSERT INTO contact_labels (contact_id, label_id, added_by, added_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer label.Close()
		field, err := tx.PrepareContext(ctx, `INSERT INTO contact_field_values (contact_id, field_id, value) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET value = excluded.value`)
		if err != nil {
			return err
		}
		defer field.Close()
		for _, r := range plan.rows {
			var (
				id    int64
				known int
			)
			if err := exists.QueryRowContext(ctx, r.waID).Scan(&known); err != nil {
				return fmt.Errorf("import line %d: %w", r.line, err)
			}
			if err := upsert.QueryRowContext(ctx, r.waID, r.name, r.notes, now, now).Scan(&id); err != nil {
				return fmt.Errorf("import line %d: %w", r.line, err)
			}
			if known == 0 {
				res.Created++
			} else {
				res.Updated++
			}
			for _, l := range r.labels {
				if _, err := label.ExecContext(ctx, id, l, nullID(p.MemberID), now); err != nil {
					return fmt.Errorf("import line %d: %w", r.line, err)
				}
			}
			for f, v := range r.fields {
				if _, err := field.ExecContext(ctx, id, f, v); err != nil {
					return fmt.Errorf("import line %d: %w", r.line, err)
				}
			}
		}
		// One event for the file: it names the counts and the columns, not the customers.
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: audit.Target{Type: "contacts", ID: "import"},
			Changes: []audit.Change{{Field: "created", After: res.Created}, {Field: "updated", After: res.Updated},
				{Field: "columns", After: strings.Join(plan.preview.Mapping, ",")}}})
		return err
	})
	if err != nil {
		return ImportResult{}, plan.preview, err
	}
	return res, plan.preview, nil
}

func (s *Service) refuseContactsBulk(ctx context.Context, p *authz.Principal, action string, cause error) error {
	if _, err := s.audit.Record(ctx, audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Target: audit.Target{Type: "contacts", ID: "all"}, Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// planImport parses and checks the whole file.
func (s *Service) planImport(ctx context.Context, data []byte, mapping []string) (importPlan, error) {
	var plan importPlan
	fields, err := s.ContactFields(ctx)
	if err != nil {
		return plan, err
	}
	labels, err := queryLabels(ctx, s.db.R, `SELECT id, name, color, description FROM labels`)
	if err != nil {
		return plan, err
	}
	labelIDs := map[string]int64{}
	for _, l := range labels {
		labelIDs[strings.ToLower(l.Name)] = l.ID
	}
	pv := &plan.preview
	pv.Targets = []ImportTarget{{TargetNone, "Do not import"}, {TargetPhone, "Phone number"}, {TargetName, "Name"},
		{TargetNotes, "Notes"}, {TargetLabels, "Labels (separated by ;)"}}
	byKey := map[string]ContactField{}
	for _, f := range fields {
		pv.Targets = append(pv.Targets, ImportTarget{"field:" + f.Key, f.Label})
		byKey[f.Key] = f
	}

	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) || len(header) == 0 {
		return plan, fieldError("file", "The file is empty: the first line must name the columns.")
	}
	if err != nil {
		return plan, fieldError("file", "The file is not CSV: "+err.Error()+".")
	}
	pv.Header = header
	pv.Mapping = guessMapping(header, mapping, pv.Targets)
	phoneCol := -1
	for i, t := range pv.Mapping {
		if t == TargetPhone {
			phoneCol = i
		}
	}
	if phoneCol < 0 {
		return plan, fieldError("mapping", "Choose the column that holds the phone number.")
	}
	seen := map[string]int{}
	line := 1
	for {
		rec, err := r.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if pv.Rows >= maxImportRows {
			return plan, fieldError("file", fmt.Sprintf("Import at most %d contacts per file.", maxImportRows))
		}
		pv.Rows++
		if err != nil {
			pv.Errors = append(pv.Errors, RowError{line, "The line is not valid CSV."})
			continue
		}
		if len(pv.Sample) < 5 {
			pv.Sample = append(pv.Sample, rec)
		}
		row, problems := buildRow(rec, pv.Mapping, byKey, labelIDs)
		row.line = line
		if row.waID != "" {
			if first, dup := seen[row.waID]; dup {
				problems = append(problems, fmt.Sprintf("the number is also on line %d", first))
			}
			seen[row.waID] = line
		}
		if len(problems) > 0 {
			pv.Errors = append(pv.Errors, RowError{line, strings.Join(problems, "; ")})
			continue
		}
		plan.rows = append(plan.rows, row)
	}
	if pv.Rows == 0 {
		return plan, fieldError("file", "The file has a header but no contacts.")
	}
	// How many exist already: one indexed lookup per row, on the reader.
	for _, row := range plan.rows {
		var one int
		err := s.db.R.QueryRowContext(ctx, `SELECT 1 FROM contacts WHERE wa_id = ?`, row.waID).Scan(&one)
		switch {
		case err == nil:
			pv.Updates++
		case errors.Is(err, sql.ErrNoRows):
			pv.Creates++
		default:
			return plan, err
		}
	}
	return plan, nil
}

func buildRow(rec []string, mapping []string, fields map[string]ContactField, labels map[string]int64) (importRow, []string) {
	row := importRow{fields: map[int64]string{}}
	var problems []string
	for i, target := range mapping {
		v := ""
		if i < len(rec) {
			v = strings.TrimSpace(rec[i])
		}
		switch {
		case target == TargetPhone:
			digits := strings.Map(func(r rune) rune {
				if isPhoneSeparator(r) {
					return -1
				}
				return r
			}, v)
			if !strings.HasPrefix(digits, "+") {
				digits = "+" + digits
			}
			wa, ok := whatsapp.NormalizePhone(digits)
			if !ok {
				problems = append(problems, fmt.Sprintf("%q is not a phone number in international form (+ country code and number)", v))
				continue
			}
			row.waID = wa
		case target == TargetName:
			if len([]rune(v)) > maxContactName {
				problems = append(problems, fmt.Sprintf("the name is longer than %d characters", maxContactName))
			}
			row.name = strings.Join(strings.Fields(v), " ")
		case target == TargetNotes:
			row.notes = v
		case target == TargetLabels:
			for _, name := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' }) {
				name = strings.TrimSpace(name)
				if name == "" {
					continue
				}
				id, ok := labels[strings.ToLower(name)]
				if !ok {
					problems = append(problems, fmt.Sprintf("there is no label %q (define it under Settings → Labels first)", name))
					continue
				}
				row.labels = append(row.labels, id)
			}
		case strings.HasPrefix(target, "field:"):
			f, ok := fields[strings.TrimPrefix(target, "field:")]
			if !ok {
				continue
			}
			nv, problem := f.Normalise(v)
			if problem != "" {
				problems = append(problems, problem)
				continue
			}
			if nv != "" {
				row.fields[f.ID] = nv
			}
		}
	}
	if row.waID == "" && len(problems) == 0 {
		problems = append(problems, "the phone number is missing")
	}
	return row, problems
}

// guessMapping keeps a given mapping where it names known targets and otherwise guesses each
// column from its header: "Phone", "Mobile", "WhatsApp" → phone; "Name" → name; a field's key or
// label → that field.
func guessMapping(header, given []string, targets []ImportTarget) []string {
	known := map[string]bool{}
	for _, t := range targets {
		known[t.Value] = true
	}
	out := make([]string, len(header))
	used := map[string]bool{}
	for i, h := range header {
		if i < len(given) && known[given[i]] {
			out[i] = given[i]
			continue
		}
		if given != nil {
			continue
		}
		k := fieldKey(h)
		guess := ""
		switch k {
		case "phone", "phone_number", "number", "mobile", "whatsapp", "wa_id", "telephone", "tel":
			guess = TargetPhone
		case "name", "full_name", "contact", "contact_name":
			guess = TargetName
		case "notes", "note", "comment", "comments":
			guess = TargetNotes
		case "labels", "label", "tags", "tag":
			guess = TargetLabels
		default:
			for _, t := range targets {
				if strings.HasPrefix(t.Value, "field:") && (strings.TrimPrefix(t.Value, "field:") == k || fieldKey(t.Label) == k) {
					guess = t.Value
				}
			}
		}
		if guess != "" && !used[guess] {
			out[i] = guess
			used[guess] = true
		}
	}
	return out
}

// ExportContacts writes the contacts p sees as CSV to the writer open returns, row by row, so
// memory stays flat however many there are. It needs contacts.export; the export is recorded
// before the first byte. Without contacts.view_pii numbers and number-like names are masked.
func (s *Service) ExportContacts(ctx context.Context, p *authz.Principal, open func() io.Writer) (int, error) {
	const action = "contacts.exported"
	if !p.Can(authz.ContactsExport) {
		return 0, s.refuseContactsBulk(ctx, p, action, forbidden("Exporting contacts needs the contacts.export permission."))
	}
	if !canOpenBook(p) {
		return 0, s.refuseContactsBulk(ctx, p, action, forbidden("Exporting contacts needs a role that sees conversations."))
	}
	fields, err := s.ContactFields(ctx)
	if err != nil {
		return 0, err
	}
	v := ViewFor(p)
	if _, err := s.audit.Record(ctx, audit.Event{Actor: memberActor(p), Action: action, Target: audit.Target{Type: "contacts", ID: "export"},
		Changes: []audit.Change{{Field: "numbers", After: map[bool]string{true: "full", false: "masked"}[v.PII]}}}); err != nil {
		return 0, fmt.Errorf("record export: %w", err)
	}
	seen, args := bookVisible(p)
	cols := `ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username, ct.name, ct.notes, ct.created_at,
		coalesce((SELECT group_concat(l.name, '; ') FROM contact_labels tl JOIN labels l ON l.id = tl.label_id WHERE tl.contact_id = ct.id), '')`
	var fieldArgs []any
	for _, f := range fields {
		cols += `, coalesce((SELECT value FROM contact_field_values WHERE contact_id = ct.id AND field_id = ?), '')`
		fieldArgs = append(fieldArgs, f.ID)
	}
	rows, err := s.db.Reports.QueryContext(ctx, `SELECT `+cols+` FROM contacts ct WHERE `+seen+` ORDER BY ct.id`, append(fieldArgs, args...)...)
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	defer rows.Close()
	w := csv.NewWriter(open())
	header := []string{"id", "phone", "user_id", "name", "whatsapp_name", "labels", "notes", "created_at"}
	for _, f := range fields {
		header = append(header, f.Key)
	}
	if err := w.Write(header); err != nil {
		return 0, err
	}
	n := 0
	vals := make([]string, 9+len(fields))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, fmt.Errorf("export contacts: %w", err)
		}
		c := maskContact(v, vals[1], vals[2], vals[3], vals[4])
		given := vals[5]
		if !v.PII {
			given = MaskName(given, vals[1])
		}
		created, _ := strconv.ParseInt(vals[7], 10, 64)
		rec := []string{vals[0], c.Phone, c.UserID, csvSafe(given), csvSafe(c.Name), csvSafe(vals[8]), csvSafe(vals[6]),
			fromMillis(created).Format("2006-01-02T15:04:05Z")}
		for _, fv := range vals[9:] {
			rec = append(rec, csvSafe(fv))
		}
		if err := w.Write(rec); err != nil {
			return n, err
		}
		n++
		if n%1000 == 0 {
			w.Flush()
			if err := w.Error(); err != nil {
				return n, err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return n, err
	}
	return n, rows.Err()
}

// csvSafe keeps a spreadsheet from running a customer's text as a formula (OWASP CSV
// injection): a leading =, @, tab or carriage return, or a + or - not followed by a digit, is
// escaped with a quote.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if len(s) == 1 || s[1] < '0' || s[1] > '9' {
			return "'" + s
		}
	}
	return s
}
