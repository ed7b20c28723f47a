// Package authz is Switchboard's permission model in one place: the catalogue of permissions,
// the built-in roles, the signed-in Principal and the checks every route and record go through.
package authz

import (
	"fmt"
	"strings"
)

// Permission is one entry of the catalogue. Its zero value is no permission at all, so a
// forgotten field can never grant anything.
type Permission uint8

// The catalogue from the product specification. The order is the order of the matrix on the
// Roles page; ids (not these numbers) are what the database and the API store.
const (
	invalidPermission Permission = iota

	WorkspaceSettingsManage
	NumbersView

	MembersView
	MembersInvite
	MembersManage
	RolesManage

	SecurityManage
	AuditView
	AuditExport
	AccessReviewsManage
	AlertsView

	TemplatesView
	TemplatesCreate
	TemplatesApprove
	TemplatesDelete

	ConversationsViewAssigned
	ConversationsViewAll
	ConversationsAssign
	ConversationsEscalate
	MessagesSendText
	MessagesSendMedia
	MessagesSendTemplate
	MessagesSendCanned
	CannedResponsesManage
	LabelsManage

	ContactsViewPII
	ContactsExport
	ContactsErase

	APIKeysManage
	WebhooksManage
	IntegrationsManage
	APILogsView

	AnalyticsView
	ReportsExport
	BillingView
	BillingManage

	CampaignsManage
	CampaignsApprove
	AutomationManage

	permissionCount
)

// Area groups permissions on the Roles page.
type Area struct {
	Key  string
	Name string
}

// The areas, in display order.
var (
	AreaWorkspace  = Area{"workspace", "Workspace"}
	AreaMembers    = Area{"members", "Members & roles"}
	AreaSecurity   = Area{"security", "Security"}
	AreaTemplates  = Area{"templates", "Templates"}
	AreaInbox      = Area{"inbox", "Inbox"}
	AreaCustomers  = Area{"customers", "Customers"}
	AreaDevelopers = Area{"developers", "Developers"}
	AreaMoney      = Area{"money", "Numbers & money"}
	AreaAutomation = Area{"automation", "Campaigns & automation"}
)

// Definition describes a permission for people and for storage. People see the Label and the
// Description; the ID is for storage, routes and API-key scopes (and the roles matrix shows it
// small, for administrators who script against it).
type Definition struct {
	Permission  Permission
	ID          string
	Label       string
	Area        Area
	Description string
}

// catalogue is indexed by Permission. It is read-only after package initialisation.
var catalogue = [permissionCount]Definition{
	WorkspaceSettingsManage: {ID: "workspace.settings.manage", Label: "Manage WhatsApp settings", Area: AreaWorkspace, Description: "Connect WhatsApp Business Accounts and phone numbers; set the access token and app secret."},
	NumbersView:             {ID: "numbers.view", Label: "See phone numbers", Area: AreaWorkspace, Description: "See the connected phone numbers and their quality rating."},

	MembersView:   {ID: "members.view", Label: "See members", Area: AreaMembers, Description: "See who is in the workspace, with role, number scope and status."},
	MembersInvite: {ID: "members.invite", Label: "Invite members", Area: AreaMembers, Description: "Invite new members by e-mail address."},
	MembersManage: {ID: "members.manage", Label: "Manage members", Area: AreaMembers, Description: "Change a member's role and number scope, deactivate, reset 2FA, end sessions."},
	RolesManage:   {ID: "roles.manage", Label: "Manage roles", Area: AreaMembers, Description: "Create, edit and delete custom roles."},

	SecurityManage:      {ID: "security.manage", Label: "Manage security settings", Area: AreaSecurity, Description: "Set the 2FA and session policy, the IP allow-list and alert routing."},
	AuditView:           {ID: "audit.view", Label: "Read the activity log", Area: AreaSecurity, Description: "Read the activity log and verify its integrity."},
	AuditExport:         {ID: "audit.export", Label: "Export the activity log", Area: AreaSecurity, Description: "Export the activity log as CSV or JSON Lines."},
	AccessReviewsManage: {ID: "access_reviews.manage", Label: "Run access reviews", Area: AreaSecurity, Description: "Run access reviews: keep or revoke each member's access."},
	AlertsView:          {ID: "alerts.view", Label: "See security alerts", Area: AreaSecurity, Description: "See security alerts such as repeated failed sign-ins."},

	TemplatesView:    {ID: "templates.view", Label: "See templates", Area: AreaTemplates, Description: "See message templates and their status."},
	TemplatesCreate:  {ID: "templates.create", Label: "Write templates", Area: AreaTemplates, Description: "Compose templates and edit one's own drafts."},
	TemplatesApprove: {ID: "templates.approve", Label: "Approve templates", Area: AreaTemplates, Description: "Approve or reject templates and submit them to Meta, never one's own."},
	TemplatesDelete:  {ID: "templates.delete", Label: "Delete templates", Area: AreaTemplates, Description: "Delete templates."},

	ConversationsViewAssigned: {ID: "conversations.view_assigned", Label: "See own conversations", Area: AreaInbox, Description: "See conversations assigned to oneself, escalated by or involving oneself."},
	ConversationsViewAll:      {ID: "conversations.view_all", Label: "See all conversations", Area: AreaInbox, Description: "See every conversation in one's number scope."},
	ConversationsAssign:       {ID: "conversations.assign", Label: "Assign conversations", Area: AreaInbox, Description: "Assign and reassign conversations; receive escalations."},
	ConversationsEscalate:     {ID: "conversations.escalate", Label: "Escalate conversations", Area: AreaInbox, Description: "Escalate a conversation to a supervisor with a reason."},
	MessagesSendText:          {ID: "messages.send_text", Label: "Reply with text", Area: AreaInbox, Description: "Reply with free text while the 24-hour window is open."},
	MessagesSendMedia:         {ID: "messages.send_media", Label: "Send media", Area: AreaInbox, Description: "Send images, documents and other media."},
	MessagesSendTemplate:      {ID: "messages.send_template", Label: "Send templates", Area: AreaInbox, Description: "Send approved message templates."},
	MessagesSendCanned:        {ID: "messages.send_canned", Label: "Send canned replies", Area: AreaInbox, Description: "Reply with pre-approved canned responses."},
	CannedResponsesManage:     {ID: "canned_responses.manage", Label: "Write canned replies", Area: AreaInbox, Description: "Write and edit the canned responses."},
	LabelsManage:              {ID: "labels.manage", Label: "Define labels", Area: AreaInbox, Description: "Create, rename and delete the labels put on conversations and contacts."},

	ContactsViewPII: {ID: "contacts.view_pii", Label: "See customers' numbers and names", Area: AreaCustomers, Description: "See customers' full phone numbers and names unmasked."},
	ContactsExport:  {ID: "contacts.export", Label: "Export contacts", Area: AreaCustomers, Description: "Export contacts."},
	ContactsErase:   {ID: "contacts.erase", Label: "Erase customer data", Area: AreaCustomers, Description: "Erase a customer's messages and personal data (GDPR)."},

	APIKeysManage:      {ID: "api_keys.manage", Label: "Manage API keys", Area: AreaDevelopers, Description: "Create and revoke API keys."},
	WebhooksManage:     {ID: "webhooks.manage", Label: "Manage outgoing webhooks", Area: AreaDevelopers, Description: "Configure outgoing webhooks and see their deliveries."},
	IntegrationsManage: {ID: "integrations.manage", Label: "Manage integrations", Area: AreaDevelopers, Description: "Change integration settings."},
	APILogsView:        {ID: "api_logs.view", Label: "Read Cloud API logs", Area: AreaDevelopers, Description: "Read the log of Cloud API calls for debugging."},

	AnalyticsView: {ID: "analytics.view", Label: "See analytics", Area: AreaMoney, Description: "See delivery, read and response dashboards."},
	ReportsExport: {ID: "reports.export", Label: "Export reports", Area: AreaMoney, Description: "Export reports as CSV."},
	BillingView:   {ID: "billing.view", Label: "See usage and costs", Area: AreaMoney, Description: "See usage and estimated costs."},
	BillingManage: {ID: "billing.manage", Label: "Manage billing", Area: AreaMoney, Description: "Change the rate card and billing settings."},

	CampaignsManage:  {ID: "campaigns.manage", Label: "Prepare campaigns", Area: AreaAutomation, Description: "Build segments and campaigns from approved templates, and see their results."},
	CampaignsApprove: {ID: "campaigns.approve", Label: "Start campaigns", Area: AreaAutomation, Description: "Approve and start a campaign someone else prepared, never one's own; pause or cancel it."},
	AutomationManage: {ID: "automation.manage", Label: "Manage automation", Area: AreaAutomation, Description: "Set business hours, away messages, keyword auto-replies, button menus and rating requests."},
}

var byID = func() map[string]Permission {
	m := make(map[string]Permission, permissionCount)
	for p := Permission(1); p < permissionCount; p++ {
		m[catalogue[p].ID] = p
	}
	return m
}()

// All lists every permission of the catalogue in display order.
func All() []Definition {
	out := make([]Definition, 0, permissionCount-1)
	for p := Permission(1); p < permissionCount; p++ {
		out = append(out, p.Definition())
	}
	return out
}

// Valid reports whether p is a permission of the catalogue.
func (p Permission) Valid() bool { return p > invalidPermission && p < permissionCount }

// ID is the dotted identifier used in storage, routes and API-key scopes.
func (p Permission) ID() string {
	if !p.Valid() {
		return "invalid"
	}
	return catalogue[p].ID
}

// Label is the short human name of p, as pages show it.
func (p Permission) Label() string {
	if !p.Valid() {
		return "an unknown permission"
	}
	return catalogue[p].Label
}

// String returns the id.
func (p Permission) String() string { return p.ID() }

// Definition returns the catalogue entry of p.
func (p Permission) Definition() Definition {
	if !p.Valid() {
		return Definition{}
	}
	d := catalogue[p]
	d.Permission = p
	return d
}

// Parse looks up a permission by id.
func Parse(id string) (Permission, error) {
	p, ok := byID[strings.TrimSpace(id)]
	if !ok {
		return invalidPermission, fmt.Errorf("unknown permission %q", id)
	}
	return p, nil
}
