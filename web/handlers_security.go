package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/settings"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) securitySettingsPage(c echo.Context) error {
	policy, err := s.Settings.Security(c.Request().Context())
	if err != nil {
		return err
	}
	return s.renderSecuritySettings(c, http.StatusOK, policy, nil, nil)
}

func (s *Server) renderSecuritySettings(c echo.Context, status int, policy settings.Security, roleOverride []int64, errs map[string]string) error {
	roles, err := s.Members.Store().Roles(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.SecuritySettingsView{Page: s.page(c, "Security settings", "security"), Everyone: policy.TwoFactor == settings.TwoFactorEveryone,
		IdleMinutes: int(policy.IdleTimeout / time.Minute), AbsoluteHours: int(policy.AbsoluteTimeout / time.Hour), Errors: errs}
	if v.Mail, err = s.mailStatus(c); err != nil {
		return err
	}
	for _, r := range roles {
		required := r.RequiresTwoFactor
		if roleOverride != nil {
			required = slices.Contains(roleOverride, r.ID)
		}
		v.Roles = append(v.Roles, views.RoleTwoFactor{ID: r.ID, Name: r.Name, Required: required, Members: r.Members})
	}
	return render(c, status, views.SecuritySettings(v))
}

func (s *Server) saveSecuritySettings(c echo.Context) error {
	ctx := c.Request().Context()
	idle, _ := strconv.Atoi(c.FormValue("idle_minutes"))
	absolute, _ := strconv.Atoi(c.FormValue("absolute_hours"))
	policy := settings.Security{TwoFactor: settings.TwoFactorPolicy(c.FormValue("two_factor")),
		IdleTimeout: time.Duration(idle) * time.Minute, AbsoluteTimeout: time.Duration(absolute) * time.Hour}
	form, _ := c.FormParams()
	var required []int64
	for _, v := range form["role_2fa"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			required = append(required, id)
		}
	}
	if errs := policy.Validate(); len(errs) > 0 {
		return s.renderSecuritySettings(c, http.StatusUnprocessableEntity, policy, required, errs)
	}
	if err := s.Members.SetRolesRequiringTwoFactor(ctx, principalOf(c), required); err != nil {
		return err
	}
	if err := s.Settings.SaveSecurity(ctx, policy); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/security", "Security settings saved.")
}
