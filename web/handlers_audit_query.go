package web

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the viewer's zone must load on hosts without /usr/share/zoneinfo

	"github.com/switchboard/switchboard/internal/audit"
)

// activityQuery is the activity filter as the URL carries it, so that a view can be bookmarked
// and shared: the filter itself, the viewer's time zone (the browser's can not be known on the
// server without script) and the keyset cursor. Dates are days in that zone; the filter holds
// them as UTC instants.
type activityQuery struct {
	Filter audit.Filter
	Loc    *time.Location

	// As given, for the form and for links.
	Actor, Action, Outcome, TargetType, TargetID, From, To, TZ string

	Before, After int64
	Errors        map[string]string
	Now           time.Time // the viewer's "now", for labels; set by the handler
	// DefaultTZ is the zone used when the URL names none: the viewer's own. Links leave tz out
	// when it is the default, so shared links stay short.
	DefaultTZ string
}

// Limits on what a filter field may hold: nothing legitimate is longer, and a bound keeps a
// hostile URL from reaching the database as a megabyte of text.
const maxFilterText = 200

var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$`)

// parseActivityQuery reads the filter from a URL query, in UTC when it names no zone.
func (s *Server) parseActivityQuery(v url.Values) activityQuery {
	return s.parseActivityQueryIn(v, "UTC")
}

// parseActivityQueryIn reads the filter from a URL query; without a tz the dates and times are in
// defaultTZ (the viewer's zone). Bad fields are reported in Errors, keyed by parameter name, and
// left out of the filter.
func (s *Server) parseActivityQueryIn(v url.Values, defaultTZ string) activityQuery {
	if defaultTZ == "" {
		defaultTZ = "UTC"
	}
	q := activityQuery{DefaultTZ: defaultTZ,
		Actor: strings.TrimSpace(v.Get("actor")), Action: strings.TrimSpace(v.Get("action")),
		Outcome: v.Get("outcome"), TargetType: strings.TrimSpace(v.Get("target_type")),
		TargetID: strings.TrimSpace(v.Get("target_id")), From: v.Get("from"), To: v.Get("to"),
		TZ: v.Get("tz"), Loc: time.UTC, Errors: map[string]string{},
	}
	if q.TZ == "" {
		q.TZ = defaultTZ
	}
	q.Before, _ = strconv.ParseInt(v.Get("before"), 10, 64)
	q.After, _ = strconv.ParseInt(v.Get("after"), 10, 64)
	q.Before, q.After = max(q.Before, 0), max(q.After, 0)

	if q.TZ != "" && q.TZ != "UTC" {
		loc, ok := s.zoneFor(q.TZ)
		if !ok || !zoneName.MatchString(q.TZ) {
			q.Errors["tz"] = "Choose a time zone from the list."
			q.TZ = ""
		} else {
			q.Loc = loc
		}
	}
	if q.TZ == "" {
		q.TZ = "UTC"
	}
	q.parseActor()
	q.parseAction()
	switch audit.Outcome(q.Outcome) {
	case "", audit.OutcomeSuccess, audit.OutcomeDenied, audit.OutcomeFailed:
		q.Filter.Outcome = audit.Outcome(q.Outcome)
	default:
		q.Errors["outcome"] = "Choose success, denied or failed."
	}
	switch {
	case len(q.TargetType) > maxFilterText || len(q.TargetID) > maxFilterText:
		q.Errors["target_id"] = "That is too long to be a target."
	case q.TargetID != "" && q.TargetType == "":
		q.Errors["target_type"] = "Choose what kind of target the id belongs to."
	default:
		q.Filter.TargetType, q.Filter.TargetID = q.TargetType, q.TargetID
	}
	q.parseDates()
	return q
}

func (q *activityQuery) parseActor() {
	if q.Actor == "" {
		return
	}
	typ, id, _ := strings.Cut(q.Actor, ":")
	switch t := audit.ActorType(typ); t {
	case audit.ActorMember, audit.ActorAPIKey:
		if id != "" {
			if _, err := strconv.ParseInt(id, 10, 64); err != nil {
				break
			}
		}
		q.Filter.ActorType, q.Filter.ActorID = t, id
		return
	case audit.ActorSystem, audit.ActorAnonymous:
		if id == "" {
			q.Filter.ActorType = t
			return
		}
	}
	q.Errors["actor"] = "Choose someone from the list."
}

func (q *activityQuery) parseAction() {
	if q.Action == "" {
		return
	}
	if key, ok := strings.CutPrefix(q.Action, "group:"); ok {
		if _, ok := audit.LookupGroup(key); ok {
			q.Filter.Group = key
			return
		}
	} else if audit.ValidAction(q.Action) {
		q.Filter.Action = q.Action
		return
	}
	q.Errors["action"] = "Choose an action from the list."
}

func (q *activityQuery) parseDates() {
	day := func(name, s string) (time.Time, bool) {
		if s == "" {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation(time.DateOnly, s, q.Loc)
		if err != nil {
			q.Errors[name] = "Enter a date as YYYY-MM-DD."
			return time.Time{}, false
		}
		return t, true
	}
	from, okFrom := day("from", q.From)
	to, okTo := day("to", q.To)
	if okFrom && okTo && !from.IsZero() && !to.IsZero() && to.Before(from) {
		q.Errors["to"] = "The end date is before the start date."
		return
	}
	if okFrom && !from.IsZero() {
		q.Filter.From = from.UTC()
	}
	if okTo && !to.IsZero() {
		// "To" names a whole day: the range ends at the start of the next one, in the viewer's
		// zone (AddDate keeps days whole across a daylight-saving change).
		q.Filter.To = to.AddDate(0, 0, 1).UTC()
	}
}

// values is the query of the filter and zone, without a cursor; empty fields are left out so
// shared links stay short.
func (q activityQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("actor", q.Actor)
	set("action", q.Action)
	set("outcome", q.Outcome)
	set("target_type", q.TargetType)
	set("target_id", q.TargetID)
	set("from", q.From)
	set("to", q.To)
	if q.TZ != q.DefaultTZ && !(q.DefaultTZ == "" && q.TZ == "UTC") {
		set("tz", q.TZ)
	}
	return v
}

// href is path with the filter, the zone and extra parameters.
func (q activityQuery) href(path string, extra ...string) string {
	v := q.values()
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// zoneOnly keeps the viewer's zone and nothing else of the filter, for links that start afresh.
func (q activityQuery) zoneOnly() activityQuery {
	return activityQuery{TZ: q.TZ, Loc: q.Loc, Now: q.Now, DefaultTZ: q.DefaultTZ}
}

// commonZones is the zone select: UTC, then zones where most of the world's businesses are.
var commonZones = []string{
	"UTC",
	"Europe/London", "Europe/Lisbon", "Europe/Dublin", "Europe/Madrid", "Europe/Paris", "Europe/Berlin",
	"Europe/Amsterdam", "Europe/Rome", "Europe/Warsaw", "Europe/Athens", "Europe/Istanbul", "Europe/Kyiv",
	"Africa/Lagos", "Africa/Cairo", "Africa/Johannesburg", "Africa/Nairobi",
	"Asia/Dubai", "Asia/Riyadh", "Asia/Karachi", "Asia/Kolkata", "Asia/Dhaka", "Asia/Jakarta",
	"Asia/Singapore", "Asia/Manila", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Perth", "Australia/Sydney", "Pacific/Auckland",
	"America/Sao_Paulo", "America/Argentina/Buenos_Aires", "America/Bogota", "America/Lima",
	"America/Mexico_City", "America/New_York", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
}

// zoneFor is the zone a page shows times in, by IANA name ("" is UTC), with the same rules as
// a member's saved zone (members.LoadTimeZone: "Local" and unknown names are refused), loaded
// once per name. Every page that reads a zone (the viewer's own, ?tz= on Analytics and the
// activity log, labels of the zone select) goes through it.
func (s *Server) zoneFor(name string) (*time.Location, bool) {
	loc, err := s.zones.Load(name)
	return loc, err == nil
}

// zoneLabel names a zone with its offset now: "Europe/Berlin (UTC+01:00)".
func (s *Server) zoneLabel(name string, now time.Time) string {
	loc, ok := s.zoneFor(name)
	if !ok {
		return name
	}
	_, off := now.In(loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s (UTC%c%02d:%02d)", strings.ReplaceAll(name, "_", " "), sign, off/3600, off%3600/60)
}
