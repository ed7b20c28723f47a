package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) invitePage(c echo.Context) error {
	return s.renderInvite(c, http.StatusOK, views.InviteView{All: true}, nil)
}

func (s *Server) renderInvite(c echo.Context, status int, v views.InviteView, errs members.FieldErrors) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	roles, err := s.Members.Store().Roles(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	v.Page = s.page(c, "Invite a member", "members")
	v.Errors = errs
	// No role is preselected: the inviter chooses one, and the least privileged come first.
	members.LeastPrivilegedFirst(roles)
	for _, r := range roles {
		if r.Permissions.SubsetOf(p.Permissions) {
			v.Roles = append(v.Roles, views.RoleOption{ID: r.ID, Name: r.Name, Selected: r.ID == v.RoleID, Hint: r.Description})
		}
	}
	v.Numbers = numberOptions(inScope(p, numbers), v.All, v.NumberIDs)
	return render(c, status, views.Invite(v))
}

func (s *Server) invite(c echo.Context) error {
	roleID, _ := strconv.ParseInt(c.FormValue("role"), 10, 64)
	all, ids := scopeFromForm(c)
	in := members.InviteInput{Email: c.FormValue("email"), RoleID: roleID, AllNumbers: all, NumberIDs: ids}
	inv, token, err := s.Members.Invite(c.Request().Context(), principalOf(c), in)
	if fe, ok := fieldErrors(err); ok {
		return s.renderInvite(c, http.StatusUnprocessableEntity,
			views.InviteView{Email: in.Email, RoleID: roleID, All: all, NumberIDs: ids}, fe)
	}
	if err != nil {
		return err
	}
	// The link is shown once, here: only its hash is stored. When it was e-mailed, it is not
	// shown at all: it is the invitee's credential.
	v := views.InvitationCreatedView{Page: s.page(c, "Invitation created", "members"), Email: inv.Email, RoleName: inv.RoleName,
		Expires: s.viewerTime(c, inv.ExpiresAt), Mailed: inv.Mailed}
	if !inv.Mailed {
		v.Link = s.Config.BaseURL.String() + members.InvitationPath(token)
	}
	return render(c, http.StatusCreated, views.InvitationCreated(v))
}

func (s *Server) revokeInvitation(c echo.Context) error {
	if err := s.Members.RevokeInvitation(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/members", "Invitation revoked: its link no longer works.")
}

func (s *Server) invitationPage(c echo.Context) error {
	inv, err := s.Members.InvitationByToken(c.Request().Context(), c.Param("token"))
	if err != nil {
		return s.invitationUnavailable(c, err)
	}
	return render(c, http.StatusOK, views.AcceptInvitation(views.AcceptInvitationView{
		Page: s.page(c, "Join Switchboard", ""), Token: c.Param("token"), Email: inv.Email, RoleName: inv.RoleName, InvitedBy: inv.InvitedBy}))
}

func (s *Server) acceptInvitation(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	inv, err := s.Members.InvitationByToken(ctx, token)
	if err != nil {
		return s.invitationUnavailable(c, err)
	}
	name := c.FormValue("name")
	m, err := s.Members.AcceptInvitation(ctx, token, name, c.FormValue("password"))
	if fe, ok := fieldErrors(err); ok {
		return render(c, http.StatusUnprocessableEntity, views.AcceptInvitation(views.AcceptInvitationView{
			Page: s.page(c, "Join Switchboard", ""), Token: token, Email: inv.Email, RoleName: inv.RoleName,
			InvitedBy: inv.InvitedBy, Name: name, Errors: fe}))
	}
	if err != nil {
		return s.invitationUnavailable(c, err)
	}
	if err := s.startSession(c, m); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) invitationUnavailable(c echo.Context, err error) error {
	if !errors.Is(err, members.ErrInvitationInvalid) {
		return err
	}
	return render(c, http.StatusNotFound, views.SetupUnavailable(views.SetupUnavailableView{Page: s.page(c, "Invitation", ""),
		Title: "This invitation link does not work", Message: "It was used, revoked or has expired (links last 72 hours). Ask the person who invited you for a new one."}))
}
