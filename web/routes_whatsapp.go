package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) whatsappRoutes() []route {
	return []route{
		// Meta calls these: the GET answers the verify-token handshake, the POST authenticates by
		// the X-Hub-Signature-256 HMAC of the raw body, not by a session.
		{http.MethodGet, "/webhooks/whatsapp", authz.Public(), s.webhookVerify},
		{http.MethodPost, "/webhooks/whatsapp", authz.Public(), s.webhookReceive},

		{http.MethodGet, "/numbers", authz.Require(authz.NumbersView), s.numbersPage},
		{http.MethodGet, "/settings/whatsapp", authz.Require(authz.WorkspaceSettingsManage), s.whatsappSettingsPage},
		{http.MethodPost, "/settings/whatsapp/wabas", authz.Require(authz.WorkspaceSettingsManage), s.connectWABA},
		{http.MethodPost, "/settings/whatsapp/wabas/save-anyway", authz.Require(authz.WorkspaceSettingsManage), s.connectWABAAnyway},
		{http.MethodGet, "/settings/whatsapp/wabas/:id/disconnect", authz.Require(authz.WorkspaceSettingsManage).Fresh(), s.disconnectWABAPage},
		{http.MethodPost, "/settings/whatsapp/wabas/:id/disconnect", authz.Require(authz.WorkspaceSettingsManage).Fresh(), s.disconnectWABA},
		{http.MethodPost, "/settings/whatsapp/wabas/:id", authz.Require(authz.WorkspaceSettingsManage), s.updateWABA},
		{http.MethodPost, "/settings/whatsapp/wabas/:id/sync", authz.Require(authz.WorkspaceSettingsManage), s.syncNumbers},
		{http.MethodPost, "/settings/whatsapp/wabas/:id/test", authz.Require(authz.WorkspaceSettingsManage), s.testConnection},
		{http.MethodPost, "/settings/whatsapp/numbers/:id", authz.Require(authz.WorkspaceSettingsManage), s.updateNumber},
	}
}
