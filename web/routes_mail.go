package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// mailRoutes: password reset and e-mail settings.
func (s *Server) mailRoutes() []route {
	return []route{
		// Forgot password: public, answered the same for every address, throttled.
		{http.MethodGet, "/password-reset", authz.Public(), s.forgotPasswordPage},
		{http.MethodPost, "/password-reset", authz.Public(), s.requestPasswordReset},
		// The single-use token in the link is the credential.
		{http.MethodGet, "/password-reset/:token", authz.Public(), s.resetPasswordPage},
		{http.MethodPost, "/password-reset/:token", authz.Public(), s.resetPassword},
		{http.MethodPost, "/members/:id/password-reset", authz.Require(authz.MembersManage).Fresh(), s.issuePasswordReset},

		{http.MethodPost, "/account/alert-mail", authz.SignedIn(), s.saveAlertMail},
		// Whoever sets the alert routing confirms that alert mail arrives.
		{http.MethodPost, "/settings/security/test-email", authz.Require(authz.SecurityManage), s.sendTestEmail},
	}
}
