package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// NumberSettings are a phone number's automation settings.
type NumberSettings struct {
	PhoneNumberID int64
	NumberName    string
	TimeZone      string
	Week          [7]DayHours
	Holidays      []string
	AwayEnabled   bool
	AwayMessage   string
	AutoAssign    bool
	AssignLimit   int
	RatingEnabled bool
}

// Hours are the settings' business hours.
func (n NumberSettings) Hours() BusinessHours {
	zone, err := time.LoadLocation(n.TimeZone)
	if err != nil {
		zone = time.UTC
	}
	return BusinessHours{Zone: zone, Week: n.Week, Holidays: n.Holidays}
}

// DefaultAssignLimit is the open conversations a member takes before auto-assignment passes them by.
const DefaultAssignLimit = 10

// NumberInput is the settings form of one number, as typed.
type NumberInput struct {
	TimeZone      string
	Days          [7]string // "09:00-17:00" or "", Sunday first
	Holidays      string
	AwayEnabled   bool
	AwayMessage   string
	AutoAssign    bool
	AssignLimit   string
	RatingEnabled bool
}

// Limits.
const (
	maxAway    = 1024
	maxName    = 80
	maxPattern = 200
	maxBody    = 1024
)

// Settings returns every connected number's settings (defaults for a number never saved).
func (s *Service) Settings(ctx context.Context) ([]NumberSettings, error) {
	nums, err := s.Numbers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]NumberSettings, 0, len(nums))
	for _, n := range nums {
		ns, err := numberSettings(ctx, s.db.R, n.ID)
		if err != nil {
			return nil, err
		}
		ns.NumberName = n.Name
		out = append(out, ns)
	}
	return out, nil
}

func numberSettings(ctx context.Context, q db.Querier, id int64) (NumberSettings, error) {
	ns := NumberSettings{PhoneNumberID: id, TimeZone: "UTC", AssignLimit: DefaultAssignLimit}
	var week, holidays string
	var away, assign, rating int
	err := q.QueryRowContext(ctx, `SELECT time_zone, hours, holidays, away_enabled, away_message, auto_assign, assign_limit, rating_enabled
		FROM automation_numbers WHERE phone_number_id = ?`, id).Scan(&ns.TimeZone, &week, &holidays, &away, &ns.AwayMessage, &assign, &ns.AssignLimit, &rating)
	if errors.Is(err, sql.ErrNoRows) {
		return ns, nil
	}
	if err != nil {
		return ns, fmt.Errorf("read automation settings: %w", err)
	}
	ns.Week = parseWeek(week)
	ns.Holidays, _ = parseHolidays(holidays)
	ns.AwayEnabled, ns.AutoAssign, ns.RatingEnabled = away == 1, assign == 1, rating == 1
	return ns, nil
}

// validate turns the form into settings, or says what is wrong with it.
func (in NumberInput) validate(id int64) (NumberSettings, FieldErrors) {
	fe := FieldErrors{}
	ns := NumberSettings{PhoneNumberID: id, TimeZone: strings.TrimSpace(in.TimeZone), AwayEnabled: in.AwayEnabled,
		AwayMessage: strings.TrimSpace(in.AwayMessage), AutoAssign: in.AutoAssign, RatingEnabled: in.RatingEnabled}
	if ns.TimeZone == "" {
		ns.TimeZone = "UTC"
	}
	if _, err := members.LoadTimeZone(ns.TimeZone); err != nil {
		fe["time_zone"] = "Choose a time zone such as Europe/Berlin or America/New_York."
	}
	for i, d := range in.Days {
		h, err := parseDayHours(d)
		if err != nil {
			fe["day"+strconv.Itoa(i)] = time.Weekday(i).String() + ": " + err.Error() + "."
		}
		ns.Week[i] = h
	}
	hol, err := parseHolidays(in.Holidays)
	if err != nil {
		fe["holidays"] = err.Error() + "."
	}
	ns.Holidays = hol
	switch {
	case ns.AwayEnabled && ns.AwayMessage == "":
		fe["away_message"] = "Write the away message, or switch it off."
	case utf8.RuneCountInString(ns.AwayMessage) > maxAway:
		fe["away_message"] = fmt.Sprintf("Use at most %d characters.", maxAway)
	case ns.AwayEnabled && !ns.Hours().Configured():
		fe["away_message"] = "Set the business hours first: without them the number is always open."
	}
	ns.AssignLimit = DefaultAssignLimit
	if v := strings.TrimSpace(in.AssignLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fe["assign_limit"] = "Give a number of conversations from 1 to 1000."
		}
		ns.AssignLimit = n
	}
	if len(fe) > 0 {
		return ns, fe
	}
	return ns, nil
}

// SaveNumber stores a number's settings, recording what changed.
func (s *Service) SaveNumber(ctx context.Context, p *authz.Principal, id int64, in NumberInput) error {
	const action = "automation.number_updated"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	ns, fe := in.validate(id)
	if fe != nil {
		return fe
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.numberExists(ctx, tx, id); err != nil {
			return err
		}
		before, err := numberSettings(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_numbers (phone_number_id, time_zone, hours, holidays, away_enabled,
			away_message, auto_assign, assign_limit, rating_enabled, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (phone_number_id) DO UPDATE SET time_zone = excluded.time_zone, hours = excluded.hours,
			holidays = excluded.holidays, away_enabled = excluded.away_enabled, away_message = excluded.away_message,
			auto_assign = excluded.auto_assign, assign_limit = excluded.assign_limit, rating_enabled = excluded.rating_enabled,
			updated_at = excluded.updated_at`, id, ns.TimeZone, weekText(ns.Week), strings.Join(ns.Holidays, " "),
			boolInt(ns.AwayEnabled), ns.AwayMessage, boolInt(ns.AutoAssign), ns.AssignLimit, boolInt(ns.RatingEnabled),
			s.clock.Now().UnixMilli()); err != nil {
			return fmt.Errorf("save automation settings: %w", err)
		}
		var changes []audit.Change
		add := func(field string, b, a any) {
			if fmt.Sprint(b) != fmt.Sprint(a) {
				changes = append(changes, audit.Change{Field: field, Before: b, After: a})
			}
		}
		add("time_zone", before.TimeZone, ns.TimeZone)
		add("hours", weekText(before.Week), weekText(ns.Week))
		add("holidays", strings.Join(before.Holidays, " "), strings.Join(ns.Holidays, " "))
		add("away_enabled", before.AwayEnabled, ns.AwayEnabled)
		add("away_message", before.AwayMessage, ns.AwayMessage)
		add("auto_assign", before.AutoAssign, ns.AutoAssign)
		add("assign_limit", before.AssignLimit, ns.AssignLimit)
		add("rating_enabled", before.RatingEnabled, ns.RatingEnabled)
		if len(changes) == 0 {
			return nil
		}
		return s.record(ctx, tx, p, action, target("phone_number", id), changes...)
	})
}
