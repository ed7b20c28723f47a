package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

var (
	testSecret  = []byte("loadgen-test-secret")
	testNumbers = []Number{{ID: "106540352242922", Display: "15550783881"}, {ID: "106540352242923", Display: "493090182044"}}
)

func testConfig(url string) Config {
	return Config{URL: url, AppSecret: testSecret, WABAID: "102290129340398", Numbers: testNumbers, RunID: "T1"}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/webhooks/whatsapp", true},
		{"http://127.5.6.7/webhooks/whatsapp", true},
		{"https://127.0.0.1/webhooks/whatsapp", true},
		{"http://localhost:9000/webhooks/whatsapp", true},
		{"http://LocalHost/webhooks/whatsapp", true},
		{"http://[::1]:8080/webhooks/whatsapp", true},
		{"http://10.0.0.1/webhooks/whatsapp", false},
		{"http://192.168.1.20:8080/", false},
		{"https://switchboard.example.com/webhooks/whatsapp", false},
		{"http://0.0.0.0:8080/", false}, // "any address": not a loopback target
		{"http://[::]:8080/", false},    // likewise
		{"http://2130706433/", false},   // 127.0.0.1 as a decimal: resolvers disagree, so no
		{"http://127.0.0.1.nip.io/", false},
		{"http://localhost.example.com/", false},
		{"http://[::ffff:10.0.0.1]/", false},
		{"http://user:pw@127.0.0.1/", false},
		{"ftp://127.0.0.1/", false},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		_, err := CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q): error %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestNewRefusesATargetThatIsNotLoopback(t *testing.T) {
	_, err := New(testConfig("https://graph.facebook.com/webhooks/whatsapp"))
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("New with a public URL: %v, want ErrNotLoopback", err)
	}
}

func TestNewRefusesIncompleteConfigs(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"no secret":        func(c *Config) { c.AppSecret = nil },
		"no WABA":          func(c *Config) { c.WABAID = "" },
		"no numbers":       func(c *Config) { c.Numbers = nil },
		"too many workers": func(c *Config) { c.Workers = MaxWorkers + 1 },
		"count too high":   func(c *Config) { c.Count = MaxCount + 1 },
		"run id with dots": func(c *Config) { c.RunID = "a.b" },
		"all duplicates":   func(c *Config) { c.Duplicates = 1 },
	} {
		c := testConfig("http://127.0.0.1:1/")
		mutate(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDialsOnlyLoopbackAddresses(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:80": true, "127.9.9.9:1": true, "[::1]:443": true,
		"10.0.0.1:80": false, "93.184.216.34:443": false, "[2001:db8::1]:80": false, "nonsense": false} {
		if err := guardLoopback("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("dial %s: %v, want ok=%v", addr, err, ok)
		}
	}
}

// The bodies must be what Meta sends: signed over the exact bytes, parsed by the server's own
// parser into the events the generator says they carry.
func TestWorkloadBodiesAreSignedMetaWebhooks(t *testing.T) {
	w := NewWorkload(testConfig(""), 3)
	const n = 4000
	seen := map[string][]byte{} // raw body of each fresh body, by its first key
	fresh := map[Key]bool{}
	var dups, messages, statuses int
	numbers := map[string]int{}
	lastStep := map[string]int{}
	for range n {
		b := w.Next()
		if err := whatsapp.VerifySignature(testSecret, b.Raw, b.Signature); err != nil {
			t.Fatalf("signature: %v", err)
		}
		hook, err := whatsapp.ParseWebhook(b.Raw)
		if err != nil {
			t.Fatalf("parse %s: %v", b.Raw, err)
		}
		events := hook.Events()
		if len(events) != len(b.Events) {
			t.Fatalf("%d events parsed, %d announced: %s", len(events), len(b.Events), b.Raw)
		}
		if b.Duplicate {
			dups++
			if prev, ok := seen[b.Events[0].String()]; !ok || !bytes.Equal(prev, b.Raw) {
				t.Fatalf("duplicate is not a byte-for-byte copy of an earlier body: %s", b.Raw)
			}
			continue
		}
		seen[b.Events[0].String()] = b.Raw
		for i, ev := range events {
			key := b.Events[i]
			if fresh[key] {
				t.Fatalf("event %s in two fresh bodies", key)
			}
			fresh[key] = true
			switch e := ev.(type) {
			case whatsapp.InboundMessage:
				messages++
				numbers[e.PhoneNumberID]++
				if key.Kind != KindMessage || e.MessageID != key.WAMID || e.WaID == "" || e.ContactName == "" || e.Text == "" ||
					e.Type != whatsapp.TypeText || e.Timestamp.IsZero() {
					t.Fatalf("inbound message %+v for key %v", e, key)
				}
			case whatsapp.StatusUpdate:
				statuses++
				numbers[e.PhoneNumberID]++
				if key.Kind != KindStatus || e.MessageID != key.WAMID || e.Status != key.Status || e.RecipientID == "" {
					t.Fatalf("status %+v for key %v", e, key)
				}
				// Each message's statuses come forward only, in order, once each.
				step := map[string]int{"sent": 1, "delivered": 2, "failed": 3, "read": 3}[e.Status]
				if step != lastStep[e.MessageID]+1 && !(e.Status == "failed" && lastStep[e.MessageID] == 1) {
					t.Fatalf("status %s of %s after step %d", e.Status, e.MessageID, lastStep[e.MessageID])
				}
				lastStep[e.MessageID] = step
			default:
				t.Fatalf("unexpected event %T", ev)
			}
		}
	}
	if share := float64(dups) / n; share < 0.08 || share > 0.12 {
		t.Errorf("duplicates: %.3f of bodies, want about 0.10", share)
	}
	if messages < n/3 || statuses < n/3 {
		t.Errorf("%d messages and %d statuses: want a mix", messages, statuses)
	}
	for _, num := range testNumbers {
		if numbers[num.ID] < n/4 {
			t.Errorf("number %s got %d events: customers should write to both numbers", num.ID, numbers[num.ID])
		}
	}
}

func TestWorkloadIsReproducibleAndWorkersDoNotCollide(t *testing.T) {
	fixed := func() time.Time { return time.Unix(1750030073, 0) }
	a, b, other := NewWorkload(testConfig(""), 0), NewWorkload(testConfig(""), 0), NewWorkload(testConfig(""), 1)
	a.now, b.now, other.now = fixed, fixed, fixed
	keys := map[Key]bool{}
	for range 500 {
		x, y, z := a.Next(), b.Next(), other.Next()
		if !bytes.Equal(x.Raw, y.Raw) {
			t.Fatalf("same seed and worker, different bodies:\n%s\n%s", x.Raw, y.Raw)
		}
		if !x.Duplicate {
			for _, k := range x.Events {
				keys[k] = true
			}
		}
		if !z.Duplicate {
			for _, k := range z.Events {
				if keys[k] {
					t.Fatalf("workers 0 and 1 both made %s", k)
				}
			}
		}
	}
}

func TestStatusesPerBody(t *testing.T) {
	c := testConfig("")
	c.StatusShare, c.StatusesPerBody, c.Duplicates = 1, 3, -1
	w := NewWorkload(c, 0)
	for range 100 {
		b := w.Next()
		hook, err := whatsapp.ParseWebhook(b.Raw)
		if err != nil || len(b.Events) != 3 || len(hook.Events()) != 3 || b.Duplicate {
			t.Fatalf("status body with %d keys, %d events, duplicate %v, err %v", len(b.Events), len(hook.Events()), b.Duplicate, err)
		}
	}
}

// fakeReceiver is a webhook endpoint that checks signatures like Switchboard and remembers the
// events of every body it answered 200.
type fakeReceiver struct {
	mu      sync.Mutex
	acked   map[Key]struct{}
	calls   atomic.Int64
	failNth int64 // answer 503 to every failNth request
}

func (f *fakeReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if whatsapp.VerifySignature(testSecret, raw, r.Header.Get(whatsapp.SignatureHeader)) != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if n := f.calls.Add(1); f.failNth > 0 && n%f.failNth == 0 {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	hook, err := whatsapp.ParseWebhook(raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	for _, ev := range hook.Events() {
		switch e := ev.(type) {
		case whatsapp.InboundMessage:
			f.acked[Key{Kind: KindMessage, WAMID: e.MessageID}] = struct{}{}
		case whatsapp.StatusUpdate:
			f.acked[Key{Kind: KindStatus, WAMID: e.MessageID, Status: e.Status}] = struct{}{}
		}
	}
	f.mu.Unlock()
	w.Write([]byte(`{"success":true}`))
}

func TestRunCountsEveryAnswerAndRemembersWhatWasAcknowledged(t *testing.T) {
	f := &fakeReceiver{acked: map[Key]struct{}{}, failNth: 7}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := testConfig(srv.URL + "/webhooks/whatsapp")
	c.Workers, c.Count, c.Duration = 8, 700, 30*time.Second
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 700 || res.OK+res.Statuses[http.StatusServiceUnavailable] != 700 || res.Errors != 0 {
		t.Fatalf("requests %d, 200 %d, others %v, errors %d %v", res.Requests, res.OK, res.Statuses, res.Errors, res.FirstErrors)
	}
	if res.Statuses[http.StatusServiceUnavailable] != 100 || res.NonOK() != 100 {
		t.Errorf("503s: %d, want 100", res.Statuses[http.StatusServiceUnavailable])
	}
	if len(res.Latency) != int(res.OK) || res.Latency.Max() <= 0 {
		t.Errorf("%d latencies for %d 200s", len(res.Latency), res.OK)
	}
	// Acked is exactly what the receiver took: an event answered 503 once and 200 on its
	// duplicate is acknowledged; one only ever answered 503 is not.
	if !maps.Equal(res.Acked, f.acked) {
		t.Errorf("run says %d events acknowledged, receiver took %d", len(res.Acked), len(f.acked))
	}
	for k := range res.Acked {
		if _, ok := res.Sent[k]; !ok {
			t.Fatalf("%s acknowledged but never sent", k)
		}
	}
	if len(res.Sent) <= len(res.Acked) {
		t.Errorf("sent %d distinct events, acknowledged %d: some 503s should be missing from Acked", len(res.Sent), len(res.Acked))
	}
	if res.Duplicates == 0 || res.EventsOK < res.OK {
		t.Errorf("duplicates %d, events acknowledged %d", res.Duplicates, res.EventsOK)
	}
	var perSecond int64
	for _, n := range res.PerSecond {
		perSecond += n
	}
	if perSecond != res.OK {
		t.Errorf("per-second counts add up to %d, 200s %d", perSecond, res.OK)
	}
	if s := res.String(); !bytes.Contains([]byte(s), []byte("p99")) {
		t.Errorf("report: %s", s)
	}
}

func TestRunStopsAtItsDuration(t *testing.T) {
	srv := httptest.NewServer(&fakeReceiver{acked: map[Key]struct{}{}})
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Workers, c.Duration = 4, 300*time.Millisecond
	start := time.Now()
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a 300 ms run took %v", took)
	}
	if res.OK == 0 || res.OK != res.Requests {
		t.Errorf("requests %d, 200 %d", res.Requests, res.OK)
	}
}

func TestRunStopsWhenItsContextEnds(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer srv.Close()
	defer close(hang)
	c := testConfig(srv.URL)
	c.Workers, c.Duration = 4, time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("run went on %v after its context ended", took)
	}
	if res.OK != 0 || len(res.Acked) != 0 || res.Errors != 4 {
		t.Errorf("200 %d, acked %d, errors %d: the four hanging requests should have failed", res.OK, len(res.Acked), res.Errors)
	}
}

func TestRunPacesAtAFixedRate(t *testing.T) {
	srv := httptest.NewServer(&fakeReceiver{acked: map[Key]struct{}{}})
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Workers, c.Rate, c.Duration = 8, 200, time.Second
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 180 || res.Requests > 201 {
		t.Errorf("%d requests in 1 s at 200/s", res.Requests)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Workers, c.Count = 2, 10
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Statuses[http.StatusTemporaryRedirect] != 10 || elsewhere.Load() != 0 {
		t.Errorf("answers %v, requests that followed the redirect %d", res.Statuses, elsewhere.Load())
	}
}

func TestPercentile(t *testing.T) {
	var l Latencies
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond,
		99.9: 100 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := l.Percentile(p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Latencies(nil).Percentile(99) != 0 || Latencies(nil).Max() != 0 || l.Max() != 100*time.Millisecond {
		t.Error("empty or max")
	}
}

// Answered hears of every request once, with its body and its times in order, and of the
// refused ones with their status.
func TestAnsweredHearsOfEveryRequest(t *testing.T) {
	f := &fakeReceiver{acked: map[Key]struct{}{}, failNth: 4}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Count, cfg.Workers, cfg.Rate, cfg.Duration = 40, 4, 400, 5*time.Second
	var mu sync.Mutex
	var answers []Answer
	cfg.Answered = func(a Answer) {
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 40 || int64(len(answers)) != res.Requests {
		t.Fatalf("%d answers for %d requests, want 40", len(answers), res.Requests)
	}
	ok := 0
	for _, a := range answers {
		if a.Sent.Before(a.Due) || a.Ended.Before(a.Sent) || len(a.Body.Events) == 0 {
			t.Errorf("answer out of order or without its body: due %v sent %v ended %v, %d events", a.Due, a.Sent, a.Ended, len(a.Body.Events))
		}
		if a.Err == nil && a.Status == http.StatusOK {
			ok++
		} else if a.Status != http.StatusServiceUnavailable {
			t.Errorf("a refused request answered %d, %v", a.Status, a.Err)
		}
	}
	if int64(ok) != res.OK || ok != 30 {
		t.Errorf("%d answers were 200, the result counts %d, want 30 (every fourth refused)", ok, res.OK)
	}
}

// "None" stays none through Run, which defaults the Config and hands it to each worker's
// workload, which defaults it again: once, -1 became 0 there and then the default share.
func TestRunSendsNoDuplicatesOrStatusesWhenToldNone(t *testing.T) {
	srv := httptest.NewServer(&fakeReceiver{acked: map[Key]struct{}{}})
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.Count, cfg.Workers, cfg.Duplicates, cfg.StatusShare = 200, 4, -1, -1
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 0 || res.AckedOf(KindStatus) != 0 || res.AckedOf(KindMessage) != 200 {
		t.Errorf("%d duplicates, %d statuses, %d messages; want 0, 0, 200", res.Duplicates, res.AckedOf(KindStatus), res.AckedOf(KindMessage))
	}
}
