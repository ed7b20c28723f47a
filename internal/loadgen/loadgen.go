// Package loadgen drives Switchboard's webhook endpoint the way Meta does under load: signed
// bodies of inbound text messages and status updates for both business numbers, Meta's exact
// duplicate deliveries among them, from many concurrent connections. It measures the time to
// each 200 and remembers which events were acknowledged, so that a test can hold the database
// to every 200 it gave. It is bounded in count and time, stops by itself, and talks to loopback
// addresses only.
package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Bounds of one run: a load generator left running by mistake must still stop.
const (
	MaxDuration = 15 * time.Minute
	MaxCount    = 10_000_000
	MaxWorkers  = 1024
)

// Config describes a run. Zero values take the defaults named on each field.
type Config struct {
	// URL is the webhook endpoint, e.g. http://127.0.0.1:8080/webhooks/whatsapp. Only
	// 127.0.0.0/8, ::1 and localhost are accepted.
	URL string
	// AppSecret signs the bodies (X-Hub-Signature-256); it must be a connected WABA's.
	AppSecret []byte
	// WABAID is the entry id of every body.
	WABAID string
	// Numbers are the business numbers customers write to; both sandbox numbers, usually.
	Numbers []Number

	// Workers is how many requests are in flight at most (default 32, at most MaxWorkers).
	Workers int
	// Duration ends the run (default and at most MaxDuration). Requests in flight then are
	// waited for, so their answers count.
	Duration time.Duration
	// Count ends the run after this many bodies (0: no limit but Duration; at most MaxCount).
	Count int
	// Rate paces the run at this many bodies per second, open loop: latency is measured from
	// when a body was due, so a server that falls behind shows it in the percentiles instead of
	// quietly slowing the generator down. 0 sends as fast as the workers get answers.
	Rate float64

	// Customers is the size of the pool of customers who write in (default 5,000).
	Customers int
	// Duplicates is the share of bodies that are exact copies of an earlier one (default 0.10;
	// negative: none).
	Duplicates float64
	// StatusShare is the share of fresh bodies that carry statuses rather than a message
	// (default 0.5; negative: messages only).
	StatusShare float64
	// StatusesPerBody is how many statuses a status body carries (default 1, so that a body is
	// one event and events/s cannot be inflated by batching).
	StatusesPerBody int
	// RunID marks the run's wamids (WAMIDPrefix); default random, letters and digits only.
	RunID string
	// Seed makes the bodies reproducible (default 1).
	Seed uint64
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// Answered, when set, is told of every request once it is answered or has failed, by the
	// worker that sent it (so from several goroutines at once): for figures that need each
	// body's own times, such as how long after its 200 a message reached a live page.
	Answered func(Answer)
}

// Answer is one request of a run: the body, when it was due (when it was sent, without a
// Rate), when it left and when its answer had fully arrived, and the answer.
type Answer struct {
	Body             Body
	Due, Sent, Ended time.Time
	Status           int
	Err              error
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		c.Duration = MaxDuration
	}
	if c.Customers <= 0 {
		c.Customers = 5000
	}
	// A negative share stays negative, which no draw falls under: none. Turned into 0 here,
	// it became the default when a Config went through withDefaults twice (New, then each
	// worker's NewWorkload), so loadgen.Run sent duplicates and statuses that were refused.
	if c.Duplicates == 0 {
		c.Duplicates = 0.10
	}
	if c.StatusShare == 0 {
		c.StatusShare = 0.5
	}
	if c.StatusesPerBody <= 0 {
		c.StatusesPerBody = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.RunID = "LG" + hex.EncodeToString(b[:])
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if _, err := CheckURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if len(c.AppSecret) == 0 {
		errs = append(errs, errors.New("loadgen: AppSecret is required (an unsigned body is refused with 401)"))
	}
	if c.WABAID == "" {
		errs = append(errs, errors.New("loadgen: WABAID is required"))
	}
	if len(c.Numbers) == 0 {
		errs = append(errs, errors.New("loadgen: at least one business number is required"))
	}
	if c.Workers > MaxWorkers {
		errs = append(errs, fmt.Errorf("loadgen: %d workers, at most %d", c.Workers, MaxWorkers))
	}
	if c.Count < 0 || c.Count > MaxCount {
		errs = append(errs, fmt.Errorf("loadgen: count %d, want 0 to %d", c.Count, MaxCount))
	}
	if c.Duplicates > 0.9 || c.StatusShare > 1 || c.Rate < 0 {
		errs = append(errs, errors.New("loadgen: Duplicates at most 0.9, StatusShare at most 1, Rate not negative"))
	}
	for _, r := range c.RunID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			errs = append(errs, fmt.Errorf("loadgen: RunID %q: letters and digits only", c.RunID))
			break
		}
	}
	return errors.Join(errs...)
}

// Runner is one run; OK and Requests may be read while it runs.
type Runner struct {
	cfg    Config
	client *http.Client

	requests, ok atomic.Int64
}

// New checks cfg (refusing any target that is not loopback) and prepares a run.
func New(cfg Config) (*Runner, error) {
	c := cfg.withDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Runner{cfg: c, client: newClient(c.Workers, c.Timeout)}, nil
}

// Run checks cfg and runs it to the end; see Runner.Run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	r, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx), nil
}

// Config is the run's configuration with defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// OK is how many requests were answered 200 so far.
func (r *Runner) OK() int64 { return r.ok.Load() }

// Requests is how many requests were answered or failed so far.
func (r *Runner) Requests() int64 { return r.requests.Load() }

// Run sends bodies until Duration has passed, Count bodies were sent or ctx ends, then waits
// for the requests in flight (cancelling ctx abandons them: they count as errors) and returns
// what happened. A Runner runs once.
func (r *Runner) Run(ctx context.Context) *Result {
	cfg := r.cfg
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	seconds := int(cfg.Duration/time.Second) + int(cfg.Timeout/time.Second) + 2
	perSecond := make([]atomic.Int64, seconds)

	var issued atomic.Int64
	// take reserves the next body; false once the run is over.
	take := func() bool {
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return false
		}
		return cfg.Count == 0 || issued.Add(1) <= int64(cfg.Count)
	}
	var due <-chan time.Time
	if cfg.Rate > 0 {
		due = pace(ctx, cfg, start, deadline)
	}

	workers := make([]*workerStats, cfg.Workers)
	var wg sync.WaitGroup
	for i := range workers {
		ws := &workerStats{acked: map[Key]struct{}{}, sent: map[Key]struct{}{}, statuses: map[int]int64{}}
		workers[i] = ws
		wl := NewWorkload(cfg, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var t0 time.Time
				if due != nil {
					var ok bool
					if t0, ok = <-due; !ok {
						return
					}
				} else {
					if !take() {
						return
					}
					t0 = time.Now()
				}
				body := wl.Next()
				sent := time.Now()
				status, err := r.post(ctx, body)
				ended := time.Now()
				took := ended.Sub(t0)
				if cfg.Answered != nil {
					cfg.Answered(Answer{Body: body, Due: t0, Sent: sent, Ended: ended, Status: status, Err: err})
				}
				r.requests.Add(1)
				ws.record(body, status, err, took)
				if status == http.StatusOK {
					r.ok.Add(1)
					if s := int(time.Since(start) / time.Second); s < len(perSecond) {
						perSecond[s].Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	res := &Result{Duration: cfg.Duration, RunID: cfg.RunID, Workers: cfg.Workers, Rate: cfg.Rate, Start: start, Elapsed: time.Since(start),
		Statuses: map[int]int64{}, Acked: map[Key]struct{}{}, Sent: map[Key]struct{}{}}
	var lat []time.Duration
	for _, ws := range workers {
		res.merge(ws)
		lat = append(lat, ws.latencies...)
	}
	slices.Sort(lat)
	res.Latency = Latencies(lat)
	last := int(res.Elapsed / time.Second)
	for i := 0; i < len(perSecond) && i <= last; i++ {
		res.PerSecond = append(res.PerSecond, perSecond[i].Load())
	}
	r.client.CloseIdleConnections()
	return res
}

// pace hands out the times bodies are due, Rate per second, until the deadline or Count.
func pace(ctx context.Context, cfg Config, start, deadline time.Time) <-chan time.Time {
	due := make(chan time.Time, cfg.Workers)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	go func() {
		defer close(due)
		for k := 0; cfg.Count == 0 || k < cfg.Count; k++ {
			at := start.Add(time.Duration(k) * interval)
			if !at.Before(deadline) {
				return
			}
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			select {
			case <-ctx.Done():
				return
			case due <- at:
			}
		}
	}()
	return due
}

func (r *Runner) post(ctx context.Context, b Body) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL, bytes.NewReader(b.Raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, b.Signature)
	req.Header.Set("User-Agent", "facebookexternalua")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Read the answer to the end: a 200 counts once it has fully arrived, and the connection
	// goes back to the pool.
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// workerStats are one worker's counts, merged once the run is over so that workers share no
// lock while it runs.
type workerStats struct {
	requests, ok, errs int64
	duplicates, dupOK  int64
	events, eventsOK   int64
	statuses           map[int]int64
	firstErrors        []string
	latencies          []time.Duration
	acked, sent        map[Key]struct{}
}

func (ws *workerStats) record(b Body, status int, err error, took time.Duration) {
	ws.requests++
	ws.events += int64(len(b.Events))
	if b.Duplicate {
		ws.duplicates++
	}
	for _, k := range b.Events {
		ws.sent[k] = struct{}{}
	}
	switch {
	case err != nil:
		ws.errs++
		if len(ws.firstErrors) < 3 {
			ws.firstErrors = append(ws.firstErrors, err.Error())
		}
	case status != http.StatusOK:
		ws.statuses[status]++
	default:
		ws.ok++
		ws.eventsOK += int64(len(b.Events))
		if b.Duplicate {
			ws.dupOK++
		}
		ws.latencies = append(ws.latencies, took)
		for _, k := range b.Events {
			ws.acked[k] = struct{}{}
		}
	}
}

// Result is what a run did.
type Result struct {
	RunID   string
	Workers int
	Rate    float64
	Start   time.Time
	// Duration is the window in which bodies were sent (the configured one; a run stopped by
	// Count or its context sends for less).
	Duration time.Duration
	// Elapsed runs from the first request to the last answer.
	Elapsed time.Duration

	Requests int64
	// OK: answered 200. Statuses counts the other answers by HTTP status; Errors the requests
	// that got no answer at all (refused, reset, timed out), with a few of their messages.
	OK          int64
	Statuses    map[int]int64
	Errors      int64
	FirstErrors []string
	// Duplicates: bodies sent again byte for byte; DuplicatesOK of them answered 200.
	Duplicates, DuplicatesOK int64
	// Events counts the events of every body sent, EventsOK those of bodies answered 200
	// (duplicate deliveries included: the server had to take each of them).
	Events, EventsOK int64

	// Latency is the time to 200 of each request answered 200, sorted: from sending (from when
	// it was due, at a fixed Rate) to the end of the answer.
	Latency Latencies
	// PerSecond is the number of 200s completed in each second of the run.
	PerSecond []int64

	// Acked are the distinct events in bodies answered 200: the server promised to keep them.
	Acked map[Key]struct{}
	// Sent are the distinct events of every body sent, answered or not: whatever the database
	// holds of the run must be among them.
	Sent map[Key]struct{}
}

func (res *Result) merge(ws *workerStats) {
	res.Requests += ws.requests
	res.OK += ws.ok
	res.Errors += ws.errs
	res.Duplicates += ws.duplicates
	res.DuplicatesOK += ws.dupOK
	res.Events += ws.events
	res.EventsOK += ws.eventsOK
	for s, n := range ws.statuses {
		res.Statuses[s] += n
	}
	for _, e := range ws.firstErrors {
		if len(res.FirstErrors) < 5 {
			res.FirstErrors = append(res.FirstErrors, e)
		}
	}
	for k := range ws.acked {
		res.Acked[k] = struct{}{}
	}
	for k := range ws.sent {
		res.Sent[k] = struct{}{}
	}
}

// NonOK is how many requests did not get a 200: other answers and no answer.
func (res *Result) NonOK() int64 { return res.Requests - res.OK }

// EventsPerSecond is the rate of events acknowledged with 200 (duplicate deliveries included).
func (res *Result) EventsPerSecond() float64 { return perSecond(res.EventsOK, res.Elapsed) }

// RequestsPerSecond is the rate of 200 answers.
func (res *Result) RequestsPerSecond() float64 { return perSecond(res.OK, res.Elapsed) }

// SlowestSecond is the fewest 200s completed in one whole second of the run, leaving out the
// last, partial one: what "sustained" has to mean.
func (res *Result) SlowestSecond() int64 {
	full := res.PerSecond
	if len(full) > 1 {
		full = full[:len(full)-1]
	}
	if len(full) == 0 {
		return 0
	}
	return slices.Min(full)
}

// AckedOf returns how many acknowledged events are of kind k.
func (res *Result) AckedOf(k Kind) int {
	n := 0
	for key := range res.Acked {
		if key.Kind == k {
			n++
		}
	}
	return n
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// String is a short report of the run.
func (res *Result) String() string {
	var b bytes.Buffer
	mode := "closed loop"
	if res.Rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f bodies/s", res.Rate)
	}
	fmt.Fprintf(&b, "run %s: %d workers, %s, %.1f s\n", res.RunID, res.Workers, mode, res.Elapsed.Seconds())
	fmt.Fprintf(&b, "  requests %d: 200 %d, other answers %v, no answer %d\n", res.Requests, res.OK, res.Statuses, res.Errors)
	fmt.Fprintf(&b, "  events acknowledged %d (%.0f/s), distinct %d (%d messages, %d statuses); duplicates sent %d, answered 200 %d\n",
		res.EventsOK, res.EventsPerSecond(), len(res.Acked), res.AckedOf(KindMessage), res.AckedOf(KindStatus), res.Duplicates, res.DuplicatesOK)
	fmt.Fprintf(&b, "  200s per second: mean %.0f, slowest whole second %d\n", res.RequestsPerSecond(), res.SlowestSecond())
	fmt.Fprintf(&b, "  time to 200: p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", res.Latency.Percentile(50).Round(10*time.Microsecond),
		res.Latency.Percentile(90).Round(10*time.Microsecond), res.Latency.Percentile(99).Round(10*time.Microsecond),
		res.Latency.Percentile(99.9).Round(10*time.Microsecond), res.Latency.Max().Round(10*time.Microsecond))
	for _, e := range res.FirstErrors {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}

// Latencies are sorted request durations.
type Latencies []time.Duration

// Percentile returns the smallest latency that p percent of the requests did not exceed
// (nearest rank), or 0 with no requests.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(l))))
	rank = min(max(rank, 1), len(l))
	return l[rank-1]
}

// Max is the slowest request.
func (l Latencies) Max() time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[len(l)-1]
}
