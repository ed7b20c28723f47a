package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// inboxRoutes are the shared inbox. Reading admits any of the conversation permissions; what
// each member sees is decided by the one visibility predicate in internal/inbox, and a
// conversation outside it answers 404.
func (s *Server) inboxRoutes() []route {
	read := authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)
	// Notes are for members who work conversations (inbox.CanNote); the service checks too.
	noteAccess := authz.RequireAny(authz.ConversationsAssign, authz.ConversationsEscalate, authz.MessagesSendText,
		authz.MessagesSendCanned, authz.MessagesSendTemplate, authz.MessagesSendMedia)
	return []route{
		{http.MethodGet, "/inbox", read, s.inboxPage},
		{http.MethodGet, livePath, inboxLiveAccess, s.inboxLive},
		{http.MethodGet, "/inbox/notices", read, s.notices},
		{http.MethodGet, "/conversations/:id", read, s.conversationPage},
		{http.MethodGet, "/conversations/:id/presence", read, s.presence},
		{http.MethodPost, "/conversations/:id/presence", read, s.reportPresence},
		{http.MethodPost, "/conversations/:id/notes", noteAccess, s.addNote},
		{http.MethodGet, "/conversations/:id/messages", read, s.conversationMessages},
		// A message's file: the conversation's visibility, 404 outside it (handlers_media.go).
		{http.MethodGet, "/media/:id", read, s.mediaFile},
		{http.MethodGet, "/conversations/:id/template", authz.Require(authz.MessagesSendTemplate), s.templateFields},
		{http.MethodPost, "/conversations/:id/reveal", authz.Require(authz.ContactsViewPII), s.revealContact},
		{http.MethodPost, "/conversations/:id/text", authz.Require(authz.MessagesSendText), s.sendText},
		{http.MethodPost, "/conversations/:id/canned", authz.Require(authz.MessagesSendCanned), s.sendCanned},
		{http.MethodPost, "/conversations/:id/template", authz.Require(authz.MessagesSendTemplate), s.sendTemplate},
		{http.MethodPost, "/conversations/:id/media", authz.Require(authz.MessagesSendMedia), s.sendMedia},
		{http.MethodPost, "/conversations/:id/assign", authz.Require(authz.ConversationsAssign), s.assignConversation},
		{http.MethodPost, "/conversations/:id/escalate", authz.Require(authz.ConversationsEscalate), s.escalateConversation},
		// The assignee may close their own conversation; assigners any: the service decides.
		{http.MethodPost, "/conversations/:id/close", authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsAssign), s.closeConversation},
		{http.MethodPost, "/conversations/:id/reopen", authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsAssign), s.reopenConversation},

		{http.MethodGet, "/canned", authz.Require(authz.CannedResponsesManage), s.cannedPage},
		{http.MethodPost, "/canned", authz.Require(authz.CannedResponsesManage), s.createCanned},
		{http.MethodPost, "/canned/:id", authz.Require(authz.CannedResponsesManage), s.updateCanned},
		{http.MethodPost, "/canned/:id/delete", authz.Require(authz.CannedResponsesManage), s.deleteCanned},
	}
}
