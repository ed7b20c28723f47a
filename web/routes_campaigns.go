package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// campaignRoutes are broadcasts (internal/campaigns). Creating needs campaigns.manage, starting
// campaigns.approve (and not being the author, which the service decides); either may watch,
// pause and cancel. The service narrows everything to the member's numbers again.
func (s *Server) campaignRoutes() []route {
	see := authz.RequireAny(authz.CampaignsManage, authz.CampaignsApprove)
	manage := authz.Require(authz.CampaignsManage)
	return []route{
		{http.MethodGet, "/campaigns", see, s.campaignsPage},
		{http.MethodGet, "/campaigns/new", manage, s.newCampaignPage},
		{http.MethodGet, "/campaigns/variables", manage, s.campaignVariables},
		{http.MethodPost, "/campaigns/preview", manage, s.previewCampaign},
		{http.MethodPost, "/campaigns", manage, s.createCampaign},
		{http.MethodGet, "/campaigns/:id", see, s.campaignPage},
		{http.MethodGet, "/campaigns/:id/progress", see, s.campaignProgress},
		{http.MethodPost, "/campaigns/:id/approve", authz.Require(authz.CampaignsApprove), s.approveCampaign},
		{http.MethodPost, "/campaigns/:id/pause", see, s.pauseCampaign},
		{http.MethodPost, "/campaigns/:id/resume", authz.Require(authz.CampaignsApprove), s.resumeCampaign},
		{http.MethodPost, "/campaigns/:id/cancel", see, s.cancelCampaign},
		// Exports ask for a sign-in of the last 10 minutes, as every export does (security.md).
		{http.MethodGet, "/campaigns/:id/recipients.csv", authz.RequireAny(authz.CampaignsManage, authz.ReportsExport).Fresh(), s.exportCampaign},
	}
}
