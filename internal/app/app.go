// Package app wires Switchboard's parts together from a Config. The command line and the
// integration tests both start the product through it, so tests run what users run.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

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
	"github.com/switchboard/switchboard/internal/secrets"
	"github.com/switchboard/switchboard/internal/settings"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/webhooks"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/static"
	"github.com/switchboard/switchboard/web"
)

// App is a running Switchboard: database, services and HTTP server.
type App struct {
	*Core
	Config config.Config
	Server *web.Server
	Logger *slog.Logger

	stopCheckpointer func()
	checkpointerOnce sync.Once
	// AuditCheckpoints signs the activity log's head every minute and at shutdown.
	AuditCheckpoints *audit.Checkpointer
	mailSender       mail.Sender
}

// Options adjust how New builds the app; tests use them to control time.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Getenv reads the environment (SWITCHBOARD_SECRET_KEY); os.Getenv when nil.
	Getenv func(string) string
	// MailSender replaces the SMTP sender built from the Config (tests: a TLS config that
	// trusts their own certificate authority).
	MailSender mail.Sender
	// WebhookLookup resolves webhook receivers' host names (tests: names of private addresses).
	WebhookLookup webhooks.LookupFunc
	// DB changes how the pools reach SQLite (tests: internal/db/dbcheck watches them).
	DB db.Options
}

// Core is the part of the app that every subcommand needs: the database and the domain services.
type Core struct {
	DB        *db.DB
	Alerts    *alerts.Service
	Throttle  *auth.Throttle
	WhatsApp  *whatsapp.Client
	Workspace *workspace.Service
	Templates *templates.Service
	Inbox     *inbox.Service
	Analytics *analytics.Service
	Ingester  *inbox.Ingester
	Audit     *audit.Log
	Members   *members.Service
	TwoFactor *members.TwoFactor
	Settings  *settings.Store
	Secrets   *secrets.Box
	APIKeys   *apikeys.Service
	Clock     clock.Clock
	Reviews   *reviews.Service
	AllowList *settings.AllowList
	Consent   *consent.Service
	Campaigns *campaigns.Service
	// Automation answers and routes on the workspace's behalf, after ingest has committed.
	Automation *automation.Service
	// Webhooks queues and delivers outgoing webhooks; App.Run runs its sender.
	Webhooks *webhooks.Service
	// CloudAPICalls is the log of calls made to the Cloud API.
	CloudAPICalls *apilog.Log
	Privacy       *privacy.Service
	// AuditKey signs the activity log's checkpoints; derived from the secret key, never stored.
	AuditKey ed25519.PrivateKey
	// Mail queues e-mail; nil when no mail server is configured.
	Mail *mail.Mailer
}

// CoreOptions say where the data is and how to run the core; zero values take defaults.
type CoreOptions struct {
	DataDir string
	Clock   clock.Clock
	Logger  *slog.Logger
	Getenv  func(string) string
	// Security is the policy used until an administrator saves another (default: 2FA by role,
	// 30 minutes idle, 12 hours absolute).
	Security settings.Security
	// GraphURL is Meta's Graph API, or the simulator in sandbox mode.
	GraphURL string
	// SMTP, when set, turns on e-mail: links in it start with BaseURL.
	SMTP    config.SMTP
	BaseURL string
	// Sandbox (--demo) lets webhooks go to receivers on this machine.
	Sandbox bool
	// WebhookLookup resolves webhook receivers' names; nil is the system resolver.
	WebhookLookup webhooks.LookupFunc
	// Campaigns tunes campaign sending (throughput, reconciliation after a crash).
	Campaigns campaigns.Options
	// DB changes how the pools reach SQLite (tests).
	DB db.Options
}

// OpenCore opens the database, applies migrations and builds the services.
func OpenCore(ctx context.Context, o CoreOptions) (*Core, error) {
	clk, logger, getenv, dataDir := o.Clock, o.Logger, o.Getenv, o.DataDir
	if clk == nil {
		clk = clock.System{}
	}
	if logger == nil {
		logger = slog.Default()
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	defaults := o.Security
	if defaults.TwoFactor == "" {
		defaults = settings.Security{TwoFactor: settings.TwoFactorByRole, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour}
	}
	key, err := secrets.LoadKey(dataDir, getenv)
	if err != nil {
		return nil, err
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		return nil, err
	}
	auditKey, err := audit.SigningKey(key)
	if err != nil {
		return nil, err
	}
	d, applied, err := db.OpenAndMigrateWith(ctx, dataDir, o.DB)
	if err != nil {
		return nil, err
	}
	for _, name := range applied {
		logger.InfoContext(ctx, "migration applied", "file", name)
	}
	passwords, err := auth.NewVerifier(auth.DefaultPasswordParams)
	if err != nil {
		d.Close()
		return nil, err
	}
	log := audit.New(d, clk)
	store := members.NewStore(d)
	// Events keep their target's name as it was ("Grace Hopper", not "member 6").
	log.SetTargetNamer(store.AuditTargetName)
	if err := store.SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		d.Close()
		return nil, err
	}
	st := settings.NewStore(d, log, clk, defaults)
	var mailer *mail.Mailer
	alertOpts := []alerts.Option{alerts.WithLogger(logger)}
	if o.SMTP.Enabled() {
		mailer = mail.NewMailer(d, mail.NewOutbox(d, box, clk, mailDomain(o.SMTP)), log, o.BaseURL)
		alertOpts = append(alertOpts, alerts.WithMailer(alertMail{store: store, mailer: mailer}))
	}
	al := alerts.New(d, log, clk, alertOpts...)
	// One throttle per process: it also counts attempts in flight, which only works if shared.
	throttle := auth.NewThrottle(d, clk, auth.DefaultThrottlePolicy)
	svc := members.NewService(d, store, log, passwords, clk)
	svc.Alerts, svc.Throttle = al, throttle
	if mailer != nil {
		svc.Invitations, svc.Resets = mailer, mailer
	}
	graphURL := o.GraphURL
	if graphURL == "" {
		graphURL = config.DefaultGraphURL
	}
	calls := apilog.New(d, clk, logger)
	wa := whatsapp.NewClient(graphURL, &http.Client{Timeout: 30 * time.Second, Transport: &whatsapp.CallLogTransport{Record: calls.Record}})
	ws := workspace.NewService(d, workspace.NewStore(d), log, box, wa, clk)
	tplStore := templates.NewStore(d)
	tpl := templates.NewService(d, tplStore, log, templateMeta{client: wa, workspace: ws, templates: tplStore}, templates.AllNumbersOnly, clk)
	ib := inbox.NewService(d, log, clk, cloudSender{client: wa, workspace: ws})
	ib.Live = inbox.NewLive(d, logger)
	ib.Transport = cloudSender{client: wa, workspace: ws}
	ib.Media = inbox.NewMediaFetcher(d, inbox.MediaStore{Dir: filepath.Join(dataDir, "media")}, ib.Transport, clk, logger)
	ib.Media.Published = func(id int64) { ib.Live.Publish(id) }
	ib.Media.Start()
	cs := consent.NewService(d, log, clk)
	ib.SetConsentHooks(cs, marketingGate{templates: tplStore, consent: cs})
	auto := automation.New(d, log, clk, ib, cs, logger)
	// Meta's deliveries arrive at their own pace: a 2 ms wait lets concurrent ones share a commit
	// (measured: about a quarter less server CPU and a third less disk written at 3,300/s).
	// Webhook events are queued in the transaction of the change they describe: activity
	// events through the log's observer, messages and statuses after the inbox applied them.
	hooks := webhooks.NewService(d, store, log, box, clk, webhooks.Options{Sandbox: o.Sandbox, Logger: logger, Alerts: al, Lookup: o.WebhookLookup})
	log.SetObserver(hooks.OnActivity)
	// Alert rules that route to webhooks hand their alerts to the outgoing webhooks.
	al.SetWebhookPublisher(hooks)
	ingester := inbox.NewIngester(d, ib.ApplyEvents, inbox.IngesterOptions{Clock: clk, Logger: logger, MaxDelay: inbox.ServerMaxDelay,
		Applied:   hooks.OnInbound,
		Committed: func(ids []int64) { ib.Live.Publish(ids...); auto.Wake() }})
	// Bodies kept unprocessed (a parse or apply failure) get another chance at every start.
	if n, err := ingester.Reprocess(ctx); err != nil {
		logger.WarnContext(ctx, "reprocess kept webhooks", "error", err)
	} else if n > 0 {
		logger.InfoContext(ctx, "reprocessed kept webhooks", "count", n)
	}
	// A migration that changed what the rollups count asks for them to be recomputed once.
	if err := analytics.NewStore(d, logger).RebuildIfNeeded(ctx); err != nil {
		logger.WarnContext(ctx, "analytics rebuild", "error", err)
	}
	rv := reviews.NewService(d, log, clk, svc, st, al)
	if mailer != nil {
		rv.Reminders = reviewMail{db: d, store: store, mailer: mailer}
	}
	priv := privacy.New(d, log, clk, ib, filepath.Join(dataDir, "media"), logger)
	priv.SetWebhookPruner(ingester.PruneWebhooks)
	co := o.Campaigns
	co.Logger = logger
	camp := campaigns.NewService(d, log, clk, ib, tpl, cs, al, co)
	ib.SetStatusObserver(camp)
	return &Core{
		Campaigns: camp,
		Privacy:   priv,
		DB:        d, Audit: log, Clock: clk, Settings: st, Secrets: box, AuditKey: auditKey, WhatsApp: wa, Workspace: ws, Templates: tpl,
		Inbox: ib, Ingester: ingester,
		Analytics: analytics.NewService(d, logger, clk, log),
		Alerts:    al, Throttle: throttle, Mail: mailer,
		Members:   svc,
		TwoFactor: members.NewTwoFactor(d, store, log, box, clk, st, al),
		APIKeys:   apikeys.NewService(d, store, log, al, st, clk),
		Reviews:   rv,
		AllowList: settings.NewAllowList(d, log, clk),
		Consent:   cs, Automation: auto,
		Webhooks: hooks, CloudAPICalls: calls,
	}, nil
}

// DefaultSecurity is the security policy of a workspace that never saved one: 2FA by role, and
// the time-outs given on the command line.
func DefaultSecurity(cfg config.Config) settings.Security {
	return settings.Security{TwoFactor: settings.TwoFactorByRole, IdleTimeout: cfg.IdleTimeout, AbsoluteTimeout: cfg.AbsoluteTimeout}
}

// New builds the whole app from cfg.
func New(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	core, err := OpenCore(ctx, CoreOptions{DataDir: cfg.DataDir, Clock: opts.Clock, Logger: logger, Getenv: opts.Getenv,
		Security: DefaultSecurity(cfg), GraphURL: cfg.GraphURL, SMTP: cfg.SMTP, BaseURL: cfg.BaseURL.String(), Sandbox: cfg.Demo,
		WebhookLookup: opts.WebhookLookup, DB: opts.DB,
		Campaigns: campaigns.Options{Throughput: cfg.CampaignThroughput, ReconcileAfter: cfg.CampaignReconcileAfter}})
	if err != nil {
		return nil, err
	}
	// Said by the server only, not by every command that opens the database.
	if size, err := core.DB.PageSizeOf(ctx); err == nil && size > db.PageSize {
		logger.WarnContext(ctx, "the database keeps the page size it was created with, larger than new databases': "+
			"run switchboard compact with the server stopped, and webhook ingest then writes about a third less to disk",
			"page_size", size, "new_page_size", db.PageSize)
	}
	assets, err := static.New()
	if err != nil {
		core.DB.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ingest := core.Ingester
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhook_bodies_total",
			Help: "Webhook bodies stored (accepted and committed)."}, func() float64 { return float64(ingest.Stats().Bodies) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhook_batches_total",
			Help: "Write transactions that stored webhook bodies (group commits)."}, func() float64 { return float64(ingest.Stats().Batches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhook_kept_total",
			Help: "Webhook bodies kept unprocessed because their events failed to apply."}, func() float64 { return float64(ingest.Stats().Kept) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhook_commit_seconds_total",
			Help: "Time spent in webhook write transactions."}, func() float64 { return ingest.Stats().Busy.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_live_subscribers",
			Help: "Open inbox pages listening for live updates."}, func() float64 { return float64(core.Inbox.Live.Subscribers()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_live_events_delivered_total",
			Help: "Live update events handed to inbox pages (after the visibility check)."}, func() float64 { return float64(core.Inbox.Live.Stats().Delivered) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_live_changes_dropped_total",
			Help: "Changes not queued for live updates (queue full; pages were told to resync)."}, func() float64 { return float64(core.Inbox.Live.Stats().Dropped) }),
	)
	srv, err := web.New(web.Deps{
		Config: cfg, DB: core.DB, Members: core.Members, TwoFactor: core.TwoFactor, Settings: core.Settings,
		Numbers: core.Workspace.Store(), Workspace: core.Workspace, Templates: core.Templates, Audit: core.Audit, Assets: assets,
		Alerts: core.Alerts, Throttle: core.Throttle, Inbox: core.Inbox, Live: core.Inbox.Live, Ingester: core.Ingester,
		APIKeys: core.APIKeys, Webhooks: core.Webhooks, CloudAPICalls: core.CloudAPICalls, Reviews: core.Reviews, AllowList: core.AllowList, Consent: core.Consent, Analytics: core.Analytics, Automation: core.Automation,
		Privacy: core.Privacy, Campaigns: core.Campaigns,
		Sessions: web.NewSessionManager(core.DB, cfg), Clock: core.Clock, Logger: logger, Metrics: reg, MailService: core.Mail,
	})
	if err != nil {
		core.DB.Close()
		return nil, err
	}
	// The server checkpoints the WAL off the commit path; commands keep SQLite's default.
	stop, err := core.DB.StartCheckpointer(context.Background(), 250*time.Millisecond, logger)
	if err != nil {
		core.Close()
		return nil, err
	}
	// Signed checkpoints of the activity log's head go to the database and to a file beside it;
	// the public key is written out for verifying offline.
	pub := core.AuditKey.Public().(ed25519.PublicKey)
	if changed, err := audit.WritePublicKeyFile(cfg.DataDir, pub); err != nil {
		logger.WarnContext(ctx, "audit public key not written", "error", err)
	} else if changed {
		logger.InfoContext(ctx, "audit checkpoint public key written: keep a copy elsewhere", "file", filepath.Join(cfg.DataDir, audit.PublicKeyFileName), "key_id", audit.KeyID(pub))
	}
	checkpoints := audit.NewCheckpointer(core.Audit, core.AuditKey, logger, audit.NewFileSink(filepath.Join(cfg.DataDir, audit.CheckpointFileName)))
	core.Audit.SetCheckpointer(checkpoints)
	return &App{Config: cfg, Core: core, Server: srv, Logger: logger, stopCheckpointer: stop, AuditCheckpoints: checkpoints,
		mailSender: opts.MailSender}, nil
}

// AuditCheckpointInterval is how often the activity log's head is signed when it moved.
const AuditCheckpointInterval = time.Minute

// Run serves on l until ctx is cancelled, then shuts down gracefully.
func (a *App) Run(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- a.Server.Serve(l) }()
	go a.AuditCheckpoints.Every(ctx, AuditCheckpointInterval)
	// Automation, campaigns and outgoing webhooks write in the background: their transactions
	// yield to webhook ingest, whose requests wait for their commit (db.Background).
	bg := db.Background(ctx)
	// Automation works off the webhook's path; it stops before the database is closed.
	autoCtx, stopAuto := context.WithCancel(bg)
	autoDone := make(chan struct{})
	go func() { defer close(autoDone); a.Automation.Run(autoCtx) }()
	defer func() { stopAuto(); <-autoDone }()
	// Campaigns send until shutdown; a send in flight finishes (or is reconciled at next start).
	campaignCtx, stopCampaigns := context.WithCancel(bg)
	campaignsDone := make(chan struct{})
	go func() { defer close(campaignsDone); _ = a.Campaigns.Run(campaignCtx) }()
	defer func() { stopCampaigns(); <-campaignsDone }()
	defer a.startMailWorker(ctx)()
	hooksCtx, stopHooks := context.WithCancel(bg)
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); a.Webhooks.Run(hooksCtx) }()
	defer func() { stopHooks(); <-hooksDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Server.HTTPServer().Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// The last requests' events are anchored before the process goes.
	if _, _, err := a.AuditCheckpoints.Checkpoint(shutdownCtx); err != nil {
		a.Logger.ErrorContext(shutdownCtx, "audit checkpoint at shutdown failed", "error", err)
	}
	return <-errc
}

// Close releases the database and stops the session cleanup.
func (a *App) Close() error {
	if st, ok := a.Server.Sessions.Store.(interface{ StopCleanup() }); ok {
		st.StopCleanup()
	}
	a.StopCheckpointer()
	return a.Core.Close()
}

// StopCheckpointer gives WAL checkpoints back to the writer (SQLite's default); a disk test
// stops them altogether afterwards to read everything written from the WAL. It may be called
// more than once.
func (a *App) StopCheckpointer() {
	a.checkpointerOnce.Do(a.stopCheckpointer)
}

// Close drains the webhook ingester and releases the database.
func (c *Core) Close() error {
	err := c.Ingester.Close()
	c.Inbox.Media.Close()
	c.Inbox.Live.Close()
	c.CloudAPICalls.Close()
	return errors.Join(err, c.DB.Close())
}
