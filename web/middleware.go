package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

// contentSecurityPolicy allows only what the server itself sends: no inline script or style,
// no framing. htmx is configured (meta htmx-config) not to inject its own styles.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

func (s *Server) securityHeaders() echo.MiddlewareFunc {
	cfg := middleware.SecureConfig{
		XSSProtection:         "0", // the legacy XSS auditor does more harm than good; CSP is the defence
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ContentSecurityPolicy: contentSecurityPolicy,
		ReferrerPolicy:        "same-origin",
	}
	if s.Config.Secure() {
		cfg.HSTSMaxAge = 63072000
	}
	return middleware.SecureWithConfig(cfg)
}

// recoverPanics turns a panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.Logger.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = echo.NewHTTPError(http.StatusInternalServerError)
			}
		}()
		return next(c)
	}
}

// observe puts the request's metadata in its context (for activity events), then logs and
// measures the request once it is answered.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		requestID := c.Response().Header().Get(echo.HeaderXRequestID)
		ctx := audit.WithRequest(req.Context(), audit.Request{
			ClientAddr: c.RealIP(), UserAgent: req.UserAgent(), RequestID: requestID,
		})
		c.SetRequest(req.WithContext(ctx))

		err := next(c)
		if err != nil {
			c.Error(err) // answer now, so the status below is the one sent
		}

		status := c.Response().Status
		elapsed := time.Since(start)
		routePath := c.Path()
		if routePath == "" {
			routePath = "unmatched"
		}
		if routePath != livePath { // a stream lasts as long as the page: not a request duration
			s.metrics.observe(req.Method, routePath, status, elapsed)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("method", req.Method), slog.String("path", loggablePath(c)), slog.String("route", routePath),
			slog.Int("status", status), slog.Duration("took", elapsed), slog.String("request_id", requestID),
			slog.String("client", c.RealIP()),
		}
		if p := principalOf(c); p != nil {
			attrs = append(attrs, slog.Int64("member_id", p.MemberID))
		}
		if err != nil && status >= 500 {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		s.Logger.LogAttrs(ctx, level, "request", attrs...)
		return nil
	}
}

// csrf refuses state-changing requests that carry neither a same-origin Sec-Fetch-Site header
// nor the token (forms send it as _csrf, htmx as the X-CSRF-Token header).
func (s *Server) csrf() echo.MiddlewareFunc {
	return middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup:    "header:X-CSRF-Token,form:" + csrfFormField,
		CookieName:     s.csrfCookieName(),
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   s.Config.Secure(),
		CookieSameSite: http.SameSiteLaxMode,
		ContextKey:     csrfContextKey,
		// Machine endpoints change nothing and serve no forms: no token cookie for them. The API
		// reads no cookie at all (a bearer key is not sent by a browser on its own), so there is
		// nothing for a forged cross-site request to ride on.
		Skipper: func(c echo.Context) bool { return isMachineRoute(c) || isAPI(c) },
		// Cross-site and same-site state changes: same-site falls back to the token check (and its
		// refusal below); cross-site is refused here, and recorded like any other refusal.
		AllowSecFetchSiteFunc: func(c echo.Context) (bool, error) {
			if c.Request().Header.Get(echo.HeaderSecFetchSite) == "same-site" {
				return false, nil
			}
			s.recordDenied(c, "request.csrf_refused", "cross-site request")
			return false, echo.NewHTTPError(http.StatusForbidden, "This request came from another site and was refused.")
		},
		ErrorHandler: func(err error, c echo.Context) error {
			s.recordDenied(c, "request.csrf_refused", "missing or wrong CSRF token")
			return echo.NewHTTPError(http.StatusForbidden,
				"This form has expired or did not come from Switchboard. Go back, reload the page and try again.")
		},
	})
}

const (
	csrfContextKey = "csrf"
	// csrfFormField is the form body field of the token; parseForms keeps it out of the query.
	csrfFormField = "_csrf"
)

func (s *Server) csrfCookieName() string {
	if s.Config.Secure() {
		return "__Host-switchboard_csrf"
	}
	return "switchboard_csrf"
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(csrfContextKey).(string)
	return t
}

// parseForms reads form bodies up front, so that a body over the limit sent without a
// Content-Length is refused with 413 instead of being cut short silently: echo's FormValue
// ignores parse errors, and a truncated form would reach the handlers as empty fields.
func parseForms(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		switch req.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return next(c)
		}
		var err error
		if strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			err = req.ParseMultipartForm(1 << 20)
		} else {
			// Reads the body only for url-encoded forms; any other body stays for its handler.
			err = req.ParseForm()
		}
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read.")
		}
		keepCSRFTokenOutOfQuery(req)
		return next(c)
	}
}

// keepCSRFTokenOutOfQuery makes the form's _csrf the body's alone. Go's Request.Form merges the
// URL query in, and the CSRF check reads Form: a token accepted from the query string would end
// up in access logs, proxies and browser history, where it can be read and replayed.
func keepCSRFTokenOutOfQuery(req *http.Request) {
	if body, ok := req.PostForm[csrfFormField]; ok {
		req.Form[csrfFormField] = body
	} else {
		delete(req.Form, csrfFormField)
	}
}

// guard is the one choke point of access control: every route goes through it with its declared
// requirement. Anything it does not positively allow is refused.
func (s *Server) guard(req authz.Requirement) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if req.IsPublic() {
				return next(c)
			}
			p := principalOf(c)
			if p == nil {
				if isAPI(c) {
					return apiProblem(problemUnauthorized, "Send an API key as Authorization: Bearer sb_live_….")
				}
				return s.requireSignIn(c)
			}
			if p.MustEnrolTwoFactor && !req.AllowsDuringEnrolment() {
				// Server-side, on every route: until the member enrols, enrolment is all there is.
				if c.Request().Method == http.MethodGet && !isHTMX(c) {
					return c.Redirect(http.StatusSeeOther, "/account/2fa")
				}
				return echo.NewHTTPError(http.StatusForbidden, "Set up two-factor authentication first: your role requires it.")
			}
			if !req.Allows(p) {
				s.recordDenied(c, "access.denied", "requires "+req.String())
				if isAPI(c) {
					return apiProblem(problemMissingScope, "This API key does not allow this: it needs %s.", req.String())
				}
				return echo.NewHTTPError(http.StatusForbidden, "Your role does not allow this. Ask an administrator if you need it.")
			}
			if req.NeedsFreshAuth() && !s.recentlyAuthenticated(c.Request().Context()) {
				return s.requireReauth(c)
			}
			return next(c)
		}
	}
}

// requireSignIn sends a visitor without a session to the sign-in page, saying why when their
// session ran out, and with the page to come back to: the requested page, or for an htmx request
// the page the member was on (HX-Current-URL), not the partial it fetched. Only a path on this
// site is kept (safeNext); anything else returns to the dashboard.
func (s *Server) requireSignIn(c echo.Context) error {
	req := c.Request()
	var back string
	switch {
	case isHTMX(c):
		back = sameOriginPath(req, req.Header.Get("HX-Current-URL"))
	case req.Method == http.MethodGet:
		back = req.URL.RequestURI()
	default:
		back = sameOriginPath(req, req.Referer())
	}
	q := url.Values{}
	if why := s.whySignedOut(c); why != "" {
		q.Set(why, "1")
	}
	if next := safeNext(back); next != "/" {
		q.Set("next", next)
	}
	to := "/login"
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// whySignedOut names the sign-in page's notice for a request that came without a live session:
// "expired" when a session cookie came but its session timed out or is gone, "ended" when it was
// ended on purpose (signed out elsewhere, deactivated), "" for a visitor who was not signed in.
func (s *Server) whySignedOut(c echo.Context) string {
	if reason, _ := c.Get(sessionEndedKey).(string); reason != "" {
		if reason == "idle time-out" || reason == "absolute time-out" {
			return "expired"
		}
		return "ended"
	}
	if !sessionLoaded(c) || s.pendingSecondFactor(c.Request().Context()) != 0 {
		return ""
	}
	if ck, err := c.Cookie(s.Sessions.Cookie.Name); err == nil && ck.Value != "" {
		return "expired" // the store dropped it at its own time-out
	}
	return ""
}

// sameOriginPath is the path and query of raw when it is an absolute URL of this very host, else "".
func sameOriginPath(req *http.Request, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host != req.Host || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	return u.RequestURI()
}

// requireReauth sends the member to confirm their password or a 2FA code. A refused POST has
// changed nothing; afterwards the member returns to the page they were on and submits again.
func (s *Server) requireReauth(c echo.Context) error {
	back := c.Request().URL.RequestURI()
	if c.Request().Method != http.MethodGet {
		back = "/"
		if ref, err := url.Parse(c.Request().Referer()); err == nil && ref.Host == c.Request().Host {
			back = ref.RequestURI()
		}
	}
	to := "/reauth?next=" + url.QueryEscape(back)
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusForbidden)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

func (s *Server) recordDenied(c echo.Context, action, reason string) {
	// Refusals are cheap to cause: record the first per client, action and route each minute.
	key := action + "|" + c.RealIP() + "|" + c.Request().Method + " " + c.Path()
	if p := principalOf(c); p != nil {
		key += "|" + strconv.FormatInt(p.MemberID, 10)
	}
	record, left := s.deniedSampler.Allow(key, s.Clock.Now())
	if !record {
		return
	}
	ev := audit.Event{
		Action:  action,
		Target:  audit.Target{Type: "route", ID: c.Request().Method + " " + loggablePath(c)},
		Changes: []audit.Change{{Field: "reason", After: reason}},
		Outcome: audit.OutcomeDenied,
	}
	if left > 0 {
		ev.Changes = append(ev.Changes, audit.Change{Field: "refusals_not_recorded_before", After: left})
	}
	if _, err := s.Audit.Record(c.Request().Context(), ev); err != nil {
		s.Logger.ErrorContext(c.Request().Context(), "record denied access", "error", err)
	}
}

// loggablePath is the request's path for logs and activity events, except where the path itself
// is a credential (an invitation link's token): then the route's pattern.
func loggablePath(c echo.Context) string {
	if strings.Contains(c.Path(), ":token") {
		return c.Path()
	}
	return c.Request().URL.Path
}

func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true" && c.Request().Header.Get("HX-History-Restore-Request") != "true"
}
