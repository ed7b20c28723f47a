package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// contactRoutes are the contact book. Reading admits the members who see conversations; which
// contacts each sees is the inbox's visibility predicate, and a contact outside it answers 404.
// Importing needs contacts.view_pii (the service also needs an unrestricted view), exporting
// contacts.export and a fresh sign-in; contact fields are workspace settings.
func (s *Server) contactRoutes() []route {
	read := authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)
	fields := authz.Require(authz.WorkspaceSettingsManage)
	return []route{
		{http.MethodGet, "/contacts", read, s.contactsPage},
		{http.MethodGet, "/contacts/export", authz.Require(authz.ContactsExport).Fresh(), s.contactsExport},
		{http.MethodGet, "/contacts/import", authz.Require(authz.ContactsViewPII), s.contactImportPage},
		{http.MethodPost, "/contacts/import", authz.Require(authz.ContactsViewPII), s.contactImport},
		{http.MethodGet, "/contacts/:id", read, s.contactPage},
		{http.MethodPost, "/contacts/:id", read, s.updateContact},
		{http.MethodPost, "/contacts/:id/labels", read, s.labelContact},
		{http.MethodGet, "/settings/contact-fields", fields, s.contactFieldsPage},
		{http.MethodPost, "/settings/contact-fields", fields, s.createContactField},
		{http.MethodPost, "/settings/contact-fields/:id/delete", fields, s.deleteContactField},
	}
}
