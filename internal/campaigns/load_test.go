package campaigns_test

import (
	"flag"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/consent"
)

// The load figure: a 100,000-recipient campaign at the default throughput (80/s) runs at
// ≥ 95 % of the allowed rate, measured on the simulator's clock, while inbox pages stay fast.
//
//	go test ./internal/campaigns -run TestCampaignLoadFigure -v -timeout 40m -campaignload.recipients=100000
var loadRecipients = flag.Int("campaignload.recipients", 0, "run TestCampaignLoadFigure with this many recipients (100000 for the issue's figure); 0 skips it")

func TestCampaignLoadFigure(t *testing.T) {
	n := *loadRecipients
	if n == 0 {
		t.Skip("set -campaignload.recipients (100000 for the issue's figure)")
	}
	f := newFixture(t, apptest.Options{SimulatorClock: clock.System{}})
	if _, err := f.in.App.DB.W.Exec(`UPDATE phone_numbers SET messaging_limit = 'TIER_UNLIMITED'`); err != nil {
		t.Fatal(err)
	}
	// Some open conversations for the inbox pages to show.
	for i := range 40 {
		f.customer("Customer writing "+string(rune('A'+i%26)), consent.StatusNone)
	}
	f.bulkCustomers(n)
	c, err := f.in.App.Campaigns.Create(f.ctx, f.author, f.draft("Load", f.marketing))
	if err != nil {
		t.Fatal(err)
	}
	if c.Recipients != n {
		t.Fatalf("%d recipients, want %d", c.Recipients, n)
	}
	agent := f.in.CreateMember("agent@example.com", "Agnes Agent", "administrator", "correct horse battery staple")
	client := f.in.Client()
	client.SignIn(agent.Email, "correct horse battery staple")
	if _, err := f.in.App.Campaigns.Approve(f.ctx, f.approver, c.ID); err != nil {
		t.Fatal(err)
	}

	// Inbox pages while it sends: one member reloading the inbox every 100 ms.
	stop := make(chan struct{})
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			start := time.Now()
			r := client.Get("/inbox")
			d := time.Since(start)
			if r.Status != http.StatusOK {
				t.Errorf("inbox: %d", r.Status)
				return
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		}
	})
	deadline := time.Now().Add(time.Duration(n/60+120) * time.Second)
	for f.status(c.ID) != campaigns.StatusCompleted {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatalf("not completed in time: %+v", f.progress(c.ID))
		}
		time.Sleep(time.Second)
	}
	close(stop)
	wg.Wait()

	var times []time.Time
	for _, m := range f.in.Sim.Sent() {
		if m.ID != "" && m.Type == "template" {
			times = append(times, m.At)
		}
	}
	if len(times) != n {
		t.Fatalf("simulator accepted %d, want %d", len(times), n)
	}
	span := times[len(times)-1].Sub(times[0])
	rate := float64(n-1) / span.Seconds()
	slices.Sort(latencies)
	p := func(q float64) time.Duration { return latencies[int(float64(len(latencies)-1)*q)] }
	t.Logf("%d recipients in %v on the simulator's clock: %.1f messages/s = %.1f %% of 80/s", n, span.Round(time.Millisecond), rate, rate/80*100)
	t.Logf("inbox page during the campaign: %d requests, p50 %v, p95 %v, p99 %v, max %v", len(latencies),
		p(0.5).Round(100*time.Microsecond), p(0.95).Round(100*time.Microsecond), p(0.99).Round(100*time.Microsecond), latencies[len(latencies)-1].Round(100*time.Microsecond))
	if rate < 0.95*80 {
		t.Errorf("%.1f messages/s: below 95 %% of the allowed 80/s", rate)
	}
	if rate > 80*1.02 {
		t.Errorf("%.1f messages/s: faster than the number's throughput", rate)
	}
}
