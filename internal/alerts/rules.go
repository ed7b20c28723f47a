package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
)

// Rule says whether alerts of one kind are raised, when (for the kinds that count something),
// and where they go besides the alerts page, which always shows them.
type Rule struct {
	Kind    Kind
	Enabled bool
	// Threshold and Threshold2 are counts within Window, for the kinds whose Spec names them:
	// failed sign-ins on one account; wrong webhook signatures; exports (Threshold) or contacts
	// revealed (Threshold2) by one member or key.
	Threshold  int
	Threshold2 int
	Window     time.Duration
	// EmailEveryone: every member who may see alerts and has not turned alert e-mail off. When
	// false, EmailTo are the members chosen (empty: nobody).
	EmailEveryone bool
	EmailTo       []int64
	// Webhook: passed to the outgoing webhooks (WebhookPublisher), when they exist.
	Webhook   bool
	UpdatedAt time.Time
}

// Spec is what a kind's rule can be set to.
type Spec struct {
	Kind Kind
	// ThresholdLabel names Threshold ("" when the kind has no threshold); likewise Threshold2.
	ThresholdLabel  string
	Threshold2Label string
	// Windowed: the thresholds count within a window of minutes.
	Windowed bool
	Default  Rule
}

// specs are the kinds with thresholds; every other kind fires on each occurrence.
var specs = map[Kind]Spec{
	KindRepeatedSignInFailures: {ThresholdLabel: "Failed sign-ins on one account", Windowed: true,
		Default: Rule{Threshold: 5, Window: 15 * time.Minute}},
	KindWebhookSignatureFailures: {ThresholdLabel: "Webhook requests with a wrong signature", Windowed: true,
		Default: Rule{Threshold: 10, Window: 5 * time.Minute}},
	KindMassExport: {ThresholdLabel: "Exports by one member or key", Threshold2Label: "Customers revealed by one member or key", Windowed: true,
		Default: Rule{Threshold: 5, Threshold2: 20, Window: 10 * time.Minute}},
}

// SpecOf returns what kind k's rule can be set to, with its default.
func SpecOf(k Kind) Spec {
	sp := specs[k]
	sp.Kind = k
	d := sp.Default
	d.Kind, d.Enabled, d.EmailEveryone, d.Webhook = k, true, true, true
	sp.Default = d
	return sp
}

// Limits of a rule.
const (
	maxThreshold     = 100000
	maxWindowMinutes = 7 * 24 * 60
	maxRecipients    = 50
)

// RuleError is a rule refused, with a message for the form.
type RuleError struct {
	Field   string
	Message string
}

func (e *RuleError) Error() string { return e.Field + ": " + e.Message }

// Rules returns every kind's rule, in the order of Kinds.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) {
	m, err := s.loadRules(ctx, s.db.R)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, 0, len(m))
	for _, k := range Kinds() {
		out = append(out, m[k])
	}
	return out, nil
}

// Rule returns kind k's rule (its default when never saved).
func (s *Service) Rule(ctx context.Context, k Kind) (Rule, error) {
	return s.ruleIn(ctx, s.db.R, k)
}

// ruleIn is Rule read through q when the rules are not kept yet: inside a write transaction,
// that transaction, since a read through the reader pool there holds the writer while it waits
// for a reader.
func (s *Service) ruleIn(ctx context.Context, q db.Querier, k Kind) (Rule, error) {
	m, err := s.loadRules(ctx, q)
	if err != nil {
		return Rule{}, err
	}
	r, ok := m[k]
	if !ok {
		return Rule{}, fmt.Errorf("%w: kind %q", ErrInvalid, k)
	}
	return r, nil
}

// loadRules reads the rules once and keeps them: they are read at every alert and every failed
// webhook signature, and change only through SaveRule, which drops the copy.
func (s *Service) loadRules(ctx context.Context, q db.Querier) (map[Kind]Rule, error) {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	if s.rules != nil {
		return s.rules, nil
	}
	m := make(map[Kind]Rule, len(kinds))
	for _, k := range Kinds() {
		m[k] = SpecOf(k).Default
	}
	rows, err := q.QueryContext(ctx, `SELECT kind, enabled, threshold, threshold2, window_minutes, email_to, webhook, updated_at FROM alert_rules`)
	if err != nil {
		return nil, fmt.Errorf("alerts: read rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r       Rule
			window  int
			emailTo sql.NullString
			updated int64
		)
		if err := rows.Scan(&r.Kind, &r.Enabled, &r.Threshold, &r.Threshold2, &window, &emailTo, &r.Webhook, &updated); err != nil {
			return nil, fmt.Errorf("alerts: read rules: %w", err)
		}
		if !r.Kind.Valid() {
			continue
		}
		r.Window = time.Duration(window) * time.Minute
		r.EmailEveryone = !emailTo.Valid
		r.EmailTo = db.ParseIDs(emailTo.String)
		r.UpdatedAt = fromMillis(updated)
		m[r.Kind] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: read rules: %w", err)
	}
	s.rules = m
	return m, nil
}

// SaveRule stores r, checked against its kind's Spec, with an alert_rule.changed activity event
// by actor naming every field that changed. recipientOK says whether a member may receive alerts
// (holds the permission to see them); a rule cannot send them to anyone else.
func (s *Service) SaveRule(ctx context.Context, actor audit.Actor, r Rule, recipientOK func(ctx context.Context, q db.Querier, memberID int64) (bool, error)) error {
	if !r.Kind.Valid() {
		return fmt.Errorf("%w: kind %q", ErrInvalid, r.Kind)
	}
	sp := SpecOf(r.Kind)
	if sp.ThresholdLabel == "" {
		r.Threshold = 0
	} else if r.Threshold < 1 || r.Threshold > maxThreshold {
		return &RuleError{"threshold", fmt.Sprintf("Enter a number from 1 to %d.", maxThreshold)}
	}
	if sp.Threshold2Label == "" {
		r.Threshold2 = 0
	} else if r.Threshold2 < 1 || r.Threshold2 > maxThreshold {
		return &RuleError{"threshold2", fmt.Sprintf("Enter a number from 1 to %d.", maxThreshold)}
	}
	minutes := int(r.Window / time.Minute)
	if !sp.Windowed {
		minutes, r.Window = 0, 0
	} else if minutes < 1 || minutes > maxWindowMinutes {
		return &RuleError{"window", fmt.Sprintf("Enter a number of minutes from 1 to %d (a week).", maxWindowMinutes)}
	}
	slices.Sort(r.EmailTo)
	r.EmailTo = slices.Compact(r.EmailTo)
	if r.EmailEveryone {
		r.EmailTo = nil
	}
	if len(r.EmailTo) > maxRecipients {
		return &RuleError{"email_to", fmt.Sprintf("Choose at most %d members.", maxRecipients)}
	}
	before, err := s.Rule(ctx, r.Kind)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		for _, id := range r.EmailTo {
			ok, err := recipientOK(ctx, tx, id)
			if err != nil {
				return err
			}
			if !ok {
				return &RuleError{"email_to", "Alerts can only be e-mailed to active members who may see them (alerts.view)."}
			}
		}
		var emailTo any
		if !r.EmailEveryone {
			emailTo = db.FormatIDs(r.EmailTo)
		}
		now := s.clk.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_rules (kind, enabled, threshold, threshold2, window_minutes, email_to, webhook, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold,
			threshold2 = excluded.threshold2, window_minutes = excluded.window_minutes, email_to = excluded.email_to,
			webhook = excluded.webhook, updated_at = excluded.updated_at`,
			string(r.Kind), r.Enabled, r.Threshold, r.Threshold2, minutes, emailTo, r.Webhook, millis(now)); err != nil {
			return fmt.Errorf("alerts: save rule: %w", err)
		}
		changes := ruleChanges(before, r)
		if len(changes) == 0 {
			return nil
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Actor: actor, Action: "alert_rule.changed",
			Target: audit.Target{Type: "alert_rule", ID: string(r.Kind), Name: r.Kind.Label()}, Changes: changes})
		return err
	})
	if err != nil {
		return err
	}
	s.rulesMu.Lock()
	s.rules = nil
	s.rulesMu.Unlock()
	return nil
}

func ruleChanges(a, b Rule) []audit.Change {
	var cs []audit.Change
	add := func(field string, before, after any) {
		if fmt.Sprint(before) != fmt.Sprint(after) {
			cs = append(cs, audit.Change{Field: field, Before: before, After: after})
		}
	}
	add("enabled", a.Enabled, b.Enabled)
	add("threshold", a.Threshold, b.Threshold)
	add("threshold2", a.Threshold2, b.Threshold2)
	add("window_minutes", int(a.Window/time.Minute), int(b.Window/time.Minute))
	recipients := func(r Rule) string {
		if r.EmailEveryone {
			return "everyone who sees alerts"
		}
		return "members " + db.FormatIDs(r.EmailTo)
	}
	add("email_to", recipients(a), recipients(b))
	add("webhook", a.Webhook, b.Webhook)
	return cs
}

// Delivery is where one alert went.
type Delivery struct {
	ID        int64
	AlertID   int64
	Channel   string // page, email, webhook
	Recipient string
	// Status: shown, queued (an e-mail in the outbox), sent, failed, skipped.
	Status string
	Detail string
	MailID int64
	At     time.Time
}

// MailDelivery is one e-mail a Mailer queued: to whom, and its outbox row.
type MailDelivery struct {
	Recipient string
	MailID    int64
}

// WebhookPublisher passes an alert to the outgoing webhooks (the alert.raised event). It is set
// at wiring once outgoing webhooks exist; nil means there are none yet, and rules say so.
type WebhookPublisher interface {
	PublishAlert(ctx context.Context, a Alert) error
}

// SetWebhookPublisher routes new alerts whose rule asks for it to p (nil: no webhooks).
func (s *Service) SetWebhookPublisher(p WebhookPublisher) {
	s.rulesMu.Lock()
	s.webhooks = p
	s.rulesMu.Unlock()
}

// HasWebhooks reports whether outgoing webhooks are wired, for the rules form.
func (s *Service) HasWebhooks() bool {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	return s.webhooks != nil
}

func (s *Service) publisher() WebhookPublisher {
	s.rulesMu.Lock()
	defer s.rulesMu.Unlock()
	return s.webhooks
}

func recordDelivery(ctx context.Context, q db.Querier, d Delivery) error {
	var mailID any
	if d.MailID != 0 {
		mailID = d.MailID
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO alert_deliveries (alert_id, channel, recipient, status, detail, mail_id, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, d.AlertID, d.Channel, d.Recipient, d.Status, truncate(d.Detail, maxDetailValue), mailID, millis(d.At)); err != nil {
		return fmt.Errorf("alerts: record delivery: %w", err)
	}
	return nil
}

// Deliveries returns where the alerts went, by alert id, for the alerts page. An e-mail's
// status is its outbox row's: queued, sent, or failed when given up.
func (s *Service) Deliveries(ctx context.Context, alertIDs []int64) (map[int64][]Delivery, error) {
	out := map[int64][]Delivery{}
	if len(alertIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(alertIDs))
	for i, id := range alertIDs {
		args[i] = id
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT d.id, d.alert_id, d.channel, d.recipient,
		CASE WHEN d.channel = 'email' AND o.sent_at IS NOT NULL THEN 'sent'
		     WHEN d.channel = 'email' AND o.given_up_at IS NOT NULL THEN 'failed' ELSE d.status END,
		CASE WHEN d.channel = 'email' AND o.last_error <> '' THEN o.last_error ELSE d.detail END,
		coalesce(d.mail_id, 0), d.at
		FROM alert_deliveries d LEFT JOIN mail_outbox o ON o.id = d.mail_id
		WHERE d.alert_id IN (`+strings.Repeat("?,", len(alertIDs)-1)+`?) ORDER BY d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts: read deliveries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			d  Delivery
			at int64
		)
		if err := rows.Scan(&d.ID, &d.AlertID, &d.Channel, &d.Recipient, &d.Status, &d.Detail, &d.MailID, &at); err != nil {
			return nil, fmt.Errorf("alerts: read deliveries: %w", err)
		}
		d.At = fromMillis(at)
		out[d.AlertID] = append(out[d.AlertID], d)
	}
	return out, rows.Err()
}

// route records the page, queues the e-mail and queues the webhook delivery of a new alert, in
// its transaction.
func (s *Service) route(ctx context.Context, q db.Querier, a Alert, r Rule) error {
	now := s.clk.Now()
	if err := recordDelivery(ctx, q, Delivery{AlertID: a.ID, Channel: "page", Recipient: "Alerts page", Status: "shown", At: now}); err != nil {
		return err
	}
	if r.Webhook {
		d := Delivery{AlertID: a.ID, Channel: "webhook", Recipient: "Outgoing webhooks", Status: "queued", At: now}
		if s.publisher() == nil {
			d.Status, d.Detail = "skipped", "No outgoing webhooks are set up yet."
		}
		if err := recordDelivery(ctx, q, d); err != nil {
			return err
		}
	}
	if !r.EmailEveryone && len(r.EmailTo) == 0 {
		return nil
	}
	if s.mailer == nil {
		return recordDelivery(ctx, q, Delivery{AlertID: a.ID, Channel: "email", Status: "skipped",
			Detail: "No mail server is set up (SWITCHBOARD_SMTP_URL).", At: now})
	}
	var to []int64
	if !r.EmailEveryone {
		to = r.EmailTo
	}
	sent, err := s.mailer.AlertRaised(ctx, q, a, to)
	if err != nil {
		return err
	}
	for _, m := range sent {
		if err := recordDelivery(ctx, q, Delivery{AlertID: a.ID, Channel: "email", Recipient: m.Recipient, Status: "queued", MailID: m.MailID, At: now}); err != nil {
			return err
		}
	}
	return nil
}

// PublishQueued passes committed alerts whose webhook delivery is queued to the outgoing
// webhooks and records each answer; alertID 0 takes every queued one, otherwise only that
// alert's. Each delivery is claimed first, so two callers never publish one alert twice.
func (s *Service) PublishQueued(ctx context.Context, alertID int64) (int, error) {
	p := s.publisher()
	if p == nil {
		return 0, nil
	}
	query := `SELECT id, alert_id FROM alert_deliveries WHERE channel = 'webhook' AND status = 'queued'`
	args := []any{}
	if alertID != 0 {
		query += ` AND alert_id = ?`
		args = append(args, alertID)
	}
	rows, err := s.db.R.QueryContext(ctx, query+` ORDER BY id LIMIT 100`, args...)
	if err != nil {
		return 0, fmt.Errorf("alerts: queued webhooks: %w", err)
	}
	type job struct{ id, alert int64 }
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.id, &j.alert); err != nil {
			rows.Close()
			return 0, err
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	done := 0
	var errs []error
	for _, j := range jobs {
		res, err := s.db.W.ExecContext(ctx, `UPDATE alert_deliveries SET status = 'sending' WHERE id = ? AND status = 'queued'`, j.id)
		if err != nil {
			return done, fmt.Errorf("alerts: claim webhook delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue
		}
		a, err := alertByID(ctx, s.db.R, j.alert)
		if err != nil {
			return done, err
		}
		status, detail := "sent", ""
		if perr := p.PublishAlert(ctx, a); perr != nil {
			status, detail = "failed", perr.Error()
			errs = append(errs, perr)
		}
		if _, err := s.db.W.ExecContext(ctx, `UPDATE alert_deliveries SET status = ?, detail = ?, at = ? WHERE id = ?`,
			status, truncate(detail, maxDetailValue), millis(s.clk.Now()), j.id); err != nil {
			return done, fmt.Errorf("alerts: record webhook delivery: %w", err)
		}
		done++
	}
	return done, errors.Join(errs...)
}
