package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
)

// slowAnswers holds each Cloud API answer back after the simulator has acted on the request:
// a kill then lands while Meta has accepted messages whose answers Switchboard never read, the
// worst moment of the crash window (campaigns/runner.go).
type slowAnswers struct {
	http.ResponseWriter
	delayed bool
}

func (w *slowAnswers) WriteHeader(code int) {
	if !w.delayed {
		w.delayed = true
		time.Sleep(150 * time.Millisecond)
	}
	w.ResponseWriter.WriteHeader(code)
}

// kill -9 of the real binary in the middle of a campaign, restart on the same data: every
// recipient got the message exactly once, by the record of the simulator, which runs in this
// test and outlives the killed process. Sends in flight at the kill are reconciled by the
// status webhooks Meta (the simulator) retries with their callback key, or sent again once
// none came.
func TestKillDuringCampaignSendsEachRecipientOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it mid-campaign")
	}
	const recipients = 600
	bin := buildSwitchboard(t)
	dir, addr := t.TempDir(), freeLoopbackAddr(t)

	waba := demo.SandboxWABA()
	for i := range waba.PhoneNumbers {
		waba.PhoneNumbers[i].MessagingLimit = "TIER_UNLIMITED"
	}
	// Meta retries webhooks for days; the simulator retries for about a minute here.
	sim := simulator.New(simulator.Options{AccessToken: demo.Token, AppSecret: demo.AppSecret, WABAs: []simulator.WABA{waba},
		WebhookURL: "http://" + addr + "/webhooks/whatsapp", WebhookAttempts: 9, WebhookBackoff: 250 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.Handler().ServeHTTP(&slowAnswers{ResponseWriter: w}, r)
	}))
	defer graph.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = sim.AutoProgress(ctx, simulator.Progress{Sent: 20 * time.Millisecond, Delivered: -1, Read: -1})
	}()
	args := []string{"--graph-url", graph.URL, "--campaign-reconcile-after", "8s"}

	// First start: the demo workspace is prepared against the simulator.
	p := startSwitchboard(t, bin, dir, addr, "warn", args...)
	p.stop(t)

	// The campaign: 600 opted-in customers, created by the demo's Administrator, approved by a
	// second administrator, written while the server is down.
	core, err := app.OpenCore(ctx, app.CoreOptions{DataDir: dir, GraphURL: graph.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	want := seedCampaign(t, ctx, core, recipients)
	if err := core.Close(); err != nil {
		t.Fatal(err)
	}

	accepted := func() map[string]int {
		out := map[string]int{}
		for _, m := range sim.Sent() {
			if m.ID != "" && m.Type == whatsapp.TypeTemplate {
				out[m.To]++
			}
		}
		return out
	}
	p = startSwitchboard(t, bin, dir, addr, "warn", args...)
	deadline := time.Now().Add(90 * time.Second)
	for len(accepted()) < recipients/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d sent in 90 s\n%s", len(accepted()), p.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.kill(t)
	atKill := len(accepted())
	q := openReadOnly(t, dir)
	var inFlight, sentStored int
	q.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE state = 'sending'`).Scan(&inFlight)
	q.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE state = 'sent'`).Scan(&sentStored)
	t.Logf("at the kill: simulator accepted %d, stored as sent %d, in flight %d", atKill, sentStored, inFlight)
	if inFlight == 0 || atKill <= sentStored {
		t.Logf("the kill did not land inside the crash window this time")
	}

	p = startSwitchboard(t, bin, dir, addr, "warn", args...)
	defer p.stop(t)
	deadline = time.Now().Add(3 * time.Minute)
	for {
		var status string
		if err := q.QueryRow(`SELECT status FROM campaigns`).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == string(campaigns.StatusCompleted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s after 3 minutes\n%s", status, p.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a repeat would show up now
	got := accepted()
	missing, twice := 0, 0
	for _, wa := range want {
		switch n := got[wa]; {
		case n == 0:
			missing++
		case n > 1:
			twice++
			t.Errorf("%s received the campaign %d times", wa, n)
		}
	}
	if missing > 0 || len(got) != recipients {
		t.Errorf("%d recipients never received it; %d customers received something, want %d", missing, len(got), recipients)
	}
	var sent, adopted int
	q.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE state = 'sent'`).Scan(&sent)
	q.QueryRow(`SELECT count(*) FROM messages m JOIN campaign_recipients r ON r.message_id = m.id WHERE m.wamid = r.wamid`).Scan(&adopted)
	if sent != recipients || adopted != recipients {
		t.Errorf("stored: %d sent, %d messages with their wamid; want %d", sent, adopted, recipients)
	}
	t.Logf("after the restart: %d recipients, each once; %d were in flight at the kill", recipients, inFlight)
}

// seedCampaign adds n opted-in customers and a running campaign to them on the sales number,
// and returns their wa_ids.
func seedCampaign(t *testing.T, ctx context.Context, core *app.Core, n int) []string {
	t.Helper()
	now := time.Now().UnixMilli()
	tx, err := core.DB.W.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		wa := fmt.Sprintf("4917%08d", i)
		res, err := tx.Exec(`INSERT INTO contacts (wa_id, profile_name, created_at, updated_at) VALUES (?, ?, ?, ?)`, wa, fmt.Sprintf("Kunde %d", i), now, now)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if _, err := tx.Exec(`INSERT INTO contact_consents (contact_id, status, source, text, actor_name, recorded_at)
			VALUES (?, 'opted_in', 'import', 'Angebote per WhatsApp: ja', 'Import', ?)`, id, now); err != nil {
			t.Fatal(err)
		}
		want = append(want, wa)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	second, err := core.Members.Create(ctx, members.NewMember{Email: "second-admin@example.com", Name: "Second Admin",
		Password: "correct horse battery staple", RoleKey: "administrator"})
	if err != nil {
		t.Fatal(err)
	}
	var adminID, numberID, templateID int64
	if err := core.DB.R.QueryRow(`SELECT m.id FROM members m JOIN roles r ON r.id = m.role_id WHERE r.key = 'administrator' AND m.id <> ? ORDER BY m.id LIMIT 1`,
		second.ID).Scan(&adminID); err != nil {
		t.Fatal(err)
	}
	core.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, demo.NumberSales).Scan(&numberID)
	core.DB.R.QueryRow(`SELECT id FROM templates WHERE name = 'we_miss_you'`).Scan(&templateID)
	author, _, err := core.Members.Store().Principal(ctx, adminID)
	if err != nil {
		t.Fatal(err)
	}
	approver, _, err := core.Members.Store().Principal(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := campaigns.Draft{Name: "Frühlingsangebot", TemplateID: templateID, PhoneNumberID: numberID, TimeZone: "Europe/Berlin",
		Segment:  campaigns.Segment{PhonePrefix: "+4917"},
		Bindings: map[string]campaigns.Binding{"1": {Source: campaigns.SourceFirstName, Value: "there"}}}
	c, err := core.Campaigns.Create(ctx, author, d)
	if err != nil {
		t.Fatal(err)
	}
	if c.Recipients != n {
		t.Fatalf("campaign has %d recipients, want %d", c.Recipients, n)
	}
	if _, err := core.Campaigns.Approve(ctx, approver, c.ID); err != nil {
		t.Fatal(err)
	}
	return want
}
