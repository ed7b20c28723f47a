package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// The contact book: contacts with the team's name for them, labels, custom fields and notes.
// A member sees a contact through its conversations (contactSeen, the one visibility predicate);
// a member whom the predicate does not narrow at all (every number, every conversation) also
// sees contacts without a conversation yet, such as imported ones.

// bookVisible is contactSeen, widened to every contact for a principal the visibility
// predicate does not narrow.
func bookVisible(p *authz.Principal) (string, []any) {
	if vis, _ := visibilityClause(p.Conversations(), "c"); vis == "1" {
		return "1", nil
	}
	return contactSeen(p)
}

// FieldKind is the type of a custom contact field.
type FieldKind string

// The kinds of custom fields.
const (
	FieldText   FieldKind = "text"
	FieldNumber FieldKind = "number"
	FieldDate   FieldKind = "date"
	FieldChoice FieldKind = "choice"
)

// ContactField is a custom field administrators define for contacts.
type ContactField struct {
	ID      int64
	Key     string
	Label   string
	Kind    FieldKind
	Choices []string
}

// FieldValue is one field of one contact.
type FieldValue struct {
	Field ContactField
	Value string
}

// ContactRecord is a contact as the contact page shows it.
type ContactRecord struct {
	Contact
	// DisplayName is the team's name for the customer; Contact.Name stays WhatsApp's profile name.
	DisplayName   string
	Notes         string
	Labels        []Label
	Fields        []FieldValue
	Conversations []Conversation
	CreatedAt     time.Time
	// CanEdit: p may change the contact (its name, notes, fields and labels).
	CanEdit bool
}

// BestName is the name to show: the team's, else WhatsApp's, else the number.
func (r ContactRecord) BestName() string {
	if strings.TrimSpace(r.DisplayName) != "" {
		return r.DisplayName
	}
	return r.Label()
}

// ContactQuery asks for one page of the contact book.
type ContactQuery struct {
	// Search matches the team's name or the profile name (prefix, any case), or the last four
	// digits of the number.
	Search  string
	LabelID int64
	AfterID int64
	Limit   int
}

// ContactSummary is one row of the contact book.
type ContactSummary struct {
	Contact
	DisplayName string
	Labels      []Label
}

// BestName is the name to show.
func (c ContactSummary) BestName() string {
	if strings.TrimSpace(c.DisplayName) != "" {
		return c.DisplayName
	}
	return c.Label()
}

// ContactBookPage is one page of contacts by id; Next continues after it (0: last page).
type ContactBookPage struct {
	Contacts []ContactSummary
	Next     int64
}

func canOpenBook(p *authz.Principal) bool {
	return p.CanAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)
}

// ContactBook lists the contacts p sees.
func (s *Service) ContactBook(ctx context.Context, p *authz.Principal, q ContactQuery) (ContactBookPage, error) {
	if !canOpenBook(p) {
		return ContactBookPage{}, forbidden("Contacts are for members who see conversations.")
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return ContactBookPage{}, fieldError("limit", fmt.Sprintf("Ask for 1 to %d contacts.", MaxLimit))
	}
	seen, args := bookVisible(p)
	where := []string{"ct.id > ?", seen}
	args = append([]any{q.AfterID}, args...)
	if s := strings.TrimSpace(q.Search); s != "" {
		if allDigits(s) && len(s) == 4 {
			where = append(where, "ct.phone_last4 = ?")
			args = append(args, s)
		} else if allDigits(strings.TrimPrefix(s, "+")) {
			if !ViewFor(p).PII {
				return ContactBookPage{}, forbidden("Without permission to see numbers, search by the last four digits only.")
			}
			where = append(where, "ct.wa_id = ?")
			args = append(args, strings.TrimPrefix(s, "+"))
		} else {
			like := strings.ReplaceAll(strings.ReplaceAll(strings.ToLower(s), `\`, `\\`), "%", `\%`) + "%"
			where = append(where, `(lower(ct.name) LIKE ? ESCAPE '\' OR lower(ct.profile_name) LIKE ? ESCAPE '\')`)
			args = append(args, like, like)
		}
	}
	if q.LabelID != 0 {
		where = append(where, "ct.id IN (SELECT contact_id FROM contact_labels WHERE label_id = ?)")
		args = append(args, q.LabelID)
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username, ct.name
		FROM contacts ct WHERE `+strings.Join(where, " AND ")+` ORDER BY ct.id LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return ContactBookPage{}, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	v := ViewFor(p)
	var page ContactBookPage
	for rows.Next() {
		var (
			c                                   ContactSummary
			id                                  int64
			waID, userID, name, username, given string
		)
		if err := rows.Scan(&id, &waID, &userID, &name, &username, &given); err != nil {
			return ContactBookPage{}, fmt.Errorf("scan contact: %w", err)
		}
		c.Contact = maskContact(v, waID, userID, name, username)
		c.ID = id
		c.DisplayName = given
		if !v.PII {
			c.DisplayName = MaskName(given, waID)
		}
		page.Contacts = append(page.Contacts, c)
	}
	if err := rows.Err(); err != nil {
		return ContactBookPage{}, fmt.Errorf("list contacts: %w", err)
	}
	if len(page.Contacts) > limit {
		page.Contacts = page.Contacts[:limit]
		page.Next = page.Contacts[limit-1].ID
	}
	ids := make([]int64, len(page.Contacts))
	for i, c := range page.Contacts {
		ids[i] = c.ID
	}
	labels, err := contactLabelsOf(ctx, s.db.R, ids)
	if err != nil {
		return ContactBookPage{}, err
	}
	for i := range page.Contacts {
		page.Contacts[i].Labels = labels[page.Contacts[i].ID]
	}
	return page, nil
}

// ContactRecord returns one contact with everything the contact page shows: its labels,
// fields, notes and every conversation with it that p sees. Outside p's view it is ErrNotFound.
func (s *Service) ContactRecord(ctx context.Context, p *authz.Principal, id int64) (ContactRecord, error) {
	if !canOpenBook(p) {
		return ContactRecord{}, forbidden("Contacts are for members who see conversations.")
	}
	seen, args := bookVisible(p)
	var (
		r                                          ContactRecord
		waID, userID, name, username, given, notes string
		created                                    int64
	)
	err := s.db.R.QueryRowContext(ctx, `SELECT ct.id, coalesce(ct.wa_id, ''), coalesce(ct.user_id, ''), ct.profile_name, ct.username,
		ct.name, ct.notes, ct.created_at FROM contacts ct WHERE ct.id = ? AND `+seen, append([]any{id}, args...)...).
		Scan(&id, &waID, &userID, &name, &username, &given, &notes, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return ContactRecord{}, ErrNotFound
	}
	if err != nil {
		return ContactRecord{}, fmt.Errorf("load contact: %w", err)
	}
	v := ViewFor(p)
	r.Contact = maskContact(v, waID, userID, name, username)
	r.ID, r.DisplayName, r.Notes, r.CreatedAt = id, given, notes, fromMillis(created)
	if !v.PII {
		r.DisplayName = MaskName(given, waID)
	}
	labels, err := contactLabelsOf(ctx, s.db.R, []int64{id})
	if err != nil {
		return ContactRecord{}, err
	}
	r.Labels = labels[id]
	if r.Fields, err = s.fieldValues(ctx, s.db.R, id); err != nil {
		return ContactRecord{}, err
	}
	vis, visArgs := visibilityClause(p.Conversations(), "c")
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+conversationColumns+conversationFrom+` WHERE c.contact_id = ? AND `+vis+
		` ORDER BY c.last_message_at DESC, c.id DESC`, append([]any{id}, visArgs...)...)
	if err != nil {
		return ContactRecord{}, fmt.Errorf("conversations of contact: %w", err)
	}
	defer rows.Close()
	now := s.now()
	for rows.Next() {
		c, err := scanConversation(rows, v, now)
		if err != nil {
			return ContactRecord{}, err
		}
		r.Conversations = append(r.Conversations, c)
	}
	if err := rows.Err(); err != nil {
		return ContactRecord{}, err
	}
	r.CanEdit, err = s.canWorkContact(ctx, s.db.R, p, id)
	return r, err
}

// canWorkContact: a member who assigns conversations and sees the contact, or the assignee of
// a conversation with it, may edit and label it.
func (s *Service) canWorkContact(ctx context.Context, q db.Querier, p *authz.Principal, id int64) (bool, error) {
	if p.Can(authz.ConversationsAssign) {
		return true, nil
	}
	vis, args := visibilityClause(p.Conversations(), "c")
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM conversations c WHERE c.contact_id = ? AND c.assignee_id = ? AND `+vis,
		append([]any{id, p.MemberID}, args...)...).Scan(&n)
	return n > 0, err
}

// visibleContact checks that p sees contact id (ErrNotFound otherwise) and may work it (a
// forbidden refusal otherwise), inside q.
func (s *Service) workableContact(ctx context.Context, q db.Querier, p *authz.Principal, id int64) error {
	seen, args := bookVisible(p)
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM contacts ct WHERE ct.id = ? AND `+seen, append([]any{id}, args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("load contact: %w", err)
	}
	ok, err := s.canWorkContact(ctx, q, p, id)
	if err != nil {
		return err
	}
	if !ok {
		return forbidden("Only a member who assigns conversations, or the assignee of a conversation with this customer, can change the contact.")
	}
	return nil
}

// ContactInput is the contact form: the team's name, notes and custom field values by field id.
type ContactInput struct {
	DisplayName string
	Notes       string
	Fields      map[int64]string
}

const (
	maxContactName  = 100
	maxContactNotes = 4000
	maxFieldValue   = 500
)

// UpdateContact changes a contact's name, notes and field values, recording each change.
func (s *Service) UpdateContact(ctx context.Context, p *authz.Principal, id int64, in ContactInput) error {
	const action = "contact.updated"
	in.DisplayName = strings.Join(strings.Fields(in.DisplayName), " ")
	in.Notes = strings.TrimSpace(in.Notes)
	fe := FieldErrors{}
	if utf8.RuneCountInString(in.DisplayName) > maxContactName {
		fe.Add("name", fmt.Sprintf("Use at most %d characters.", maxContactName))
	}
	if utf8.RuneCountInString(in.Notes) > maxContactNotes {
		fe.Add("notes", fmt.Sprintf("Use at most %d characters.", maxContactNotes))
	}
	if strings.ContainsRune(in.DisplayName+in.Notes, 0) {
		fe.Add("notes", "The text contains a character that cannot be stored.")
	}
	fields, err := s.ContactFields(ctx)
	if err != nil {
		return err
	}
	values := map[int64]string{}
	for _, f := range fields {
		raw, ok := in.Fields[f.ID]
		if !ok {
			continue
		}
		v, problem := f.Normalise(raw)
		if problem != "" {
			fe.Add("field_"+strconv.FormatInt(f.ID, 10), problem)
			continue
		}
		values[f.ID] = v
	}
	if err := fe.Err(); err != nil {
		return err
	}
	var refusal error
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.workableContact(ctx, tx, p, id); err != nil {
			if errors.Is(err, ErrForbidden) {
				refusal = err
			}
			return err
		}
		var curName, curNotes string
		if err := tx.QueryRowContext(ctx, `SELECT name, notes FROM contacts WHERE id = ?`, id).Scan(&curName, &curNotes); err != nil {
			return fmt.Errorf("load contact: %w", err)
		}
		var changes []audit.Change
		if curName != in.DisplayName {
			changes = append(changes, audit.Change{Field: "name", Before: curName, After: in.DisplayName})
		}
		if curNotes != in.Notes {
			changes = append(changes, audit.Change{Field: "notes", Before: curNotes, After: in.Notes})
		}
		cur, err := s.fieldValues(ctx, tx, id)
		if err != nil {
			return err
		}
		now := millis(s.now())
		for _, f := range fields {
			v, given := values[f.ID]
			if !given {
				continue
			}
			before := ""
			for _, fv := range cur {
				if fv.Field.ID == f.ID {
					before = fv.Value
				}
			}
			if before == v {
				continue
			}
			if err := setFieldValue(ctx, tx, id, f.ID, v); err != nil {
				return err
			}
			changes = append(changes, audit.Change{Field: "field." + f.Key, Before: before, After: v})
		}
		if len(changes) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET name = ?, notes = ?, updated_at = ? WHERE id = ?`, in.DisplayName, in.Notes, now, id); err != nil {
			return fmt.Errorf("update contact: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: contactTarget(id), Changes: changes})
		return err
	})
	if refusal != nil && errors.Is(err, refusal) {
		return s.refuseContact(ctx, p, action, id, refusal)
	}
	return err
}

func setFieldValue(ctx context.Context, q db.Querier, contactID, fieldID int64, v string) error {
	var err error
	if v == "" {
		_, err = q.ExecContext(ctx, `DELETE FROM contact_field_values WHERE contact_id = ? AND field_id = ?`, contactID, fieldID)
	} else {
		_, err = q.ExecContext(ctx, `INSERT INTO contact_field_values (contact_id, field_id, value) VALUES (?, ?, ?)
			ON CONFLICT DO UPDATE SET value = excluded.value`, contactID, fieldID, v)
	}
	if err != nil {
		return fmt.Errorf("set field: %w", err)
	}
	return nil
}

// LabelContact puts a label on a contact or takes it off, under the same rule as editing it.
func (s *Service) LabelContact(ctx context.Context, p *authz.Principal, contactID, labelID int64, on bool) error {
	action := "contact.labelled"
	if !on {
		action = "contact.unlabelled"
	}
	var refusal error
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.workableContact(ctx, tx, p, contactID); err != nil {
			if errors.Is(err, ErrForbidden) {
				refusal = err
			}
			return err
		}
		l, err := labelByID(ctx, tx, labelID)
		if errors.Is(err, ErrNotFound) {
			return fieldError("label", "Choose one of the labels offered.")
		}
		if err != nil {
			return err
		}
		changed, err := setLabel(ctx, tx, "contact_labels", "contact_id", contactID, labelID, p.MemberID, millis(s.now()), on)
		if err != nil || !changed {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: contactTarget(contactID),
			Changes: []audit.Change{{Field: "label", After: l.Name}}})
		return err
	})
	if refusal != nil && errors.Is(err, refusal) {
		return s.refuseContact(ctx, p, action, contactID, refusal)
	}
	return err
}

func (s *Service) refuseContact(ctx context.Context, p *authz.Principal, action string, id int64, cause error) error {
	ev := audit.Event{Actor: memberActor(p), Action: action, Target: contactTarget(id), Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func contactTarget(id int64) audit.Target { return audit.NewTarget("contact", id) }

func contactLabelsOf(ctx context.Context, q db.Querier, ids []int64) (map[int64][]Label, error) {
	out := map[int64][]Label{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT tl.contact_id, l.id, l.name, l.color, l.description FROM contact_labels tl
		JOIN labels l ON l.id = tl.label_id WHERE tl.contact_id IN (`+placeholders(len(ids))+`) ORDER BY l.name COLLATE NOCASE`, args...)
	if err != nil {
		return nil, fmt.Errorf("labels of contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			l  Label
		)
		if err := rows.Scan(&id, &l.ID, &l.Name, &l.Color, &l.Description); err != nil {
			return nil, err
		}
		out[id] = append(out[id], l)
	}
	return out, rows.Err()
}

// ContactFields lists the custom fields in their order.
func (s *Service) ContactFields(ctx context.Context) ([]ContactField, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, key, label, kind, choices FROM contact_fields ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("list contact fields: %w", err)
	}
	defer rows.Close()
	var out []ContactField
	for rows.Next() {
		f, err := scanField(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func scanField(row interface{ Scan(...any) error }) (ContactField, error) {
	var (
		f       ContactField
		choices string
	)
	err := row.Scan(&f.ID, &f.Key, &f.Label, &f.Kind, &choices)
	if errors.Is(err, sql.ErrNoRows) {
		return ContactField{}, ErrNotFound
	}
	if err != nil {
		return ContactField{}, fmt.Errorf("scan contact field: %w", err)
	}
	_ = json.Unmarshal([]byte(choices), &f.Choices)
	return f, nil
}

func (s *Service) fieldValues(ctx context.Context, q db.Querier, contactID int64) ([]FieldValue, error) {
	rows, err := q.QueryContext(ctx, `SELECT f.id, f.key, f.label, f.kind, f.choices, coalesce(v.value, '') FROM contact_fields f
		LEFT JOIN contact_field_values v ON v.field_id = f.id AND v.contact_id = ? ORDER BY f.position, f.id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("contact fields: %w", err)
	}
	defer rows.Close()
	var out []FieldValue
	for rows.Next() {
		var (
			fv      FieldValue
			choices string
		)
		if err := rows.Scan(&fv.Field.ID, &fv.Field.Key, &fv.Field.Label, &fv.Field.Kind, &choices, &fv.Value); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(choices), &fv.Field.Choices)
		out = append(out, fv)
	}
	return out, rows.Err()
}

// Normalise checks a value for the field and returns it in its stored form: numbers as Go
// formats them, dates as YYYY-MM-DD, choices exactly as defined. "" clears the field.
func (f ContactField) Normalise(raw string) (string, string) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return "", ""
	}
	switch f.Kind {
	case FieldNumber:
		n, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64)
		if err != nil {
			return "", f.Label + ": enter a number, such as 12 or 4.5."
		}
		return strconv.FormatFloat(n, 'f', -1, 64), ""
	case FieldDate:
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return "", f.Label + ": enter a date as YYYY-MM-DD."
		}
		return t.Format("2006-01-02"), ""
	case FieldChoice:
		for _, c := range f.Choices {
			if strings.EqualFold(c, v) {
				return c, ""
			}
		}
		return "", f.Label + ": choose one of " + strings.Join(f.Choices, ", ") + "."
	}
	if utf8.RuneCountInString(v) > maxFieldValue {
		return "", fmt.Sprintf("%s: use at most %d characters.", f.Label, maxFieldValue)
	}
	if strings.ContainsRune(v, 0) {
		return "", f.Label + ": the text contains a character that cannot be stored."
	}
	return v, ""
}

// ContactFieldInput is the form of a custom field. Choices is one choice per line.
type ContactFieldInput struct {
	Label   string
	Kind    string
	Choices string
}

func (in ContactFieldInput) parse() (ContactField, FieldErrors) {
	fe := FieldErrors{}
	f := ContactField{Label: strings.Join(strings.Fields(in.Label), " "), Kind: FieldKind(in.Kind)}
	switch {
	case f.Label == "":
		fe.Add("label", "Give the field a name.")
	case utf8.RuneCountInString(f.Label) > 60:
		fe.Add("label", "Use at most 60 characters.")
	}
	f.Key = fieldKey(f.Label)
	if f.Key == "" && f.Label != "" {
		fe.Add("label", "Use at least one letter or digit in the name.")
	}
	if !slices.Contains([]FieldKind{FieldText, FieldNumber, FieldDate, FieldChoice}, f.Kind) {
		fe.Add("kind", "Choose text, number, date or choice.")
	}
	if f.Kind == FieldChoice {
		for _, line := range strings.Split(in.Choices, "\n") {
			if c := strings.TrimSpace(line); c != "" && !slices.Contains(f.Choices, c) {
				f.Choices = append(f.Choices, c)
			}
		}
		if len(f.Choices) < 2 {
			fe.Add("choices", "Give at least two choices, one per line.")
		}
	}
	return f, fe
}

// fieldKey is the column name of a field in imports and exports: "Customer since" → customer_since.
func fieldKey(label string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(label) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

// CreateContactField defines a custom field (workspace.settings.manage).
func (s *Service) CreateContactField(ctx context.Context, p *authz.Principal, in ContactFieldInput) (ContactField, error) {
	const action = "contact_field.created"
	if !p.Can(authz.WorkspaceSettingsManage) {
		return ContactField{}, s.refuseField(ctx, p, action)
	}
	f, fe := in.parse()
	if err := fe.Err(); err != nil {
		return ContactField{}, err
	}
	choices, _ := json.Marshal(f.Choices)
	if f.Choices == nil {
		choices = []byte("[]")
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := millis(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO contact_fields (key, label, kind, choices, position, created_at, updated_at)
			VALUES (?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM contact_fields), ?, ?)`, f.Key, f.Label, f.Kind, string(choices), now, now)
		if isUniqueViolation(err) {
			return fieldError("label", "A field with this name exists already.")
		}
		if err != nil {
			return fmt.Errorf("create contact field: %w", err)
		}
		if f.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: audit.NewTarget("contact_field", f.ID),
			Changes: []audit.Change{{Field: "label", After: f.Label}, {Field: "kind", After: string(f.Kind)}, {Field: "choices", After: f.Choices}}})
		return err
	})
	return f, err
}

// DeleteContactField removes a custom field and its values (workspace.settings.manage).
func (s *Service) DeleteContactField(ctx context.Context, p *authz.Principal, id int64) error {
	const action = "contact_field.deleted"
	if !p.Can(authz.WorkspaceSettingsManage) {
		return s.refuseField(ctx, p, action)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		f, err := scanField(tx.QueryRowContext(ctx, `SELECT id, key, label, kind, choices FROM contact_fields WHERE id = ?`, id))
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contact_field_values WHERE field_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_fields WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete contact field: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: audit.NewTarget("contact_field", id),
			Changes: []audit.Change{{Field: "label", Before: f.Label}, {Field: "values", Before: n}}})
		return err
	})
}

func (s *Service) refuseField(ctx context.Context, p *authz.Principal, action string) error {
	cause := forbidden("Defining contact fields needs the workspace.settings.manage permission.")
	if _, err := s.audit.Record(ctx, audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}
