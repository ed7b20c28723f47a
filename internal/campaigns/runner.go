package campaigns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/internal/alerts"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// How a send survives a crash (kill -9 at any instant), recipient by recipient:
//
//  1. One transaction claims the recipient (queued → sending), stores the pending message in
//     the conversation and links the two. Nothing has gone to Meta yet.
//  2. Meta is called with biz_opaque_callback_data "campaign-recipient:ID". Meta echoes that key
//     on every status webhook of the message (sent, delivered, read, failed), and retries a
//     webhook it could not deliver for days.
//  3. One transaction stores Meta's answer: the wamid and sent, or the error.
//
// A crash before 1 commits leaves the recipient queued: it is sent after the restart. A crash
// after 3 leaves it finished. A crash between 1 and 3 leaves it "sending", and nobody can know
// from our side whether Meta got the call. Such a recipient is never sent again while a status
// webhook with its key may still come: when one comes (StatusWithCallback), the recipient takes
// its wamid and counts as sent, the message in the conversation included. Only when none has
// come ReconcileAfter after both the claim and this process's start (so webhooks Meta retried
// while we were down had their chance) is the recipient queued again. So nobody is skipped, and
// nobody gets the message twice unless Meta accepted it and then failed to deliver any status
// webhook for longer than ReconcileAfter (5 minutes by default): the one residual risk, which no
// client of an API without idempotency keys can close. A call that ends without an answer
// (time-out, connection lost) is the same case and is handled the same way.

// callbackPrefix marks Switchboard's campaign sends in biz_opaque_callback_data.
const callbackPrefix = "campaign-recipient:"

func callbackKey(recipientID int64) string {
	return callbackPrefix + strconv.FormatInt(recipientID, 10)
}

// StatusWithCallback is the inbox's StatusObserver: a status webhook carrying a recipient's key
// gives the recipient its wamid, even when the send's own answer was lost.
func (s *Service) StatusWithCallback(ctx context.Context, q db.Querier, wamid, status, callbackData string) error {
	idText, ok := strings.CutPrefix(callbackData, callbackPrefix)
	if !ok {
		return nil
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return nil
	}
	_, err = q.ExecContext(ctx, `UPDATE campaign_recipients SET wamid = coalesce(wamid, ?) WHERE id = ?`, wamid, id)
	return err
}

// Errors of the automated send's Check.
var (
	errClaimed  = errors.New("recipient already taken")
	errOptedOut = errors.New("the contact opted out")
)

// Meta's codes the runner acts on.
const (
	codeThroughput   = 130429 // throughput exceeded
	codeSpamRate     = 131048 // spam rate limit hit
	codePairRate     = 131056 // pair rate limit: too many messages to one user
	codeBlocked      = 368    // temporarily blocked for policy violations
	codeLocked       = 131031 // business account locked
	codeTemplPaused  = 132015 // template paused for low quality
	codeTemplDisable = 132016 // template disabled
)

func rateLimited(code int) bool {
	return code == codeThroughput || code == codeSpamRate || code == codePairRate
}

// pausing names the quality or limit errors that stop the whole campaign: sending on would fail
// for everyone and lower the number's quality rating.
func pausing(e *whatsapp.APIError) (string, bool) {
	switch {
	case e.Code == codeBlocked, e.Code == codeLocked:
		return "WhatsApp blocked sending from this account (" + strconv.Itoa(e.Code) + "): check the account's quality in WhatsApp Manager", true
	case e.Code == codeTemplPaused, e.Code == codeTemplDisable:
		return "Meta paused or disabled the template for low quality (" + strconv.Itoa(e.Code) + ")", true
	case e.IsAuth():
		return "WhatsApp refused the access token: reconnect the account in Settings → WhatsApp", true
	}
	return "", false
}

// pace keeps one number under its throughput and backs off after rate-limit errors.
type pace struct {
	lim *rate.Limiter
	mu  sync.Mutex
	// backoff is the current wait after a rate-limit error (doubling, reset by a success).
	backoff      time.Duration
	backoffUntil time.Time
	// limit is the messaging-limit tier (unique recipients in 24 h, 0: unlimited); used counts
	// recipients claimed in the window. It is read from the database at the first claim and
	// again only when the window has moved on (recheckAt, when the oldest send leaves it):
	// in between, this count is the truth, since every campaign send on the number claims
	// here, while the database misses the claims whose sends have not yet written their state.
	limit     int
	used      int
	counted   bool
	recheckAt time.Time
}

func (p *pace) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.backoffUntil)
		p.mu.Unlock()
		if d <= 0 {
			break
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return p.lim.Wait(ctx)
}

func (p *pace) rateLimited() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backoff = max(time.Second, min(2*p.backoff, time.Minute))
	p.backoffUntil = time.Now().Add(p.backoff)
	return p.backoff
}

func (p *pace) succeeded() {
	p.mu.Lock()
	p.backoff = 0
	p.mu.Unlock()
}

// tierLimit reads Meta's messaging limit ("TIER_250", "TIER_1K", "TIER_UNLIMITED"): unique
// customers a number may start conversations with in 24 hours. Unknown strings get the lowest
// tier, the safe guess.
func tierLimit(tier string) int {
	t := strings.ToUpper(strings.TrimPrefix(strings.ToUpper(tier), "TIER_"))
	switch {
	case t == "UNLIMITED":
		return 0
	case t == "":
		return 250
	case strings.HasSuffix(t, "K"):
		if n, err := strconv.Atoi(strings.TrimSuffix(t, "K")); err == nil {
			return n * 1000
		}
	default:
		if n, err := strconv.Atoi(t); err == nil {
			return n
		}
	}
	return 250
}

// Run sends running campaigns until ctx ends: it starts scheduled ones at their time, sends each
// running one, and reconciles sends a crash left in flight. One Run per process.
func (s *Service) Run(ctx context.Context) error {
	r := &runner{s: s, started: time.Now(), paces: map[int64]*pace{}, active: map[int64]bool{},
		sem: make(chan struct{}, s.opts.Workers)}
	defer r.wg.Wait()
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		if err := r.tick(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Error("campaigns: runner", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

type runner struct {
	s       *Service
	started time.Time
	sem     chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	paces  map[int64]*pace
	active map[int64]bool
}

func (r *runner) tick(ctx context.Context) error {
	s := r.s
	// Scheduled campaigns whose time has come.
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, name FROM campaigns WHERE status = ? AND start_at <= ?`,
		StatusScheduled, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("due campaigns: %w", err)
	}
	type due struct {
		id   int64
		name string
	}
	var dues []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.name); err != nil {
			rows.Close()
			return err
		}
		dues = append(dues, d)
	}
	rows.Close()
	for _, d := range dues {
		if err := s.transition(ctx, d.id, d.name, StatusScheduled, StatusRunning, "", "campaign.started"); err != nil {
			return err
		}
	}
	ids, err := s.idsWithStatus(ctx, StatusRunning)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r.mu.Lock()
		busy := r.active[id]
		r.active[id] = true
		r.mu.Unlock()
		if busy {
			continue
		}
		r.wg.Go(func() {
			defer func() {
				r.mu.Lock()
				delete(r.active, id)
				r.mu.Unlock()
			}()
			if err := r.run(ctx, id); err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("campaigns: campaign stopped", "campaign", id, "error", err)
			}
		})
	}
	return nil
}

func (s *Service) idsWithStatus(ctx context.Context, st Status) ([]int64, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id FROM campaigns WHERE status = ? ORDER BY id`, st)
	if err != nil {
		return nil, fmt.Errorf("campaigns by status: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// transition moves a campaign between statuses on its own (start, complete, pause on an error)
// with its activity event, by the system actor naming the campaign.
func (s *Service) transition(ctx context.Context, id int64, name string, from, to Status, reason, action string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return s.transitionIn(ctx, tx, id, name, from, to, reason, action)
	})
}

func (s *Service) transitionIn(ctx context.Context, tx *sql.Tx, id int64, name string, from, to Status, reason, action string) error {
	now := s.now().UnixMilli()
	extra := ""
	switch to {
	case StatusRunning:
		extra = `, started_at = coalesce(started_at, ` + strconv.FormatInt(now, 10) + `)`
	case StatusCompleted:
		extra = `, finished_at = ` + strconv.FormatInt(now, 10)
	}
	res, err := tx.ExecContext(ctx, `UPDATE campaigns SET status = ?, pause_reason = ?, updated_at = ?`+extra+` WHERE id = ? AND status = ?`,
		to, reason, now, id, from)
	if err != nil {
		return fmt.Errorf("campaign %s: %w", to, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // someone else moved it first
	}
	changes := []audit.Change{{Field: "status", Before: string(from), After: string(to)}}
	if reason != "" {
		changes = append(changes, audit.Change{Field: "reason", After: reason})
	}
	_, err = s.audit.Append(ctx, tx, audit.Event{Actor: campaignActor(name), Action: action, Target: target(id, name), Changes: changes})
	return err
}

func campaignActor(name string) audit.Actor { return audit.SystemActor("campaign “" + name + "”") }

// senderPrincipal reads the campaign's template: the campaign was authorised at approval.
func senderPrincipal() *authz.Principal {
	return &authz.Principal{Name: "campaign", Permissions: authz.NewSet(authz.TemplatesView), Numbers: authz.NumberScope{All: true}}
}

func (r *runner) paceFor(ctx context.Context, numberID int64) (*pace, error) {
	// The tier is read again whenever a campaign starts: Meta raises it as the number grows.
	var tier string
	if err := r.s.db.R.QueryRowContext(ctx, `SELECT messaging_limit FROM phone_numbers WHERE id = ?`, numberID).Scan(&tier); err != nil {
		return nil, fmt.Errorf("read messaging limit: %w", err)
	}
	r.mu.Lock()
	p := r.paces[numberID]
	r.mu.Unlock()
	if p != nil {
		p.mu.Lock()
		p.limit = tierLimit(tier)
		p.mu.Unlock()
		return p, nil
	}
	burst := max(1, int(r.s.opts.Throughput/10))
	p = &pace{lim: rate.NewLimiter(rate.Limit(r.s.opts.Throughput), burst), limit: tierLimit(tier)}
	r.mu.Lock()
	if existing := r.paces[numberID]; existing != nil {
		p = existing
	} else {
		r.paces[numberID] = p
	}
	r.mu.Unlock()
	return p, nil
}

// claimLimit reserves one recipient under the number's messaging limit; it returns when the
// window frees up again if the limit is used up.
func (r *runner) claimLimit(ctx context.Context, numberID int64, p *pace) (bool, time.Time, error) {
	if p.limit == 0 {
		return true, time.Time{}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := r.s.now()
	if !p.counted || (!p.recheckAt.IsZero() && !now.Before(p.recheckAt)) {
		if err := r.s.db.R.QueryRowContext(ctx, `SELECT count(DISTINCT r.contact_id) FROM campaign_recipients r
			JOIN campaigns c ON c.id = r.campaign_id WHERE c.phone_number_id = ? AND r.sending_at >= ? AND r.state IN ('sending', 'sent')`,
			numberID, now.Add(-24*time.Hour).UnixMilli()).Scan(&p.used); err != nil {
			return false, time.Time{}, fmt.Errorf("messaging limit: %w", err)
		}
		p.counted, p.recheckAt = true, time.Time{}
	}
	if p.used < p.limit {
		p.used++
		return true, time.Time{}, nil
	}
	var oldest sql.NullInt64
	_ = r.s.db.R.QueryRowContext(ctx, `SELECT min(r.sending_at) FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
		WHERE c.phone_number_id = ? AND r.sending_at >= ?`, numberID, now.Add(-24*time.Hour).UnixMilli()).Scan(&oldest)
	until := now.Add(time.Hour)
	if oldest.Valid {
		until = time.UnixMilli(oldest.Int64).Add(24 * time.Hour)
	}
	// Every send claimed before this point has long written its state when the window moves.
	p.recheckAt = until
	return false, until, nil
}

type recipientRow struct {
	ID        int64
	ContactID int64
}

// run sends one campaign until it is done, paused or cancelled.
func (r *runner) run(ctx context.Context, id int64) error {
	s := r.s
	c, err := s.get(ctx, s.db.R, id)
	if err != nil {
		return err
	}
	tpl, err := s.templates.Get(ctx, senderPrincipal(), c.TemplateID)
	if err != nil {
		return fmt.Errorf("campaign template: %w", err)
	}
	p, err := r.paceFor(ctx, c.PhoneNumberID)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		inflight = map[int64]bool{}
		wg       sync.WaitGroup
	)
	defer wg.Wait()
	isInflight := func(id int64) bool { mu.Lock(); defer mu.Unlock(); return inflight[id] }
	for {
		if ctx.Err() != nil {
			return nil
		}
		cur, err := s.statusOf(ctx, id)
		if err != nil {
			return err
		}
		if cur != StatusRunning {
			return nil
		}
		if err := s.reconcile(ctx, id, r.started, isInflight); err != nil {
			return err
		}
		batch, err := s.queued(ctx, id, 256)
		if err != nil {
			return err
		}
		if err := s.prepareBatch(ctx, c, batch); err != nil {
			return err
		}
		n := 0
		for _, rec := range batch {
			if isInflight(rec.ID) {
				continue
			}
			ok, until, err := r.claimLimit(ctx, c.PhoneNumberID, p)
			if err != nil {
				return err
			}
			if !ok {
				if err := s.waitForLimit(ctx, id, until); err != nil {
					return err
				}
				break
			}
			if n%16 == 0 {
				if cur, err := s.statusOf(ctx, id); err != nil || cur != StatusRunning {
					return err
				}
			}
			n++
			select {
			case r.sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			mu.Lock()
			inflight[rec.ID] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					<-r.sem
					mu.Lock()
					delete(inflight, rec.ID)
					mu.Unlock()
				}()
				if err := s.sendOne(ctx, c, tpl, rec, p); err != nil && ctx.Err() == nil {
					s.opts.Logger.Warn("campaigns: send", "campaign", id, "recipient", rec.ID, "error", err)
				}
			})
		}
		if n > 0 {
			continue
		}
		// Nothing to send now: finished, or waiting for back-off, in-flight sends or reconciliation.
		wg.Wait()
		left, err := s.unfinished(ctx, id)
		if err != nil {
			return err
		}
		if left == 0 {
			return s.transition(ctx, id, c.Name, StatusRunning, StatusCompleted, "", "campaign.completed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opts.Poll):
		}
	}
}

func (s *Service) statusOf(ctx context.Context, id int64) (Status, error) {
	var st Status
	err := s.db.R.QueryRowContext(ctx, `SELECT status FROM campaigns WHERE id = ?`, id).Scan(&st)
	return st, err
}

func (s *Service) waitForLimit(ctx context.Context, id int64, until time.Time) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE campaigns SET wait_until = ? WHERE id = ?`, until.UnixMilli(), id)
	if err != nil {
		return err
	}
	t := time.NewTimer(min(time.Until(until), time.Minute))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	_, err = s.db.W.ExecContext(context.WithoutCancel(ctx), `UPDATE campaigns SET wait_until = NULL WHERE id = ?`, id)
	return err
}

func (s *Service) queued(ctx context.Context, id int64, limit int) ([]recipientRow, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, contact_id FROM campaign_recipients
		WHERE campaign_id = ? AND state = 'queued' AND not_before <= ? ORDER BY id LIMIT ?`, id, s.now().UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("queued recipients: %w", err)
	}
	defer rows.Close()
	var out []recipientRow
	for rows.Next() {
		var r recipientRow
		if err := rows.Scan(&r.ID, &r.ContactID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Service) unfinished(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND state IN ('queued', 'sending')`, id).Scan(&n)
	return n, err
}

// reconcile settles recipients left "sending" by a crash or an unanswered call (see the comment
// at the top of this file). inflight recipients are being sent by this process right now.
func (s *Service) reconcile(ctx context.Context, id int64, started time.Time, inflight func(int64) bool) error {
	now := s.now()
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, coalesce(message_id, 0), coalesce(wamid, ''), coalesce(sending_at, 0)
		FROM campaign_recipients WHERE campaign_id = ? AND state = 'sending'`, id)
	if err != nil {
		return fmt.Errorf("in-flight recipients: %w", err)
	}
	type stuck struct {
		id, msgID int64
		wamid     string
		at        time.Time
	}
	var all []stuck
	for rows.Next() {
		var st stuck
		var at int64
		if err := rows.Scan(&st.id, &st.msgID, &st.wamid, &at); err != nil {
			rows.Close()
			return err
		}
		st.at = time.UnixMilli(at)
		all = append(all, st)
	}
	rows.Close()
	waited := time.Since(started) >= s.opts.ReconcileAfter
	for _, st := range all {
		if inflight(st.id) {
			continue
		}
		switch {
		case st.wamid != "":
			// Meta accepted it: its status webhook told us so.
			err = s.db.Tx(ctx, func(tx *sql.Tx) error {
				if st.msgID != 0 {
					if err := s.inbox.AdoptWamid(ctx, tx, st.msgID, st.wamid); err != nil {
						return err
					}
				}
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'sent', sent_at = coalesce(sent_at, sending_at),
					error_code = NULL, error_title = '' WHERE id = ? AND state = 'sending'`, st.id)
				return err
			})
		case waited && now.Sub(st.at) >= s.opts.ReconcileAfter:
			// No sign from Meta in all that time: it never got the message. Send it again.
			err = s.db.Tx(ctx, func(tx *sql.Tx) error {
				if st.msgID != 0 {
					if err := s.inbox.AbandonPending(ctx, tx, st.msgID, "Not confirmed by WhatsApp; the campaign sent it again"); err != nil {
						return err
					}
				}
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'queued', message_id = NULL
					WHERE id = ? AND state = 'sending' AND wamid IS NULL`, st.id)
				return err
			})
		}
		if err != nil {
			return fmt.Errorf("reconcile recipient %d: %w", st.id, err)
		}
	}
	return nil
}

// sendOne sends the campaign's message to one recipient through the inbox's send path.
func (s *Service) sendOne(ctx context.Context, c Campaign, tpl templates.Template, rec recipientRow, p *pace) error {
	var contact Contact
	if err := s.db.R.QueryRowContext(ctx, `SELECT id, coalesce(wa_id, ''), coalesce(nullif(name, ''), profile_name) FROM contacts WHERE id = ?`, rec.ContactID).
		Scan(&contact.ID, &contact.WaID, &contact.Name); err != nil {
		return fmt.Errorf("read contact: %w", err)
	}
	msg, shown, err := buildMessage(tpl, c.Bindings, contact)
	if err != nil {
		return s.finish(ctx, rec.ID, StateFailed, 0, err.Error())
	}
	var convID int64
	err = s.db.R.QueryRowContext(ctx, `SELECT id FROM conversations WHERE contact_id = ? AND phone_number_id = ?`, contact.ID, c.PhoneNumberID).Scan(&convID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find conversation: %w", err)
	}
	if convID == 0 {
		if err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			var err error
			convID, err = inbox.ConversationFor(ctx, tx, contact.ID, c.PhoneNumberID, s.now().UnixMilli())
			return err
		}); err != nil {
			return err
		}
	}
	var retryAfter time.Duration
	var pauseReason string
	a := inbox.Automated{
		By: "Campaign “" + c.Name + "”", Actor: campaignActor(c.Name), CallbackData: callbackKey(rec.ID),
		Pace: func(callCtx context.Context) error {
			// The call's context outlives a shutdown; the pace must not hold the shutdown up.
			if err := p.wait(ctx); err != nil {
				return fmt.Errorf("%w: %w", inbox.ErrNotCalled, err)
			}
			// Paused or cancelled while this one waited for its turn: it stays unsent.
			if st, err := s.statusOf(ctx, c.ID); err != nil || st != StatusRunning {
				return fmt.Errorf("%w: campaign %s", inbox.ErrNotCalled, st)
			}
			return nil
		},
		Check: func(ctx context.Context, tx *sql.Tx) error {
			st, err := s.consent.StatusIn(ctx, tx, contact.ID)
			if err != nil {
				return err
			}
			if st == "opted_out" {
				return errOptedOut
			}
			res, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'sending', attempts = attempts + 1, sending_at = ?
				WHERE id = ? AND state = 'queued'`, s.now().UnixMilli(), rec.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errClaimed
			}
			return nil
		},
		Intent: func(ctx context.Context, tx *sql.Tx, messageID int64) error {
			_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET message_id = ? WHERE id = ?`, messageID, rec.ID)
			return err
		},
		Outcome: func(ctx context.Context, tx *sql.Tx, messageID int64, wamid string, callErr error) error {
			now := s.now().UnixMilli()
			if callErr == nil {
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'sent', wamid = ?, sent_at = ?, error_code = NULL,
					error_title = '' WHERE id = ?`, wamid, now, rec.ID)
				return err
			}
			api, ok := whatsapp.AsAPIError(callErr)
			switch {
			case errors.Is(callErr, inbox.ErrNotCalled):
				// Stopped before the call (shutdown, pause): Meta has nothing; queued again at once.
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'queued', message_id = NULL WHERE id = ?`, rec.ID)
				return err
			case !ok && errors.Is(callErr, whatsapp.ErrInvalidInput):
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'failed', error_title = ? WHERE id = ?`, callErr.Error(), rec.ID)
				return err
			case !ok:
				// No answer: Meta may have the message. Left "sending" for reconcile.
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET error_title = ? WHERE id = ?`, "WhatsApp did not answer; waiting for its status", rec.ID)
				return err
			case rateLimited(api.Code):
				// The number's pace waits out the back-off before its next send; a pair limit also
				// holds this one customer back (Meta: about one message per 6 s to one user).
				retryAfter = p.rateLimited()
				var notBefore int64
				if api.Code == codePairRate {
					notBefore = now + (6 * time.Second).Milliseconds()
				}
				_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'queued', not_before = ?, error_code = ?, error_title = ?
					WHERE id = ?`, notBefore, api.Code, "Rate limited by WhatsApp; retried", rec.ID)
				return err
			}
			if reason, stop := pausing(api); stop {
				pauseReason = reason
				if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'queued', error_code = ?, error_title = ? WHERE id = ?`,
					api.Code, sendErrorTitle(api), rec.ID); err != nil {
					return err
				}
				return s.pauseIn(ctx, tx, c, reason, api.Code)
			}
			_, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET state = 'failed', error_code = ?, error_title = ? WHERE id = ?`,
				api.Code, sendErrorTitle(api), rec.ID)
			return err
		},
	}
	_, err = s.inbox.SendTemplateAutomated(ctx, a, convID, msg, shown)
	switch {
	case err == nil:
		p.succeeded()
		return nil
	case errors.Is(err, errClaimed):
		return nil
	case errors.Is(err, inbox.ErrNoConsent):
		// The gate refuses opted-out and never-asked alike; the results tell them apart.
		reason := reasonNoConsent
		if st, err := s.consent.StatusIn(ctx, s.db.R, contact.ID); err == nil && st == "opted_out" {
			reason = reasonOptedOut
		}
		return s.finish(ctx, rec.ID, StateSkipped, 0, reason)
	case errors.Is(err, errOptedOut):
		return s.finish(ctx, rec.ID, StateSkipped, 0, reasonOptedOut)
	case errors.Is(err, inbox.ErrNumberDisabled), errors.Is(err, inbox.ErrNumberDisconnected):
		return s.pause(ctx, c, "The sending number was switched off or its account disconnected", 0)
	case errors.Is(err, inbox.ErrSendFailed), errors.Is(err, inbox.ErrWindowClosed):
		if retryAfter > 0 || pauseReason != "" {
			return nil
		}
		return nil // recorded by Outcome
	}
	return err
}

func sendErrorTitle(api *whatsapp.APIError) string {
	if api.UserTitle != "" {
		return api.UserTitle
	}
	return api.Message
}

// finish settles a recipient that was not sent (skipped, or failed before the call).
func (s *Service) finish(ctx context.Context, id int64, st RecipientState, code int, reason string) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE campaign_recipients SET state = ?, error_code = nullif(?, 0), error_title = ?
		WHERE id = ? AND state = 'queued'`, st, code, reason, id)
	return err
}

func (s *Service) pause(ctx context.Context, c Campaign, reason string, code int) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return s.pauseIn(ctx, tx, c, reason, code) })
}

// pauseIn pauses a running campaign on an error from WhatsApp and raises an alert for the
// administrators, in the transaction that recorded the error.
func (s *Service) pauseIn(ctx context.Context, tx *sql.Tx, c Campaign, reason string, code int) error {
	var st Status
	if err := tx.QueryRowContext(ctx, `SELECT status FROM campaigns WHERE id = ?`, c.ID).Scan(&st); err != nil {
		return err
	}
	if st != StatusRunning {
		return nil
	}
	if err := s.transitionIn(ctx, tx, c.ID, c.Name, StatusRunning, StatusPaused, reason, "campaign.paused"); err != nil {
		return err
	}
	if s.alerts == nil {
		return nil
	}
	details := map[string]string{"campaign": c.Name, "reason": reason}
	if code != 0 {
		details["meta_error"] = strconv.Itoa(code)
	}
	_, err := s.alerts.Raise(ctx, tx, alerts.Alert{Kind: alerts.KindCampaignPaused, Title: "Campaign “" + c.Name + "” paused: " + reason,
		Subject: alerts.Subject{Type: "campaign", ID: strconv.FormatInt(c.ID, 10)}, Details: details})
	return err
}

// buildMessage fills the template for one contact: the Cloud API's template object and the
// text the conversation shows.
func buildMessage(t templates.Template, bindings map[string]Binding, c Contact) (whatsapp.TemplateMessage, string, error) {
	values := templates.Values{Header: map[string]string{}, Body: map[string]string{}}
	for _, key := range variableKeys(t) {
		v := strings.Join(strings.Fields(bindings[key].value(c)), " ")
		if k, ok := strings.CutPrefix(key, "header:"); ok {
			values.Header[k] = v
		} else {
			values.Body[key] = v
		}
	}
	built, err := templates.BuildMessage(t, values)
	if err != nil {
		return whatsapp.TemplateMessage{}, "", err
	}
	var msg whatsapp.TemplateMessage
	b, err := json.Marshal(built)
	if err != nil {
		return msg, "", err
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return msg, "", err
	}
	preview := templates.Render(t.Live.Content, values)
	var shown []string
	for _, part := range []string{preview.Header, preview.Body, preview.Footer} {
		if part != "" {
			shown = append(shown, part)
		}
	}
	return msg, strings.Join(shown, "\n"), nil
}

// prepareBatch creates the batch's missing conversations in one transaction, so that each send
// commits twice (intent, outcome) rather than three times.
func (s *Service) prepareBatch(ctx context.Context, c Campaign, batch []recipientRow) error {
	if len(batch) == 0 {
		return nil
	}
	ids := make([]int64, len(batch))
	for i, r := range batch {
		ids[i] = r.ContactID
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return inbox.EnsureConversations(ctx, tx, ids, c.PhoneNumberID, s.now().UnixMilli())
	})
}
