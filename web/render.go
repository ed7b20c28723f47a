package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/web/views"
	"github.com/switchboard/switchboard/web/views/layout"
)

// render writes a templ component as the response. The page is rendered into a buffer first so
// that a rendering error becomes a clean error page rather than half a page.
func render(c echo.Context, status int, component templ.Component) error {
	var buf bytes.Buffer
	if err := component.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	h := c.Response().Header()
	addVary(h, "HX-Request")
	h.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// addVary adds a Vary value once; several middlewares each need Vary: Cookie.
func addVary(h http.Header, value string) {
	for _, v := range h.Values("Vary") {
		if strings.EqualFold(v, value) {
			return
		}
	}
	h.Add("Vary", value)
}

// navEntry is one possible navigation link and what it needs.
type navEntry struct {
	key     string
	label   string
	href    string
	access  authz.Requirement
	section string
}

// navigation lists every section; page() keeps only those the member may open, so the menu can
// never offer a link that answers 403.
var navigation = []navEntry{
	{"dashboard", "Dashboard", "/", authz.SignedIn(), ""},
	{"inbox", "Inbox", "/inbox", authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign), "Messaging"},
	{"contacts", "Contacts", "/contacts", authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign), "Messaging"},
	{"templates", "Templates", "/templates", authz.Require(authz.TemplatesView), "Messaging"},
	{"canned", "Canned replies", "/canned", authz.Require(authz.CannedResponsesManage), "Messaging"},
	{"numbers", "Phone numbers", "/numbers", authz.Require(authz.NumbersView), "Messaging"},
	{"campaigns", "Campaigns", "/campaigns", authz.RequireAny(authz.CampaignsManage, authz.CampaignsApprove), "Messaging"},
	{"automation", "Automation", "/automation", authz.Require(authz.AutomationManage), "Messaging"},
	{"analytics", "Analytics", "/analytics", authz.Require(authz.AnalyticsView), "Insights"},
	{"usage", "Usage and cost", "/usage", authz.Require(authz.BillingView), "Insights"},
	{"members", "Members", "/members", authz.Require(authz.MembersView), "Team"},
	{"roles", "Roles", "/roles", authz.Require(authz.MembersView), "Team"},
	{"activity", "Activity", "/activity", authz.Require(authz.AuditView), "Security"},
	{"alerts", "Alerts", "/alerts", authz.Require(authz.AlertsView), "Security"},
	{"reviews", "Access reviews", "/reviews", authz.Require(authz.AccessReviewsManage), "Security"},
	{"alert_rules", "Alert rules", "/settings/alerts", authz.Require(authz.SecurityManage), "Security"},
	{"records", "Records of processing", "/privacy", authz.RequireAny(authz.WorkspaceSettingsManage, authz.AuditView, authz.ContactsExport, authz.ContactsErase), "Security"},
	{"security", "Security settings", "/settings/security", authz.Require(authz.SecurityManage), "Security"},
	{"whatsapp", "WhatsApp", "/settings/whatsapp", authz.Require(authz.WorkspaceSettingsManage), "Settings"},
	{"developers", "Developers", "/developers", developersAccess, "Settings"},
	{"privacy", "Privacy", "/settings/privacy", authz.Require(authz.WorkspaceSettingsManage), "Settings"},
	{"privacy_requests", "Privacy requests", "/privacy/requests", authz.RequireAny(authz.ContactsExport, authz.ContactsErase), "Settings"},
	{"labels", "Labels", "/settings/labels", authz.Require(authz.LabelsManage), "Settings"},
	{"contact-fields", "Contact fields", "/settings/contact-fields", authz.Require(authz.WorkspaceSettingsManage), "Settings"},
}

// page builds the layout part of a view model for the current request.
func (s *Server) page(c echo.Context, title, current string) layout.Page {
	p := layout.Page{Title: title, CSRFToken: csrfToken(c), Assets: s.Assets}
	ctx := c.Request().Context()
	// Errors raised before the session middleware (an oversized body) render without one.
	if !sessionLoaded(c) {
		return p
	}
	if msg := s.Sessions.PopString(ctx, sessionFlash); msg != "" {
		p.Flash = &layout.Flash{Kind: s.Sessions.PopString(ctx, sessionFlashKind), Message: msg}
	}
	if pr := principalOf(c); pr != nil {
		p.Member = &layout.Member{Name: pr.Name, RoleName: pr.RoleName}
		for _, n := range navigation {
			// A member who must enrol in 2FA can open nothing else: offer nothing else.
			if n.access.Allows(pr) && !pr.MustEnrolTwoFactor {
				item := layout.NavItem{Label: n.label, Href: n.href, Current: n.key == current, Section: n.section}
				if n.key == "alerts" {
					item.Badge = s.openAlertsBadge(c)
				}
				p.Nav = append(p.Nav, item)
			}
		}
	}
	return p
}

// openAlertsBadge is the count of open alerts for the navigation, or "" when there are none. A
// failure to count must not break every page: it is logged and the badge left out.
func (s *Server) openAlertsBadge(c echo.Context) string {
	n, err := s.Alerts.OpenCount(c.Request().Context())
	if err != nil {
		s.Logger.ErrorContext(c.Request().Context(), "count open alerts", "error", err)
		return ""
	}
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// flash leaves a message for the next page the member sees, after a redirect.
func (s *Server) flash(c echo.Context, kind, message string) {
	ctx := c.Request().Context()
	s.Sessions.Put(ctx, sessionFlash, message)
	s.Sessions.Put(ctx, sessionFlashKind, kind)
}

// redirectWithFlash is the end of most form posts: a message, then back to a page (303, so a
// reload does not repeat the post).
func (s *Server) redirectWithFlash(c echo.Context, to, message string) error {
	s.flash(c, "success", message)
	return c.Redirect(http.StatusSeeOther, to)
}

// safeNext keeps a post-sign-in redirect on this site: a path, never a scheme or another host.
// Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil" and
// "/\\evil" would leave the site: any control character or backslash is refused outright.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	// The decoded path too: some browsers and proxies decode %5C or %2F before resolving.
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(u.Path, "//") || strings.ContainsRune(u.Path, '\\') {
		return "/"
	}
	return next
}

func (s *Server) healthz(c echo.Context) error {
	if err := s.DB.R.PingContext(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func itoa(n int) string { return strconv.Itoa(n) }

// plural says "1 phone number" or "3 phone numbers".
func plural(n int, one, many string) string { return views.Plural(n, one, many) }
