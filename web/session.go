package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// Session keys.
const (
	sessionMemberID   = "member_id"
	sessionEpoch      = "epoch"
	sessionSignedInAt = "signed_in_at"
	sessionSeenAt     = "seen_at"
	sessionFlash      = "flash"
	sessionFlashKind  = "flash_kind"
)

// seenAtResolution bounds how often a busy session is written just to record activity.
const seenAtResolution = time.Minute

// NewSessionManager configures scs over the SQLite database. scs's own defaults (24 h, no idle
// time-out, not Secure) are all replaced. The time-outs are also enforced by loadPrincipal with
// the injected clock, which is what makes the absolute cap hold across token renewals.
func NewSessionManager(d *db.DB, cfg config.Config) *scs.SessionManager {
	sm := scs.New()
	sm.Store = sqlite3store.NewWithCleanupInterval(d.W, 5*time.Minute)
	sm.Lifetime = cfg.AbsoluteTimeout
	sm.IdleTimeout = cfg.IdleTimeout
	sm.HashTokenInStore = true
	sm.Cookie.Name = "switchboard_session"
	sm.Cookie.Path = "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Persist = false
	if cfg.Secure() {
		// __Host- pins the cookie to this host and path / and requires Secure.
		sm.Cookie.Name = "__Host-switchboard_session"
		sm.Cookie.Secure = true
	}
	return sm
}

// sessionMiddleware loads the session and commits it just before the response is written, so
// exactly one Set-Cookie goes out even when a handler returns an error that the error handler
// renders (scs's LoadAndSave wrapped with echo.WrapMiddleware can send two).
func (s *Server) sessionMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	sm := s.Sessions
	return func(c echo.Context) error {
		if isMachineRoute(c) {
			// No session for static files, health and metrics: a refreshed session cookie on a
			// publicly cacheable asset could be handed by a cache to everyone.
			return next(c)
		}
		addVary(c.Response().Header(), "Cookie")
		var token string
		if ck, err := c.Cookie(sm.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := sm.Load(c.Request().Context(), token)
		if err != nil {
			return err
		}
		c.SetRequest(c.Request().WithContext(ctx))
		c.Set(sessionLoadedKey, true)
		committed := false
		commit := func() {
			if committed {
				return
			}
			committed = true
			// The request may have been replaced since: read the session from its newest context.
			rctx := c.Request().Context()
			switch sm.Status(rctx) {
			case scs.Modified:
				tok, expiry, err := sm.Commit(rctx)
				if err != nil {
					// Headers are not sent yet: turn the answer into a failure rather than let the
					// member believe a sign-in or sign-out happened.
					s.Logger.ErrorContext(rctx, "commit session", "error", err)
					c.Response().Header().Del(echo.HeaderLocation)
					c.Response().Status = http.StatusInternalServerError
					return
				}
				sm.WriteSessionCookie(rctx, c.Response().Writer, tok, expiry)
			case scs.Destroyed:
				sm.WriteSessionCookie(rctx, c.Response().Writer, "", time.Time{})
			}
		}
		c.Response().Before(commit)
		err = next(c)
		if err != nil {
			c.Error(err)
		}
		if !c.Response().Committed {
			commit()
		}
		return nil
	}
}

const (
	principalKey     = "principal"
	sessionLoadedKey = "session_loaded"
)

// isMachineRoute reports the routes that serve no person's page: static files, health, metrics.
func isMachineRoute(c echo.Context) bool {
	switch c.Path() {
	case "/healthz", "/metrics", "/static/*":
		return true
	}
	return false
}

func sessionLoaded(c echo.Context) bool {
	loaded, _ := c.Get(sessionLoadedKey).(bool)
	return loaded
}

func principalOf(c echo.Context) *authz.Principal {
	p, _ := c.Get(principalKey).(*authz.Principal)
	return p
}

// loadPrincipal finds who is signed in, fresh from the database on every request: a changed
// role, a deactivation or a raised session epoch takes effect on the very next request.
func (s *Server) loadPrincipal(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !sessionLoaded(c) {
			return next(c)
		}
		ctx := c.Request().Context()
		id := s.Sessions.GetInt64(ctx, sessionMemberID)
		if id == 0 {
			return next(c)
		}
		p, m, err := s.Members.Store().Principal(ctx, id)
		if err != nil && !errors.Is(err, members.ErrNotFound) {
			return err // fail closed: an error here is a 500, never a pass
		}
		if reason := s.sessionEnded(ctx, m, err); reason != "" {
			s.Logger.InfoContext(ctx, "session ended", "member_id", id, "reason", reason)
			if err := s.Sessions.Destroy(ctx); err != nil {
				return err
			}
			return next(c)
		}
		now := s.Clock.Now()
		if now.Sub(sessionTime(ctx, s.Sessions, sessionSeenAt)) >= seenAtResolution {
			s.Sessions.Put(ctx, sessionSeenAt, now.UnixMilli())
		}
		c.Set(principalKey, p)
		c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, audit.MemberActor(p.MemberID, p.Name))))
		return next(c)
	}
}

// sessionEnded says why a session may no longer be used, or "" when it may.
func (s *Server) sessionEnded(ctx context.Context, m members.Member, lookupErr error) string {
	now := s.Clock.Now()
	switch {
	case lookupErr != nil:
		return "member deleted"
	case !m.Active():
		return "member deactivated"
	case m.SessionEpoch != s.Sessions.GetInt64(ctx, sessionEpoch):
		return "sessions revoked"
	case now.Sub(sessionTime(ctx, s.Sessions, sessionSignedInAt)) > s.Config.AbsoluteTimeout:
		return "absolute time-out"
	case now.Sub(sessionTime(ctx, s.Sessions, sessionSeenAt)) > s.Config.IdleTimeout:
		return "idle time-out"
	}
	return ""
}

// startSession signs m in on this request with a fresh token, so a token planted before sign-in
// (session fixation) is worth nothing after it.
func (s *Server) startSession(ctx context.Context, m members.Member) error {
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	now := s.Clock.Now()
	s.Sessions.Put(ctx, sessionMemberID, m.ID)
	s.Sessions.Put(ctx, sessionEpoch, m.SessionEpoch)
	s.Sessions.Put(ctx, sessionSignedInAt, now.UnixMilli())
	s.Sessions.Put(ctx, sessionSeenAt, now.UnixMilli())
	return nil
}

// sessionTime reads a time stored as unix milliseconds (scs's gob codec cannot hold time.Time
// without a global registration).
func sessionTime(ctx context.Context, sm *scs.SessionManager, key string) time.Time {
	return time.UnixMilli(sm.GetInt64(ctx, key)).UTC()
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
