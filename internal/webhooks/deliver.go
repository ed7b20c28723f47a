package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
)

// Sending limits.
const (
	// senders is how many requests are in flight at once, over all endpoints.
	senders = 128
	// maxClaimed bounds the deliveries read and not yet recorded (sending, or sent and waiting
	// for the recorder's commit).
	maxClaimed = 1024
	// perEndpoint bounds one endpoint's share, so a slow receiver cannot hold every sender.
	perEndpoint = 512
	// attemptTimeout bounds one request: a receiver should answer at once and work later.
	attemptTimeout = 15 * time.Second
	// recordEvery spaces the commits that record outcomes.
	recordEvery = 100 * time.Millisecond
	// responseExcerpt is how much of an answer the delivery log keeps.
	responseExcerpt = 512
	// firstRetry is the wait after the first failure; it doubles up to maxRetryWait.
	firstRetry   = 10 * time.Second
	maxRetryWait = time.Hour
)

// RetryWait is the wait after the n-th failed attempt (n ≥ 1): exponential from 10 s, capped
// at an hour, with jitter (the upper half drawn at random) so that the deliveries that failed
// together when a receiver went down do not all come back at the same instant.
func RetryWait(n int, r *rand.Rand) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetryWait; i++ {
		d *= 2
	}
	d = min(d, maxRetryWait)
	half := d / 2
	if r == nil {
		return half + rand.N(half+1)
	}
	return half + time.Duration(r.Int64N(int64(half)+1))
}

// result is what became of one attempt.
type result struct {
	job       job
	cancelled bool // the process is stopping: not an attempt
	at        time.Time
	status    int
	duration  time.Duration
	err       string
	response  string
}

func (r result) ok() bool { return r.status >= 200 && r.status <= 299 }

// target is what the sender needs of an endpoint.
type target struct {
	url    string
	signer *standardwebhooks.Webhook
}

// Run delivers the outbox until ctx ends: it reads due deliveries, sends them with up to 128
// requests in flight, and records the outcomes in batches while the next ones are sent. A
// delivery is pending until its outcome is recorded, so one in flight when the process died
// is sent again at the next start: at least once.
func (s *Service) Run(ctx context.Context) {
	client := &http.Client{
		Timeout: attemptTimeout,
		Transport: &http.Transport{
			// No proxy from the environment: the guard must see the receiver's own address.
			Proxy:                 nil,
			DialContext:           s.guard.dialer(s.lookup),
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   senders,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: attemptTimeout,
		},
		// A redirect is an answer, not a new destination: following it would let a receiver
		// send us to an address the guard never saw in the URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()

	jobs := make(chan job, maxClaimed)
	results := make(chan result, maxClaimed)
	var wg sync.WaitGroup
	targets := &targetCache{s: s, at: map[int64]target{}}
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- s.send(ctx, client, targets, j)
			}
		}()
	}
	// One commit records many outcomes, in its own goroutine so that sending goes on meanwhile:
	// a commit per outcome would cap delivery at the disk's commit rate.
	batches := make(chan []result)
	recorded := make(chan []result)
	go func() {
		defer close(recorded)
		for batch := range batches {
			start := time.Now()
			// Recording outlives ctx's end by a moment, or a stop would resend what was sent.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if err := s.record(rctx, batch); err != nil {
				s.logger.ErrorContext(rctx, "webhooks: record deliveries", "error", err)
			}
			cancel()
			// At most one commit per recordEvery: the outcomes sent meanwhile share the next one,
			// and the writer, which webhook ingest needs, is taken ten times a second rather
			// than after every few deliveries.
			if wait := recordEvery - time.Since(start); wait > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
			}
			recorded <- batch
		}
	}()

	var (
		inflight  = map[int64]int{}  // endpoint → claimed and not yet recorded
		claimed   = map[int64]bool{} // deliveries claimed and not yet recorded
		pending   []result           // outcomes waiting for the recorder
		recording bool
		wantClaim = true
		lastPrune time.Time
		// from is where the next claim reads on. It goes back to the start every second and
		// whenever nothing is in flight, for what the forward reading passed: deliveries of an
		// endpoint that was busy, one stopped mid-request, a clock that stepped back.
		from cursor
	)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		stopping := ctx.Err() != nil
		if !stopping && wantClaim && len(claimed) < maxClaimed {
			wantClaim = false
			var busy []int64
			for id, n := range inflight {
				if n >= perEndpoint {
					busy = append(busy, id)
				}
			}
			more, next, err := s.store.claim(ctx, s.now(), maxClaimed-len(claimed), busy, from)
			if err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "webhooks: read due deliveries", "error", err)
			}
			from = next
			for _, j := range more {
				if claimed[j.ID] {
					continue // read again after a rescan from the start, still in flight
				}
				inflight[j.EndpointID]++
				claimed[j.ID] = true
				jobs <- j
			}
		}
		if !recording && len(pending) > 0 {
			batches <- pending
			pending, recording = nil, true
		}
		if len(claimed) == 0 && !recording {
			if stopping {
				break
			}
			wait := time.Second
			if next, err := s.store.nextDue(ctx); err == nil && !next.IsZero() {
				wait = min(max(next.Sub(s.now()), 5*time.Millisecond), time.Second)
			}
			idle.Reset(wait)
			select {
			case <-ctx.Done():
			case <-s.wake:
			case <-idle.C:
			}
			wantClaim, from = true, cursor{}
			s.pruneEvery(ctx, &lastPrune)
			continue
		}
		select {
		case r := <-results:
			if r.cancelled {
				// Stopped mid-request: not an attempt, it stays due for the next start.
				release(inflight, claimed, r.job)
				continue
			}
			pending = append(pending, r)
		case batch := <-recorded:
			recording, wantClaim = false, true
			for _, r := range batch {
				release(inflight, claimed, r.job)
			}
		case <-s.wake:
			wantClaim = true
		case <-tick.C:
			wantClaim, from = true, cursor{}
			s.pruneEvery(ctx, &lastPrune)
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	close(batches)
	for range recorded {
	}
}

// LogRetention is how long the delivery log keeps deliveries that are done.
const LogRetention = 30 * 24 * time.Hour

// pruneEvery prunes the delivery log once an hour.
func (s *Service) pruneEvery(ctx context.Context, last *time.Time) {
	now := s.now()
	if now.Sub(*last) < time.Hour || ctx.Err() != nil {
		return
	}
	*last = now
	if n, err := s.store.Prune(ctx, now.Add(-LogRetention)); err != nil {
		s.logger.ErrorContext(ctx, "webhooks: prune the delivery log", "error", err)
	} else if n > 0 {
		s.logger.InfoContext(ctx, "webhooks: pruned deliveries older than 30 days", "count", n)
	}
}

func release(inflight map[int64]int, claimed map[int64]bool, j job) {
	inflight[j.EndpointID]--
	if inflight[j.EndpointID] <= 0 {
		delete(inflight, j.EndpointID)
	}
	delete(claimed, j.ID)
}

// targetCache keeps endpoints' URLs and signers, reloaded at most every two seconds (an
// endpoint deleted meanwhile has no deliveries left to send).
type targetCache struct {
	s      *Service
	mu     sync.Mutex
	at     map[int64]target
	loaded time.Time
}

func (c *targetCache) get(ctx context.Context, id int64) (target, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.at[id]; ok && time.Since(c.loaded) < 2*time.Second {
		return t, nil
	}
	e, err := c.s.store.Get(ctx, id)
	if err != nil {
		return target{}, err
	}
	sealed, err := c.s.store.sealedSecret(ctx, id)
	if err != nil {
		return target{}, err
	}
	secret, err := c.s.box.Open(sealed, secretContext)
	if err != nil {
		return target{}, fmt.Errorf("open signing secret: %w", err)
	}
	signer, err := standardwebhooks.NewWebhook(string(secret))
	if err != nil {
		return target{}, fmt.Errorf("signing secret: %w", err)
	}
	t := target{url: e.URL, signer: signer}
	if time.Since(c.loaded) >= 2*time.Second {
		clear(c.at)
		c.loaded = time.Now()
	}
	c.at[id] = t
	return t, nil
}

// send makes one attempt, signed as Standard Webhooks says: webhook-id, webhook-timestamp and
// webhook-signature (v1, HMAC-SHA256 over "id.timestamp.body" with the endpoint's secret).
func (s *Service) send(ctx context.Context, client *http.Client, targets *targetCache, j job) result {
	start := time.Now()
	res := result{job: j, at: s.now()}
	t, err := targets.get(ctx, j.EndpointID)
	if err != nil {
		res.err = "Not sent: " + err.Error()
		return res
	}
	ts := s.clock.Now()
	sig, err := t.signer.Sign(j.MsgID, ts, j.Payload)
	if err != nil {
		res.err = "Not signed: " + err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(j.Payload))
	if err != nil {
		res.err = "Not sent: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set("webhook-id", j.MsgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := client.Do(req)
	res.duration = time.Since(start)
	if err != nil && ctx.Err() != nil {
		res.cancelled = true
		return res
	}
	if err != nil {
		res.err = describeSendError(err)
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, responseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	res.status = resp.StatusCode
	res.response = excerpt(body)
	res.duration = time.Since(start)
	return res
}

func describeSendError(err error) string {
	switch {
	case errors.Is(err, ErrAddressNotAllowed):
		var msg string
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.HasPrefix(e.Error(), ErrAddressNotAllowed.Error()) {
				msg = e.Error()
			}
		}
		if msg == "" {
			msg = ErrAddressNotAllowed.Error()
		}
		return "Refused: " + msg + "; webhooks go only to public internet addresses."
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout"):
		return "No answer within 15 seconds."
	}
	// The client's error quotes the URL ("Post \"https://…\": …"), secret path and all: the
	// delivery log says what went wrong without it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "Not delivered: " + err.Error()
}

// excerpt keeps the start of a receiver's answer as valid text.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > responseExcerpt {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// record writes a batch of outcomes in one transaction: the attempt for the log, the delivery's
// new state, and the endpoint's record of failures, disabling it after five days of them.
func (s *Service) record(ctx context.Context, batch []result) error {
	var raised []alerts.Alert
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		raised = raised[:0]
		now := s.now()
		var stmts [3]*sql.Stmt
		for i, q := range []string{
			`INSERT INTO webhook_attempts (delivery_id, endpoint_id, at, status, duration_ms, error, response) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			`UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_attempt_at = ?, last_status = ?, delivered_at = ? WHERE id = ?`,
			`UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, next_attempt_at = ?, last_attempt_at = ?, last_status = ? WHERE id = ?`,
		} {
			st, err := tx.PrepareContext(ctx, q)
			if err != nil {
				return fmt.Errorf("record webhook deliveries: %w", err)
			}
			defer st.Close()
			stmts[i] = st
		}
		succeeded := map[int64]bool{}
		for _, r := range batch {
			if _, err := stmts[0].ExecContext(ctx, r.job.ID, r.job.EndpointID, r.at.UnixMilli(), r.status, r.duration.Milliseconds(), r.err, r.response); err != nil {
				return fmt.Errorf("record webhook attempt: %w", err)
			}
			if r.ok() {
				if _, err := stmts[1].ExecContext(ctx, r.at.UnixMilli(), r.status, r.at.UnixMilli(), r.job.ID); err != nil {
					return fmt.Errorf("record webhook delivery: %w", err)
				}
				succeeded[r.job.EndpointID] = true
				continue
			}
			next := now.Add(RetryWait(r.job.Attempts+1, nil))
			state := "pending"
			if next.After(r.job.RetryUntil) {
				state = "failed"
			}
			if _, err := stmts[2].ExecContext(ctx, state, next.UnixMilli(), r.at.UnixMilli(), r.status, r.job.ID); err != nil {
				return fmt.Errorf("record webhook delivery: %w", err)
			}
			if succeeded[r.job.EndpointID] {
				continue // the endpoint answered another delivery of this batch: it works
			}
			a, err := s.noteFailure(ctx, tx, r.job.EndpointID, r.at)
			if err != nil {
				return err
			}
			if a.ID != 0 {
				raised = append(raised, a)
			}
		}
		for id := range succeeded {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL`, id); err != nil {
				return fmt.Errorf("record webhook endpoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, a := range raised {
		if s.alerts != nil {
			_ = s.alerts.Notify(ctx, a)
		}
	}
	return nil
}

// noteFailure marks the endpoint as failing since at (if it was not already) and disables it
// once it has failed for DisableAfter without a single success, raising an alert.
func (s *Service) noteFailure(ctx context.Context, tx *sql.Tx, endpointID int64, at time.Time) (alerts.Alert, error) {
	var (
		since    sql.NullInt64
		disabled sql.NullInt64
		url      string
		format   string
	)
	err := tx.QueryRowContext(ctx, `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?) WHERE id = ?
		RETURNING failing_since, disabled_at, url, format`, at.UnixMilli(), endpointID).Scan(&since, &disabled, &url, &format)
	if errors.Is(err, sql.ErrNoRows) {
		return alerts.Alert{}, nil // deleted meanwhile
	}
	if err != nil {
		return alerts.Alert{}, fmt.Errorf("record webhook failure: %w", err)
	}
	if disabled.Valid || at.Sub(fromMillis(since.Int64)) < DisableAfter {
		return alerts.Alert{}, nil
	}
	reason := "Disabled by Switchboard: every delivery failed for 5 days (since " + fromMillis(since.Int64).Format("2 Jan 2006 15:04 UTC") + ")."
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ?`, at.UnixMilli(), reason, endpointID); err != nil {
		return alerts.Alert{}, fmt.Errorf("disable webhook endpoint: %w", err)
	}
	url = MaskURL(url, format) // from here on it is shown, never called
	target := audit.NewTarget("webhook_endpoint", endpointID)
	target.Name = url
	if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: audit.SystemActor("webhook delivery"), Action: "webhook.endpoint_disabled",
		Target: target, Changes: []audit.Change{{Field: "enabled", Before: true, After: false}, {Field: "reason", After: reason}}}); err != nil {
		return alerts.Alert{}, err
	}
	if s.alerts == nil {
		return alerts.Alert{}, nil
	}
	return s.alerts.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindWebhookEndpointDisabled,
		Title:   "The webhook endpoint " + url + " was disabled after 5 days of failed deliveries",
		Subject: alerts.Subject{Type: "webhook_endpoint", ID: strconv.FormatInt(endpointID, 10)},
		Details: map[string]string{"url": url, "failing_since": fromMillis(since.Int64).Format(time.RFC3339)}})
}
