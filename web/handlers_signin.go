package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) signInPage(c echo.Context) error {
	if principalOf(c) != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	v := views.SignInView{Page: s.page(c, "Sign in", ""), Next: safeNext(c.QueryParam("next"))}
	switch {
	case c.QueryParam("signed_out") == "1":
		v.Info = "You are signed out."
	case c.QueryParam("expired") == "1":
		v.Info = "Your session expired. Sign in again to continue."
	case c.QueryParam("ended") == "1":
		v.Info = "You were signed out: your session was ended. Sign in again to continue."
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
	var throttled *members.ThrottledError
	if errors.As(err, &throttled) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		v := views.SignInView{Page: s.page(c, "Sign in", ""), Email: email, Next: next, Error: throttled.Error()}
		return render(c, http.StatusTooManyRequests, views.SignIn(v))
	}
	if err != nil {
		return err
	}
	if m.TwoFactorEnabled {
		if err := s.beginSecondFactor(ctx, m); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/login/2fa?next="+url.QueryEscape(next))
	}
	if err := s.startSession(c, m); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) secondFactorPage(c echo.Context) error {
	if s.pendingSecondFactor(c.Request().Context()) == 0 {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return render(c, http.StatusOK, views.SecondFactor(views.SecondFactorView{Page: s.page(c, "Two-factor authentication", ""),
		Next: safeNext(c.QueryParam("next")), Recovery: c.QueryParam("recovery") == "1"}))
}

// secondFactor checks the code after the password: a TOTP code, or one of the recovery codes.
func (s *Server) secondFactor(c echo.Context) error {
	ctx := c.Request().Context()
	id := s.pendingSecondFactor(ctx)
	if id == 0 {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	next, recovery := safeNext(c.FormValue("next")), c.FormValue("recovery") == "1"
	m, err := s.Members.Store().ByID(ctx, id)
	if err != nil {
		return err
	}
	// Six digits are guessable without a limit: codes count against the same throttle as
	// passwords, keyed by the member's e-mail address and the client's address.
	addr := c.RealIP()
	dec, err := s.Throttle.Check(ctx, m.Email, addr)
	if err != nil {
		return err
	}
	if !dec.Allowed {
		v := views.SecondFactorView{Page: s.page(c, "Two-factor authentication", ""), Next: next, Recovery: recovery,
			Error: (&members.ThrottledError{RetryAfter: dec.RetryAfter}).Error()}
		return render(c, http.StatusTooManyRequests, views.SecondFactor(v))
	}
	if recovery {
		err = s.TwoFactor.UseRecoveryCode(ctx, id, c.FormValue("code"))
	} else {
		err = s.TwoFactor.Verify(ctx, id, c.FormValue("code"))
	}
	if isSecondFactorRefusal(err) {
		if _, ferr := s.Throttle.Failure(ctx, m.Email, addr); ferr != nil {
			return ferr
		}
		v := views.SecondFactorView{Page: s.page(c, "Two-factor authentication", ""), Next: next, Recovery: recovery, Error: err.Error()}
		return render(c, http.StatusUnauthorized, views.SecondFactor(v))
	}
	if err != nil {
		return err
	}
	if !m.Active() {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	if m, err = s.Members.CompleteSignIn(ctx, m); err != nil {
		return err
	}
	if err := s.startSession(c, m); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func isSecondFactorRefusal(err error) bool {
	return errors.Is(err, auth.ErrTOTPInvalid) || errors.Is(err, auth.ErrTOTPReplay) || errors.Is(err, auth.ErrRecoveryInvalid)
}

func (s *Server) signOut(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	if err := s.Members.RecordSignOut(ctx, p.MemberID, p.Name); err != nil {
		return err
	}
	if err := s.endSession(ctx); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// reauthPage asks a signed-in member to confirm it is still them before a sensitive action.
func (s *Server) reauthPage(c echo.Context) error {
	p := principalOf(c)
	return render(c, http.StatusOK, views.Reauth(views.ReauthView{Page: s.page(c, "Confirm it is you", ""),
		Next: safeNext(c.QueryParam("next")), HasTwoFactor: p.TwoFactorEnabled}))
}

func (s *Server) reauth(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	next := safeNext(c.FormValue("next"))
	// A stolen session must not get unlimited guesses at the password or a code: re-auth
	// counts against the same throttle as signing in.
	addr := c.RealIP()
	dec, err := s.Throttle.Check(ctx, p.Email, addr)
	if err != nil {
		return err
	}
	if !dec.Allowed {
		return render(c, http.StatusTooManyRequests, views.Reauth(views.ReauthView{Page: s.page(c, "Confirm it is you", ""),
			Next: next, HasTwoFactor: p.TwoFactorEnabled, Error: (&members.ThrottledError{RetryAfter: dec.RetryAfter}).Error()}))
	}
	if code := strings.TrimSpace(c.FormValue("code")); code != "" && p.TwoFactorEnabled {
		err = s.TwoFactor.Verify(ctx, p.MemberID, code)
	} else {
		err = s.Members.Reauthenticate(ctx, p.MemberID, c.FormValue("password"))
	}
	if errors.Is(err, members.ErrInvalidCredentials) || isSecondFactorRefusal(err) {
		if _, ferr := s.Throttle.Failure(ctx, p.Email, addr); ferr != nil {
			return ferr
		}
		msg := "That password is not right."
		if isSecondFactorRefusal(err) {
			msg = err.Error()
		}
		return render(c, http.StatusUnauthorized, views.Reauth(views.ReauthView{Page: s.page(c, "Confirm it is you", ""),
			Next: next, HasTwoFactor: p.TwoFactorEnabled, Error: msg}))
	}
	if err != nil {
		return err
	}
	if err := s.Throttle.Success(ctx, p.Email, addr); err != nil {
		return err
	}
	// A new token at re-authentication too (ASVS 3.2.1): the proof belongs to this token only.
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionReauthAt, s.Clock.Now().UnixMilli())
	return c.Redirect(http.StatusSeeOther, next)
}
