package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/demo"
)

// simulatorCommand runs the local Cloud API simulator on its own: a stand-in for Meta that a
// Switchboard started with --graph-url can be pointed at, for development and manual testing.
func simulatorCommand(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "address the simulator listens on")
	webhook := fs.String("webhook-url", "http://127.0.0.1:8080/webhooks/whatsapp", "where the simulator delivers customer messages and statuses")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := config.Parse(fs, args, e.getenv); err != nil {
		return exitIfHelp(err, e)
	}
	logger, err := newLogger(e.stderr, *logLevel, "text")
	if err != nil {
		return err
	}
	sb, err := demo.Listen(*addr, clock.System{}, *webhook, logger)
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(e.stdout, `Cloud API simulator on %s (webhooks to %s).
Start Switchboard with --graph-url %s and connect WhatsApp Business Account %s with
  access token  %s
  app secret    %s
  verify token  %s
`, sb.GraphURL, *webhook, sb.GraphURL, demo.WABAID, demo.Token, demo.AppSecret, demo.VerifyToken)
	if err := sb.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
