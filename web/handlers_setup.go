package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) setupPage(c echo.Context) error {
	token := c.QueryParam("token")
	if err := s.Members.CheckSetupToken(c.Request().Context(), token); err != nil {
		return s.setupUnavailable(c, err)
	}
	return render(c, http.StatusOK, views.Setup(views.SetupView{Page: s.page(c, "Set up", ""), Token: token}))
}

func (s *Server) setup(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.FormValue("token")
	in := members.NewMember{Name: c.FormValue("name"), Email: c.FormValue("email"), Password: c.FormValue("password")}
	m, err := s.Members.CompleteSetup(ctx, token, in)
	var fe members.FieldErrors
	switch {
	case errors.As(err, &fe):
		v := views.SetupView{Page: s.page(c, "Set up", ""), Token: token, Name: in.Name, Email: in.Email, Errors: fe,
			FormError: "Please correct the fields below."}
		return render(c, http.StatusUnprocessableEntity, views.Setup(v))
	case errors.Is(err, members.ErrSetupClosed), errors.Is(err, members.ErrSetupToken):
		return s.setupUnavailable(c, err)
	case err != nil:
		return err
	}
	if err := s.startSession(c, m); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) setupUnavailable(c echo.Context, err error) error {
	v := views.SetupUnavailableView{Page: s.page(c, "Set up", "")}
	status := http.StatusForbidden
	switch {
	case errors.Is(err, members.ErrSetupClosed):
		status = http.StatusGone
		v.Title, v.Message = "Already set up", "This workspace has an owner. Sign in, or ask an administrator for an invitation."
	case errors.Is(err, members.ErrSetupToken):
		v.Title, v.Message = "This set-up link is not valid", err.Error()+"."
	default:
		return err
	}
	return render(c, status, views.SetupUnavailable(v))
}
