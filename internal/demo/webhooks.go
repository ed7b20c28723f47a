package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/webhooks"
)

// Demo webhook endpoints: a CRM that receives the inbox's events and a Slack channel for member
// changes and alerts, both answered by a receiver on this machine (the sandbox allows loopback).
// The CRM is busy now and then (about one request in twenty-five answers 503), so the delivery
// log shows retries as a real one does.
const (
	// demoSlackPath is shaped like a Slack incoming webhook's (/services/T…/B…/secret), so the
	// demo shows how the pages mask its secret tail.
	demoSlackPath    = "/services/T05DEMOTEAM/B07DEMOHOOK/q8Rz2LmV4xNc9TbK1sPdW7Yf"
	crmDescription   = "CRM sync (demo receiver on this machine)"
	slackDescription = "#security channel in Slack (demo receiver on this machine)"
)

// Webhooks starts the demo's receiver and points the demo endpoints at it, adding them at the
// first start. stop ends the receiver.
func Webhooks(ctx context.Context, m *members.Service, hooks *webhooks.Service, logger *slog.Logger) (stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo webhook receiver: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(receive), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("demo webhook receiver stopped", "error", err)
		}
	}()
	stop = func() { _ = srv.Close() }
	base := "http://" + l.Addr().String()
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		stop()
		return nil, err
	}
	existing, err := hooks.Visible(ctx, admin)
	if err != nil {
		stop()
		return nil, err
	}
	for _, want := range []webhooks.NewEndpoint{
		{URL: base + "/hooks/crm", Description: crmDescription, Format: webhooks.FormatStandard, AllNumbers: true,
			Events: []string{webhooks.MessageReceived, webhooks.MessageStatus, webhooks.ConversationAssigned, webhooks.ConversationClosed, webhooks.TemplateStatus}},
		{URL: base + demoSlackPath, Description: slackDescription, Format: webhooks.FormatSlack, AllNumbers: true,
			Events: []string{webhooks.MemberChanged, webhooks.AlertRaised}},
	} {
		var found *webhooks.Endpoint
		for i := range existing {
			if existing[i].Description == want.Description {
				found = &existing[i]
			}
		}
		if found != nil {
			// The receiver's port is new at every start.
			if err := hooks.ChangeURL(ctx, admin, found.ID, want.URL); err != nil {
				stop()
				return nil, err
			}
			continue
		}
		e, _, err := hooks.Create(ctx, admin, want)
		if err != nil {
			stop()
			return nil, err
		}
		if err := hooks.SendTest(ctx, admin, e.ID); err != nil {
			stop()
			return nil, err
		}
	}
	return stop, nil
}

// receive answers like a CRM's or Slack's hook would.
func receive(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == demoSlackPath:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	case rand.IntN(25) == 0:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"error":"busy","message":"The CRM is syncing; try again shortly."}`)
	default:
		_, _ = fmt.Fprintf(w, `{"received":true,"id":"%s"}`, r.Header.Get("webhook-id"))
	}
}
