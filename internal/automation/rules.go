package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Match is how a rule's pattern is compared with a message.
type Match string

// Matches.
const (
	MatchContains Match = "contains"
	MatchExact    Match = "exact"
	MatchRegex    Match = "regex"
)

// Label is the match for people.
func (m Match) Label() string {
	switch m {
	case MatchContains:
		return "Contains"
	case MatchExact:
		return "Is exactly"
	case MatchRegex:
		return "Matches the regular expression"
	}
	return string(m)
}

// Matches lists the kinds a rule may use.
func Matches() []Match { return []Match{MatchContains, MatchExact, MatchRegex} }

// Reply kinds.
const (
	ReplyCanned  = "canned"
	ReplyButtons = "buttons"
)

// Rule is a keyword auto-reply.
type Rule struct {
	ID            int64
	Name          string
	PhoneNumberID int64 // 0: every number
	NumberName    string
	Match         Match
	Pattern       string
	Priority      int
	ActiveFrom    string
	ActiveTo      string
	ReplyKind     string
	CannedID      int64
	CannedTitle   string
	Body          string
	Buttons       []string
	Enabled       bool
}

// Matches reports whether text triggers the rule: case-insensitive, trimmed; a regular
// expression is Go's RE2 syntax (linear time, so a customer's message cannot make it hang).
func (r Rule) Matches(text string) bool {
	t := strings.TrimSpace(text)
	switch r.Match {
	case MatchContains:
		return strings.Contains(strings.ToLower(t), strings.ToLower(r.Pattern))
	case MatchExact:
		return strings.EqualFold(t, strings.TrimSpace(r.Pattern))
	case MatchRegex:
		re, err := regexp.Compile("(?i)" + r.Pattern)
		return err == nil && re.MatchString(t)
	}
	return false
}

// Interactive is the reply-buttons message of a rule (ReplyButtons); more than three choices
// become a list.
func (r Rule) Interactive() whatsapp.InteractiveMessage {
	return choicesMessage(r.Body, r.Buttons, "rule:"+strconv.FormatInt(r.ID, 10)+":")
}

// choicesMessage is reply buttons for up to three choices, a list for up to ten.
func choicesMessage(body string, titles []string, idPrefix string) whatsapp.InteractiveMessage {
	m := whatsapp.InteractiveMessage{Body: body}
	if len(titles) <= 3 {
		for i, t := range titles {
			m.Buttons = append(m.Buttons, whatsapp.ReplyButton{ID: idPrefix + strconv.Itoa(i+1), Title: t})
		}
		return m
	}
	m.ListButton = "Choose"
	var rows []whatsapp.ListRow
	for i, t := range titles {
		rows = append(rows, whatsapp.ListRow{ID: idPrefix + strconv.Itoa(i+1), Title: t})
	}
	m.Sections = []whatsapp.ListSection{{Rows: rows}}
	return m
}

// RuleInput is the rule form as typed.
type RuleInput struct {
	Name          string
	PhoneNumberID string // "" or "0": every number
	Match         string
	Pattern       string
	Priority      string
	ActiveFrom    string
	ActiveTo      string
	ReplyKind     string
	CannedID      string
	Body          string
	Buttons       string // one choice a line
}

func (in RuleInput) validate() (Rule, FieldErrors) {
	fe := FieldErrors{}
	r := Rule{Name: strings.TrimSpace(in.Name), Match: Match(in.Match), Pattern: strings.TrimSpace(in.Pattern),
		ActiveFrom: strings.TrimSpace(in.ActiveFrom), ActiveTo: strings.TrimSpace(in.ActiveTo), ReplyKind: in.ReplyKind,
		Body: strings.TrimSpace(in.Body), Enabled: true, Priority: 100}
	switch n := utf8.RuneCountInString(r.Name); {
	case n == 0:
		fe["name"] = "Name the rule, such as “Opening hours question”."
	case n > maxName:
		fe["name"] = fmt.Sprintf("Use at most %d characters.", maxName)
	}
	if v := strings.TrimSpace(in.PhoneNumberID); v != "" && v != "0" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fe["phone_number_id"] = "Choose a phone number."
		}
		r.PhoneNumberID = id
	}
	switch r.Match {
	case MatchContains, MatchExact, MatchRegex:
	default:
		fe["match"] = "Choose how the keyword is matched."
	}
	switch n := utf8.RuneCountInString(r.Pattern); {
	case n == 0:
		fe["pattern"] = "Give the keyword or expression the message is matched against."
	case n > maxPattern:
		fe["pattern"] = fmt.Sprintf("Use at most %d characters.", maxPattern)
	case r.Match == MatchRegex:
		if _, err := regexp.Compile(r.Pattern); err != nil {
			fe["pattern"] = "This is not a valid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ") + "."
		}
	}
	if v := strings.TrimSpace(in.Priority); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fe["priority"] = "Give a priority from 1 (first) to 1000."
		}
		r.Priority = n
	}
	if (r.ActiveFrom == "") != (r.ActiveTo == "") {
		fe["active_from"] = "Give both times, or neither for all day."
	} else if r.ActiveFrom != "" {
		_, ok1 := parseClock(r.ActiveFrom)
		_, ok2 := parseClock(r.ActiveTo)
		if !ok1 || !ok2 || r.ActiveFrom == r.ActiveTo {
			fe["active_from"] = "Write the times as 08:00 and 20:00 (the number's time zone)."
		}
	}
	switch r.ReplyKind {
	case ReplyCanned:
		id, err := strconv.ParseInt(strings.TrimSpace(in.CannedID), 10, 64)
		if err != nil || id <= 0 {
			fe["canned_id"] = "Choose the canned reply to answer with."
		}
		r.CannedID, r.Body = id, ""
	case ReplyButtons:
		for _, line := range strings.Split(in.Buttons, "\n") {
			if t := strings.TrimSpace(line); t != "" {
				r.Buttons = append(r.Buttons, t)
			}
		}
		switch {
		case r.Body == "":
			fe["body"] = "Write the message the buttons come with."
		case utf8.RuneCountInString(r.Body) > maxBody:
			fe["body"] = fmt.Sprintf("Use at most %d characters.", maxBody)
		case len(r.Buttons) == 0 || len(r.Buttons) > 10:
			fe["buttons"] = "Give 1 to 10 choices, one a line (up to 3 show as buttons, more as a list)."
		default:
			if _, err := r.Interactive().Interactive(); err != nil {
				fe["buttons"] = "WhatsApp refuses these choices: " + err.Error() + " (button titles have at most 20 characters, list rows 24)."
			}
		}
	default:
		fe["reply_kind"] = "Choose what the rule answers with."
	}
	if len(fe) > 0 {
		return r, fe
	}
	return r, nil
}

const ruleColumns = `r.id, r.name, coalesce(r.phone_number_id, 0), coalesce(` + numberName + `, 'Every number'), r.match, r.pattern,
	r.priority, r.active_from, r.active_to, r.reply_kind, coalesce(r.canned_id, 0), coalesce(cr.title, ''), r.body, r.buttons, r.enabled`

const ruleFrom = ` FROM automation_rules r LEFT JOIN phone_numbers p ON p.id = r.phone_number_id
	LEFT JOIN canned_responses cr ON cr.id = r.canned_id`

func scanRule(row interface{ Scan(...any) error }) (Rule, error) {
	var (
		r       Rule
		buttons string
		enabled int
	)
	err := row.Scan(&r.ID, &r.Name, &r.PhoneNumberID, &r.NumberName, &r.Match, &r.Pattern, &r.Priority, &r.ActiveFrom, &r.ActiveTo,
		&r.ReplyKind, &r.CannedID, &r.CannedTitle, &r.Body, &buttons, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Rule{}, ErrNotFound
	}
	if err != nil {
		return Rule{}, fmt.Errorf("scan rule: %w", err)
	}
	if buttons != "" {
		r.Buttons = strings.Split(buttons, "\n")
	}
	r.Enabled = enabled == 1
	return r, nil
}

// Rules lists the rules in the order they are tried.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) {
	return rules(ctx, s.db.R, false)
}

func rules(ctx context.Context, q db.Querier, enabledOnly bool) ([]Rule, error) {
	where := ""
	if enabledOnly {
		where = " WHERE r.enabled = 1"
	}
	rows, err := q.QueryContext(ctx, `SELECT `+ruleColumns+ruleFrom+where+` ORDER BY r.priority, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	defer rows.Close()
	var out []Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRule adds a keyword rule.
func (s *Service) CreateRule(ctx context.Context, p *authz.Principal, in RuleInput) (Rule, error) {
	const action = "automation.rule_created"
	if err := s.allowed(ctx, p, action); err != nil {
		return Rule{}, err
	}
	r, fe := in.validate()
	if fe != nil {
		return r, fe
	}
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if r.PhoneNumberID != 0 {
			if err := s.numberExists(ctx, tx, r.PhoneNumberID); err != nil {
				return FieldErrors{"phone_number_id": "Choose a phone number."}
			}
		}
		if r.CannedID != 0 {
			if _, err := s.inbox.CannedByID(ctx, tx, r.CannedID); err != nil {
				return FieldErrors{"canned_id": "Choose one of the canned replies."}
			}
		}
		now := s.clock.Now().UnixMilli()
		res, err := tx.ExecContext(ctx, `INSERT INTO automation_rules (name, phone_number_id, match, pattern, priority, active_from,
			active_to, reply_kind, canned_id, body, buttons, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Name, nullID(r.PhoneNumberID), string(r.Match), r.Pattern, r.Priority, r.ActiveFrom, r.ActiveTo, r.ReplyKind,
			nullID(r.CannedID), r.Body, strings.Join(r.Buttons, "\n"), now, now)
		if err != nil {
			return fmt.Errorf("create rule: %w", err)
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.record(ctx, tx, p, action, target("automation_rule", r.ID),
			audit.Change{Field: "name", After: r.Name}, audit.Change{Field: "match", After: string(r.Match)},
			audit.Change{Field: "pattern", After: r.Pattern}, audit.Change{Field: "priority", After: r.Priority},
			audit.Change{Field: "reply_kind", After: r.ReplyKind}, audit.Change{Field: "phone_number_id", After: nullID(r.PhoneNumberID)})
	})
	return r, err
}

// SetRuleEnabled switches a rule on or off.
func (s *Service) SetRuleEnabled(ctx context.Context, p *authz.Principal, id int64, enabled bool) error {
	const action = "automation.rule_updated"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+ruleFrom+` WHERE r.id = ?`, id))
		if err != nil {
			return err
		}
		if r.Enabled == enabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE automation_rules SET enabled = ?, updated_at = ? WHERE id = ?`,
			boolInt(enabled), s.clock.Now().UnixMilli(), id); err != nil {
			return fmt.Errorf("update rule: %w", err)
		}
		return s.record(ctx, tx, p, action, target("automation_rule", id), audit.Change{Field: "enabled", Before: r.Enabled, After: enabled})
	})
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, p *authz.Principal, id int64) error {
	const action = "automation.rule_deleted"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+ruleFrom+` WHERE r.id = ?`, id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM automation_rules WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete rule: %w", err)
		}
		return s.record(ctx, tx, p, action, target("automation_rule", id), audit.Change{Field: "name", Before: r.Name})
	})
}

// matchRule is the first of list (enabled rules in priority order) that answers text on
// number pn at t.
func matchRule(list []Rule, pn int64, text string, t time.Time, zone *time.Location) (Rule, bool) {
	for _, r := range list {
		if r.PhoneNumberID != 0 && r.PhoneNumberID != pn {
			continue
		}
		if !withinActiveHours(r.ActiveFrom, r.ActiveTo, t, zone) {
			continue
		}
		if r.Matches(text) {
			return r, true
		}
	}
	return Rule{}, false
}
