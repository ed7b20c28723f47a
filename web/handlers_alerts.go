package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) alertsPage(c echo.Context) error {
	before, _ := strconv.ParseInt(c.QueryParam("before"), 10, 64)
	open := c.QueryParam("show") != "all"
	page, err := s.Alerts.List(c.Request().Context(), alerts.ListQuery{Open: open, BeforeID: before, Limit: 50})
	if err != nil {
		return err
	}
	v := views.AlertsView{Page: s.page(c, "Alerts", "alerts"), ShowingOpen: open}
	for _, a := range page.Alerts {
		row := views.AlertRow{ID: a.ID, Kind: a.Kind.Label(), Severity: string(a.Severity), Title: a.Title, Count: a.Count,
			First: formatTime(a.CreatedAt), Last: formatTime(a.LastSeenAt), Open: a.Open(), AcknowledgedBy: a.AcknowledgedByName}
		if !a.Open() {
			row.AcknowledgedAt = formatTime(a.AcknowledgedAt)
		}
		for k, val := range a.Details {
			row.Details = append(row.Details, k+": "+val)
		}
		v.Alerts = append(v.Alerts, row)
	}
	if page.More {
		q := "?before=" + strconv.FormatInt(page.NextBeforeID, 10)
		if !open {
			q += "&show=all"
		}
		v.OlderHref = "/alerts" + q
	}
	return render(c, http.StatusOK, views.Alerts(v))
}

func (s *Server) acknowledgeAlert(c echo.Context) error {
	p := principalOf(c)
	err := s.Alerts.Acknowledge(c.Request().Context(), pathID(c), p.MemberID, p.Name)
	if errors.Is(err, alerts.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/alerts", "Alert acknowledged.")
}
