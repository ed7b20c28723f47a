// Package demo runs the sandbox workspace of `switchboard serve --demo`: the local Cloud API
// simulator in place of Meta, a connected WhatsApp Business Account with two numbers, approved
// templates, one member per built-in role, and customers who write in and answer back.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
	"github.com/switchboard/switchboard/internal/workspace"
)

// The sandbox credentials. They are only ever accepted by the local simulator.
const (
	Token       = "EAAGdemo-sandbox-token-not-a-real-one"
	AppSecret   = "demo-sandbox-app-secret-0123456789"
	VerifyToken = "demo-sandbox-verify-token"
	WABAID      = "102290129340398"
	NumberSales = "106540352242922"
	NumberCare  = "106540352242923"
)

// Sandbox is a running simulator.
type Sandbox struct {
	Sim      *simulator.Simulator
	GraphURL string
	server   *http.Server
}

// Start serves the simulator on a loopback port; webhookURL is where it delivers customer
// messages and statuses (Switchboard's /webhooks/whatsapp).
func Start(clk clock.Clock, webhookURL string, logger *slog.Logger) (*Sandbox, error) {
	return Listen("127.0.0.1:0", clk, webhookURL, logger)
}

// Listen serves the simulator of the sandbox WABA on addr (for `switchboard simulator`, which
// runs it on its own for a Switchboard started with --graph-url pointing at it).
func Listen(addr string, clk clock.Clock, webhookURL string, logger *slog.Logger) (*Sandbox, error) {
	progress, talkBack := simulator.DefaultProgress(), simulator.DefaultTalkBack()
	sim := simulator.New(simulator.Options{
		Clock: clk, AccessToken: Token, AppSecret: AppSecret, WebhookURL: webhookURL,
		WABAs:    []simulator.WABA{wabA()},
		Progress: &progress, TalkBack: &talkBack, AutoApproveTemplates: 20 * time.Second,
		Logger: logger,
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen for the simulator: %w", err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("demo simulator stopped", "error", err)
		}
	}()
	return &Sandbox{Sim: sim, GraphURL: "http://" + l.Addr().String(), server: srv}, nil
}

// Close stops the simulator's server.
func (s *Sandbox) Close() error { return s.server.Close() }

func wabA() simulator.WABA {
	return simulator.WABA{ID: WABAID, Name: "Lucky Shrub", PhoneNumbers: []whatsapp.PhoneNumber{
		{ID: NumberSales, DisplayPhoneNumber: "+1 555-078-3881", VerifiedName: "Lucky Shrub Sales", QualityRating: "GREEN", MessagingLimit: "TIER_1K"},
		{ID: NumberCare, DisplayPhoneNumber: "+49 30 9018 2044", VerifiedName: "Lucky Shrub Care", QualityRating: "YELLOW", MessagingLimit: "TIER_250"},
	}, Templates: []whatsapp.Template{
		{ID: "1689556908129832", Name: "order_confirmation", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Components: []whatsapp.TemplateComponent{
				{Type: "BODY", Text: "Hi {{1}}, your order {{2}} is confirmed and ships in two days.",
					Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Pablo", "860198"}}}},
				{Type: "FOOTER", Text: "Lucky Shrub"},
			}},
		{ID: "1689556908129833", Name: "we_miss_you", Language: "en_US", Status: "APPROVED", Category: "MARKETING",
			Components: []whatsapp.TemplateComponent{
				{Type: "BODY", Text: "Hello {{1}}, spring plants are in! Reply to this message to hear about this week's offers.",
					Example: &whatsapp.TemplateExample{BodyText: [][]string{{"Sheena"}}}},
			}},
	}}
}

// Prepare makes sure the demo workspace exists: members for every built-in role with fresh
// passwords, the sandbox WABA connected, its numbers and templates fetched, canned replies.
func Prepare(ctx context.Context, m *members.Service, ws *workspace.Service, tpl *templates.Service, ib *inbox.Service) ([]members.DemoCredential, error) {
	creds, err := m.SeedDemo(ctx)
	if err != nil {
		return nil, err
	}
	if err := SeedTimeZones(ctx, m); err != nil {
		return nil, err
	}
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return nil, err
	}
	existing, err := ib.CannedResponses(ctx, admin)
	if err != nil {
		return nil, err
	}
	if len(existing) == 0 {
		for _, c := range []inbox.CannedInput{
			{Title: "Thanks, we are on it", Body: "Thank you for your message! A colleague is looking into it and will answer shortly."},
			{Title: "Opening hours", Body: "Our shop is open Monday to Saturday, 9:00 to 18:00."},
			{Title: "Order on its way", Body: "Hi {{name}}, good news: your order is on its way and arrives in 2–3 days. {{agent}} from Lucky Shrub"},
		} {
			if _, err := ib.CreateCanned(ctx, admin, c); err != nil {
				return nil, err
			}
		}
	}
	wabas, err := ws.Store().WABAs(ctx)
	if err != nil {
		return nil, err
	}
	var ref int64
	for _, w := range wabas {
		if w.WABAID == WABAID {
			ref = w.ID
		}
	}
	if ref == 0 {
		w, err := ws.Connect(ctx, workspace.WABAInput{WABAID: WABAID, Name: "Lucky Shrub (sandbox)", AccessToken: Token,
			AppSecret: AppSecret, VerifyToken: VerifyToken})
		if err != nil {
			return nil, fmt.Errorf("demo: connect the sandbox WABA: %w", err)
		}
		ref = w.ID
	}
	if _, err := ws.SyncNumbers(ctx, ref); err != nil {
		return nil, fmt.Errorf("demo: fetch sandbox numbers: %w", err)
	}
	if _, err := tpl.SyncFromMeta(ctx, WABAID); err != nil {
		return nil, fmt.Errorf("demo: fetch sandbox templates: %w", err)
	}
	if err := templateInReview(ctx, tpl, admin); err != nil {
		return nil, err
	}
	return creds, nil
}

// InReviewTemplate is the template the demo's Administrator wrote and sent for review, so the
// Marketing lead has a colleague's template to approve (four eyes) at their first sign-in.
const InReviewTemplate = "spring_offer"

func templateInReview(ctx context.Context, tpl *templates.Service, author *authz.Principal) error {
	existing, err := tpl.List(ctx, author, templates.ListFilter{WABAID: WABAID, NameContains: InReviewTemplate})
	if err != nil {
		return err
	}
	for _, t := range existing {
		if t.Name == InReviewTemplate {
			return nil // kept as the demo left it: approved, sent back or still waiting
		}
	}
	t, err := tpl.CreateDraft(ctx, author, templates.Draft{WABAID: WABAID, Name: InReviewTemplate, Language: "en_US",
		Content: templates.Content{Category: templates.CategoryMarketing, ParameterFormat: templates.ParameterFormatPositional,
			Header: templates.Header{Format: templates.HeaderNone},
			Body: templates.Body{Text: "Hi {{1}}, our spring sale starts today: 20% off every olive tree until Sunday.",
				Examples: map[string]string{"1": "Sheena"}},
			Footer: "Lucky Shrub"}})
	if err != nil {
		return fmt.Errorf("demo: write the template in review: %w", err)
	}
	if _, err := tpl.SubmitForReview(ctx, author, t.ID); err != nil {
		return fmt.Errorf("demo: send the template for review: %w", err)
	}
	return nil
}

// Customers are the demo's people who write in.
var customers = []struct{ number, waID, name, text string }{
	{NumberSales, "16505551234", "Sheena Nelson", "Hi! Do you deliver olive trees to Palo Alto?"},
	{NumberSales, "16505559876", "+1 650 555 9876", "Is my order 860198 on its way?"},
	{NumberCare, "4915112341234", "Jonas Weber", "Hallo, meine Monstera hat gelbe Blätter. Was tun?"},
}

// CustomersWriteIn has the demo's customers send their first messages through the simulator,
// as signed webhooks, once the server is up, and gives the first conversation to the demo
// agent so that their "Mine" box is not empty.
func (s *Sandbox) CustomersWriteIn(ctx context.Context, m *members.Service, ib *inbox.Service) error {
	for _, c := range customers {
		if _, err := s.Sim.CustomerSays(ctx, c.number, c.waID, c.name, c.text); err != nil {
			return fmt.Errorf("demo: customer %s: %w", c.name, err)
		}
	}
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	agent, err := demoPrincipal(ctx, m, "agent")
	if err != nil {
		return err
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxUnassigned})
	if err != nil || len(page.Conversations) == 0 {
		return err
	}
	return ib.Assign(audit.WithActor(ctx, audit.System()), admin, page.Conversations[len(page.Conversations)-1].ID, agent.MemberID)
}

func demoPrincipal(ctx context.Context, m *members.Service, roleKey string) (*authz.Principal, error) {
	member, err := m.Store().ByEmail(ctx, roleKey+"@demo.switchboard.test")
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w", roleKey, err)
	}
	p, _, err := m.Store().Principal(ctx, member.ID)
	return p, err
}

// Run drives the simulator's demo behaviour (delivery progress, customers answering back,
// template approval) until ctx ends.
func (s *Sandbox) Run(ctx context.Context) error { return s.Sim.Run(ctx) }
