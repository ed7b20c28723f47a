package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// templateRoutes are the message templates pages (issue 7). Reading is templates.view; composing,
// editing one's own draft, sending it for review and starting a revision are templates.create;
// the reviewer's decisions (approve, send back, submit to Meta) and pulling Meta's state are
// templates.approve; deleting is templates.delete. The service checks each again, and adds the
// rules a route cannot see: four eyes, the author-only steps, the template's state.
func (s *Server) templateRoutes() []route {
	return []route{
		{http.MethodGet, "/templates", authz.Require(authz.TemplatesView), s.templatesPage},
		{http.MethodGet, "/templates/:id", authz.Require(authz.TemplatesView), s.templatePage},

		{http.MethodGet, "/templates/new", authz.Require(authz.TemplatesCreate), s.newTemplatePage},
		{http.MethodPost, "/templates", authz.Require(authz.TemplatesCreate), s.createTemplate},
		// The live preview changes nothing, but it is a POST with the CSRF token like every form
		// post, and only composers need it.
		{http.MethodPost, "/templates/preview", authz.Require(authz.TemplatesCreate), s.previewTemplate},
		{http.MethodGet, "/templates/:id/edit", authz.Require(authz.TemplatesCreate), s.editTemplatePage},
		{http.MethodPost, "/templates/:id", authz.Require(authz.TemplatesCreate), s.updateTemplate},
		{http.MethodPost, "/templates/:id/submit", authz.Require(authz.TemplatesCreate), s.submitTemplateForReview},
		{http.MethodPost, "/templates/:id/revision", authz.Require(authz.TemplatesCreate), s.startTemplateRevision},

		{http.MethodPost, "/templates/:id/approve", authz.Require(authz.TemplatesApprove), s.approveTemplate},
		{http.MethodPost, "/templates/:id/send-back", authz.Require(authz.TemplatesApprove), s.sendBackTemplate},
		{http.MethodPost, "/templates/:id/submit-to-meta", authz.Require(authz.TemplatesApprove), s.submitTemplateToMeta},
		{http.MethodPost, "/templates/sync", authz.Require(authz.TemplatesApprove), s.syncTemplates},

		{http.MethodGet, "/templates/:id/delete", authz.Require(authz.TemplatesDelete), s.deleteTemplatePage},
		{http.MethodPost, "/templates/:id/delete", authz.Require(authz.TemplatesDelete), s.deleteTemplate},
	}
}
