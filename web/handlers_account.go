package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) accountPage(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, nil)
}

func (s *Server) renderAccount(c echo.Context, status int, passwordErrors map[string]string) error {
	return s.renderAccountWith(c, status, passwordErrors, "")
}

func (s *Server) renderAccountWith(c echo.Context, status int, passwordErrors map[string]string, zoneError string) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	st, err := s.TwoFactor.State(ctx, p.MemberID)
	if err != nil {
		return err
	}
	sessions, err := s.sessionRows(c, p.MemberID)
	if err != nil {
		return err
	}
	v := views.AccountView{Page: s.page(c, "Your account", "account"),
		Name: p.Name, Email: p.Email, RoleName: p.RoleName, TwoFactor: twoFactorView(s.viewerTimes(c), st), Sessions: sessions,
		PasswordErrors: passwordErrors, TimeZone: s.timeZoneChoice(c, zoneError)}
	if p.Can(authz.AlertsView) {
		on, err := s.Members.Store().AlertMail(ctx, p.MemberID)
		if err != nil {
			return err
		}
		v.AlertMail = &views.AlertMailChoice{On: on, MailEnabled: s.MailService != nil}
	}
	if v.Availability, err = s.availabilityChoice(c); err != nil {
		return err
	}
	return render(c, status, views.Account(v))
}

// changePassword replaces the member's password; their other sessions end, this one continues
// under a new token.
func (s *Server) changePassword(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	// The current-password check is a password guess like any other: throttled the same way.
	dec, err := s.Throttle.Check(ctx, p.Email, c.RealIP())
	if err != nil {
		return err
	}
	if !dec.Allowed {
		return s.renderAccount(c, http.StatusTooManyRequests,
			map[string]string{"current_password": (&members.ThrottledError{RetryAfter: dec.RetryAfter}).Error()})
	}
	err = s.Members.ChangePassword(ctx, p.MemberID, c.FormValue("current_password"), c.FormValue("new_password"))
	if fe, ok := fieldErrors(err); ok {
		if _, wrong := fe["current_password"]; wrong {
			if _, ferr := s.Throttle.Failure(ctx, p.Email, c.RealIP()); ferr != nil {
				return ferr
			}
		} else {
			s.Throttle.Release(p.Email, c.RealIP())
		}
		return s.renderAccount(c, http.StatusUnprocessableEntity, fe)
	}
	if err != nil {
		return err
	}
	if err := s.Throttle.Success(ctx, p.Email, c.RealIP()); err != nil {
		return err
	}
	if err := s.restartSession(c, p.MemberID); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/account", "Password changed. You were signed out everywhere else.")
}

func (s *Server) sessionRows(c echo.Context, memberID int64) ([]views.SessionRow, error) {
	list, err := s.Members.Store().Sessions(c.Request().Context(), memberID)
	if err != nil {
		return nil, err
	}
	current := s.Sessions.GetString(c.Request().Context(), sessionID)
	rows := make([]views.SessionRow, 0, len(list))
	for _, ss := range list {
		rows = append(rows, views.SessionRow{ID: ss.ID, Device: describeUserAgent(ss.UserAgent), Address: ss.ClientAddr,
			Started: s.viewerTime(c, ss.CreatedAt), LastSeen: s.viewerTime(c, ss.LastSeenAt), Current: ss.ID == current})
	}
	return rows, nil
}

func twoFactorView(at func(time.Time) string, st members.TwoFactorState) views.TwoFactorStatus {
	v := views.TwoFactorStatus{Enabled: st.Enabled, Required: st.Required, RecoveryCodesLeft: st.RecoveryCodesLeft}
	if st.Enabled {
		v.Since = at(st.EnabledAt)
	}
	return v
}

// twoFactorPage is enrolment: a new seed (or the one waiting for its first code) as a QR code and
// as text; or, once enabled, where the member manages it.
func (s *Server) twoFactorPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	st, err := s.TwoFactor.State(ctx, p.MemberID)
	if err != nil {
		return err
	}
	if st.Enabled {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	return s.renderEnrolment(c, http.StatusOK, "")
}

func (s *Server) renderEnrolment(c echo.Context, status int, errMsg string) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	if p.TwoFactorEnabled {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	key, err := s.TwoFactor.PendingKey(ctx, p.MemberID)
	if errors.Is(err, members.ErrNoPendingEnrolment) {
		m, merr := s.Members.Store().ByID(ctx, p.MemberID)
		if merr != nil {
			return merr
		}
		key, err = s.TwoFactor.BeginEnrolment(ctx, m)
	}
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	// The QR code goes inline (the CSP allows data: images): no URL ever serves the seed.
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, status, views.Enrol(views.EnrolView{Page: s.page(c, "Set up two-factor authentication", "account"),
		QRDataURL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
		Secret:    groupSecret(key.Secret()), Required: p.MustEnrolTwoFactor, Error: errMsg}))
}

func (s *Server) confirmTwoFactor(c echo.Context) error {
	p := principalOf(c)
	if p.TwoFactorEnabled {
		// Replacing an authenticator means removing it first, which asks for re-authentication.
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	codes, err := s.TwoFactor.ConfirmEnrolment(c.Request().Context(), p.MemberID, c.FormValue("code"))
	if isSecondFactorRefusal(err) || errors.Is(err, members.ErrNoPendingEnrolment) {
		return s.renderEnrolment(c, http.StatusUnprocessableEntity, err.Error())
	}
	if err != nil {
		return err
	}
	// Enabling 2FA ended every session of the member; this one continues under a new token.
	if err := s.restartSession(c, p.MemberID); err != nil {
		return err
	}
	return s.showRecoveryCodes(c, codes, "Two-factor authentication is on")
}

func (s *Server) regenerateRecoveryCodes(c echo.Context) error {
	codes, err := s.TwoFactor.RegenerateRecoveryCodes(c.Request().Context(), principalOf(c).MemberID)
	if err != nil {
		return err
	}
	return s.showRecoveryCodes(c, codes, "New recovery codes")
}

func (s *Server) showRecoveryCodes(c echo.Context, codes []string, title string) error {
	text := "Switchboard recovery codes. Each code works once.\n\n" + strings.Join(codes, "\n") + "\n"
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, views.RecoveryCodes(views.RecoveryCodesView{Page: s.page(c, title, "account"), Title: title,
		Codes: codes, DownloadURL: "data:text/plain;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(text))}))
}

func (s *Server) removeTwoFactor(c echo.Context) error {
	p := principalOf(c)
	if err := s.TwoFactor.Remove(c.Request().Context(), p.MemberID); err != nil {
		return err
	}
	if err := s.restartSession(c, p.MemberID); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/account", "Two-factor authentication is off.")
}

func (s *Server) endOwnOrManagedSession(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.Members.EndSession(ctx, principalOf(c), c.Param("sid")); err != nil {
		return err
	}
	back := "/account"
	if ref := c.FormValue("back"); strings.HasPrefix(ref, "/members/") {
		back = safeNext(ref)
	}
	return s.redirectWithFlash(c, back, "Session ended.")
}

// resetMemberTwoFactor clears another member's 2FA (a lost phone). The actor's own session must
// be protected by 2FA: a reset from a password-only session would let a stolen password bypass
// the second factor of someone else.
func (s *Server) resetMemberTwoFactor(c echo.Context) error {
	p := principalOf(c)
	if !p.TwoFactorEnabled {
		return echo.NewHTTPError(http.StatusForbidden, "Turn on two-factor authentication for yourself before resetting someone else's.")
	}
	if err := s.TwoFactor.Reset(c.Request().Context(), p, pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, memberURL(c), "Two-factor authentication reset. The member sets it up again at their next sign-in.")
}

// groupSecret makes a base32 seed readable for typing: groups of four.
func groupSecret(secret string) string {
	var b strings.Builder
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// describeUserAgent names the browser and system of a session in a few words.
func describeUserAgent(ua string) string {
	browser := "Browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	if ua == "" {
		return "Unknown device"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
