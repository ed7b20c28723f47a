package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) signInPage(c echo.Context) error {
	if principalOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	v := views.SignInView{Page: s.page(c, "Sign in", ""), Next: safeNext(c.QueryParam("next"))}
	if c.QueryParam("signed_out") == "1" {
		v.Info = "You are signed out."
	}
	return render(c, http.StatusOK, views.SignIn(v))
}

func (s *Server) signIn(c echo.Context) error {
	ctx := c.Request().Context()
	email, next := c.FormValue("email"), safeNext(c.FormValue("next"))
	m, err := s.Members.SignIn(ctx, email, c.FormValue("password"))
	if errors.Is(err, members.ErrInvalidCredentials) {
		v := views.SignInView{Page: s.page(c, "Sign in", ""), Email: email, Next: next,
			Error: "That e-mail address and password do not match an active account."}
		return render(c, http.StatusUnauthorized, views.SignIn(v))
	}
	if err != nil {
		return err
	}
	if err := s.startSession(ctx, m); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) signOut(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	if err := s.Members.RecordSignOut(ctx, p.MemberID, p.Name); err != nil {
		return err
	}
	if err := s.Sessions.Destroy(ctx); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}
