package authz

// BuiltinRole is one of the roles every workspace starts with. Their permissions live here, in
// code, and are written to the database at every start, so a new permission reaches the
// Administrator without a data migration. Built-in roles are read-only; a business that wants a
// variation duplicates one into a custom role.
type BuiltinRole struct {
	Key               string
	Name              string
	Description       string
	Permissions       Set
	RequiresTwoFactor bool
}

// Keys of the built-in roles.
const (
	RoleAdministrator = "administrator"
	RoleAgent         = "agent"
	RoleSupport       = "support"
	RoleDeveloper     = "developer"
	RoleAnalyst       = "analyst"
	RoleAuditor       = "auditor"
)

// BuiltinRoles returns the built-in roles in display order.
func BuiltinRoles() []BuiltinRole {
	return []BuiltinRole{
		{
			Key: RoleAdministrator, Name: "Administrator",
			Description:       "Everything: numbers, members, roles, security settings and all conversations.",
			Permissions:       FullSet(),
			RequiresTwoFactor: true,
		},
		{
			Key: RoleAgent, Name: "Agent",
			Description: "Answers the conversations assigned to them, inside the 24-hour window or with approved templates.",
			Permissions: NewSet(ConversationsViewAssigned, ConversationsEscalate, MessagesSendText, MessagesSendMedia,
				MessagesSendTemplate, MessagesSendCanned, TemplatesView, NumbersView),
		},
		{
			Key: RoleSupport, Name: "Support",
			Description: "Like an agent, but answers only with canned replies and approved templates.",
			Permissions: NewSet(ConversationsViewAssigned, ConversationsEscalate, MessagesSendCanned,
				MessagesSendTemplate, TemplatesView),
		},
		{
			Key: RoleDeveloper, Name: "Developer",
			Description: "API keys, outgoing webhooks, integrations and the Cloud API call log.",
			Permissions: NewSet(APIKeysManage, WebhooksManage, IntegrationsManage, APILogsView,
				TemplatesView, NumbersView),
			RequiresTwoFactor: true,
		},
		{
			Key: RoleAnalyst, Name: "Analyst",
			Description: "Dashboards and exports; reads every conversation but cannot send.",
			Permissions: NewSet(AnalyticsView, ReportsExport, ConversationsViewAll, TemplatesView, NumbersView),
		},
		{
			Key: RoleAuditor, Name: "Auditor",
			Description: "Reads, filters, verifies and exports the activity log.",
			Permissions: NewSet(AuditView, AuditExport, MembersView, AlertsView),
		},
	}
}

// LookupBuiltinRole finds a built-in role by key.
func LookupBuiltinRole(key string) (BuiltinRole, bool) {
	for _, r := range BuiltinRoles() {
		if r.Key == key {
			return r, true
		}
	}
	return BuiltinRole{}, false
}
