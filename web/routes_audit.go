package web

import (
	"net/http"

	"github.com/switchboard/switchboard/internal/authz"
)

// auditRoutes are the activity log's pages. Reading, following and verifying need audit.view;
// exporting needs audit.export; how long events are kept is a security setting.
func (s *Server) auditRoutes() []route {
	return []route{
		{http.MethodGet, "/activity", authz.Require(authz.AuditView), s.activityPage},
		{http.MethodGet, "/activity/integrity", authz.Require(authz.AuditView), s.activityIntegrity},
		// Exporting the log is a mass read: a password or code from the last 10 minutes first.
		{http.MethodGet, "/activity/export", authz.Require(authz.AuditExport).Fresh(), s.activityExport},
		{http.MethodGet, "/activity/retention", authz.Require(authz.SecurityManage), s.activityRetention},
		{http.MethodPost, "/activity/retention", authz.Require(authz.SecurityManage), s.activitySetRetention},
		{http.MethodPost, "/activity/retention/prune", authz.Require(authz.SecurityManage), s.activityPrune},
		{http.MethodGet, "/activity/:id", authz.Require(authz.AuditView), s.activityEvent},
	}
}
