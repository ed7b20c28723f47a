package reviews

import (
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// UsageWindow is how far back the activity log is read to tell whether a permission is used.
const UsageWindow = 90 * 24 * time.Hour

// Which permission a successful activity event shows was used. Only permissions whose use
// writes an event can be judged this way: reading pages (members.view, conversations.view_all,
// analytics.view, …) leaves no event, so those are reported as "not traceable", never as
// unused. The table is kept by hand beside the services that write the events; a test checks
// that every permission named here exists in the catalogue.
var usageByAction = map[string]authz.Permission{
	"member.role_changed":           authz.MembersManage,
	"member.scope_changed":          authz.MembersManage,
	"member.deactivated":            authz.MembersManage,
	"member.reactivated":            authz.MembersManage,
	"member.deleted":                authz.MembersManage,
	"member.sessions_ended":         authz.MembersManage,
	"member.2fa_reset":              authz.MembersManage,
	"invitation.created":            authz.MembersInvite,
	"invitation.revoked":            authz.MembersInvite,
	"settings.security_changed":     authz.SecurityManage,
	"security.allowlist_changed":    authz.SecurityManage,
	"audit.retention_changed":       authz.SecurityManage,
	"audit.searched":                authz.AuditView,
	"audit.exported":                authz.AuditExport,
	"alert.acknowledged":            authz.AlertsView,
	"template.created":              authz.TemplatesCreate,
	"template.updated":              authz.TemplatesCreate,
	"template.submitted_for_review": authz.TemplatesCreate,
	"template.revision_started":     authz.TemplatesCreate,
	"template.approved":             authz.TemplatesApprove,
	"template.sent_back":            authz.TemplatesApprove,
	"template.submitted_to_meta":    authz.TemplatesApprove,
	"template.deleted":              authz.TemplatesDelete,
	"conversation.assigned":         authz.ConversationsAssign,
	"conversation.escalated":        authz.ConversationsEscalate,
	"contact.revealed":              authz.ContactsViewPII,
	"contact.pii_revealed":          authz.ContactsViewPII,
	"conversations.exported":        authz.ContactsExport,
	"waba.connected":                authz.WorkspaceSettingsManage,
	"waba.updated":                  authz.WorkspaceSettingsManage,
	"waba.numbers_synced":           authz.WorkspaceSettingsManage,
	"phone_number.updated":          authz.WorkspaceSettingsManage,
	"api_key.created":               authz.APIKeysManage,
	"api_key.revoked":               authz.APIKeysManage,
}

// usageByPrefix covers whole families of actions guarded by one permission.
var usageByPrefix = []struct {
	prefix string
	perm   authz.Permission
}{
	{"role.", authz.RolesManage},
	{"access_review.", authz.AccessReviewsManage},
	{"canned_response.", authz.CannedResponsesManage},
}

// message.sent is one action for four permissions; the grouped query tells them apart by what
// the event's changes name (see sendKindSQL).
var usageBySendKind = map[string]authz.Permission{
	"text":     authz.MessagesSendText,
	"media":    authz.MessagesSendMedia,
	"template": authz.MessagesSendTemplate,
	"canned":   authz.MessagesSendCanned,
}

// sendKindSQL derives the kind of a message.sent event from its changes (see inbox.send).
const sendKindSQL = `CASE WHEN action <> 'message.sent' THEN ''
	WHEN changes LIKE '%"canned_response_id"%' THEN 'canned'
	WHEN changes LIKE '%"field":"template"%' THEN 'template'
	WHEN changes LIKE '%"field":"type","before":null,"after":"text"%' THEN 'text'
	ELSE 'media' END`

// permissionUsedBy returns the permission an event of this action (and send kind) shows in use.
func permissionUsedBy(action, sendKind string) (authz.Permission, bool) {
	if action == "message.sent" {
		p, ok := usageBySendKind[sendKind]
		return p, ok
	}
	if p, ok := usageByAction[action]; ok {
		return p, true
	}
	for _, e := range usageByPrefix {
		if strings.HasPrefix(action, e.prefix) {
			return e.perm, true
		}
	}
	return 0, false
}

// Traceable reports whether using perm leaves an event from which its use can be told.
func Traceable(perm authz.Permission) bool { return traceable.Has(perm) }

var traceable = func() authz.Set {
	var s authz.Set
	for _, p := range usageByAction {
		s = s.With(p)
	}
	for _, e := range usageByPrefix {
		s = s.With(e.perm)
	}
	for _, p := range usageBySendKind {
		s = s.With(p)
	}
	return s
}()
