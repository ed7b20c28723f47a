package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) membersPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	list, err := s.Members.Store().List(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	v := views.MembersView{Page: s.page(c, "Members", "members"), CanInvite: p.Can(authz.MembersInvite)}
	at := s.viewerTimes(c)
	for _, m := range list {
		v.Members = append(v.Members, memberRow(at, m, numbers))
	}
	if v.CanInvite {
		invs, err := s.Members.PendingInvitations(ctx)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			v.Invitations = append(v.Invitations, views.InvitationRow{ID: inv.ID, Email: inv.Email, RoleName: inv.RoleName,
				Numbers: scopeText(inv.AllNumbers, inv.NumberIDs, numbers), InvitedBy: inv.InvitedBy, Expires: s.viewerTime(c, inv.ExpiresAt)})
		}
	}
	return render(c, http.StatusOK, views.Members(v))
}

func (s *Server) memberPage(c echo.Context) error {
	return s.renderMember(c, http.StatusOK, nil)
}

func (s *Server) renderMember(c echo.Context, status int, errs members.FieldErrors) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	m, err := s.Members.Store().ByID(ctx, pathID(c))
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	roles, err := s.Members.Store().Roles(ctx)
	if err != nil {
		return err
	}
	v := views.MemberView{
		Page:    s.page(c, m.Name, "members"),
		Member:  memberRow(s.viewerTimes(c), m, numbers),
		IsSelf:  p.MemberID == m.ID,
		Numbers: numberOptions(inScope(p, numbers), m.AllNumbers, m.NumberIDs),
		All:     m.AllNumbers,
		Errors:  errs,
	}
	if p.Can(authz.MembersManage) && !v.IsSelf {
		refusal := s.Members.CheckManageable(ctx, p, m.ID)
		var re *members.RuleError
		switch {
		case refusal == nil:
			v.CanManage = true
		case errors.As(refusal, &re):
			v.ManageRefusal = re.Message
		default:
			return refusal
		}
	}
	for _, r := range roles {
		v.Roles = append(v.Roles, views.RoleOption{ID: r.ID, Name: r.Name, Selected: r.ID == m.RoleID,
			Disabled: !r.Permissions.SubsetOf(p.Permissions)})
	}
	v.TwoFactorEnabled = m.TwoFactorEnabled
	if v.CanManage {
		if v.Sessions, err = s.sessionRows(c, m.ID); err != nil {
			return err
		}
	}
	return render(c, status, views.Member(v))
}

func (s *Server) changeMemberRole(c echo.Context) error {
	roleID, _ := strconv.ParseInt(c.FormValue("role"), 10, 64)
	if err := s.Members.ChangeRole(c.Request().Context(), principalOf(c), pathID(c), roleID); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Role changed.")
}

func (s *Server) changeMemberNumbers(c echo.Context) error {
	all, ids := scopeFromForm(c)
	err := s.Members.SetNumberScope(c.Request().Context(), principalOf(c), pathID(c), all, ids)
	if fe, ok := fieldErrors(err); ok {
		return s.renderMember(c, http.StatusUnprocessableEntity, fe)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Phone numbers changed.")
}

// deactivateMemberPage asks before deactivating: a page of its own, not a script dialog, so the
// consequences can be read (and reached by keyboard and screen reader) before confirming.
func (s *Server) deactivateMemberPage(c echo.Context) error {
	m, err := s.Members.Store().ByID(c.Request().Context(), pathID(c))
	if err != nil {
		return err
	}
	if !m.Active() {
		return c.Redirect(http.StatusSeeOther, memberURL(c))
	}
	return render(c, http.StatusOK, views.DeactivateMember(views.DeleteMemberView{Page: s.page(c, "Deactivate "+m.Name, "members"),
		ID: m.ID, Name: m.Name, Email: m.Email}))
}

func (s *Server) deactivateMember(c echo.Context) error {
	if err := s.Members.Deactivate(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Member deactivated. Their sessions have ended.")
}

func (s *Server) reactivateMember(c echo.Context) error {
	if err := s.Members.Reactivate(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Member reactivated. They can sign in again.")
}

func (s *Server) signOutMember(c echo.Context) error {
	if err := s.Members.EndSessions(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Member signed out everywhere.")
}

func (s *Server) deleteMemberPage(c echo.Context) error {
	m, err := s.Members.Store().ByID(c.Request().Context(), pathID(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DeleteMember(views.DeleteMemberView{Page: s.page(c, "Delete "+m.Name, "members"),
		ID: m.ID, Name: m.Name, Email: m.Email}))
}

func (s *Server) deleteMember(c echo.Context) error {
	if err := s.Members.Delete(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/members", "Member deleted. Their past activity stays in the activity log.")
}

func memberURL(c echo.Context) string { return "/members/" + c.Param("id") }

// pathID reads the :id parameter; anything that is not a positive number matches no record.
func pathID(c echo.Context) int64 {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return -1
	}
	return id
}

func memberRow(at func(time.Time) string, m members.Member, numbers []workspace.PhoneNumber) views.MemberRow {
	row := views.MemberRow{ID: m.ID, Name: m.Name, Email: m.Email, RoleName: m.RoleName, Active: m.Active(),
		LastSignIn: "Never", Numbers: scopeText(m.AllNumbers, m.NumberIDs, numbers)}
	if !m.LastSignInAt.IsZero() {
		row.LastSignIn = at(m.LastSignInAt)
	}
	return row
}

// inScope keeps the phone numbers the principal works in: everything of other numbers is
// invisible to them, on settings and member pages too.
func inScope(p *authz.Principal, numbers []workspace.PhoneNumber) []workspace.PhoneNumber {
	out := make([]workspace.PhoneNumber, 0, len(numbers))
	for _, n := range numbers {
		if p.Numbers.SeesNumber(n.ID) {
			out = append(out, n)
		}
	}
	return out
}

func scopeText(all bool, ids []int64, numbers []workspace.PhoneNumber) string {
	if all {
		return "All numbers"
	}
	if len(ids) == 1 {
		for _, n := range numbers {
			if n.ID == ids[0] {
				return n.Name()
			}
		}
	}
	return strconv.Itoa(len(ids)) + " numbers"
}

func numberOptions(numbers []workspace.PhoneNumber, all bool, chosen []int64) []views.NumberOption {
	out := make([]views.NumberOption, 0, len(numbers))
	for _, n := range numbers {
		checked := false
		for _, id := range chosen {
			checked = checked || id == n.ID
		}
		out = append(out, views.NumberOption{ID: n.ID, Name: n.Name(), Checked: checked && !all})
	}
	return out
}

// scopeFromForm reads the number-scope fields: scope=all, or scope=some with number=ID…
func scopeFromForm(c echo.Context) (bool, []int64) {
	if c.FormValue("scope") != "some" {
		return true, nil
	}
	form, _ := c.FormParams()
	var ids []int64
	for _, v := range form["number"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return false, ids
}

func fieldErrors(err error) (members.FieldErrors, bool) {
	switch e := err.(type) {
	case members.FieldErrors:
		return e, true
	case *members.ValidationError:
		return members.FieldErrors{e.Field: e.Message}, true
	}
	return nil, false
}
