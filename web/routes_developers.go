package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// developersAccess opens the Developers entry and landing page to anyone who may use one of
// its parts; each part keeps its own permission, and the page shows only those.
var developersAccess = authz.RequireAny(authz.APIKeysManage, authz.WebhooksManage, authz.IntegrationsManage, authz.APILogsView)

// developerRoutes are the Developers page: API keys. Making a key needs a fresh sign-in (the
// form too, so nobody fills it in to be sent away); revoking does not, since it only takes
// access away.
func (s *Server) developerRoutes() []route {
	manage := authz.Require(authz.APIKeysManage)
	return []route{
		{http.MethodGet, "/developers", developersAccess, s.developersPage},
		{http.MethodGet, "/developers/keys/new", manage.Fresh(), s.newAPIKeyPage},
		{http.MethodPost, "/developers/keys", manage.Fresh(), s.createAPIKey},
		{http.MethodPost, "/developers/keys/:id/revoke", manage, s.revokeAPIKey},
		{http.MethodPost, "/developers/settings", authz.Require(authz.SecurityManage).Fresh(), s.saveAPIKeyPolicy},
	}
}
