package audit

import "strings"

// ActionGroup is a family of actions an auditor filters by ("Sign-in", "Members & roles"). A group
// is derived from an action's id alone, so actions added later by other areas fall into the
// right group without a table to keep up to date.
type ActionGroup struct {
	Key   string
	Label string
	// prefixes of the action ids in the group; an action belongs to the group of its longest
	// matching prefix, so "member.sign" (Sign-in) wins over "member." (Members & roles).
	prefixes []string
}

var actionGroups = []ActionGroup{
	{"signin", "Sign-in", []string{"member.sign", "session.", "login."}},
	{"members", "Members & roles", []string{"member.", "role.", "invitation.", "scim."}},
	{"security", "Security", []string{"access.", "request.", "security.", "twofactor.", "totp.",
		"recovery_code", "reauth.", "alert.", "alert_rule.", "access_review."}},
	{"audit", "Activity log", []string{"audit."}},
	{"templates", "Templates", []string{"template."}},
	{"inbox", "Inbox", []string{"conversation.", "message.", "contact.", "contacts.", "contact_field.", "label.", "canned_response.", "campaign.", "automation."}},
	{"developers", "Developers", []string{"api_key.", "api.", "webhook.", "integration."}},
	{"settings", "Settings", []string{"setup.", "workspace.", "settings.", "waba.", "number.", "phone_number.", "billing.", "mail.", "privacy.", "retention.", "database."}},
	{"other", "Other", nil},
}

// ActionGroups lists the groups in the order a filter offers them.
func ActionGroups() []ActionGroup { return actionGroups }

// GroupOf returns the group an action belongs to; "Other" when no prefix matches.
func GroupOf(action string) ActionGroup {
	best, bestLen := actionGroups[len(actionGroups)-1], 0
	for _, g := range actionGroups {
		for _, p := range g.prefixes {
			if len(p) > bestLen && strings.HasPrefix(action, p) {
				best, bestLen = g, len(p)
			}
		}
	}
	return best
}

// LookupGroup finds a group by its key.
func LookupGroup(key string) (ActionGroup, bool) {
	for _, g := range actionGroups {
		if g.Key == key {
			return g, true
		}
	}
	return ActionGroup{}, false
}

// ValidAction reports whether s has the shape of an action id ("member.signed_in").
func ValidAction(s string) bool { return validAction(s) }
