package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// reviewRoutes are access reviews. Deciding can change a member's role, so it asks for a fresh
// sign-in like a role change on the member page does.
func (s *Server) reviewRoutes() []route {
	return []route{
		{http.MethodGet, "/reviews", authz.Require(authz.AccessReviewsManage), s.reviewsPage},
		{http.MethodPost, "/reviews/settings", authz.Require(authz.AccessReviewsManage), s.saveReviewSettings},
		{http.MethodGet, "/reviews/new", authz.Require(authz.AccessReviewsManage), s.newReviewPage},
		{http.MethodPost, "/reviews", authz.Require(authz.AccessReviewsManage), s.openReview},
		{http.MethodGet, "/reviews/:id", authz.Require(authz.AccessReviewsManage), s.reviewPage},
		{http.MethodPost, "/reviews/:id/items/:item", authz.Require(authz.AccessReviewsManage).Fresh(), s.decideReview},
		{http.MethodPost, "/reviews/:id/close", authz.Require(authz.AccessReviewsManage), s.closeReview},
		{http.MethodGet, "/reviews/:id/report", authz.Require(authz.AccessReviewsManage), s.reviewReport},
		{http.MethodGet, "/reviews/:id/report.csv", authz.Require(authz.AccessReviewsManage), s.reviewReportCSV},
	}
}

// allowListRoutes are the sign-in IP allow-list. Changing it changes who can sign in at all,
// so it asks for a fresh sign-in like the rest of the security policy.
func (s *Server) allowListRoutes() []route {
	return []route{
		{http.MethodGet, "/settings/security/allowlist", authz.Require(authz.SecurityManage), s.allowListPage},
		{http.MethodPost, "/settings/security/allowlist", authz.Require(authz.SecurityManage).Fresh(), s.addToAllowList},
		{http.MethodPost, "/settings/security/allowlist/:id/delete", authz.Require(authz.SecurityManage).Fresh(), s.removeFromAllowList},
	}
}

// consentRoutes record a contact's marketing consent. Members who may work a conversation (send
// in it) may record it; the handler loads the conversation under the member's visibility.
func (s *Server) consentRoutes() []route {
	work := authz.RequireAny(authz.MessagesSendText, authz.MessagesSendMedia, authz.MessagesSendTemplate, authz.MessagesSendCanned)
	return []route{
		{http.MethodPost, "/conversations/:id/consent", work, s.setConsent},
		{http.MethodGet, "/settings/privacy", authz.Require(authz.WorkspaceSettingsManage), s.privacySettingsPage},
		{http.MethodPost, "/settings/privacy", authz.Require(authz.WorkspaceSettingsManage), s.savePrivacySettings},
	}
}
