// Package app wires Switchboard's parts together from a Config. The command line and the
// integration tests both start the product through it, so tests run what users run.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/workspace"
	"github.com/switchboard/switchboard/static"
	"github.com/switchboard/switchboard/web"
)

// App is a running Switchboard: database, services and HTTP server.
type App struct {
	Config  config.Config
	DB      *db.DB
	Audit   *audit.Log
	Members *members.Service
	Server  *web.Server
	Logger  *slog.Logger
	Clock   clock.Clock
}

// Options adjust how New builds the app; tests use them to control time.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
}

// Core is the part of the app that every subcommand needs: the database and the domain services.
type Core struct {
	DB      *db.DB
	Audit   *audit.Log
	Members *members.Service
	Clock   clock.Clock
}

// OpenCore opens the database in dataDir, applies migrations and builds the services.
func OpenCore(ctx context.Context, dataDir string, clk clock.Clock, logger *slog.Logger) (*Core, error) {
	if clk == nil {
		clk = clock.System{}
	}
	d, applied, err := db.OpenAndMigrate(ctx, dataDir)
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
	if err := store.SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		d.Close()
		return nil, err
	}
	return &Core{DB: d, Audit: log, Members: members.NewService(d, store, log, passwords, clk), Clock: clk}, nil
}

// New builds the whole app from cfg.
func New(ctx context.Context, cfg config.Config, opts Options) (*App, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	core, err := OpenCore(ctx, cfg.DataDir, opts.Clock, logger)
	if err != nil {
		return nil, err
	}
	assets, err := static.New()
	if err != nil {
		core.DB.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := web.New(web.Deps{
		Config: cfg, DB: core.DB, Members: core.Members, Numbers: workspace.NewStore(core.DB), Audit: core.Audit, Assets: assets,
		Sessions: web.NewSessionManager(core.DB, cfg), Clock: core.Clock, Logger: logger, Metrics: reg,
	})
	if err != nil {
		core.DB.Close()
		return nil, err
	}
	return &App{Config: cfg, DB: core.DB, Audit: core.Audit, Members: core.Members, Server: srv, Logger: logger, Clock: core.Clock}, nil
}

// Run serves on l until ctx is cancelled, then shuts down gracefully.
func (a *App) Run(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- a.Server.Serve(l) }()
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
	return <-errc
}

// Close releases the database and stops the session cleanup.
func (a *App) Close() error {
	if st, ok := a.Server.Sessions.Store.(*sqlite3store.SQLite3Store); ok {
		st.StopCleanup()
	}
	return a.DB.Close()
}

// Close releases the database.
func (c *Core) Close() error { return c.DB.Close() }
