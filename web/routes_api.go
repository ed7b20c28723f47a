package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
)

// apiRoutes are the JSON API (/api/v1), authenticated by API keys. Each route declares the
// permission a key's scopes must include, exactly like the pages: a key is a Principal, and the
// inbox's visibility predicate decides which records it sees (404 outside). Reads are recorded
// in the activity log sampled (apiRead); sends honour Idempotency-Key (idempotent).
func (s *Server) apiRoutes() []route {
	read := authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)
	work := authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsAssign)
	get := func(path string, access authz.Requirement, h echo.HandlerFunc) route {
		return route{http.MethodGet, apiPrefix + path, access, s.apiRead(h)}
	}
	post := func(path string, access authz.Requirement, h echo.HandlerFunc) route {
		return route{http.MethodPost, apiPrefix + path, access, h}
	}
	return []route{
		{http.MethodGet, apiPrefix + "/openapi.json", authz.Public(), s.openAPIDocument},
		{http.MethodGet, apiPrefix + "/docs", authz.Public(), s.apiReferencePage},

		get("/conversations", read, s.apiListConversations),
		get("/conversations/:id", read, s.apiGetConversation),
		post("/conversations/:id/assign", authz.Require(authz.ConversationsAssign), s.apiAssignConversation),
		post("/conversations/:id/escalate", authz.Require(authz.ConversationsEscalate), s.apiEscalateConversation),
		// The assignee may close their own conversation; assigners any: the service decides.
		post("/conversations/:id/close", work, s.apiCloseConversation),
		post("/conversations/:id/reopen", work, s.apiReopenConversation),

		get("/conversations/:id/messages", read, s.apiListMessages),
		post("/conversations/:id/messages/text", authz.Require(authz.MessagesSendText), s.idempotent(s.apiSendText)),
		post("/conversations/:id/messages/template", authz.Require(authz.MessagesSendTemplate), s.idempotent(s.apiSendTemplate)),
		post("/conversations/:id/messages/media", authz.Require(authz.MessagesSendMedia), s.idempotent(s.apiSendMedia)),

		// A contact is seen through a conversation the key sees, and not otherwise.
		get("/contacts", read, s.apiListContacts),
		get("/contacts/:id", read, s.apiGetContact),
		// Labels: defined under labels.manage on the pages; put on by whoever may work the
		// conversation (its assignee, or an assigner), as the inbox service decides.
		get("/contacts/:id/labels", read, s.apiContactLabels),
		post("/contacts/:id/labels", read, s.apiLabelContact),
		get("/conversations/:id/labels", read, s.apiConversationLabels),
		post("/conversations/:id/labels", work, s.apiLabelConversation),
		get("/labels", authz.RequireAny(authz.LabelsManage, authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign), s.apiListLabels),

		get("/templates", authz.Require(authz.TemplatesView), s.apiListTemplates),
		get("/templates/:id", authz.Require(authz.TemplatesView), s.apiGetTemplate),

		get("/members", authz.Require(authz.MembersView), s.apiListMembers),
		post("/invitations", authz.Require(authz.MembersInvite), s.apiInvite),
		post("/members/:id/role", authz.Require(authz.MembersManage), s.apiChangeMemberRole),
		post("/members/:id/numbers", authz.Require(authz.MembersManage), s.apiSetMemberNumbers),
		post("/members/:id/deactivate", authz.Require(authz.MembersManage), s.apiDeactivateMember),

		get("/activity", authz.Require(authz.AuditView), s.apiListActivity),
	}
}
