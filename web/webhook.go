package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// WebhookIngester stores an accepted webhook body durably, with its effects, before Meta is
// answered: Meta retries only for a while and offers no way to fetch what was missed.
type WebhookIngester interface {
	Submit(ctx context.Context, raw []byte, events []whatsapp.Event) error
}

// webhookVerify answers Meta's subscription handshake.
func (s *Server) webhookVerify(c echo.Context) error {
	tokens, err := s.Workspace.VerifyTokens(c.Request().Context())
	if err != nil {
		return err
	}
	q := c.QueryParams()
	for _, tok := range tokens {
		if challenge, ok := whatsapp.VerifyChallenge(q, tok); ok {
			return c.String(http.StatusOK, challenge)
		}
	}
	return c.JSON(http.StatusForbidden, map[string]string{"error": "verify token does not match"})
}

// webhookReceive verifies the signature on the raw body, stores the body and applies its events
// in one durable commit, and only then answers 200.
func (s *Server) webhookReceive(c echo.Context) error {
	ctx := c.Request().Context()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, whatsapp.MaxWebhookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body over 3 MB"})
	}
	if err != nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "could not read the body"})
	}
	if !s.signedByMeta(ctx, body, c.Request().Header.Get(whatsapp.SignatureHeader)) {
		s.signatureFailures.add(ctx, s, c.RealIP())
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "signature does not match"})
	}
	hook, err := whatsapp.ParseWebhook(body)
	var events []whatsapp.Event
	if err == nil {
		events = hook.Events()
	}
	// A signed body we cannot parse is still Meta's: keep it for reprocessing and answer 200, or
	// Meta would retry it for a week.
	if err := s.Ingester.Submit(ctx, body, events); err != nil {
		return err
	}
	s.applyTemplateEvents(ctx, events)
	return c.JSON(http.StatusOK, map[string]bool{"success": true})
}

func (s *Server) signedByMeta(ctx context.Context, body []byte, header string) bool {
	secrets, err := s.Workspace.AppSecrets(ctx)
	if err != nil {
		s.Logger.ErrorContext(ctx, "read app secrets", "error", err)
		return false
	}
	for _, secret := range secrets {
		if whatsapp.VerifySignature(secret, body, header) == nil {
			return true
		}
	}
	return false
}

// applyTemplateEvents hands template status and quality changes to the templates workflow. The
// raw body is already stored, so a failure here is logged, not answered with a retry.
func (s *Server) applyTemplateEvents(ctx context.Context, events []whatsapp.Event) {
	for _, ev := range events {
		switch e := ev.(type) {
		case whatsapp.TemplateStatus:
			event, err := templates.ParseMetaEvent(e.Event)
			if err != nil {
				s.Logger.WarnContext(ctx, "unknown template event", "event", e.Event)
				continue
			}
			if _, _, err := s.Templates.ApplyMetaStatus(ctx, templates.StatusUpdate{WABAID: e.WABAID, MetaTemplateID: e.TemplateID,
				Event: event, Reason: e.Reason, At: s.Clock.Now()}); err != nil && !errors.Is(err, templates.ErrNotFound) {
				s.Logger.ErrorContext(ctx, "apply template status", "template", e.TemplateID, "error", err)
			}
		case whatsapp.TemplateQuality:
			if _, err := s.Templates.ApplyQualityUpdate(ctx, e.WABAID, e.TemplateID, e.NewScore); err != nil && !errors.Is(err, templates.ErrNotFound) {
				s.Logger.ErrorContext(ctx, "apply template quality", "template", e.TemplateID, "error", err)
			}
		}
	}
}

// signatureMonitor raises an alert when webhook signature failures spike. It counts in memory so
// that a flood of forged requests costs no database write until the threshold is crossed.
type signatureMonitor struct {
	mu       sync.Mutex
	window   []time.Time
	lastSent time.Time
}

func (m *signatureMonitor) add(ctx context.Context, s *Server, addr string) {
	// The threshold and window are the alert rule's (Settings → Alert rules).
	spike, window, on := s.Alerts.SignatureThreshold(ctx)
	if !on {
		return
	}
	now := s.Clock.Now()
	m.mu.Lock()
	keep := m.window[:0]
	for _, t := range m.window {
		if now.Sub(t) < window {
			keep = append(keep, t)
		}
	}
	m.window = append(keep, now)
	n := len(m.window)
	raise := n >= spike && now.Sub(m.lastSent) >= time.Minute
	if raise {
		m.lastSent = now
	}
	m.mu.Unlock()
	if !raise {
		return
	}
	if _, err := s.Alerts.Record(ctx, alerts.Alert{Kind: alerts.KindWebhookSignatureFailures,
		Title:   "Webhook requests with a wrong signature: " + strconv.Itoa(n) + " in the last " + strconv.Itoa(int(window.Minutes())) + " minutes",
		Subject: alerts.Subject{Type: "webhook", ID: "whatsapp"}, Details: map[string]string{"last_address": addr}}); err != nil {
		s.Logger.ErrorContext(ctx, "raise signature alert", "error", err)
	}
}
