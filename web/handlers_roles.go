package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) rolesPage(c echo.Context) error {
	roles, err := s.Members.Store().Roles(c.Request().Context())
	if err != nil {
		return err
	}
	p := principalOf(c)
	v := views.RolesView{Page: s.page(c, "Roles", "roles"), CanManage: p.Can(authz.RolesManage)}
	for _, r := range roles {
		v.Roles = append(v.Roles, roleColumn(r, p))
	}
	for _, d := range authz.All() {
		if len(v.Areas) == 0 || v.Areas[len(v.Areas)-1].Name != d.Area.Name {
			v.Areas = append(v.Areas, views.PermissionArea{Name: d.Area.Name})
		}
		area := &v.Areas[len(v.Areas)-1]
		area.Permissions = append(area.Permissions, views.PermissionRow{ID: d.ID, Label: d.Label, Description: d.Description})
	}
	return render(c, http.StatusOK, views.Roles(v))
}

func roleColumn(r members.RoleSummary, p *authz.Principal) views.RoleColumn {
	col := views.RoleColumn{ID: r.ID, Name: r.Name, Description: r.Description, Builtin: r.Builtin, Members: r.Members,
		RequiresTwoFactor: r.RequiresTwoFactor, Granted: map[string]bool{}, Editable: !r.Builtin && p.Can(authz.RolesManage) && r.Permissions.SubsetOf(p.Permissions)}
	for _, id := range r.Permissions.IDs() {
		col.Granted[id] = true
	}
	col.Grantable = map[string]bool{}
	for _, id := range p.Permissions.IDs() {
		col.Grantable[id] = true
	}
	return col
}

func (s *Server) newRolePage(c echo.Context) error {
	return render(c, http.StatusOK, views.RoleForm(views.RoleFormView{Page: s.page(c, "New role", "roles"), Action: "/roles"}))
}

func (s *Server) createRole(c echo.Context) error {
	in := roleInput(c)
	r, err := s.Members.CreateRole(c.Request().Context(), principalOf(c), in, authz.Set{})
	if fe, ok := fieldErrors(err); ok {
		return render(c, http.StatusUnprocessableEntity, views.RoleForm(views.RoleFormView{Page: s.page(c, "New role", "roles"),
			Action: "/roles", Name: in.Name, Description: in.Description, RequiresTwoFactor: in.RequiresTwoFactor, Errors: fe}))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/roles?role="+strconv.FormatInt(r.ID, 10), "Role "+r.Name+" created. Tick the permissions it grants in its column.")
}

func (s *Server) editRolePage(c echo.Context) error {
	r, err := s.Members.Store().RoleByID(c.Request().Context(), pathID(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RoleForm(views.RoleFormView{Page: s.page(c, "Edit "+r.Name, "roles"),
		Action: "/roles/" + strconv.FormatInt(r.ID, 10), Name: r.Name, Description: r.Description, RequiresTwoFactor: r.RequiresTwoFactor,
		Builtin: r.Builtin, ID: r.ID}))
}

func (s *Server) updateRole(c echo.Context) error {
	in := roleInput(c)
	err := s.Members.UpdateRole(c.Request().Context(), principalOf(c), pathID(c), in)
	if fe, ok := fieldErrors(err); ok {
		return render(c, http.StatusUnprocessableEntity, views.RoleForm(views.RoleFormView{Page: s.page(c, "Edit role", "roles"),
			Action: "/roles/" + c.Param("id"), Name: in.Name, Description: in.Description, RequiresTwoFactor: in.RequiresTwoFactor,
			ID: pathID(c), Errors: fe}))
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/roles", "Role saved.")
}

func (s *Server) duplicateRole(c echo.Context) error {
	r, err := s.Members.DuplicateRole(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/roles?role="+strconv.FormatInt(r.ID, 10), "Created "+r.Name+": an editable copy.")
}

func (s *Server) deleteRole(c echo.Context) error {
	if err := s.Members.DeleteRole(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/roles", "Role deleted.")
}

// toggleRolePermission answers the matrix's htmx request with the updated cell. A refusal keeps
// the cell as it was and explains why in the status region, out of band.
func (s *Server) toggleRolePermission(c echo.Context) error {
	perm, err := authz.Parse(c.Param("permission"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	granted := c.FormValue("granted") == "on"
	p := principalOf(c)
	r, err := s.Members.SetRolePermission(c.Request().Context(), p, pathID(c), perm, granted)
	if err != nil {
		if !isHTMX(c) {
			return err
		}
		cur, lerr := s.Members.Store().RoleByID(c.Request().Context(), pathID(c))
		if lerr != nil {
			return lerr
		}
		// 200, not 4xx: htmx swaps only successful answers, and the cell must snap back.
		_, msg := classify(err)
		cell := views.MatrixCellView{RoleID: cur.ID, RoleName: cur.Name, Permission: perm.ID(), PermissionLabel: perm.Label(), Granted: cur.Permissions.Has(perm),
			Editable: true, Message: msg, MessageKind: "error"}
		return render(c, http.StatusOK, views.MatrixCellResponse(cell))
	}
	if !isHTMX(c) {
		return s.redirectWithFlash(c, "/roles", "Role "+r.Name+" changed.")
	}
	verb := "no longer grants"
	if granted {
		verb = "now grants"
	}
	cell := views.MatrixCellView{RoleID: r.ID, RoleName: r.Name, Permission: perm.ID(), PermissionLabel: perm.Label(), Granted: r.Permissions.Has(perm),
		Editable: true, Message: r.Name + " " + verb + " “" + perm.Label() + "”.", MessageKind: "success"}
	return render(c, http.StatusOK, views.MatrixCellResponse(cell))
}

func roleInput(c echo.Context) members.RoleInput {
	return members.RoleInput{Name: c.FormValue("name"), Description: c.FormValue("description"),
		RequiresTwoFactor: c.FormValue("requires_2fa") == "on"}
}
