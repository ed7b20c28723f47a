package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

func (s *Server) accountRoutes() []route {
	return []route{
		// The code step after the password: the pending state in the session is the credential.
		{http.MethodGet, "/login/2fa", authz.Public(), s.secondFactorPage},
		{http.MethodPost, "/login/2fa", authz.Public(), s.secondFactor},
		{http.MethodGet, "/reauth", authz.Enrolling(), s.reauthPage},
		{http.MethodPost, "/reauth", authz.Enrolling(), s.reauth},

		{http.MethodGet, "/account", authz.SignedIn(), s.accountPage},
		{http.MethodGet, "/account/2fa", authz.Enrolling(), s.twoFactorPage},
		{http.MethodPost, "/account/2fa", authz.Enrolling(), s.confirmTwoFactor},
		{http.MethodPost, "/account/2fa/recovery-codes", authz.SignedIn().Fresh(), s.regenerateRecoveryCodes},
		{http.MethodPost, "/account/2fa/remove", authz.SignedIn().Fresh(), s.removeTwoFactor},
		{http.MethodPost, "/account/sessions/:sid/end", authz.SignedIn(), s.endOwnOrManagedSession},
		{http.MethodPost, "/account/password", authz.SignedIn(), s.changePassword},
		{http.MethodPost, "/account/time-zone", authz.SignedIn(), s.saveTimeZone},

		{http.MethodGet, "/settings/security", authz.Require(authz.SecurityManage), s.securitySettingsPage},
		{http.MethodPost, "/settings/security", authz.Require(authz.SecurityManage).Fresh(), s.saveSecuritySettings},
	}
}
