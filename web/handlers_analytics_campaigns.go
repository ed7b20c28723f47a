package web

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
)

// analyticsCampaigns are the Analytics page's campaign rows for the query's range and filters.
func (s *Server) analyticsCampaigns(c echo.Context, q analyticsQuery) ([]views.AnalyticsCampaign, error) {
	p := principalOf(c)
	figures, err := s.Analytics.Campaigns(c.Request().Context(), p, q.Period, q.Filter)
	if err != nil {
		return nil, err
	}
	link := p.CanAny(authz.CampaignsManage, authz.CampaignsApprove)
	var out []views.AnalyticsCampaign
	for _, f := range figures {
		row := views.AnalyticsCampaign{Name: f.Name, Status: campaignStatusLabel(f.Status), Started: s.viewerTime(c, f.StartedAt),
			Recipients: f.Recipients, Sent: f.Sent, Failed: f.Failed, OptedOut: f.OptedOut,
			Delivered: share(f.Delivered, f.Rate(f.Delivered)), Read: share(f.Read, f.Rate(f.Read)), Replied: share(f.Replied, f.Rate(f.Replied))}
		if link {
			row.URL = "/campaigns/" + strconv.FormatInt(f.ID, 10)
		}
		out = append(out, row)
	}
	return out, nil
}

func share(n, pct int) string { return strconv.Itoa(n) + " (" + strconv.Itoa(pct) + " %)" }

func campaignStatusLabel(st string) string {
	switch st {
	case "running":
		return "sending"
	case "awaiting_approval":
		return "awaiting approval"
	}
	return st
}
