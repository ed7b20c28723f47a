package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/web/views"
)

func (s *Server) developersPage(c echo.Context) error {
	p := principalOf(c)
	if p.Can(authz.APIKeysManage) {
		return s.renderDevelopers(c, nil)
	}
	// Without api_keys.manage: the parts of the Developers pages this member may use.
	v := views.DevelopersHomeView{Page: s.page(c, "Developers", "developers"), Tabs: devTabs(p, "keys")}
	if p.Can(authz.WebhooksManage) {
		v.Sections = append(v.Sections, views.DevSection{Title: "Webhooks", Href: "/developers/webhooks", Action: "Open webhooks",
			Text: "Send events (messages, assignments, template decisions, member changes, alerts) to your CRM, n8n, Zapier, Make or a Slack channel, signed so the receiver can trust them."})
	}
	if p.Can(authz.APILogsView) {
		v.Sections = append(v.Sections, views.DevSection{Title: "Cloud API log", Href: "/developers/api-log", Action: "Open the call log",
			Text: "Every call Switchboard made to WhatsApp's Cloud API in the last 30 days, with Meta's errors, to find out why a message or template failed."})
	}
	v.Sections = append(v.Sections, views.DevSection{Title: "API reference", Href: "/api/v1/docs", Action: "Read the API reference",
		Text: "What the Switchboard API offers, for the integrations you build. Keys to call it are created by a member who manages API keys."})
	return render(c, http.StatusOK, views.DevelopersHome(v))
}

func (s *Server) renderDevelopers(c echo.Context, created *views.NewAPIKey) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	keys, err := s.APIKeys.Store().List(ctx)
	if err != nil {
		return err
	}
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	v := views.DevelopersView{Page: s.page(c, "Developers", "developers"), Created: created, CanChangePolicy: p.Can(authz.SecurityManage),
		Tabs: devTabs(p, "keys")}
	if v.CanChangePolicy {
		if v.AllowNoExpiry, err = s.Settings.APIKeysAllowNoExpiry(ctx); err != nil {
			return err
		}
	}
	list, err := s.Members.Store().List(ctx)
	if err != nil {
		return err
	}
	creators := map[int64]members.Member{}
	for _, m := range list {
		creators[m.ID] = m
	}
	now := s.Clock.Now()
	for _, k := range keys {
		row := views.APIKeyRow{ID: k.ID, Name: k.Name, Last4: k.Last4, CreatedBy: k.CreatedByName, Created: s.viewerTime(c, k.CreatedAt),
			Expires: "Never", LastUsed: "Never", LastUsedAddr: k.LastUsedAddr, Status: k.Status(now), RevokedBy: k.RevokedByName,
			Numbers: numbersLabel(k.Numbers, numbers)}
		if !k.ExpiresAt.IsZero() {
			row.Expires = s.viewerTime(c, k.ExpiresAt)
		}
		if !k.LastUsedAt.IsZero() {
			row.LastUsed = s.viewerTime(c, k.LastUsedAt)
		}
		if m := creators[k.CreatedBy]; row.Status == "active" && (!m.Active() || m.SessionEpoch != k.CreatorEpoch) {
			// Authenticate refuses it; say why here rather than show a dead key as active.
			row.Status = "stopped"
			row.Stopped = k.CreatedByName + " was deactivated, or changed their password, 2FA or role since the key was made."
		}
		for _, perm := range k.Scopes.Permissions() {
			row.Scopes = append(row.Scopes, scopeLabel(perm))
		}
		v.Keys = append(v.Keys, row)
	}
	return render(c, http.StatusOK, views.Developers(v))
}

// scopeLabel is a permission as people read it: "conversations.view_all" → "Conversations: view all".
func scopeLabel(p authz.Permission) views.ScopeLabel {
	d := p.Definition()
	area, rest, _ := strings.Cut(d.ID, ".")
	area = strings.ReplaceAll(area, "_", " ")
	area = strings.ToUpper(area[:1]) + area[1:]
	area = strings.Replace(area, "Api ", "API ", 1)
	rest = strings.NewReplacer(".", " ", "_", " ", "pii", "personal data").Replace(rest)
	return views.ScopeLabel{ID: d.ID, Label: area + ": " + rest, Description: d.Description}
}

func numbersLabel(n authz.NumberScope, numbers []workspace.PhoneNumber) string {
	if n.All {
		return "All numbers"
	}
	var names []string
	for _, pn := range numbers {
		if n.SeesNumber(pn.ID) {
			names = append(names, pn.Name())
		}
	}
	if len(names) == 0 {
		return "None"
	}
	return strings.Join(names, ", ")
}

func (s *Server) newAPIKeyPage(c echo.Context) error {
	return s.renderNewAPIKey(c, http.StatusOK, apikeys.NewKey{AllNumbers: true}, "90", nil)
}

// expiryChoices are the lifetimes offered, in days; "never" only where the workspace allows it.
var expiryChoices = []struct{ value, label string }{
	{"7", "In 7 days"}, {"30", "In 30 days"}, {"90", "In 90 days (recommended)"}, {"180", "In 180 days"}, {"365", "In one year"},
}

func (s *Server) renderNewAPIKey(c echo.Context, status int, in apikeys.NewKey, expiry string, errs apikeys.FieldErrors) error {
	ctx := c.Request().Context()
	p := principalOf(c)
	numbers, err := s.Numbers.PhoneNumbers(ctx)
	if err != nil {
		return err
	}
	allowNever, err := s.Settings.APIKeysAllowNoExpiry(ctx)
	if err != nil {
		return err
	}
	v := views.NewAPIKeyView{Page: s.page(c, "Create API key", "developers"), Name: in.Name, All: in.AllNumbers, Errors: errs}
	chosen := map[string]bool{}
	for _, id := range in.Scopes {
		chosen[id] = true
	}
	for _, d := range authz.All() {
		if !p.Can(d.Permission) {
			continue
		}
		if len(v.Areas) == 0 || v.Areas[len(v.Areas)-1].Name != d.Area.Name {
			v.Areas = append(v.Areas, views.ScopeArea{Name: d.Area.Name})
		}
		a := &v.Areas[len(v.Areas)-1]
		a.Options = append(a.Options, views.ScopeOption{ScopeLabel: scopeLabel(d.Permission), Checked: chosen[d.ID]})
	}
	for _, n := range numbers {
		if p.Numbers.SeesNumber(n.ID) {
			checked := false
			for _, id := range in.NumberIDs {
				checked = checked || id == n.ID
			}
			v.Numbers = append(v.Numbers, views.NumberOption{ID: n.ID, Name: n.Name(), Checked: checked})
		}
	}
	choices := expiryChoices
	if allowNever {
		choices = append(choices[:len(choices):len(choices)], struct{ value, label string }{"never", "Never"})
	}
	for _, e := range choices {
		v.Expiry = append(v.Expiry, views.ExpiryOption{Value: e.value, Label: e.label, Selected: e.value == expiry})
	}
	return render(c, status, views.NewAPIKeyForm(v))
}

func (s *Server) createAPIKey(c echo.Context) error {
	form, _ := c.FormParams()
	in := apikeys.NewKey{Name: c.FormValue("name"), Scopes: form["scope"], AllNumbers: c.FormValue("scope_numbers") != "some"}
	for _, v := range form["number"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.NumberIDs = append(in.NumberIDs, id)
		}
	}
	expiry := c.FormValue("expiry")
	if expiry == "never" {
		in.NoExpiry = true
	} else if days, err := strconv.Atoi(expiry); err == nil {
		in.ExpiresIn = time.Duration(days) * 24 * time.Hour
	} else {
		in.ExpiresIn = -1
	}
	k, secret, err := s.APIKeys.Create(c.Request().Context(), principalOf(c), in)
	var fe apikeys.FieldErrors
	if errors.As(err, &fe) {
		return s.renderNewAPIKey(c, http.StatusUnprocessableEntity, in, expiry, fe)
	}
	if err != nil {
		return err
	}
	example := "curl -H 'Authorization: Bearer " + secret + "' " + strings.TrimSuffix(s.Config.BaseURL.String(), "/") + "/api/v1/conversations"
	return s.renderDevelopers(c, &views.NewAPIKey{Name: k.Name, Secret: secret, Example: example})
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	if err := s.APIKeys.Revoke(c.Request().Context(), principalOf(c), pathID(c)); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/developers", "The key was revoked. Requests made with it are refused from now on.")
}

func (s *Server) saveAPIKeyPolicy(c echo.Context) error {
	if err := s.Settings.SetAPIKeysAllowNoExpiry(c.Request().Context(), c.FormValue("allow_no_expiry") == "1"); err != nil {
		return err
	}
	return s.redirectWithFlash(c, "/developers", "Key policy saved.")
}
