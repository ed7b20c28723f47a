package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/web/views"
)

const activityPageSize = 50

func (s *Server) activityPage(c echo.Context) error {
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	after, _ := strconv.ParseInt(c.QueryParam("after"), 10, 64)
	rows, page, err := s.eventRows(c, before, after, activityPageSize)
	if err != nil {
		return err
	}
	v := views.ActivityView{Page: s.page(c, "Activity", "activity"), Events: rows}
	if page.HasOlder {
		v.OlderHref = "/activity?before=" + strconv.FormatInt(page.OldestID, 10)
	}
	if page.HasNewer {
		v.NewerHref = "/activity?after=" + strconv.FormatInt(page.NewestID, 10)
	}
	return render(c, http.StatusOK, views.Activity(v))
}

func (s *Server) eventRows(c echo.Context, before, after int64, limit int) ([]views.EventRow, audit.Page, error) {
	events, page, err := s.Audit.List(c.Request().Context(), audit.ListQuery{BeforeID: before, AfterID: after, Limit: limit})
	if err != nil {
		return nil, page, err
	}
	rows := make([]views.EventRow, 0, len(events))
	for _, e := range events {
		rows = append(rows, views.EventRow{
			ID: e.ID, At: e.At.Format("2006-01-02T15:04:05.000Z"), AtLabel: e.At.Format("2 Jan 15:04:05"),
			Actor: actorLabel(e.Actor), Action: e.Action, Target: targetLabel(e.Target), Outcome: string(e.Outcome),
			ClientAddr: e.ClientAddr,
		})
	}
	return rows, page, nil
}

func actorLabel(a audit.Actor) string {
	switch {
	case a.Name != "":
		return a.Name
	case a.Type == audit.ActorAnonymous || a.Type == "":
		return "Someone not signed in"
	}
	return string(a.Type) + " " + a.ID
}

func targetLabel(t audit.Target) string {
	if t.Type == "" {
		return ""
	}
	if t.ID == "" {
		return t.Type
	}
	return t.Type + " " + t.ID
}
