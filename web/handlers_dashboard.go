package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
	"github.com/switchboard/switchboard/web/views/layout"
)

const dashboardRecentEvents = 6

// What happened to the member's templates: the last 30 days, at most 6 entries; each template's
// page has its whole history.
const (
	dashboardTemplateWindow  = 30 * 24 * time.Hour
	dashboardTemplateChanges = 6
)

func (s *Server) dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	v := views.DashboardView{
		Page:      s.page(c, "Dashboard", "dashboard"),
		FirstName: strings.Fields(p.Name + " ")[0],
		RoleName:  p.RoleName,
		Access:    accessAreas(p.Permissions),
	}
	v.Shortcuts = shortcuts(v.Page.Nav, p)
	if p.Can(authz.MembersView) {
		n, err := s.Members.Store().Count(ctx, s.DB.R)
		if err != nil {
			return err
		}
		v.ShowMembers, v.MemberCount = true, n
	}
	if p.CanAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign) {
		counts, err := s.Inbox.Counts(ctx, p)
		if err != nil {
			return err
		}
		v.ShowInbox, v.InboxUnread = len(counts.Boxes) > 0, counts.Unread
	}
	if p.Can(authz.NumbersView) {
		numbers, err := s.Numbers.PhoneNumbers(ctx)
		if err != nil {
			return err
		}
		for _, n := range numbers {
			if p.Numbers.SeesNumber(n.ID) {
				v.NumberCount++
			}
		}
		v.ShowNumbers = true
	}
	if p.Can(authz.AuditView) {
		rows, _, err := s.eventRows(c, 0, 0, dashboardRecentEvents)
		if err != nil {
			return err
		}
		v.ShowRecent, v.Recent = true, rows
	}
	if p.CanAny(authz.TemplatesView, authz.TemplatesCreate) {
		changes, err := s.Templates.StatusChanges(ctx, p, s.Clock.Now().Add(-dashboardTemplateWindow))
		if err != nil {
			return err
		}
		// Members who write templates always see the card; others only when something happened
		// to a template they once wrote.
		v.ShowTemplateChanges = p.Can(authz.TemplatesCreate) || len(changes) > 0
		at := s.viewerTimes(c)
		for i, ch := range changes {
			if i == dashboardTemplateChanges {
				break
			}
			e := templateEvent(at, ch.Decision)
			v.TemplateChanges = append(v.TemplateChanges, views.TemplateChangeRow{Href: templateURL(ch.TemplateID),
				Name: ch.TemplateName, Language: ch.Language, Event: e})
		}
	}
	return render(c, http.StatusOK, views.Dashboard(v))
}

// shortcutTexts say what a member does on each page of the navigation, by its address.
// A page without a text here is left off the dashboard, never shown with an empty line. The
// inbox's text depends on the role (inboxShortcutText).
var shortcutTexts = map[string]string{
	"/templates":               "Message templates, their review and Meta's verdict.",
	"/canned":                  "Ready-made answers for the questions that come up often.",
	"/numbers":                 "Quality rating and messaging limit of each number.",
	"/campaigns":               "Broadcast an approved template to customers who agreed, paced under WhatsApp's limits.",
	"/automation":              "Business hours, auto-replies, welcome menus, teams and ratings.",
	"/members":                 "Who has access, with which role and numbers.",
	"/roles":                   "What each role allows.",
	"/activity":                "Every change in the workspace, and who made it.",
	"/alerts":                  "Failed sign-ins and other signs of trouble.",
	"/settings/security":       "Two-factor authentication and session policy.",
	"/settings/whatsapp":       "WhatsApp Business Accounts, tokens and numbers.",
	"/analytics":               "Delivery, read and response figures, with charts and exports.",
	"/usage":                   "Billable messages and their estimated cost.",
	"/reviews":                 "Regular reviews of who has access, and their reports.",
	"/developers":              "API keys, webhooks and the Cloud API log for integrations.",
	"/settings/privacy":        "Retention, erasure and marketing consent keywords.",
	"/privacy/requests":        "A customer's copy of their data, or their erasure.",
	"/privacy":                 "What the workspace stores, where and for how long.",
	"/settings/alerts":         "Which alerts are raised, their thresholds and who hears of them.",
	"/settings/labels":         "The labels your team puts on conversations and contacts.",
	"/settings/contact-fields": "The fields every contact can have, such as a tier or a customer number.",
	"/contacts":                "Your customers: names, labels, fields, notes and their conversations.",
}

// shortcuts lists the pages of the member's navigation (which holds only pages they may open)
// with what they do there, and their own account, which every member has.
func shortcuts(nav []layout.NavItem, p *authz.Principal) []views.Shortcut {
	var out []views.Shortcut
	for _, n := range nav {
		text, ok := shortcutTexts[n.Href]
		if n.Href == "/inbox" {
			text, ok = inboxShortcutText(p), true
		}
		if ok {
			out = append(out, views.Shortcut{Label: n.Label, Href: n.Href, Text: text})
		}
	}
	return append(out, views.Shortcut{Label: "Your account", Href: "/account",
		Text: "Your password, two-factor authentication and where you are signed in."})
}

// inboxShortcutText says which conversations the member sees and what they may do with them:
// the inbox is the page where roles differ most, and an Analyst must not be told to answer.
func inboxShortcutText(p *authz.Principal) string {
	which := "Conversations assigned to you"
	if p.Can(authz.ConversationsViewAll) {
		which = "All conversations of your numbers"
	}
	var can []string
	if p.CanAny(authz.MessagesSendText, authz.MessagesSendTemplate, authz.MessagesSendCanned, authz.MessagesSendMedia) {
		can = append(can, "answer customers")
	}
	if p.Can(authz.ConversationsAssign) {
		can = append(can, "assign")
	}
	if p.Can(authz.ConversationsEscalate) {
		can = append(can, "escalate to a supervisor")
	}
	switch len(can) {
	case 0:
		return which + ", to read."
	case 1:
		return which + ": " + can[0] + "."
	default:
		return which + ": " + strings.Join(can[:len(can)-1], ", ") + " and " + can[len(can)-1] + "."
	}
}

func accessAreas(perms authz.Set) []views.AccessArea {
	var out []views.AccessArea
	var held []string
	for _, d := range authz.All() {
		if len(out) == 0 || out[len(out)-1].Name != d.Area.Name {
			if len(out) > 0 {
				out[len(out)-1].Summary = strings.Join(held, ", ")
			}
			out, held = append(out, views.AccessArea{Name: d.Area.Name}), nil
		}
		last := &out[len(out)-1]
		last.Total++
		if perms.Has(d.Permission) {
			last.Held++
			held = append(held, d.Label)
		}
	}
	if len(out) > 0 {
		out[len(out)-1].Summary = strings.Join(held, ", ")
	}
	kept := out[:0]
	for _, a := range out {
		if a.Held > 0 {
			kept = append(kept, a)
		}
	}
	return kept
}
