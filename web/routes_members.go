package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) memberRoutes() []route {
	return []route{
		{http.MethodGet, "/members", authz.Require(authz.MembersView), s.membersPage},
	}
}
