package web

import (
	"fmt"
	"strconv"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/web/views"
)

// The Analytics page's figures are built once as tables: the page shows each chart's table, the
// chart is drawn from it and its CSV export writes it, so the three cannot disagree.
const (
	tableMessages      = "messages"
	tableFailures      = "failures"
	tableConversations = "conversations"
	tableHeat          = "incoming"
	tableAgents        = "agents"
	tableTemplates     = "templates"
)

var analyticsTableNames = []string{tableMessages, tableFailures, tableConversations, tableHeat, tableAgents, tableTemplates}

// analyticsTable builds one table of the report; ok is false for an unknown name.
func analyticsTable(r analytics.Report, name string) (views.DataTable, bool) {
	switch name {
	case tableMessages:
		return messagesTable(r), true
	case tableFailures:
		return failuresTable(r), true
	case tableConversations:
		return conversationsTable(r), true
	case tableHeat:
		return heatTable(r), true
	case tableAgents:
		return agentsTable(r), true
	case tableTemplates:
		return templatesTable(r), true
	}
	return views.DataTable{}, false
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func percent(part, whole int64) string {
	r := analytics.Ratio(part, whole)
	if r < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", r)
}

func barLabel(p analytics.Period, i int, r analytics.Report) string {
	t := r.Bars[i].Start.In(p.Loc)
	if p.Step == analytics.StepHour {
		return t.Format("Mon 2 Jan 15:04")
	}
	return p.From.AddDate(0, 0, i).Format("Mon 2 Jan")
}

func messagesTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableMessages, Caption: "Messages by " + stepWord(r.Period),
		Columns: []string{"Period", "Read", "Delivered, not read", "Sent, not yet delivered", "Failed", "Outgoing", "Incoming"}}
	for i, b := range r.Bars {
		t.Rows = append(t.Rows, []string{barLabel(r.Period, i, r), i64(b.Read), i64(b.Delivered), i64(b.Sent + b.Pending),
			i64(b.Failed), i64(b.Outbound), i64(b.Inbound)})
	}
	return t
}

func stepWord(p analytics.Period) string {
	if p.Step == analytics.StepHour {
		return "hour"
	}
	return "day"
}

func failuresTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableFailures, Caption: "Failed messages by Meta error code",
		Columns: []string{"Error code", "Meaning", "Messages"}}
	for _, f := range r.Failures {
		t.Rows = append(t.Rows, []string{strconv.Itoa(f.Code), f.Meaning, i64(f.N)})
	}
	return t
}

func dist(d analytics.Dist, pct int64) string {
	if d.N == 0 {
		return "–"
	}
	return analytics.BucketLabel(d.Quantile(pct))
}

func conversationsTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableConversations, Caption: "Conversations and response times by phone number",
		Columns: []string{"Phone number", "Opened", "Closed", "First response, median", "First response, p90",
			"Resolution, median", "Resolution, p90"}}
	for _, n := range r.Numbers {
		t.Rows = append(t.Rows, []string{n.Name, i64(n.Opened), i64(n.Closed), dist(n.FirstResponse, 50), dist(n.FirstResponse, 90),
			dist(n.Resolution, 50), dist(n.Resolution, 90)})
	}
	if len(r.Numbers) > 1 {
		t.Foot = []string{"All numbers", i64(r.Opened), i64(r.Closed), dist(r.FirstResponse, 50), dist(r.FirstResponse, 90),
			dist(r.Resolution, 50), dist(r.Resolution, 90)}
	}
	return t
}

var weekdays = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

func heatTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableHeat, Caption: "Incoming messages by weekday and hour", Columns: []string{"Weekday"}}
	for h := range 24 {
		t.Columns = append(t.Columns, fmt.Sprintf("%02d", h))
	}
	for w, day := range weekdays {
		row := []string{day}
		for h := range 24 {
			row = append(row, i64(r.Heat[w][h]))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func agentsTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableAgents, Caption: "Agents",
		Columns: []string{"Agent", "Messages sent", "Conversations closed", "Replies timed", "First response, median", "First response, p90", "Resolution, median"}}
	for _, a := range r.Agents {
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("Member %d", a.MemberID)
		}
		t.Rows = append(t.Rows, []string{name, i64(a.Sent), i64(a.Closed), i64(a.FirstResponse.N), dist(a.FirstResponse, 50),
			dist(a.FirstResponse, 90), dist(a.Resolution, 50)})
	}
	return t
}

func templatesTable(r analytics.Report) views.DataTable {
	t := views.DataTable{Name: tableTemplates, Caption: "Templates by language",
		Columns: []string{"Template", "Language", "Category", "Meta status", "Quality", "Sent", "Delivered", "Read", "Failed", "Replies",
			"Button clicks", "Read rate", "Reply rate", "Click rate"}}
	for _, tp := range r.Templates {
		c := tp.Counts
		lang := tp.Language
		if lang == "" {
			lang = "unknown"
		}
		t.Rows = append(t.Rows, []string{tp.Name, lang, tp.Category, tp.Status, tp.Quality, i64(c.Outbound), i64(c.DeliveredOrRead()), i64(c.Read),
			i64(c.Failed), i64(c.Replies), i64(c.Clicks), percent(c.Read, c.DeliveredOrRead()), percent(c.Replies, c.DeliveredOrRead()),
			percent(c.Clicks, c.DeliveredOrRead())})
	}
	return t
}
