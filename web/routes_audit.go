package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) auditRoutes() []route {
	return []route{
		{http.MethodGet, "/activity", authz.Require(authz.AuditView), s.activityPage},
	}
}
