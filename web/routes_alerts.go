package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) alertRoutes() []route {
	return []route{
		{http.MethodGet, "/alerts", authz.Require(authz.AlertsView), s.alertsPage},
		{http.MethodPost, "/alerts/:id/acknowledge", authz.Require(authz.AlertsView), s.acknowledgeAlert},
	}
}
