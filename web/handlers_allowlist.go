package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/settings"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) allowListPage(c echo.Context) error {
	return s.renderAllowList(c, http.StatusOK, "", "", nil)
}

func (s *Server) renderAllowList(c echo.Context, status int, cidr, note string, errs map[string]string) error {
	entries, err := s.AllowList.Entries(c.Request().Context())
	if err != nil {
		return err
	}
	v := views.AllowListView{Page: s.page(c, "IP allow-list", "security"), ClientAddr: c.RealIP(), CIDR: cidr, Note: note, Errors: errs}
	for _, e := range entries {
		v.Entries = append(v.Entries, views.AllowListRow{ID: e.ID, CIDR: e.CIDR, Note: e.Note, AddedBy: e.CreatedByName, Added: s.viewerTime(c, e.CreatedAt),
			Current: settings.NetworkContains(e.CIDR, c.RealIP())})
	}
	return render(c, status, views.AllowList(v))
}

func (s *Server) addToAllowList(c echo.Context) error {
	cidr, note := c.FormValue("cidr"), c.FormValue("note")
	_, err := s.AllowList.Add(c.Request().Context(), cidr, note, principalOf(c).Name, c.RealIP())
	if errs, ok := allowListRefusal(err); ok {
		return s.renderAllowList(c, http.StatusUnprocessableEntity, cidr, note, errs)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/security/allowlist", "Network added. Sign-ins from outside the list are refused now.")
}

func (s *Server) removeFromAllowList(c echo.Context) error {
	err := s.AllowList.Remove(c.Request().Context(), pathID(c), c.RealIP())
	if errors.Is(err, settings.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if errs, ok := allowListRefusal(err); ok {
		return s.renderAllowList(c, http.StatusConflict, "", "", errs)
	}
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/security/allowlist", "Network removed.")
}

// allowListRefusal turns a refused change into messages for the form: bad input (422) or the
// lock-out guard.
func allowListRefusal(err error) (map[string]string, bool) {
	var inv settings.InvalidError
	var lock *settings.LockOutError
	switch {
	case errors.As(err, &inv):
		return inv, true
	case errors.As(err, &lock):
		return map[string]string{"form": lock.Error()}, true
	}
	return nil, false
}

// refuseSignInOutsideAllowList answers a sign-in from an address outside the allow-list exactly
// as a wrong password is answered, so the page tells an outsider nothing about accounts or the
// list; the activity log says what happened.
func (s *Server) refuseSignInOutsideAllowList(c echo.Context, email, next string) error {
	ctx := c.Request().Context()
	if _, err := s.Audit.Record(ctx, audit.Event{Action: "member.sign_in_failed", Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: "address not on the IP allow-list"}}}); err != nil {
		return err
	}
	v := views.SignInView{Page: s.page(c, "Sign in", ""), Email: email, Next: next,
		Error: "That e-mail address and password do not match an active account."}
	return render(c, http.StatusUnauthorized, views.SignIn(v))
}

// recordSessionOutsideAllowList notes that a session was ended because its request came from an
// address outside the allow-list (the list changed, or the member moved).
func (s *Server) recordSessionOutsideAllowList(c echo.Context, memberID int64) error {
	_, err := s.Audit.Record(c.Request().Context(), audit.Event{Action: "access.address_refused", Outcome: audit.OutcomeDenied,
		Target: audit.NewTarget("member", memberID), Changes: []audit.Change{{Field: "reason", After: "session ended: address not on the IP allow-list"}}})
	return err
}
