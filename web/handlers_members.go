package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) membersPage(c echo.Context) error {
	list, err := s.Members.Store().List(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.MembersView{Page: s.page(c, "Members", "members")}
	for _, m := range list {
		row := views.MemberRow{Name: m.Name, Email: m.Email, RoleName: m.RoleName, Active: m.Active(), LastSignIn: "Never"}
		if !m.LastSignInAt.IsZero() {
			row.LastSignIn = m.LastSignInAt.Format("2 Jan 2006 15:04 UTC")
		}
		v.Members = append(v.Members, row)
	}
	return render(c, http.StatusOK, views.Members(v))
}
