package audit

import "strings"

// actionLabels says in words what each action id records, as the activity pages show it: what
// the actor did, in the past tense, so that "Ada Lovelace · Changed a member's role" reads as a
// sentence. The id stays the stable name (filters, alerts, exports); this is presentation only.
// TestEveryRecordedActionHasALabel finds action ids in the code that are missing here.
var actionLabels = map[string]string{
	"access.denied":    "Was refused access",
	"access.not_found": "Asked for a record that is missing or out of reach",

	"alert.acknowledged": "Acknowledged a security alert",
	"alert.raised":       "Raised a security alert",
	"alert_rule.changed": "Changed an alert rule",

	"audit.exported":          "Exported the activity log",
	"audit.pruned":            "Deleted activity older than the retention period",
	"audit.retention_changed": "Changed how long activity is kept",
	"audit.searched":          "Searched the activity log",

	"database.backed_up": "Backed up the database",
	"database.compacted": "Compacted the database",

	"automation.number_updated":      "Changed a number's business hours and automation",
	"automation.rule_created":        "Created an auto-reply rule",
	"automation.rule_updated":        "Switched an auto-reply rule on or off",
	"automation.rule_deleted":        "Deleted an auto-reply rule",
	"automation.team_created":        "Created a team",
	"automation.team_updated":        "Changed a team",
	"automation.team_deleted":        "Deleted a team",
	"automation.menu_updated":        "Changed a welcome menu",
	"automation.menu_option_added":   "Added a choice to a welcome menu",
	"automation.menu_option_deleted": "Removed a choice from a welcome menu",
	"automation.routed":              "Routed a conversation by the customer's menu choice",
	"automation.reply_skipped":       "Did not send an automated message",
	"automation.rating_received":     "Received a customer's rating",
	"automation.rating_commented":    "Received a customer's comment on a rating",
	"member.availability_changed":    "Marked themselves available or away",

	"canned_response.created": "Created a canned response",
	"canned_response.deleted": "Deleted a canned response",
	"canned_response.updated": "Updated a canned response",

	"contact.erased":            "Erased a customer's personal data",
	"contact.erasure_cancelled": "Withdrew a request to erase a customer",
	"contact.erasure_requested": "Asked for a customer to be erased",
	"contact.exported":          "Exported everything held about a customer",
	"privacy.settings_changed":  "Changed the privacy and retention settings",
	"retention.ran":             "Deleted data older than the retention period",
	"contact.revealed":          "Revealed a customer's phone number",
	"contact.pii_revealed":      "Revealed a customer's personal data",
	"contact.labelled":          "Put a label on a contact",
	"contact.unlabelled":        "Took a label off a contact",
	"contact.created":           "Added a contact",
	"contact.updated":           "Edited a contact",
	"contact.number_changed":    "Moved a contact to their new WhatsApp number",
	"contacts.imported":         "Imported contacts from a file",
	"contacts.exported":         "Exported contacts",
	"contact_field.created":     "Added a contact field",
	"contact_field.updated":     "Changed a contact field",
	"contact_field.deleted":     "Deleted a contact field",

	"label.created": "Defined a label",
	"label.updated": "Changed a label",
	"label.deleted": "Deleted a label",

	"conversation.labelled":   "Put a label on a conversation",
	"conversation.unlabelled": "Took a label off a conversation",

	"conversation.assigned":   "Assigned a conversation",
	"billing.rate_set":        "Changed the rate card",
	"conversation.closed":     "Closed a conversation",
	"conversation.escalated":  "Escalated a conversation",
	"conversation.note_added": "Wrote an internal note",
	"conversation.reopened":   "Reopened a conversation",
	"conversation.viewed":     "Opened a conversation",
	"conversations.exported":  "Exported conversations",

	"invitation.accepted": "Accepted an invitation",
	"invitation.created":  "Invited a member",
	"invitation.revoked":  "Revoked an invitation",

	"member.2fa_enabled":                "Turned on two-factor authentication",
	"member.2fa_enrolment_started":      "Started setting up two-factor authentication",
	"member.2fa_failed":                 "Entered a wrong two-factor code",
	"member.2fa_removed":                "Turned off two-factor authentication",
	"member.2fa_reset":                  "Reset a member's two-factor authentication",
	"member.2fa_verified":               "Entered a valid two-factor code",
	"member.created":                    "Added a member",
	"member.deactivated":                "Deactivated a member",
	"member.deleted":                    "Deleted a member",
	"member.password_accepted":          "Entered the right password",
	"member.password_change_failed":     "Failed to change their password",
	"member.password_changed":           "Changed their password",
	"member.password_reset":             "Reset a password",
	"member.password_reset_requested":   "Asked for a password reset link",
	"member.password_reset_issued":      "Issued a password reset link for a member",
	"member.password_reset_refused":     "Was refused a password reset",
	"member.alert_mail_changed":         "Changed whether alerts are e-mailed to them",
	"member.listed":                     "Listed the members",
	"mail.test_requested":               "Sent a test e-mail",
	"mail.sent":                         "Delivered an e-mail",
	"mail.given_up":                     "Gave up delivering an e-mail",
	"member.reactivated":                "Reactivated a member",
	"member.reauthenticated":            "Confirmed their identity again",
	"member.reauthentication_failed":    "Failed to confirm their identity",
	"member.recovery_code_failed":       "Entered a wrong recovery code",
	"member.recovery_code_used":         "Used a recovery code",
	"member.recovery_codes_regenerated": "Made new recovery codes",
	"member.role_changed":               "Changed a member's role",
	"member.scope_changed":              "Changed a member's numbers",
	"member.session_ended":              "Ended a session",
	"member.sessions_ended":             "Ended a member's sessions",
	"member.sign_in_failed":             "Failed to sign in",
	"member.time_zone_changed":          "Changed their time zone",
	"member.sign_in_throttled":          "Was slowed down after failed sign-ins",
	"member.signed_in":                  "Signed in",
	"member.signed_out":                 "Signed out",
	"member.totp_replayed":              "Reused a two-factor code",
	"member.updated":                    "Updated a member",

	"message.sent":        "Sent a message",
	"message.sent_by_api": "Sent a message through the API",

	"phone_number.updated":      "Updated a phone number",
	"phone_number.meta_updated": "Recorded Meta's change to a phone number (quality, limit or name)",

	"request.csrf_refused": "Had a request refused as cross-site or stale",

	"role.2fa_requirement_changed": "Changed a role's two-factor requirement",
	"role.created":                 "Created a role",
	"role.deleted":                 "Deleted a role",
	"role.permission_granted":      "Granted a permission to a role",
	"role.permission_revoked":      "Took a permission from a role",
	"role.updated":                 "Updated a role",

	"settings.security_changed":         "Changed the security settings",
	"settings.api_keys_changed":         "Changed whether API keys may never expire",
	"api_key.created":                   "Created an API key",
	"api_key.revoked":                   "Revoked an API key",
	"api_key.refused":                   "Was refused an API key",
	"webhook.endpoint_created":          "Added a webhook endpoint",
	"webhook.endpoint_deleted":          "Deleted a webhook endpoint",
	"webhook.endpoint_disabled":         "Disabled a webhook endpoint",
	"webhook.endpoint_enabled":          "Enabled a webhook endpoint",
	"webhook.endpoint_updated":          "Changed a webhook endpoint's URL",
	"webhook.redelivered":               "Sent a webhook event again",
	"webhook.test_sent":                 "Sent a test event to a webhook endpoint",
	"api.read":                          "Read through the API",
	"settings.updated":                  "Changed the settings",
	"settings.consent_keywords_changed": "Changed the marketing opt-out keywords",

	"access_review.opened":           "Opened an access review",
	"access_review.decided":          "Decided on a member's access in a review",
	"access_review.closed":           "Closed an access review",
	"access_review.settings_changed": "Changed the access review settings",

	"security.allowlist_changed": "Changed the sign-in IP allow-list",
	"security.allowlist_cleared": "Cleared the sign-in IP allow-list",

	"contact.consent_changed": "Changed a customer's marketing consent",

	"campaign.created":       "Created a campaign",
	"campaign.approved":      "Approved a campaign to start",
	"campaign.started":       "Started a scheduled campaign",
	"campaign.paused":        "Paused a campaign",
	"campaign.resumed":       "Resumed a campaign",
	"campaign.cancelled":     "Cancelled a campaign",
	"campaign.completed":     "Finished sending a campaign",
	"campaign.exported":      "Exported a campaign's recipients",
	"access.address_refused": "Was signed out: address not on the IP allow-list",

	"setup.completed": "Set up the workspace",
	"setup.refused":   "Was refused setting up the workspace",

	"template.approved":             "Approved a template",
	"template.created":              "Created a template",
	"template.deleted":              "Deleted a template",
	"template.imported":             "Imported a template from Meta",
	"template.meta_status_changed":  "Saw Meta change a template's status",
	"template.quality_changed":      "Saw Meta change a template's quality rating",
	"template.revision_started":     "Started revising a template",
	"template.sent_back":            "Sent a template back for changes",
	"template.submitted_for_review": "Submitted a template for review",
	"template.submitted_to_meta":    "Submitted a template to Meta",
	"template.synced":               "Synced templates from Meta",
	"template.updated":              "Updated a template",

	"waba.connected":         "Connected a WhatsApp Business Account",
	"waba.account_updated":   "Recorded Meta's change to a WhatsApp Business Account's standing",
	"waba.connection_tested": "Tested a WhatsApp Business Account's connection",
	"waba.disconnected":      "Disconnected a WhatsApp Business Account",
	"waba.numbers_synced":    "Synced phone numbers from Meta",
	"waba.updated":           "Updated a WhatsApp Business Account",
	"webhook.delivered":      "Received a webhook from Meta",
}

// ActionLabel is the words for an action id. An id without a label (one added since, or one an
// older version recorded) is shown humanised, "canned_response.archived" as "Canned response
// archived", never as an error or a blank.
func ActionLabel(action string) string {
	if l, ok := actionLabels[action]; ok {
		return l
	}
	return humanise(action)
}

// HasActionLabel reports whether action has a label of its own rather than the humanised form.
func HasActionLabel(action string) bool {
	_, ok := actionLabels[action]
	return ok
}

func humanise(action string) string {
	s := strings.TrimSpace(strings.NewReplacer(".", " ", "_", " ").Replace(action))
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return action
	}
	s = strings.Replace(s, "2fa", "two-factor", 1)
	return strings.ToUpper(s[:1]) + s[1:]
}
