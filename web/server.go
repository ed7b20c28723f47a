// Package web is Switchboard's HTTP face: the echo server, its middleware, the routes table and
// thin handlers that decode input, call one domain function and render one view.
package web

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/apilog"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/mail"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/privacy"
	"github.com/switchboard/switchboard/internal/reviews"
	"github.com/switchboard/switchboard/internal/settings"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/webhooks"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/static"
)

// Deps are the parts the web layer is built from.
type Deps struct {
	Config    config.Config
	DB        *db.DB
	Members   *members.Service
	TwoFactor *members.TwoFactor
	Settings  *settings.Store
	Numbers   *workspace.Store
	Workspace *workspace.Service
	Templates *templates.Service
	Alerts    *alerts.Service
	Throttle  *auth.Throttle
	Ingester  WebhookIngester
	// MailService, when set, queues e-mail (a mail server is configured); nil shows links to copy.
	MailService *mail.Mailer
	Inbox       *inbox.Service
	Live        *inbox.Live
	Analytics   *analytics.Service
	APIKeys     *apikeys.Service
	Webhooks    *webhooks.Service
	// CloudAPICalls is the Cloud API call log.
	CloudAPICalls *apilog.Log
	Reviews       *reviews.Service
	AllowList     *settings.AllowList
	Consent       *consent.Service
	Automation    *automation.Service
	Privacy       *privacy.Service
	Campaigns     *campaigns.Service
	Audit         *audit.Log
	Assets        *static.Assets
	Sessions      *scs.SessionManager
	Clock         clock.Clock
	Logger        *slog.Logger
	Metrics       *prometheus.Registry
}

// Server holds the dependencies the handlers use.
type Server struct {
	Deps
	// zones are the time zones pages were asked for, loaded once each.
	zones             members.Zones
	echo              *echo.Echo
	metrics           *httpMetrics
	signatureFailures signatureMonitor
	deniedSampler     *audit.Sampler
	// shuttingDown closes when a graceful shutdown starts, so that open event streams end and
	// do not hold the shutdown up.
	shuttingDown   chan struct{}
	apiReadSampler *audit.Sampler
	apiLimiter     *keyLimiter
}

// New builds the HTTP server with every route of the routes table registered.
func New(d Deps) (*Server, error) {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.Server.IdleTimeout = 2 * time.Minute
	e.IPExtractor = ipExtractor(d.Config)

	s := &Server{Deps: d, echo: e, deniedSampler: audit.NewSampler(time.Minute), shuttingDown: make(chan struct{}),
		apiReadSampler: audit.NewSampler(time.Minute), apiLimiter: newKeyLimiter(apiRate, apiBurst)}
	e.Server.RegisterOnShutdown(func() { close(s.shuttingDown) })
	m, err := newHTTPMetrics(d.Metrics)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	e.HTTPErrorHandler = s.handleError

	e.Pre(dropUnsafeRequestID)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{TargetHeader: echo.HeaderXRequestID}),
		s.observe,
		s.recoverPanics,
		s.securityHeaders(),
		// Webhooks take up to 3 MB (Meta's limit) and are limited in their handler.
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "1M", Skipper: func(c echo.Context) bool { return isWebhook(c) || isUpload(c) }}),
		// File uploads (a file to send, a contacts file) take up to Switchboard's file cap.
		middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: strconv.Itoa(maxUploadBody>>20) + "M", Skipper: func(c echo.Context) bool { return !isUpload(c) }}),
		parseForms,
		s.sessionMiddleware,
		s.loadPrincipal,
		s.apiAuth,
		s.csrf(),
	)
	if err := s.register(s.routes()); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler is the server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router, for tests that walk the registered routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Serve answers requests on l until it is closed.
func (s *Server) Serve(l net.Listener) error {
	s.echo.Listener = l
	srv := s.echo.Server
	srv.Handler = s.echo
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// HTTPServer is the underlying server, for graceful shutdown.
func (s *Server) HTTPServer() *http.Server { return s.echo.Server }

// dropUnsafeRequestID keeps a client's X-Request-Id (a proxy's, for tracing) only when it is a
// short token: it goes into every log line and activity event of the request.
func dropUnsafeRequestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header
		if id := h.Get(echo.HeaderXRequestID); id != "" && !safeRequestID(id) {
			h.Del(echo.HeaderXRequestID)
		}
		return next(c)
	}
}

func safeRequestID(id string) bool {
	if len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func ipExtractor(c config.Config) echo.IPExtractor {
	if len(c.TrustedProxies) == 0 {
		// Without a declared proxy, X-Forwarded-For is whatever the client wrote: never believe it,
		// or sign-in throttling per address could be dodged with one header.
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range c.TrustedProxies {
		_, ipnet, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(ipnet))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
