package automation

import (
	"fmt"
	"slices"
	"strings"
	"time"
	// Time zones are looked up by name on any machine, with or without an operating system
	// zone database (a container image often has none).
	_ "time/tzdata"
)

// DayHours is one weekday's opening hours, in minutes after local midnight; Open == Close is
// closed all day.
type DayHours struct {
	Open, Close int
}

// Closed reports a day without opening hours.
func (d DayHours) Closed() bool { return d.Open >= d.Close }

// String is the "09:00-17:30" form, "" when closed.
func (d DayHours) String() string {
	if d.Closed() {
		return ""
	}
	return clockText(d.Open) + "-" + clockText(d.Close)
}

func clockText(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// parseClock reads "HH:MM" (24:00 allowed as the end of a day).
func parseClock(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, false
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// parseDayHours reads "HH:MM-HH:MM" or "" (closed).
func parseDayHours(s string) (DayHours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DayHours{}, nil
	}
	from, to, ok := strings.Cut(strings.ReplaceAll(s, "–", "-"), "-")
	o, ok1 := parseClock(strings.TrimSpace(from))
	c, ok2 := parseClock(strings.TrimSpace(to))
	if !ok || !ok1 || !ok2 {
		return DayHours{}, fmt.Errorf("write hours as 09:00-17:30, or leave the day empty when closed")
	}
	if o >= c {
		return DayHours{}, fmt.Errorf("the closing time must come after the opening time")
	}
	return DayHours{Open: o, Close: c}, nil
}

// BusinessHours are a number's opening hours: a weekly schedule in a time zone, and holidays
// (closed all day) in that zone.
type BusinessHours struct {
	Zone *time.Location
	// Week is indexed by time.Weekday (Sunday first).
	Week     [7]DayHours
	Holidays []string // "YYYY-MM-DD", sorted
}

// Open reports whether t falls in the business hours. A number whose week has no hours at all
// counts as always open: nobody configured anything, so nobody should get an away message.
func (b BusinessHours) Open(t time.Time) bool {
	if !b.Configured() {
		return true
	}
	local := t.In(b.zone())
	if slices.Contains(b.Holidays, local.Format(time.DateOnly)) {
		return false
	}
	d := b.Week[local.Weekday()]
	min := local.Hour()*60 + local.Minute()
	return !d.Closed() && min >= d.Open && min < d.Close
}

// Configured reports whether any day has hours.
func (b BusinessHours) Configured() bool {
	for _, d := range b.Week {
		if !d.Closed() {
			return true
		}
	}
	return false
}

func (b BusinessHours) zone() *time.Location {
	if b.Zone == nil {
		return time.UTC
	}
	return b.Zone
}

// weekText is the stored form of Week: seven ranges separated by ";".
func weekText(w [7]DayHours) string {
	parts := make([]string, 7)
	for i, d := range w {
		parts[i] = d.String()
	}
	return strings.Join(parts, ";")
}

// parseWeek reads weekText's form; a malformed day is closed (the form validated it on save).
func parseWeek(s string) [7]DayHours {
	var w [7]DayHours
	for i, p := range strings.Split(s, ";") {
		if i > 6 {
			break
		}
		if d, err := parseDayHours(p); err == nil {
			w[i] = d
		}
	}
	return w
}

// parseHolidays reads dates separated by spaces, commas or lines.
func parseHolidays(s string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == ';' }) {
		d, err := time.Parse(time.DateOnly, f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a date: write holidays as 2026-12-25", f)
		}
		out = append(out, d.Format(time.DateOnly))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// withinActiveHours reports whether local minute-of-day min is inside [from, to); to before
// from spans midnight ("22:00"–"06:00"). Empty bounds: always.
func withinActiveHours(from, to string, t time.Time, zone *time.Location) bool {
	if from == "" && to == "" {
		return true
	}
	f, ok1 := parseClock(from)
	e, ok2 := parseClock(to)
	if !ok1 || !ok2 {
		return true
	}
	local := t.In(zone)
	min := local.Hour()*60 + local.Minute()
	if f <= e {
		return min >= f && min < e
	}
	return min >= f || min < e
}
