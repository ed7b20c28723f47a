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
