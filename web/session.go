package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/settings"
)

// Session keys.
const (
	sessionMemberID   = "member_id"
	sessionEpoch      = "epoch"
	sessionSignedInAt = "signed_in_at"
	sessionSeenAt     = "seen_at"
	sessionFlash      = "flash"
	sessionFlashKind  = "flash_kind"
	sessionID         = "sid"
	sessionReauthAt   = "reauth_at"

	sessionPendingMemberID = "pending_member_id"
	sessionPendingAt       = "pending_at"
)

// Session keys of pages that remember something for the member.
const (
	sessionInboxBox    = "inbox_box"    // the inbox box the member last chose
	sessionPendingWABA = "pending_waba" // a connection the Cloud API refused, sealed, for "Save anyway"
)

// seenAtResolution bounds how often a busy session is written just to record activity.
const seenAtResolution = time.Minute

// NewSessionManager configures scs over the SQLite database. scs's own defaults (24 h, no idle
// time-out, not Secure) are all replaced. The time-outs are also enforced by loadPrincipal with
// the injected clock, which is what makes the absolute cap hold across token renewals.
func NewSessionManager(d *db.DB, cfg config.Config) *scs.SessionManager {
	sm := scs.New()
	sm.Store = sessionStore{
		reader: sqlite3store.NewWithCleanupInterval(d.R, 0), // 0: no cleanup goroutine on the read-only pool
		writer: sqlite3store.NewWithCleanupInterval(d.W, 5*time.Minute),
	}
	sm.Lifetime = cfg.AbsoluteTimeout
	// No scs idle time-out: with one, scs commits the session on every request to move its
	// expiry, a database write for each page view and each poll, and every commit empties the
	// readers' page caches. loadPrincipal ends idle sessions by the workspace's policy from
	// sessionSeenAt, written at most once a minute (seenAtResolution).
	sm.IdleTimeout = 0
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
		if isMachineRoute(c) || isAPI(c) {
			// The API authenticates with keys only: a session cookie must not work there.
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
	sessionEndedKey  = "session_ended" // why loadPrincipal ended this request's session
)

// isMachineRoute reports the routes that serve no person's page: static files, health, metrics.
func isMachineRoute(c echo.Context) bool {
	switch c.Path() {
	case "/healthz", "/metrics", "/static/*", "/webhooks/whatsapp":
		return true
	}
	return false
}

func isWebhook(c echo.Context) bool { return c.Path() == "/webhooks/whatsapp" }

func sessionLoaded(c echo.Context) bool {
	loaded, _ := c.Get(sessionLoadedKey).(bool)
	return loaded
}

func principalOf(c echo.Context) *authz.Principal {
	p, _ := c.Get(principalKey).(*authz.Principal)
	return p
}

// loadPrincipal finds who is signed in, fresh from the database on every request: a changed
// role, a deactivation, a raised session epoch or an ended session takes effect on the very next
// request.
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
		p, m, policy, reason, err := s.sessionPrincipal(c, id)
		if err != nil {
			return err // fail closed: an error here is a 500, never a pass
		}
		if reason == reasonOutsideAllowList {
			if err := s.recordSessionOutsideAllowList(c, id); err != nil {
				return err
			}
		}
		if reason != "" && c.Path() == livePath {
			// The live stream is refused but does not end the session: ending it here would
			// send the stream (which the browser follows) to the sign-in page, which would
			// then show no reason, and the page's own next request would find a fresh,
			// signed-out session instead of saying "Your session expired".
			return echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")
		}
		if reason != "" {
			s.Logger.InfoContext(ctx, "session ended", "member_id", id, "reason", reason)
			c.Set(sessionEndedKey, reason)
			if err := s.endSession(ctx); err != nil {
				return err
			}
			return next(c)
		}
		now := s.Clock.Now()
		// An open event stream is not the member at work: it must not keep the session from
		// timing out.
		if now.Sub(sessionTime(ctx, s.Sessions, sessionSeenAt)) >= seenAtResolution && c.Path() != livePath {
			s.Sessions.Put(ctx, sessionSeenAt, now.UnixMilli())
			if err := s.Members.Store().TouchSession(ctx, s.Sessions.GetString(ctx, sessionID), now); err != nil {
				return err
			}
		}
		p.MustEnrolTwoFactor = !m.TwoFactorEnabled && (m.RoleRequiresTwoFactor || policy.TwoFactor == settings.TwoFactorEveryone)
		c.Set(principalKey, p)
		c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, audit.MemberActor(p.MemberID, p.Name))))
		return next(c)
	}
}

const reasonOutsideAllowList = "address not on the IP allow-list"

// sessionPrincipal loads the member of a session and says why the session may no longer be
// used ("" when it may): every request asks it, and so does an open event stream at each
// re-check, so that both end for the same reasons.
func (s *Server) sessionPrincipal(c echo.Context, memberID int64) (*authz.Principal, members.Member, settings.Security, string, error) {
	ctx := c.Request().Context()
	p, m, err := s.Members.Store().Principal(ctx, memberID)
	if err != nil && !errors.Is(err, members.ErrNotFound) {
		return nil, members.Member{}, settings.Security{}, "", err
	}
	policy, perr := s.Settings.Security(ctx)
	if perr != nil {
		return nil, members.Member{}, settings.Security{}, "", perr
	}
	reason, rerr := s.sessionEnded(ctx, m, err, policy)
	if rerr != nil {
		return nil, members.Member{}, settings.Security{}, "", rerr
	}
	// The IP allow-list holds for sessions too: one used from outside it ends at once.
	if reason == "" && !s.AllowList.Allowed(c.RealIP()) {
		reason = reasonOutsideAllowList
	}
	return p, m, policy, reason, nil
}

// sessionEnded says why a session may no longer be used, or "" when it may.
func (s *Server) sessionEnded(ctx context.Context, m members.Member, lookupErr error, policy settings.Security) (string, error) {
	now := s.Clock.Now()
	switch {
	case lookupErr != nil:
		return "member deleted", nil
	case !m.Active():
		return "member deactivated", nil
	case m.SessionEpoch != s.Sessions.GetInt64(ctx, sessionEpoch):
		return "sessions revoked", nil
	case now.Sub(sessionTime(ctx, s.Sessions, sessionSignedInAt)) > policy.AbsoluteTimeout:
		return "absolute time-out", nil
	case now.Sub(sessionTime(ctx, s.Sessions, sessionSeenAt)) > policy.IdleTimeout:
		return "idle time-out", nil
	}
	live, err := s.Members.Store().SessionExists(ctx, s.Sessions.GetString(ctx, sessionID))
	if err != nil {
		return "", err
	}
	if !live {
		return "session ended", nil
	}
	return "", nil
}

// startSession signs m in on this request with a fresh token, so a token planted before sign-in
// (session fixation) is worth nothing after it.
func (s *Server) startSession(c echo.Context, m members.Member) error {
	ctx := c.Request().Context()
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	now := s.Clock.Now()
	sid, err := s.Members.Store().StartSession(ctx, m.ID, c.Request().UserAgent(), c.RealIP(), now)
	if err != nil {
		return err
	}
	s.Sessions.Remove(ctx, sessionPendingMemberID)
	s.Sessions.Remove(ctx, sessionPendingAt)
	s.Sessions.Put(ctx, sessionMemberID, m.ID)
	s.Sessions.Put(ctx, sessionID, sid)
	s.Sessions.Put(ctx, sessionEpoch, m.SessionEpoch)
	s.Sessions.Put(ctx, sessionSignedInAt, now.UnixMilli())
	s.Sessions.Put(ctx, sessionSeenAt, now.UnixMilli())
	s.Sessions.Put(ctx, sessionReauthAt, now.UnixMilli())
	return nil
}

// restartSession renews the session after a change to the member's own security (2FA turned on
// or off, password changed), which revoked all their sessions: this one carries on under a new
// token and epoch. It keeps its sign-in time and its last re-authentication: the change proves
// nothing new about who is there, so it must not stretch the absolute time-out or open the
// actions that need a fresh sign-in.
func (s *Server) restartSession(c echo.Context, memberID int64) error {
	ctx := c.Request().Context()
	m, err := s.Members.Store().ByID(ctx, memberID)
	if err != nil {
		return err
	}
	signedIn, reauth := s.Sessions.GetInt64(ctx, sessionSignedInAt), s.Sessions.GetInt64(ctx, sessionReauthAt)
	if err := s.startSession(c, m); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionSignedInAt, signedIn)
	s.Sessions.Put(ctx, sessionReauthAt, reauth)
	return nil
}

// beginSecondFactor remembers, under a fresh token, that the password was right and a 2FA code
// is due. Nothing but the code step accepts this state.
func (s *Server) beginSecondFactor(ctx context.Context, m members.Member) error {
	if err := s.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.Sessions.Put(ctx, sessionPendingMemberID, m.ID)
	s.Sessions.Put(ctx, sessionPendingAt, s.Clock.Now().UnixMilli())
	return nil
}

// pendingSecondFactor returns the member waiting for the code step, if the wait is recent.
func (s *Server) pendingSecondFactor(ctx context.Context) int64 {
	id := s.Sessions.GetInt64(ctx, sessionPendingMemberID)
	if id == 0 || s.Clock.Now().Sub(sessionTime(ctx, s.Sessions, sessionPendingAt)) > secondFactorWindow {
		return 0
	}
	return id
}

// secondFactorWindow is how long after the password the code may be entered.
const secondFactorWindow = 5 * time.Minute

// reauthWindow is how recent a password or code must be for the sensitive actions.
const reauthWindow = 10 * time.Minute

func (s *Server) recentlyAuthenticated(ctx context.Context) bool {
	return s.Clock.Now().Sub(sessionTime(ctx, s.Sessions, sessionReauthAt)) <= reauthWindow
}

// endSession destroys the session and forgets its record.
func (s *Server) endSession(ctx context.Context) error {
	if sid := s.Sessions.GetString(ctx, sessionID); sid != "" {
		if err := s.Members.Store().ForgetSession(ctx, sid); err != nil {
			return err
		}
	}
	return s.Sessions.Destroy(ctx)
}

// sessionTime reads a time stored as unix milliseconds (scs's gob codec cannot hold time.Time
// without a global registration).
func sessionTime(ctx context.Context, sm *scs.SessionManager, key string) time.Time {
	return time.UnixMilli(sm.GetInt64(ctx, key)).UTC()
}
