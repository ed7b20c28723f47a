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
	ids := make([]int64, len(page.Alerts))
	for i, a := range page.Alerts {
		ids[i] = a.ID
	}
	deliveries, err := s.Alerts.Deliveries(c.Request().Context(), ids)
	if err != nil {
		return err
	}
	for _, a := range page.Alerts {
		row := views.AlertRow{ID: a.ID, Kind: a.Kind.Label(), Severity: string(a.Severity), Title: a.Title, Count: a.Count,
			First: s.viewerTime(c, a.CreatedAt), Last: s.viewerTime(c, a.LastSeenAt), Open: a.Open(), AcknowledgedBy: a.AcknowledgedByName}
		if !a.Open() {
			row.AcknowledgedAt = s.viewerTime(c, a.AcknowledgedAt)
		}
		for k, val := range a.Details {
			row.Details = append(row.Details, k+": "+val)
		}
		for _, d := range deliveries[a.ID] {
			line := map[string]string{"page": "Alerts page", "email": "E-mail", "webhook": "Outgoing webhooks"}[d.Channel]
			if d.Channel == "email" && d.Recipient != "" {
				line += " to " + d.Recipient
			}
			line += ": " + d.Status
			if d.Detail != "" && d.Status != "sent" {
				line += " (" + d.Detail + ")"
			}
			row.Deliveries = append(row.Deliveries, line)
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
