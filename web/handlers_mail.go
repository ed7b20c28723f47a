package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) forgotPasswordPage(c echo.Context) error {
	return render(c, http.StatusOK, views.ForgotPassword(views.ForgotPasswordView{Page: s.page(c, "Reset your password", ""),
		MailEnabled: s.MailService != nil}))
}

// requestPasswordReset answers the same page whether or not the address has an account; only
// the throttle, keyed by what was typed and the client's address, can refuse.
func (s *Server) requestPasswordReset(c echo.Context) error {
	email := c.FormValue("email")
	v := views.ForgotPasswordView{Page: s.page(c, "Reset your password", ""), MailEnabled: s.MailService != nil, Email: email}
	if err := members.ValidateEmail(email); err != nil && s.MailService != nil {
		v.Error = err.Error()
		return render(c, http.StatusUnprocessableEntity, views.ForgotPassword(v))
	}
	err := s.Members.RequestPasswordReset(c.Request().Context(), email)
	var throttled *members.ThrottledError
	switch {
	case errors.Is(err, members.ErrNoMail):
		return render(c, http.StatusOK, views.ForgotPassword(v))
	case errors.As(err, &throttled):
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds())+1))
		v.Error = "Too many reset requests. " + strings.TrimPrefix(throttled.Error(), "Too many failed attempts. ")
		return render(c, http.StatusTooManyRequests, views.ForgotPassword(v))
	case err != nil:
		return err
	}
	v.Sent = true
	return render(c, http.StatusOK, views.ForgotPassword(v))
}

func (s *Server) resetPasswordPage(c echo.Context) error {
	token := c.Param("token")
	m, err := s.Members.PasswordResetFor(c.Request().Context(), token)
	if err != nil {
		return s.resetUnavailable(c, err)
	}
	return render(c, http.StatusOK, views.ResetPassword(views.ResetPasswordView{Page: s.page(c, "Choose a new password", ""),
		Token: token, Email: m.Email}))
}

// resetPassword sets the new password and sends the member to sign in: a reset link is never a
// session, so a member with 2FA still passes the code step.
func (s *Server) resetPassword(c echo.Context) error {
	ctx := c.Request().Context()
	token := c.Param("token")
	m, err := s.Members.ResetPassword(ctx, token, c.FormValue("password"))
	if fe, ok := fieldErrors(err); ok {
		who, ferr := s.Members.PasswordResetFor(ctx, token)
		if ferr != nil {
			return s.resetUnavailable(c, ferr)
		}
		return render(c, http.StatusUnprocessableEntity, views.ResetPassword(views.ResetPasswordView{
			Page: s.page(c, "Choose a new password", ""), Token: token, Email: who.Email, Errors: fe}))
	}
	if err != nil {
		return s.resetUnavailable(c, err)
	}
	// Whatever this browser was signed in as, it is signed out now.
	if err := s.endSession(ctx); err != nil {
		return err
	}
	msg := "Sign in with your new password. You were signed out everywhere."
	if m.TwoFactorEnabled {
		msg = "Sign in with your new password and a code from your authenticator app. You were signed out everywhere."
	}
	return render(c, http.StatusOK, views.ResetPasswordDone(views.SetupUnavailableView{Page: s.page(c, "Password changed", ""),
		Title: "Your password is changed", Message: msg}))
}

func (s *Server) resetUnavailable(c echo.Context, err error) error {
	if !errors.Is(err, members.ErrResetInvalid) {
		return err
	}
	return render(c, http.StatusNotFound, views.SetupUnavailable(views.SetupUnavailableView{Page: s.page(c, "Password reset", ""),
		Title: "This reset link does not work", Message: "It was used, replaced by a newer password, or has expired (links last 30 minutes). Ask for a new one from the sign-in page."}))
}

// issuePasswordReset gives an administrator a reset link for a member they may manage:
// e-mailed to the member, or shown once to pass on when the server sends no e-mail.
func (s *Server) issuePasswordReset(c echo.Context) error {
	r, err := s.Members.IssuePasswordReset(c.Request().Context(), principalOf(c), pathID(c))
	if err != nil {
		return err
	}
	if r.Mailed {
		return s.redirectWithFlash(c, memberURL(c), "A password reset link was e-mailed to "+r.Member.Email+". It works once, for 30 minutes.")
	}
	return render(c, http.StatusCreated, views.ResetLinkIssued(views.ResetLinkIssuedView{Page: s.page(c, "Password reset link", "members"),
		Name: r.Member.Name, Email: r.Member.Email, Link: s.Config.BaseURL.String() + r.Path, Expires: s.viewerTime(c, r.Expires),
		MemberURL: memberURL(c)}))
}

func (s *Server) saveAlertMail(c echo.Context) error {
	p := principalOf(c)
	form, _ := c.FormParams()
	on := false
	for _, v := range form["alert_mail"] {
		on = on || v == "1"
	}
	if err := s.Members.SetAlertMail(c.Request().Context(), p.MemberID, on); err != nil {
		return err
	}
	msg := "Security alert e-mails turned off."
	if on {
		msg = "You will get security alerts by e-mail."
	}
	return s.redirectWithFlash(c, "/account", msg)
}

func (s *Server) sendTestEmail(c echo.Context) error {
	if s.MailService == nil {
		return echo.NewHTTPError(http.StatusConflict, "This server has no mail server configured: start it with --smtp-url and --smtp-from.")
	}
	p := principalOf(c)
	if err := s.MailService.SendTest(c.Request().Context(), p.Email, p.Name); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/settings/security", "A test e-mail is on its way to "+p.Email+". The outbox below shows when it leaves.")
}

func (s *Server) mailStatus(c echo.Context) (views.MailStatus, error) {
	if s.MailService == nil {
		return views.MailStatus{}, nil
	}
	st, err := s.MailService.Outbox().Status(c.Request().Context())
	if err != nil {
		return views.MailStatus{}, err
	}
	from := s.Config.SMTP.From.Address
	if n := s.Config.SMTP.From.Name; n != "" {
		from = n + " <" + from + ">"
	}
	return views.MailStatus{Enabled: true, Server: s.Config.SMTP.String(), From: from,
		Waiting: st.Waiting, Sent: st.Sent, GivenUp: st.GivenUp, LastError: st.LastError}, nil
}
