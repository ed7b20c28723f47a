package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// privacyRoutes are a customer's GDPR requests, retention, the records of processing and the
// alert rules. Exporting and erasing a customer ask for a fresh sign-in, like every export.
func (s *Server) privacyRoutes() []route {
	requests := authz.RequireAny(authz.ContactsExport, authz.ContactsErase)
	return []route{
		{http.MethodGet, "/privacy/requests", requests, s.privacyRequestsPage},
		{http.MethodPost, "/privacy/requests/contacts/:id/export", authz.Require(authz.ContactsExport).Fresh(), s.exportContact},
		{http.MethodPost, "/privacy/requests/contacts/:id/erase", authz.Require(authz.ContactsErase).Fresh(), s.eraseContact},
		{http.MethodPost, "/privacy/requests/erasures/:id/confirm", authz.Require(authz.ContactsErase).Fresh(), s.confirmErasure},
		{http.MethodPost, "/privacy/requests/erasures/:id/cancel", authz.Require(authz.ContactsErase), s.cancelErasure},
		{http.MethodGet, "/privacy", authz.RequireAny(authz.WorkspaceSettingsManage, authz.AuditView, authz.ContactsExport, authz.ContactsErase), s.recordsPage},
		{http.MethodPost, "/settings/privacy/retention", authz.Require(authz.WorkspaceSettingsManage), s.saveRetention},
		{http.MethodPost, "/settings/privacy/retention/run", authz.Require(authz.WorkspaceSettingsManage), s.runRetention},
		{http.MethodGet, "/settings/alerts", authz.Require(authz.SecurityManage), s.alertRulesPage},
		{http.MethodPost, "/settings/alerts/:kind", authz.Require(authz.SecurityManage), s.saveAlertRule},
	}
}
