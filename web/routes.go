package web

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
)

// route is one line of the routes table: who may call what.
type route struct {
	method  string
	path    string
	access  authz.Requirement
	handler echo.HandlerFunc
}

// routes is the whole surface of the server, gathered from one list per area (routes_*.go).
// Reading those lists tells who may do what; a route without a declared requirement is refused
// by register, and a test walks the router to make sure nothing was added around them.
func (s *Server) routes() []route {
	var all []route
	for _, area := range [][]route{
		s.systemRoutes(),
		s.signInRoutes(),
		s.accountRoutes(),
		s.dashboardRoutes(),
		s.memberRoutes(),
		s.auditRoutes(),
		s.templateRoutes(),
		s.alertRoutes(),
		s.whatsappRoutes(),
		s.inboxRoutes(),
		s.mailRoutes(),
		s.analyticsRoutes(),
		s.developerRoutes(),
		s.webhookRoutes(),
		s.apiRoutes(),
		s.reviewRoutes(),
		s.allowListRoutes(),
		s.consentRoutes(),
		s.privacyRoutes(),
		s.labelRoutes(),
		s.contactRoutes(),
		s.automationRoutes(),
		s.campaignRoutes(),
	} {
		all = append(all, area...)
	}
	return all
}

func (s *Server) systemRoutes() []route {
	return []route{
		{http.MethodGet, "/healthz", authz.Public(), s.healthz},
		{http.MethodGet, "/metrics", authz.Public(), s.metricsHandler()},
		{http.MethodGet, "/static/*", authz.Public(), echo.WrapHandler(s.Assets.Handler())},
		{http.MethodHead, "/static/*", authz.Public(), echo.WrapHandler(s.Assets.Handler())},
	}
}

func (s *Server) signInRoutes() []route {
	return []route{
		{http.MethodGet, "/setup", authz.Public(), s.setupPage},
		{http.MethodPost, "/setup", authz.Public(), s.setup},
		{http.MethodGet, "/login", authz.Public(), s.signInPage},
		{http.MethodPost, "/login", authz.Public(), s.signIn},
		{http.MethodPost, "/logout", authz.Enrolling(), s.signOut},
	}
}

func (s *Server) dashboardRoutes() []route {
	return []route{
		{http.MethodGet, "/", authz.SignedIn(), s.dashboard},
	}
}

// register adds the routes to the router, each behind its access guard.
func (s *Server) register(routes []route) error {
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.method + " " + r.path
		if !r.access.Declared() {
			return fmt.Errorf("route %s declares no access requirement", key)
		}
		if seen[key] {
			return fmt.Errorf("route %s is declared twice", key)
		}
		seen[key] = true
		s.echo.Add(r.method, r.path, r.handler, s.guard(r.access))
	}
	return nil
}

// RouteInfo describes a registered route for tests and tooling.
type RouteInfo struct {
	Method string
	Path   string
	Access authz.Requirement
}

// Routes lists the routes table.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.routes() {
		out = append(out, RouteInfo{Method: r.method, Path: r.path, Access: r.access})
	}
	return out
}
