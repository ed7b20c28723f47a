package inbox

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The live-update figure, measured in process (ingester, fan-out, subscribers; no HTTP):
//
//	go test -run TestLiveLoadFigures -v ./internal/inbox -live.duration=30s
var liveDuration = flag.Duration("live.duration", 0, "run TestLiveLoadFigures for this long; 0 skips it")

// 200 members keep a page open (a quarter supervisors of every number, the rest agents of one
// number with their own conversations) while customers write at 500 messages/s. For each message
// that arrives, the time until each member who may see it is told; every event
// delivered is checked against the member's visibility.
func TestLiveLoadFigures(t *testing.T) {
	if *liveDuration == 0 {
		t.Skip("set -live.duration to measure")
	}
	const (
		subscribers = 200
		rate        = 500
		customers   = 2000
	)
	ctx := context.Background()
	d := openDB(t)
	clk := clock.System{}
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	seedNumbers(t, d, 2)
	svc := NewService(d, audit.New(d, clk), clk, nil)
	live := NewLive(d, nil)
	defer live.Close()
	svc.Live = live
	g := NewIngester(d, svc.ApplyEvents, IngesterOptions{MaxDelay: ServerMaxDelay,
		Committed: func(ids []int64) { live.Publish(ids...) }})
	defer g.Close()

	// Every customer writes once, so that each has a conversation to assign.
	numbers := []string{metaNumberA, metaNumberB}
	body := func(i, seq int) []byte {
		return inboundBody(inbound{number: numbers[i%2], waID: "4917" + fmt.Sprintf("%09d", i), name: "Customer " + strconv.Itoa(i),
			wamid: fmt.Sprintf("wamid.live.%d.%d", i, seq), text: "message " + strconv.Itoa(seq), at: time.Now()})
	}
	for i := range customers {
		if err := deliver(ctx, g, body(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	convOf := map[int]int64{}
	rows, err := d.R.QueryContext(ctx, `SELECT c.id, ct.wa_id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var wa string
		if err := rows.Scan(&id, &wa); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(wa[4:])
		convOf[n] = id
	}
	rows.Close()

	type member struct {
		p   *authz.Principal
		sub *Subscription
	}
	var ms []member
	admin := principalOf(t, d, insertMember(t, d, "Admin", authz.RoleAdministrator))
	for i := range subscribers {
		var p *authz.Principal
		if i%4 == 0 {
			p = principalOf(t, d, insertMember(t, d, "Supervisor "+strconv.Itoa(i), authz.RoleAnalyst))
		} else {
			number := int64(1 + i%2)
			p = principalOf(t, d, insertMember(t, d, "Agent "+strconv.Itoa(i), authz.RoleAgent, number))
		}
		ms = append(ms, member{p: p})
	}
	// Each agent gets the conversations of their number in turn.
	agents := map[int64][]int{} // number → indexes in ms
	for i, m := range ms {
		if !m.p.Numbers.All {
			agents[m.p.Numbers.IDs[0]] = append(agents[m.p.Numbers.IDs[0]], i)
		}
	}
	facts := map[int64]authz.ConversationFacts{}
	for c := range customers {
		number := int64(1 + c%2)
		list := agents[number]
		a := ms[list[c%len(list)]]
		if err := svc.Assign(ctx, admin, convOf[c], a.p.MemberID); err != nil {
			t.Fatal(err)
		}
		facts[convOf[c]] = authz.ConversationFacts{PhoneNumberID: number, AssigneeID: a.p.MemberID}
	}
	time.Sleep(100 * time.Millisecond) // the assignments' own events pass
	for i := range ms {
		ms[i].sub = live.Subscribe(ms[i].p)
	}

	// Arrival times by conversation, and what each subscriber received.
	var mu sync.Mutex
	acked := map[int64][]time.Time{}
	var ackLat []time.Duration // arrival → stored and acknowledged, for comparison
	type delivery struct {
		conv int64
		at   time.Time
	}
	got := make([][]delivery, len(ms))
	var readers sync.WaitGroup
	stop := make(chan struct{})
	for i := range ms {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case ev := <-ms[i].sub.Events():
					got[i] = append(got[i], delivery{ev.ConversationID, time.Now()})
				case <-stop:
					return
				}
			}
		}()
	}

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	deadline := start.Add(*liveDuration)
	tick := time.NewTicker(time.Millisecond)
	var sent int
	var senders sync.WaitGroup
	for time.Now().Before(deadline) {
		<-tick.C
		// Open loop: whatever fell due since the last tick goes now, so a busy machine cannot
		// lower the rate.
		for due := int(time.Since(start).Seconds() * rate); sent < due; {
			sent++
			c := sent % customers
			raw := body(c, sent)
			senders.Add(1)
			go func() {
				defer senders.Done()
				at := time.Now() // the webhook arrives: the figure runs from here, so it includes the commit
				w, err := whatsapp.ParseWebhook(raw)
				if err != nil {
					t.Error(err)
					return
				}
				if err := g.Submit(ctx, raw, w.Events()); err != nil {
					t.Error(err)
					return
				}
				took := time.Since(at)
				mu.Lock()
				acked[convOf[c]] = append(acked[convOf[c]], at)
				ackLat = append(ackLat, took)
				mu.Unlock()
			}()
		}
	}
	tick.Stop()
	senders.Wait()
	time.Sleep(500 * time.Millisecond)
	close(stop)
	readers.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	// For each message, the first event for its conversation that each allowed subscriber received
	// after the webhook arrived. Measured from arrival rather than from the acknowledgement, the
	// figure includes the commit, and no scheduling delay in reading the clock after Submit can
	// put the event "before" its message.
	var lat []time.Duration
	var leaks, missed, resyncs int
	for i, m := range ms {
		vis := m.p.Conversations()
		byConv := map[int64][]time.Time{}
		for _, dl := range got[i] {
			if dl.conv == 0 {
				resyncs++ // tells the page to refresh everything, so it tells of every conversation
			}
			if dl.conv != 0 && !vis.Allows(facts[dl.conv]) {
				leaks++
			}
			byConv[dl.conv] = append(byConv[dl.conv], dl.at)
		}
		for conv, acks := range acked {
			if !vis.Allows(facts[conv]) {
				continue
			}
			times := slices.SortedFunc(slices.Values(slices.Concat(byConv[conv], byConv[0])), func(x, y time.Time) int { return x.Compare(y) })
			for _, a := range acks {
				j, _ := slices.BinarySearchFunc(times, a, func(x, y time.Time) int { return x.Compare(y) })
				if j == len(times) {
					missed++
					continue
				}
				lat = append(lat, max(0, times[j].Sub(a)))
			}
		}
	}
	slices.Sort(lat)
	slices.Sort(ackLat)
	pctOf := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[int(p*float64(len(l)-1))]
	}
	pct := func(p float64) time.Duration { return pctOf(lat, p) }
	t.Logf("webhook arrival → stored and acknowledged (the ingest alone): p50 %s, p95 %s, p99 %s", pctOf(ackLat, .5), pctOf(ackLat, .95), pctOf(ackLat, .99))
	stats := live.Stats()
	t.Logf("%d messages at %d/s for %s, %d subscribers: %d (message, subscriber) pairs, webhook arrival → subscriber told: p50 %s, p95 %s, p99 %s, max %s; "+
		"missed %d, delivered to a member who may not see it %d; events delivered %d, resyncs %d, dropped %d; heap %.1f MB → %.1f MB",
		sent, rate, *liveDuration, subscribers, len(lat), pct(.5), pct(.95), pct(.99), pct(1), missed, leaks,
		stats.Delivered, resyncs, stats.Dropped, float64(before.HeapInuse)/1e6, float64(after.HeapInuse)/1e6)
	// The process's peak resident memory: the server's part (ingester, fan-out, database
	// pools) plus this test's 200 subscribers and load generator, so an upper bound.
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				t.Logf("peak resident memory of the whole test process: %s", strings.TrimSpace(v))
			}
		}
	}
	if leaks != 0 {
		t.Errorf("%d events reached members who may not see the conversation", leaks)
	}
	if p95 := pct(.95); p95 > 200*time.Millisecond {
		t.Errorf("p95 %s, target ≤ 200 ms", p95)
	}
}

func principalOf(t *testing.T, d *db.DB, id int64) *authz.Principal {
	t.Helper()
	p, _, err := members.NewStore(d).Principal(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
