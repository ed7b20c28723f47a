package web

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
)

// analyticsQuery is the page's state as the URL carries it.
type analyticsQuery struct {
	Range, From, To, TZ, Number, Agent, Template, Label string
	Loc                                                 *time.Location
	Period                                              analytics.Period
	Filter                                              analytics.Filter
}

// values is the query for links to charts and exports of the same view.
func (q analyticsQuery) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"range": q.Range, "from": q.From, "to": q.To, "tz": q.TZ,
		"number": q.Number, "agent": q.Agent, "template": q.Template, "label": q.Label} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func (s *Server) parseAnalyticsQuery(c echo.Context) (analyticsQuery, error) {
	v := c.QueryParams()
	q := analyticsQuery{Range: v.Get("range"), From: v.Get("from"), To: v.Get("to"), TZ: v.Get("tz"),
		Number: v.Get("number"), Agent: v.Get("agent"), Template: v.Get("template"), Label: v.Get("label"), Loc: time.UTC}
	if q.Range == "" {
		q.Range = analytics.Preset30
	}
	// Without a zone in the URL the range is the viewer's own days (their account's zone).
	viewerTZ, viewerLoc := s.viewerZone(c)
	switch {
	case q.TZ == "":
		q.TZ, q.Loc = viewerTZ, viewerLoc
	case q.TZ == viewerTZ:
		q.Loc = viewerLoc
	case q.TZ != "UTC":
		loc, ok := s.zoneFor(q.TZ)
		if !ok {
			return q, errors.New("Choose a time zone from the list.")
		}
		q.Loc = loc
	}
	if len(q.Template) > 512 {
		return q, errors.New("Choose a template from the list.")
	}
	q.Filter.Template = q.Template
	for _, f := range []struct {
		s  string
		id *int64
	}{{q.Number, &q.Filter.NumberID}, {q.Agent, &q.Filter.MemberID}, {q.Label, &q.Filter.LabelID}} {
		if f.s == "" {
			continue
		}
		id, err := strconv.ParseInt(f.s, 10, 64)
		if err != nil || id <= 0 {
			return q, errors.New("Choose a phone number, an agent and a label from the lists.")
		}
		*f.id = id
	}
	p, err := analytics.ParsePeriod(q.Range, q.From, q.To, q.Loc, s.Clock.Now())
	if err != nil {
		return q, errors.New(strings.TrimPrefix(err.Error(), analytics.ErrBadPeriod.Error()+": "))
	}
	q.Period = p
	if q.Range != analytics.PresetCustom {
		q.From, q.To = "", ""
	}
	return q, nil
}

// analyticsError maps the service's refusals: a number outside the scope is 404 like a
// missing one.
func analyticsError(err error) error {
	switch {
	case errors.Is(err, analytics.ErrNotFound):
		return echo.NewHTTPError(http.StatusNotFound)
	case errors.Is(err, analytics.ErrForbidden):
		return echo.NewHTTPError(http.StatusForbidden)
	}
	return err
}

func (s *Server) analyticsPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	q, qerr := s.parseAnalyticsQuery(c)
	opts, err := s.Analytics.Options(ctx, p)
	if err != nil {
		return analyticsError(err)
	}
	v := views.AnalyticsView{Page: s.page(c, "Analytics", "analytics"), Filter: s.analyticsFilterView(q, opts, s.Clock.Now())}
	if qerr != nil {
		v.Filter.Error = qerr.Error()
		return render(c, http.StatusBadRequest, views.Analytics(v))
	}
	r, err := s.Analytics.Report(ctx, p, q.Period, q.Filter)
	if err != nil {
		return analyticsError(err)
	}
	fillAnalyticsView(&v, q, r, p.Can(authz.ReportsExport))
	if v.Ratings, err = s.analyticsRatings(c, q); err != nil {
		return analyticsError(err)
	}
	if v.Campaigns, err = s.analyticsCampaigns(c, q); err != nil {
		return analyticsError(err)
	}
	return render(c, http.StatusOK, views.Analytics(v))
}

// analyticsTableOf answers the report's table name for the chart and export routes.
func (s *Server) analyticsTableOf(c echo.Context, ext string) (views.DataTable, error) {
	name, ok := strings.CutSuffix(c.Param("name"), ext)
	if !ok {
		return views.DataTable{}, echo.NewHTTPError(http.StatusNotFound)
	}
	q, err := s.parseAnalyticsQuery(c)
	if err != nil {
		return views.DataTable{}, echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	r, err := s.Analytics.Report(c.Request().Context(), principalOf(c), q.Period, q.Filter)
	if err != nil {
		return views.DataTable{}, analyticsError(err)
	}
	t, ok := analyticsTable(r, name)
	if !ok {
		return views.DataTable{}, echo.NewHTTPError(http.StatusNotFound)
	}
	return t, nil
}

func (s *Server) analyticsChartImage(c echo.Context) error {
	t, err := s.analyticsTableOf(c, ".svg")
	if err != nil {
		return err
	}
	svg, ok, err := analyticsChart(t, c.QueryParam("theme") == "dark", c.QueryParam("size") == "narrow")
	if err != nil {
		return err
	}
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}

// analyticsExport writes a chart's table as CSV, row by row. The tables are rollup-sized (at
// most a row per hour of the range), so memory stays flat however many messages there are.
func (s *Server) analyticsExport(c echo.Context) error {
	t, err := s.analyticsTableOf(c, ".csv")
	if err != nil {
		return err
	}
	return writeTableCSV(c, t, s.Clock.Now())
}

// writeTableCSV writes t as CSV: the table a page shows, so the two cannot disagree.
func writeTableCSV(c echo.Context, t views.DataTable, now time.Time) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="switchboard-%s-%s.csv"`, t.Name, now.UTC().Format("20060102")))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	write := func(row []string) {
		safe := make([]string, len(row))
		for i, cell := range row {
			safe[i] = csvCell(cell)
		}
		_ = w.Write(safe)
	}
	write(t.Columns)
	for _, row := range t.Rows {
		write(row)
	}
	if len(t.Foot) > 0 {
		write(t.Foot)
	}
	w.Flush()
	return w.Error()
}

// csvCell keeps a spreadsheet from running a cell as a formula (a member or template name
// starting with = + - @).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var analyticsRanges = []views.Option{
	{Value: analytics.PresetToday, Label: "Today"},
	{Value: analytics.Preset7, Label: "Last 7 days"},
	{Value: analytics.Preset30, Label: "Last 30 days"},
	{Value: analytics.Preset90, Label: "Last 90 days"},
	{Value: analytics.PresetCustom, Label: "Custom (from – to)"},
}

func (s *Server) analyticsFilterView(q analyticsQuery, o analytics.Options, now time.Time) views.AnalyticsFilter {
	f := views.AnalyticsFilter{Range: q.Range, From: q.From, To: q.To, TZ: q.TZ, Number: q.Number, Agent: q.Agent,
		Template: q.Template, Label: q.Label, Ranges: analyticsRanges}
	for _, l := range o.Labels {
		f.Labels = append(f.Labels, views.Option{Value: i64(l.ID), Label: l.Name})
	}
	f.Zones = append(f.Zones, views.Option{Value: "UTC", Label: "UTC"})
	for _, z := range commonZones {
		f.Zones = append(f.Zones, views.Option{Value: z, Label: s.zoneLabel(z, now)})
	}
	if !hasOption(f.Zones, q.TZ) {
		f.Zones = append(f.Zones, views.Option{Value: q.TZ, Label: s.zoneLabel(q.TZ, now)})
	}
	for _, n := range o.Numbers {
		f.Numbers = append(f.Numbers, views.Option{Value: i64(n.ID), Label: n.Name})
	}
	for _, m := range o.Members {
		f.Agents = append(f.Agents, views.Option{Value: i64(m.ID), Label: m.Name})
	}
	for _, t := range o.Templates {
		f.Templates = append(f.Templates, views.Option{Value: t, Label: t})
	}
	return f
}

func fillAnalyticsView(v *views.AnalyticsView, q analyticsQuery, r analytics.Report, canExport bool) {
	p := r.Period
	v.RangeLabel = p.From.Format("Mon 2 Jan 2006")
	if !p.To.Equal(p.From) {
		v.RangeLabel += " – " + p.To.Format("Mon 2 Jan 2006")
	}
	v.RangeLabel += " (" + q.TZ + ")"
	if p.Shifted {
		v.ZoneNote = fmt.Sprintf("Figures are kept by the whole hour in UTC, and %s is not a whole number of hours from UTC: "+
			"each day here runs from %s to %s your time.", q.TZ, p.Start.In(p.Loc).Format("15:04"), p.Start.In(p.Loc).Format("15:04"))
	}
	t := r.Totals
	v.Empty = t.Outbound == 0 && t.Inbound == 0 && r.Opened == 0 && r.Closed == 0
	v.Stats = []views.Stat{
		{Label: "Messages sent", Value: i64(t.Outbound), Hint: i64(t.Inbound) + " received"},
		{Label: "Delivery rate", Value: percent(t.DeliveredOrRead(), t.Outbound), Hint: i64(t.DeliveredOrRead()) + " delivered"},
		{Label: "Read rate", Value: percent(t.Read, t.DeliveredOrRead()), Hint: "of delivered messages"},
		{Label: "Failed", Value: i64(t.Failed), Hint: percent(t.Failed, t.Outbound) + " of sent"},
		{Label: "First response, median", Value: dist(r.FirstResponse, 50), Hint: "p90 " + dist(r.FirstResponse, 90)},
		{Label: "Resolution, median", Value: dist(r.Resolution, 50), Hint: "p90 " + dist(r.Resolution, 90)},
	}
	base := q.values()
	link := func(prefix, name, ext string, extra ...string) string {
		vals := url.Values{}
		for k, vs := range base {
			vals[k] = vs
		}
		for i := 0; i+1 < len(extra); i += 2 {
			vals.Set(extra[i], extra[i+1])
		}
		s := prefix + name + ext
		if e := vals.Encode(); e != "" {
			s += "?" + e
		}
		return s
	}
	agentNote, tplNote, labelNote, labelApplies := "", "", "", ""
	if q.Filter.MemberID != 0 {
		agentNote = "The agent filter does not apply to incoming messages or opened conversations (they belong to no agent)."
	}
	if q.Filter.Template != "" {
		tplNote = "The template filter applies to messages only."
	}
	if q.Filter.LabelID != 0 {
		// Messages are counted by hour, number, agent and template, not by the labels their
		// conversation carries now; saying so beats a figure that looks filtered and is not.
		labelNote = "The label filter does not apply here: messages are not counted by label."
		labelApplies = "Label filter applied: conversations that carry the label now."
		v.LabelNote = "The label filter applies to " + analytics.LabelApplies + ". Messages, failures, the heat map and templates cover every conversation."
	}
	desc := map[string][3]string{
		tableMessages: {"Messages over time", "Outgoing messages by " + stepWord(p) + ", stacked by what became of them (read, delivered, sent, failed); the table adds incoming messages.", joinNotes(agentNote, labelNote)},
		tableFailures: {"Failures by Meta error code", "Outgoing messages that failed, by the error code Meta gave and what it means.", labelNote},
		tableConversations: {"Conversations and response times by number", "Conversations opened and closed on each number; first response (customer's first message of a turn to the member's reply) and resolution (start to closing), median and 90th percentile, to the histogram's step.",
			joinNotes(agentNote, tplNote, labelApplies)},
		tableHeat: {"Incoming messages by weekday and hour", "When customers write, in your time zone: plan shifts where the colour is darkest.", joinNotes(agentNote, tplNote, labelNote)},
		tableAgents: {"Agents", "Each member's work on the numbers you see: messages sent, conversations closed while assigned, and how fast they answered.",
			ifLabel(q.Filter.LabelID, "Label filter applied to conversations closed and response times; messages sent cover every conversation.")},
		tableTemplates: {"Templates", "Sends of each template in each language, what became of them, how many the customer answered (their next message within a day) and how many answered with a quick-reply button; with the language's status and quality at Meta.", labelNote},
	}
	for _, name := range analyticsTableNames {
		tbl, _ := analyticsTable(r, name)
		d := desc[name]
		ch := views.AnalyticsChart{Table: tbl, Title: d[0], Description: d[1], Note: d[2]}
		if name != tableAgents && name != tableTemplates && len(tbl.Rows) > 0 {
			ch.Image = link("/analytics/charts/", name, ".svg")
			ch.ImageDark = link("/analytics/charts/", name, ".svg", "theme", "dark")
			ch.ImageNarrow = link("/analytics/charts/", name, ".svg", "size", "narrow")
			ch.ImageNarrowDark = link("/analytics/charts/", name, ".svg", "size", "narrow", "theme", "dark")
		}
		if canExport {
			ch.CSV = link("/analytics/export/", name, ".csv")
		}
		v.Charts = append(v.Charts, ch)
	}
}

func joinNotes(notes ...string) string {
	return strings.TrimSpace(strings.Join(notes, " "))
}

func ifLabel(label int64, note string) string {
	if label == 0 {
		return ""
	}
	return note
}
