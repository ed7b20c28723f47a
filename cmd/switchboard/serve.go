package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/demo"
)

func serve(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var f config.ServeFlags
	config.RegisterServe(fs, &f)
	if err := config.Parse(fs, args, e.getenv); err != nil {
		return exitIfHelp(err, e)
	}
	cfg, err := config.Serve(f)
	if err != nil {
		return err
	}
	logger, err := newLogger(e.stderr, f.LogLevel, f.LogFormat)
	if err != nil {
		return err
	}
	slog.SetDefault(logger)

	// Sandbox mode: the local Cloud API simulator stands in for Meta, and plays the customers.
	var sandbox *demo.Sandbox
	// --demo with an explicit --graph-url uses a simulator already running elsewhere (such as
	// `switchboard simulator`, or a test's), which then outlives this process.
	if cfg.Demo && cfg.GraphURL == config.DefaultGraphURL {
		if sandbox, err = demo.Start(clock.System{}, cfg.BaseURL.String()+"/webhooks/whatsapp", logger); err != nil {
			return err
		}
		defer sandbox.Close()
		cfg.GraphURL = sandbox.GraphURL
	}

	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Getenv: e.getenv})
	if err != nil {
		return err
	}
	defer a.Close()

	if cfg.Demo {
		creds, err := demo.Prepare(ctx, a.Members, a.Workspace, a.Templates, a.Inbox)
		if err != nil {
			return fmt.Errorf("prepare the demo: %w", err)
		}
		if err := demo.SeedHistory(ctx, a.DB, a.Clock.Now()); err != nil {
			return err
		}
		if err := demo.SeedAutomation(ctx, a.DB, a.Members, a.Automation, a.Inbox); err != nil {
			return fmt.Errorf("demo automation: %w", err)
		}
		stopHooks, err := demo.Webhooks(ctx, a.Members, a.Webhooks, logger)
		if err != nil {
			return fmt.Errorf("demo webhooks: %w", err)
		}
		defer stopHooks()
		var b strings.Builder
		b.WriteString("\nDemo workspace: sign in at " + cfg.BaseURL.String() + "/login as\n")
		for _, c := range creds {
			fmt.Fprintf(&b, "  %-14s %-40s %s\n", c.RoleName, c.Email, c.Password)
		}
		b.WriteString("The Administrator and Developer set up two-factor authentication at their first sign-in:\n" +
			"have an authenticator app ready. Passwords change at every start.\n" +
			"The Marketing lead (a custom role) approves templates: the Administrator's \"" + demo.InReviewTemplate + "\" waits for review.\n")
		fmt.Fprintln(e.stdout, b.String())
	}

	if cfg.DebugAddr != "" {
		stop, err := serveProfiler(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
	}

	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("switchboard is listening", "url", cfg.BaseURL.String(), "addr", l.Addr().String(), "data", cfg.DataDir, "version", version())

	token, err := a.Members.IssueSetupToken(ctx)
	if err != nil {
		return err
	}
	if token != "" {
		link := cfg.BaseURL.String() + "/setup?token=" + token
		logger.Info("no owner yet: open the set-up link to create one", "setup_url", link)
		fmt.Fprintf(e.stdout, "\nSet up this workspace by opening:\n  %s\n\n", link)
	}
	// Retention (Settings → Privacy): messages, media, webhook bodies and the activity log (its
	// pruning keeps the chain verifiable with a checkpoint), each run recorded.
	go a.Privacy.RetentionEvery(ctx, time.Hour)
	go a.RunAccessReviewsEvery(ctx, time.Hour)
	go a.Alerts.WatchActivityEvery(ctx, 5*time.Second)
	if sandbox != nil {
		go func() {
			if err := sandbox.CustomersWriteIn(ctx, a.Members, a.Inbox); err != nil {
				logger.Warn("demo customers could not write in", "error", err)
			}
			if err := demo.SeedCompliance(ctx, a.Members, a.Reviews, a.Consent, a.Inbox); err != nil {
				logger.Warn("demo access review and consent", "error", err)
			}
			if err := demo.SeedCampaigns(ctx, a.DB, a.Members, a.Campaigns, a.Consent, a.Clock.Now()); err != nil {
				logger.Warn("demo campaigns", "error", err)
			}
			if err := demo.SeedPrivacy(ctx, a.Members, a.Privacy, a.Alerts, a.Inbox); err != nil {
				logger.Warn("demo privacy", "error", err)
			}
			if err := sandbox.SeedInboxData(ctx, a.Members, a.Inbox); err != nil {
				logger.Warn("demo labels, contacts and media", "error", err)
			}
			if err := demo.LabelHistory(ctx, a.DB, a.Clock.Now()); err != nil {
				logger.Warn("demo history labels", "error", err)
			}
			// After the labels are on the first conversations: the menu's choice adds one more.
			if err := sandbox.CustomersUseTheMenu(ctx); err != nil {
				logger.Warn("demo menu choice", "error", err)
			}
			if err := demo.SeedNotes(ctx, a.Members, a.Inbox); err != nil {
				logger.Warn("demo notes", "error", err)
			}
			if err := sandbox.Run(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("demo simulator stopped", "error", err)
			}
		}()
	}
	return a.Run(ctx, l)
}

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// exitIfHelp ends a command whose flags did not parse: the flag package has printed its own
// complaint, but a bad environment variable still needs saying.
func exitIfHelp(err error, e env) error {
	if err == flag.ErrHelp {
		return exitCode(0)
	}
	var envErr *config.EnvError
	if errors.As(err, &envErr) {
		fmt.Fprintln(e.stderr, "switchboard:", err)
	}
	return exitCode(2)
}
