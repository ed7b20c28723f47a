package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// automationRoutes: business hours, auto-replies, welcome menus and teams (automation.manage),
// and each member's own availability for auto-assignment.
func (s *Server) automationRoutes() []route {
	manage := authz.Require(authz.AutomationManage)
	return []route{
		{http.MethodGet, "/automation", manage, s.automationPage},
		{http.MethodPost, "/automation/numbers/:id", manage, s.saveAutomationNumber},
		{http.MethodGet, "/automation/rules", manage, s.automationRulesPage},
		{http.MethodPost, "/automation/rules", manage, s.createAutomationRule},
		{http.MethodPost, "/automation/rules/:id", manage, s.updateAutomationRule},
		{http.MethodPost, "/automation/rules/:id/delete", manage, s.deleteAutomationRule},
		{http.MethodGet, "/automation/menus", manage, s.automationMenusPage},
		{http.MethodPost, "/automation/menus/:id", manage, s.saveAutomationMenu},
		{http.MethodPost, "/automation/menus/:id/options", manage, s.addAutomationOption},
		{http.MethodPost, "/automation/menus/:id/options/:option/delete", manage, s.deleteAutomationOption},
		{http.MethodGet, "/automation/teams", manage, s.automationTeamsPage},
		{http.MethodPost, "/automation/teams", manage, s.saveAutomationTeam},
		{http.MethodPost, "/automation/teams/:id", manage, s.saveAutomationTeam},
		{http.MethodPost, "/automation/teams/:id/delete", manage, s.deleteAutomationTeam},
		// Members mark themselves available or away: their own state, no permission beyond signing in.
		{http.MethodPost, "/account/availability", authz.SignedIn(), s.setAvailability},
	}
}
