package campaigns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Segment chooses contacts. Empty criteria choose every contact the creator may reach.
type Segment struct {
	// PhonePrefix keeps numbers starting with it ("+49", "+1 555"): a country or an area.
	PhonePrefix string `json:"phone_prefix,omitempty"`
	// ContactedSince and ContactedBefore bound the last contact with the customer, a message either
	// way on a number of the creator's scope (UTC dates, ContactedSince inclusive, ContactedBefore
	// exclusive).
	ContactedSince  time.Time `json:"contacted_since,omitzero"`
	ContactedBefore time.Time `json:"contacted_before,omitzero"`
	// LabelIDs keeps contacts with any of these labels, on the contact or on one of their
	// conversations; LabelNames are their names when the campaign was created.
	LabelIDs   []int64  `json:"label_ids,omitempty"`
	LabelNames []string `json:"label_names,omitempty"`
	// FieldID and FieldValue keep contacts whose custom field has this value (ignoring case);
	// FieldLabel is the field's name when the campaign was created.
	FieldID    int64  `json:"field_id,omitempty"`
	FieldValue string `json:"field_value,omitempty"`
	FieldLabel string `json:"field_label,omitempty"`
}

// Describe is the segment in words, for lists and the activity log.
func (s Segment) Describe() string {
	var parts []string
	if s.PhonePrefix != "" {
		parts = append(parts, "numbers starting "+s.PhonePrefix)
	}
	if !s.ContactedSince.IsZero() {
		parts = append(parts, "last contact since "+s.ContactedSince.Format("2 Jan 2006"))
	}
	if !s.ContactedBefore.IsZero() {
		parts = append(parts, "last contact before "+s.ContactedBefore.Format("2 Jan 2006"))
	}
	if len(s.LabelNames) > 0 {
		parts = append(parts, "labelled "+strings.Join(s.LabelNames, " or "))
	}
	if s.FieldID != 0 {
		parts = append(parts, s.FieldLabel+" is “"+s.FieldValue+"”")
	}
	if len(parts) == 0 {
		return "all contacts"
	}
	return strings.Join(parts, ", ")
}

func (s Segment) validate(fe FieldErrors) Segment {
	s.PhonePrefix = strings.TrimSpace(s.PhonePrefix)
	if s.PhonePrefix != "" {
		digits := digitsOf(s.PhonePrefix)
		if digits == "" || len(digits) > 15 || strings.Trim(s.PhonePrefix, "+0123456789 -()") != "" {
			fe["phone_prefix"] = "Enter the start of a phone number in digits, such as +49 or +1 555."
		} else {
			s.PhonePrefix = "+" + digits
		}
	}
	if !s.ContactedSince.IsZero() && !s.ContactedBefore.IsZero() && !s.ContactedSince.Before(s.ContactedBefore) {
		fe["contacted_before"] = "Choose a date after the “last contact on or after” date."
	}
	return s
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SegmentSize is a segment counted for a template: who receives it, who is left out and why.
type SegmentSize struct {
	Matched         int
	Recipients      int
	LeftOutConsent  int // MARKETING template, contact never opted in
	LeftOutOptedOut int // the contact opted out (STOP or by hand)
	Marketing       bool
}

// Summary is the size in one sentence: "412 recipients, 38 left out: no marketing consent".
func (s SegmentSize) Summary() string {
	out := plural(s.Recipients, "recipient", "recipients")
	var left []string
	if s.LeftOutConsent > 0 {
		left = append(left, fmt.Sprintf("%d left out: no marketing consent", s.LeftOutConsent))
	}
	if s.LeftOutOptedOut > 0 {
		left = append(left, fmt.Sprintf("%d left out: opted out", s.LeftOutOptedOut))
	}
	if len(left) > 0 {
		out += ", " + strings.Join(left, ", ")
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// selectContacts runs fn for each contact of seg that the principal may reach, in id order,
// with the contact's current consent. A member reaches the contacts of conversations on the
// numbers of their scope; a contact no conversation ties to a number is reached only by members
// who work on all numbers.
func selectContacts(ctx context.Context, q db.Querier, scope authz.NumberScope, seg Segment, fn func(Contact) error) error {
	where := []string{"c.wa_id IS NOT NULL"}
	var args []any
	if seg.PhonePrefix != "" {
		where = append(where, "c.wa_id LIKE ?")
		args = append(args, digitsOf(seg.PhonePrefix)+"%")
	}
	conv := "v.contact_id = c.id"
	if !scope.All {
		if len(scope.IDs) == 0 {
			return nil
		}
		conv += " AND v.phone_number_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(scope.IDs)), ",") + ")"
		where = append(where, "EXISTS (SELECT 1 FROM conversations v WHERE "+conv+")")
		for _, id := range scope.IDs {
			args = append(args, id)
		}
	}
	if !seg.ContactedSince.IsZero() || !seg.ContactedBefore.IsZero() {
		last := "(SELECT max(v.last_message_at) FROM conversations v WHERE " + conv + ")"
		if !scope.All {
			for _, id := range scope.IDs {
				args = append(args, id)
			}
		}
		if !seg.ContactedSince.IsZero() && !seg.ContactedBefore.IsZero() {
			where = append(where, last+" BETWEEN ? AND ?")
			args = append(args, seg.ContactedSince.UnixMilli(), seg.ContactedBefore.UnixMilli()-1)
		} else if !seg.ContactedSince.IsZero() {
			where = append(where, last+" >= ?")
			args = append(args, seg.ContactedSince.UnixMilli())
		} else {
			where = append(where, last+" < ?")
			args = append(args, seg.ContactedBefore.UnixMilli())
		}
	}
	if len(seg.LabelIDs) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?,", len(seg.LabelIDs)), ",")
		onConv := "v.contact_id = c.id AND vl.label_id IN (" + marks + ")"
		if !scope.All {
			onConv += " AND v.phone_number_id IN (" + strings.TrimSuffix(strings.Repeat("?,", len(scope.IDs)), ",") + ")"
		}
		where = append(where, "(EXISTS (SELECT 1 FROM contact_labels cl WHERE cl.contact_id = c.id AND cl.label_id IN ("+marks+
			")) OR EXISTS (SELECT 1 FROM conversation_labels vl JOIN conversations v ON v.id = vl.conversation_id WHERE "+onConv+"))")
		// The label ids twice (contact, conversation), then the scope of the conversation branch.
		for range 2 {
			for _, id := range seg.LabelIDs {
				args = append(args, id)
			}
		}
		if !scope.All {
			for _, id := range scope.IDs {
				args = append(args, id)
			}
		}
	}
	if seg.FieldID != 0 {
		where = append(where, "EXISTS (SELECT 1 FROM contact_field_values fv WHERE fv.contact_id = c.id AND fv.field_id = ? AND fv.value = ? COLLATE NOCASE)")
		args = append(args, seg.FieldID, seg.FieldValue)
	}
	rows, err := q.QueryContext(ctx, `SELECT c.id, c.wa_id, coalesce(nullif(c.name, ''), c.profile_name),
		coalesce((SELECT cc.status FROM contact_consents cc WHERE cc.contact_id = c.id ORDER BY cc.id DESC LIMIT 1), '')
		FROM contacts c WHERE `+strings.Join(where, " AND ")+` ORDER BY c.id`, args...)
	if err != nil {
		return fmt.Errorf("select segment: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.WaID, &c.Name, &c.Consent); err != nil {
			return fmt.Errorf("scan contact: %w", err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// leftOut says why a contact gets no message of a campaign, "" when they get it. Opted-out
// contacts are left out of every campaign, not only marketing ones: they asked to hear nothing
// unsolicited.
func leftOut(c Contact, marketing bool) string {
	switch {
	case c.Consent == "opted_out":
		return reasonOptedOut
	case marketing && c.Consent != "opted_in":
		return reasonNoConsent
	}
	return ""
}

// Reasons a recipient is skipped.
const (
	reasonNoConsent = "no marketing consent"
	reasonOptedOut  = "opted out"
)

// formatPhone shows a wa_id as "+49 30 …" when known, else "+digits".
func formatPhone(waID string) string {
	if p, ok := whatsapp.NormalizePhone(waID); ok {
		return "+" + p
	}
	return "+" + waID
}
