package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// analyticsRoutes are the Analytics page (issue 13), its charts as SVG images and each chart's
// CSV. The service narrows every figure to the member's number scope again.
func (s *Server) analyticsRoutes() []route {
	return []route{
		{http.MethodGet, "/analytics", authz.Require(authz.AnalyticsView), s.analyticsPage},
		{http.MethodGet, "/analytics/charts/:name", authz.Require(authz.AnalyticsView), s.analyticsChartImage},
		// Exports ask for a sign-in of the last 10 minutes, as every export does (security.md).
		{http.MethodGet, "/analytics/export/:name", authz.Require(authz.ReportsExport).Fresh(), s.analyticsExport},
		// Usage and cost: billing.view reads, billing.manage edits the rate card (audited).
		{http.MethodGet, "/usage", authz.Require(authz.BillingView), s.usagePage},
		{http.MethodPost, "/usage/rates", authz.Require(authz.BillingManage), s.setRate},
		// The Cloud API usage table as CSV: billing.view (the page's), reports.export in the handler.
		{http.MethodGet, "/usage/export/cloud-api.csv", authz.Require(authz.BillingView).Fresh(), s.usageAPIExport},
	}
}
