package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// webhookRoutes are the Developers page's Webhooks and Cloud API log tabs. Which endpoints a
// member may see and change (those within their numbers) is the webhooks service's decision.
func (s *Server) webhookRoutes() []route {
	manage := authz.Require(authz.WebhooksManage)
	return []route{
		{http.MethodGet, "/developers/webhooks", manage, s.webhooksPage},
		{http.MethodGet, "/developers/webhooks/new", manage, s.newWebhookPage},
		{http.MethodPost, "/developers/webhooks", manage, s.createWebhook},
		{http.MethodGet, "/developers/webhooks/:id", manage, s.webhookPage},
		{http.MethodGet, "/developers/webhooks/:id/log", manage, s.webhookLog},
		{http.MethodPost, "/developers/webhooks/:id/test", manage, s.sendTestWebhook},
		{http.MethodPost, "/developers/webhooks/:id/deliveries/:delivery/redeliver", manage, s.redeliverWebhook},
		{http.MethodPost, "/developers/webhooks/:id/enable", manage, s.enableWebhook},
		{http.MethodPost, "/developers/webhooks/:id/disable", manage, s.disableWebhook},
		{http.MethodPost, "/developers/webhooks/:id/delete", manage, s.deleteWebhook},
		{http.MethodGet, "/developers/api-log", authz.Require(authz.APILogsView), s.apiLogPage},
	}
}
