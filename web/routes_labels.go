package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// labelRoutes define labels (labels.manage) and put them on conversations. Labelling is open to
// every member who reads conversations; the inbox service decides whether this member may work
// this conversation, and a conversation outside their visibility answers 404.
func (s *Server) labelRoutes() []route {
	manage := authz.Require(authz.LabelsManage)
	return []route{
		{http.MethodGet, "/settings/labels", manage, s.labelsPage},
		{http.MethodPost, "/settings/labels", manage, s.createLabel},
		{http.MethodPost, "/settings/labels/:id", manage, s.updateLabel},
		{http.MethodPost, "/settings/labels/:id/delete", manage, s.deleteLabel},
		{http.MethodPost, "/conversations/:id/labels", authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsAssign), s.labelConversation},
	}
}
