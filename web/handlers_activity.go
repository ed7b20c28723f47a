package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
)

const activityPageSize = 50

// sessionLastSearch remembers the last filter recorded as audit.searched, so that a search is
// logged when the filter changes, not at every page turn, reload or htmx swap.
const sessionLastSearch = "activity_last_search"

// activityPage lists events by the filter in the URL. htmx requests get the results only.
func (s *Server) activityPage(c echo.Context) error {
	ctx := c.Request().Context()
	q := s.parseActivityQueryIn(c.QueryParams(), s.viewerZoneName(c))
	q.Now = s.Clock.Now()
	results := views.ActivityResults{Invalid: len(q.Errors) > 0, Filtered: !q.Filter.IsZero(), ClearHref: q.zoneOnly().href("/activity")}
	status := http.StatusOK
	if results.Invalid {
		status = http.StatusBadRequest
		results.Status = "The filter needs correcting."
	} else {
		if err := s.recordSearch(c, q); err != nil {
			return err
		}
		events, page, err := s.Audit.List(ctx, audit.ListQuery{Filter: q.Filter, BeforeID: q.Before, AfterID: q.After, Limit: activityPageSize})
		if err != nil {
			return err
		}
		results = s.activityResults(c, q, events, page, results)
	}
	if isHTMX(c) {
		// The form sends every field, empty ones too; the address bar gets the short form.
		c.Response().Header().Set("HX-Push-Url", q.href("/activity", cursorParams(q)...))
		return render(c, status, views.ActivityResultsPart(results))
	}
	form, err := s.activityFilterForm(c, q)
	if err != nil {
		return err
	}
	v := views.ActivityView{
		Page: s.page(c, "Activity", "activity"), Filter: form, Results: results,
		IntegrityHref: q.zoneOnly().href("/activity/integrity"),
		QuickViews:    quickViews(q),
	}
	if principalOf(c).Can(authz.SecurityManage) {
		v.RetentionHref = q.zoneOnly().href("/activity/retention")
	}
	return render(c, status, views.Activity(v))
}

func cursorParams(q activityQuery) []string {
	switch {
	case q.Before > 0:
		return []string{"before", strconv.FormatInt(q.Before, 10)}
	case q.After > 0:
		return []string{"after", strconv.FormatInt(q.After, 10)}
	}
	return nil
}

// quickViews are the filters an auditor reaches for most, one click away.
func quickViews(q activityQuery) []views.QuickView {
	zone := q.zoneOnly()
	out := []views.QuickView{
		{Label: "Denied access", Href: zone.href("/activity", "outcome", string(audit.OutcomeDenied))},
		{Label: "Failed sign-ins", Href: zone.href("/activity", "action", "member.sign_in_failed")},
		{Label: "Members & roles", Href: zone.href("/activity", "action", "group:members")},
		{Label: "Exports", Href: zone.href("/activity", "action", audit.ActionExported)},
	}
	current := q.href("/activity")
	for i := range out {
		out[i].Current = out[i].Href == current
	}
	return out
}

// recordSearch writes audit.searched for a filtered first page whose filter differs from the
// last one this session recorded. Paging, reloading and going back are not new searches.
func (s *Server) recordSearch(c echo.Context, q activityQuery) error {
	if q.Filter.IsZero() || q.Before != 0 || q.After != 0 {
		return nil
	}
	ctx := c.Request().Context()
	filter := q.Filter.Encode()
	if s.Sessions.GetString(ctx, sessionLastSearch) == filter {
		return nil
	}
	if _, err := s.Audit.Record(ctx, audit.Event{
		Action:  "audit.searched",
		Target:  audit.Target{Type: "audit_log"},
		Changes: []audit.Change{{Field: "filter", After: filter}},
	}); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionLastSearch, filter)
	return nil
}

func (s *Server) activityResults(c echo.Context, q activityQuery, events []audit.Event, page audit.Page, r views.ActivityResults) views.ActivityResults {
	r.Events = make([]views.EventRow, 0, len(events))
	for _, e := range events {
		r.Events = append(r.Events, eventRow(e, q))
	}
	if page.HasOlder {
		r.OlderHref = q.href("/activity", "before", strconv.FormatInt(page.Before, 10))
	}
	if page.HasNewer {
		r.NewerHref = q.href("/activity", "after", strconv.FormatInt(page.After, 10))
	}
	r.Partial = page.Partial
	switch {
	case len(events) == 0:
		r.Status = "No events match."
	case len(events) == 1:
		r.Status = fmt.Sprintf("1 event, %s.", events[0].At.In(q.Loc).Format("2 Jan 2006"))
	default:
		r.Status = fmt.Sprintf("%d events, newest first: %s to %s.", len(events),
			events[0].At.In(q.Loc).Format("2 Jan 2006 15:04"), events[len(events)-1].At.In(q.Loc).Format("2 Jan 2006 15:04"))
	}
	if q.TZ != "UTC" {
		r.Status += " Times in " + q.TZ + "."
	} else {
		r.Status += " Times in UTC."
	}
	if principalOf(c).Can(authz.AuditExport) {
		r.ExportCSV = q.href("/activity/export", "format", string(audit.ExportCSV))
		r.ExportJSONL = q.href("/activity/export", "format", string(audit.ExportJSONL))
	}
	return r
}

// activityFilterForm fills the filter's choices: members by name, actions by group, the target
// types present in the log, and common time zones.
func (s *Server) activityFilterForm(c echo.Context, q activityQuery) (views.ActivityFilter, error) {
	ctx := c.Request().Context()
	f := views.ActivityFilter{
		Actor: q.Actor, Action: q.Action, Outcome: q.Outcome, TargetType: q.TargetType, TargetID: q.TargetID,
		From: q.From, To: q.To, TZ: q.TZ, Errors: q.Errors,
	}
	list, err := s.Members.Store().List(ctx)
	if err != nil {
		return f, err
	}
	people := views.OptionGroup{Label: "Members"}
	for _, m := range list {
		people.Options = append(people.Options, views.Option{Value: "member:" + strconv.FormatInt(m.ID, 10), Label: printable(m.Name)})
	}
	others := views.OptionGroup{Label: "Others", Options: []views.Option{
		{Value: "member", Label: "Any member"}, {Value: "api_key", Label: "Any API key"},
		{Value: "system", Label: "System"}, {Value: "anonymous", Label: "Not signed in"},
	}}
	// A followed actor who is not a member any more (or an API key) still shows as chosen.
	if q.Filter.ActorID != "" && !hasOption(people.Options, q.Actor) {
		others.Options = append(others.Options, views.Option{Value: q.Actor, Label: actorKind(q.Filter.ActorType) + " " + q.Filter.ActorID})
	}
	f.ActorGroups = []views.OptionGroup{people, others}

	facets, err := s.Audit.Facets(ctx)
	if err != nil {
		return f, err
	}
	f.ActionGroups = actionOptions(facets.Actions, q.Filter.Action)
	for _, t := range facets.TargetTypes {
		f.TargetTypes = append(f.TargetTypes, views.Option{Value: t, Label: printable(t)})
	}
	if q.TargetType != "" && !hasOption(f.TargetTypes, q.TargetType) {
		f.TargetTypes = append(f.TargetTypes, views.Option{Value: q.TargetType, Label: printable(q.TargetType)})
	}
	now := s.Clock.Now()
	for _, z := range commonZones {
		f.Zones = append(f.Zones, views.Option{Value: z, Label: s.zoneLabel(z, now)})
	}
	if !hasOption(f.Zones, q.TZ) {
		f.Zones = append(f.Zones, views.Option{Value: q.TZ, Label: s.zoneLabel(q.TZ, now)})
	}
	return f, nil
}

// actionOptions groups the actions in the log: each group offers "all of it", then its actions.
func actionOptions(actions []string, chosen string) []views.OptionGroup {
	if chosen != "" && !slices.Contains(actions, chosen) {
		actions = append(slices.Clip(actions), chosen) // never into the shared facets
	}
	var out []views.OptionGroup
	for _, g := range audit.ActionGroups() {
		og := views.OptionGroup{Label: g.Label, Options: []views.Option{{Value: "group:" + g.Key, Label: g.Label + " (all)"}}}
		for _, a := range actions {
			if audit.GroupOf(a).Key == g.Key {
				og.Options = append(og.Options, views.Option{Value: a, Label: audit.ActionLabel(a)})
			}
		}
		slices.SortStableFunc(og.Options[1:], func(x, y views.Option) int { return strings.Compare(x.Label, y.Label) })
		out = append(out, og)
	}
	return out
}

func hasOption(opts []views.Option, value string) bool {
	for _, o := range opts {
		if o.Value == value {
			return true
		}
	}
	return false
}

// eventRow presents an event for the list, with links that keep the viewer's zone.
func eventRow(e audit.Event, q activityQuery) views.EventRow {
	zone := q.zoneOnly()
	r := views.EventRow{
		ID: e.ID, Href: q.href("/activity/" + strconv.FormatInt(e.ID, 10)),
		At: e.At.Format("2006-01-02T15:04:05.000Z"), AtLabel: shortTime(e.At.In(q.Loc), q.Now.In(q.Loc)),
		AtTitle: e.At.Format("2006-01-02 15:04:05.000 UTC"),
		Actor:   actorLabel(e.Actor), Action: printable(e.Action), ActionLabel: printable(audit.ActionLabel(e.Action)),
		Target: targetLabel(e.Target), TargetKind: targetKind(e.Target),
		Outcome: string(e.Outcome), ClientAddr: printable(e.ClientAddr),
	}
	if e.Actor.Type == audit.ActorAPIKey || e.Actor.Type == audit.ActorSystem {
		r.ActorKind = actorKind(e.Actor.Type)
	}
	if e.Actor.Type != "" {
		r.ActorHref = zone.href("/activity", "actor", actorParam(e.Actor))
	}
	if e.Target.Type != "" {
		extra := []string{"target_type", e.Target.Type}
		if e.Target.ID != "" {
			extra = append(extra, "target_id", e.Target.ID)
		}
		r.TargetHref = zone.href("/activity", extra...)
	}
	return r
}

// shortTime is a list's time: the year only when it is not this year's.
func shortTime(t, now time.Time) string {
	if t.Year() == now.Year() {
		return t.Format("2 Jan 15:04:05")
	}
	return t.Format("2 Jan 2006 15:04:05")
}

// eventRows is a page of the unfiltered log, for the dashboard.
func (s *Server) eventRows(c echo.Context, before, after int64, limit int) ([]views.EventRow, audit.Page, error) {
	events, page, err := s.Audit.List(c.Request().Context(), audit.ListQuery{BeforeID: before, AfterID: after, Limit: limit})
	if err != nil {
		return nil, page, err
	}
	q := s.parseActivityQueryIn(nil, s.viewerZoneName(c))
	q.Now = s.Clock.Now()
	rows := make([]views.EventRow, 0, len(events))
	for _, e := range events {
		rows = append(rows, eventRow(e, q))
	}
	return rows, page, nil
}

// activityEvent shows one event. An id that is not in the log (never was, or pruned) is 404.
func (s *Server) activityEvent(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ev, err := s.Audit.Get(ctx, id)
	if errors.Is(err, audit.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	prev, next, err := s.Audit.Neighbours(ctx, id)
	if err != nil {
		return err
	}
	q := s.parseActivityQueryIn(c.QueryParams(), s.viewerZoneName(c))
	if len(q.Errors) > 0 {
		q = s.parseActivityQueryIn(nil, s.viewerZoneName(c))
	}
	q.Now = s.Clock.Now()
	v := eventView(ev, q)
	v.Page = s.page(c, fmt.Sprintf("Event %d", id), "activity")
	if prev != 0 {
		v.OlderHref = q.href("/activity/" + strconv.FormatInt(prev, 10))
		if prev == id-1 {
			v.PrevHref = v.OlderHref
		}
	}
	if next != 0 {
		v.NewerHref = q.href("/activity/" + strconv.FormatInt(next, 10))
	}
	return render(c, http.StatusOK, views.Event(v))
}

func eventView(e audit.Event, q activityQuery) views.EventView {
	row := eventRow(e, q)
	v := views.EventView{
		ID: e.ID, BackHref: q.href("/activity"), Action: row.Action, ActionLabel: row.ActionLabel, ActionGroup: audit.GroupOf(e.Action).Label,
		Outcome: string(e.Outcome), Zone: q.TZ,
		AtLocal: e.At.In(q.Loc).Format("Monday 2 January 2006, 15:04:05.000 MST"),
		AtUTC:   e.At.Format("2006-01-02 15:04:05.000 UTC"), AtISO: row.At,
		Actor: row.Actor, ActorKind: actorKind(e.Actor.Type), ActorID: printable(e.Actor.ID), ActorHref: row.ActorHref,
		Target: row.Target, TargetKind: row.TargetKind, TargetID: printable(e.Target.ID), TargetHref: row.TargetHref,
		ClientAddr: printable(e.ClientAddr), UserAgent: printable(e.UserAgent), RequestID: printable(e.RequestID),
		PrevHash: e.PrevHash, Hash: e.Hash, VerifyHref: q.zoneOnly().href("/activity/integrity"),
	}
	for _, ch := range e.Changes {
		v.Changes = append(v.Changes, views.ChangeRow{
			Field: printable(ch.Field), Before: changeValue(ch.Before), After: changeValue(ch.After),
			BeforeAbsent: ch.Before == nil, AfterAbsent: ch.After == nil,
		})
	}
	return v
}

// changeValue shows a recorded value: text as it is, anything else as compact JSON.
func changeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return printable(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return printable(string(b))
	}
}

func actorParam(a audit.Actor) string {
	if a.ID == "" {
		return string(a.Type)
	}
	return string(a.Type) + ":" + a.ID
}

func actorKind(t audit.ActorType) string {
	switch t {
	case audit.ActorMember:
		return "Member"
	case audit.ActorAPIKey:
		return "API key"
	case audit.ActorSystem:
		return "System"
	case audit.ActorAnonymous:
		return "Not signed in"
	}
	return string(t)
}

func actorLabel(a audit.Actor) string {
	switch {
	case a.Type == audit.ActorSystem && (a.Name == "" || a.Name == "system"):
		return "Switchboard"
	case a.Name != "":
		return printable(a.Name)
	case a.Type == audit.ActorAnonymous || a.Type == "":
		return "Not signed in"
	}
	return actorKind(a.Type) + " " + printable(a.ID)
}

// targetLabel names a target by the name the event kept ("Grace Hopper"), or, for events
// recorded without one, by its kind and id ("Member 6").
func targetLabel(t audit.Target) string {
	switch {
	case t.Type == "":
		return ""
	case t.Name != "":
		return printable(t.Name)
	case t.ID == "":
		return printable(targetKindOf(t.Type))
	}
	return printable(targetKindOf(t.Type) + " " + t.ID)
}

// targetKind is the kind shown beside a named target ("Member"); a label without a name says it.
func targetKind(t audit.Target) string {
	if t.Name == "" || t.Type == "" {
		return ""
	}
	return printable(targetKindOf(t.Type))
}

// targetKindOf writes a target type in words: "phone_number" is "Phone number".
func targetKindOf(typ string) string {
	switch typ {
	case "waba":
		return "WhatsApp Business Account"
	case "audit_log":
		return "Activity log"
	}
	s := strings.ReplaceAll(typ, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// printable shows text from the log as it is, except what would hide or disguise it on a page:
// a line break shows as ↵ and a tab as ⇥, other control characters and invisible format
// characters (bidi overrides, zero-width characters) as their code point, "[U+202E]", which
// stops a name like "Mallory\u202Eecila" from reading as someone else's. Bytes that are not
// UTF-8 show as �. templ escapes the result for HTML as usual; this is about what an auditor
// sees. (Unicode's control pictures, ␊, would be apter, but few system fonts draw them.)
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || invisible(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n':
			b.WriteRune('↵')
		case r == '\t':
			b.WriteRune('⇥')
		case r < 0x20 || r == 0x7f || invisible(r):
			fmt.Fprintf(&b, "[U+%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// invisible reports format characters (bidi controls, zero-width characters) that change how
// text around them looks without showing themselves.
func invisible(r rune) bool {
	return r >= 0x80 && unicode.Is(unicode.Cf, r)
}
