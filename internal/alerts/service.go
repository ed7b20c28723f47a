package alerts

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// DedupWindow: an alert raised within this time of the last raise of an open alert of the same
// kind and subject is counted on that alert instead of added. The window slides with every
// repeat, so a brute-force run that goes on for hours stays one alert.
const DedupWindow = 15 * time.Minute

// Limits on what an alert carries, so a caller's mistake cannot fill the table or the page.
const (
	maxTitle        = 200 // characters
	maxSubjectPart  = 100 // bytes
	maxDetails      = 20
	maxDetailKey    = 40  // bytes
	maxDetailValue  = 500 // bytes
	maxNetworks     = 50  // remembered sign-in networks per member
	defaultPageSize = 50
	maxPageSize     = 200
)

// Notifier passes new alerts on, such as to the outgoing webhooks' alert.raised event.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// Mailer queues e-mail about a new alert through q, the transaction that raises it, so the
// mail is as durable as the alert; the alerts package knows nothing of how mail is delivered.
// to are the members the alert's rule chose, nil for every member who may see alerts and has
// not turned alert e-mail off; a Mailer sends only to active members who may see alerts.
type Mailer interface {
	AlertRaised(ctx context.Context, q db.Querier, a Alert, to []int64) ([]MailDelivery, error)
}

// Service raises, lists and acknowledges alerts.
type Service struct {
	db       *db.DB
	audit    *audit.Log
	clk      clock.Clock
	notifier Notifier
	mailer   Mailer
	logger   *slog.Logger

	rulesMu  sync.Mutex
	rules    map[Kind]Rule // nil until read; dropped by SaveRule
	webhooks WebhookPublisher
}

// Option configures a Service.
type Option func(*Service)

// WithNotifier passes every new alert to n after its transaction commits. A nil n is allowed.
func WithNotifier(n Notifier) Option { return func(s *Service) { s.notifier = n } }

// WithMailer e-mails every new alert (not its repeats) through m. A nil m is allowed.
func WithMailer(m Mailer) Option { return func(s *Service) { s.mailer = m } }

// WithLogger is where Record reports a notifier's failure. The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// New returns the alerts service.
func New(d *db.DB, log *audit.Log, clk clock.Clock, opts ...Option) *Service {
	s := &Service{db: d, audit: log, clk: clk}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	return s
}

// Raise adds alert a through q, the caller's write transaction, so that the alert commits with
// the change that caused it; or, when an open alert of the same kind and subject was raised
// within DedupWindow, counts the repeat on that alert. A new alert writes an alert.raised
// activity event; a repeat does not, because what is repeated (each failed sign-in, each bad
// signature) has its own events already.
//
// A repeat takes the highest severity so far, the new title when one is given, and the new
// details over the old. Raise returns the alert as stored; Count is 1 for a new one. It does not notify: after the
// transaction commits, pass the alert to Notify (or use Record, which does both).
//
// Kind is required. Severity and Title default to the kind's. Title is cleaned (control
// characters become spaces, at most 200 characters) rather than refused, because it may carry a
// member's name and a hostile name must not stop the alert. Details with a key that names a
// secret ("password", "token", "code", …) are refused.
func (s *Service) Raise(ctx context.Context, q db.Querier, a Alert) (Alert, error) {
	a, err := normalise(a)
	if err != nil {
		return Alert{}, err
	}
	rule, err := s.ruleIn(ctx, q, a.Kind)
	if err != nil {
		return Alert{}, err
	}
	if !rule.Enabled {
		// Turned off by an administrator: nothing is raised (the causing event is still in the
		// activity log). The zero Alert is not notified.
		return Alert{}, nil
	}
	now := s.clk.Now().UTC().Truncate(time.Millisecond)

	open, found, err := openRepeatOf(ctx, q, a.Kind, a.Subject, now.Add(-DedupWindow))
	if err != nil {
		return Alert{}, err
	}
	if found {
		open.Count++
		open.LastSeenAt = now
		if a.Title != "" {
			open.Title = a.Title
		}
		if a.Severity.rank() > open.Severity.rank() {
			open.Severity = a.Severity
		}
		if len(a.Details) > 0 {
			merged := make(map[string]string, len(open.Details)+len(a.Details))
			maps.Copy(merged, open.Details)
			maps.Copy(merged, a.Details)
			if len(merged) <= maxDetails {
				open.Details = merged
			} else {
				open.Details = a.Details
			}
		}
		if err := updateRepeat(ctx, q, open); err != nil {
			return Alert{}, err
		}
		return open, nil
	}

	if a.Title == "" {
		a.Title = a.Kind.Label()
	}
	a.ID = 0
	a.Count = 1
	a.CreatedAt, a.LastSeenAt = now, now
	a.AcknowledgedAt, a.AcknowledgedBy, a.AcknowledgedByName = time.Time{}, 0, ""
	if a.ID, err = insertAlert(ctx, q, a); err != nil {
		return Alert{}, err
	}
	changes := []audit.Change{
		{Field: "kind", After: string(a.Kind)},
		{Field: "severity", After: string(a.Severity)},
		{Field: "title", After: a.Title},
	}
	if a.Subject != (Subject{}) {
		changes = append(changes, audit.Change{Field: "subject", After: a.Subject.String()})
	}
	if len(a.Details) > 0 {
		changes = append(changes, audit.Change{Field: "details", After: a.Details})
	}
	// Switchboard raises the alert; whoever's request caused it is in that request's own event.
	if _, err := s.audit.Append(ctx, q, audit.Event{
		Actor: audit.System(), Action: "alert.raised", Target: alertTarget(a.ID),
		Changes: changes, Outcome: audit.OutcomeSuccess,
	}); err != nil {
		return Alert{}, err
	}
	if err := s.route(ctx, q, a, rule); err != nil {
		return Alert{}, err
	}
	return a, nil
}

// Record raises a in a transaction of its own and then notifies, for alerts that accompany no
// other write. A notifier's failure is logged, not returned: the alert is stored and shows on
// the alerts page either way.
func (s *Service) Record(ctx context.Context, a Alert) (Alert, error) {
	var out Alert
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.Raise(ctx, tx, a)
		return err
	})
	if err != nil {
		return Alert{}, err
	}
	if err := s.Notify(ctx, out); err != nil {
		s.logger.ErrorContext(ctx, "alert notification failed", "alert_id", out.ID, "kind", string(out.Kind), "error", err)
	}
	return out, nil
}

// Notify passes a new alert (Count 1) to the notifier, if there is one; repeats are not passed
// on, so a brute-force run is delivered once. Call it after the transaction that raised the alert
// has committed.
func (s *Service) Notify(ctx context.Context, a Alert) error {
	if a.ID == 0 || a.Count != 1 {
		return nil
	}
	if _, err := s.PublishQueued(ctx, a.ID); err != nil {
		return fmt.Errorf("alerts: publish alert %d: %w", a.ID, err)
	}
	if s.notifier == nil {
		return nil
	}
	if err := s.notifier.Notify(ctx, a); err != nil {
		return fmt.Errorf("alerts: notify alert %d: %w", a.ID, err)
	}
	return nil
}

// Get returns one alert.
func (s *Service) Get(ctx context.Context, id int64) (Alert, error) {
	return alertByID(ctx, s.db.R, id)
}

// ListQuery selects a page of alerts, newest first. BeforeID is the keyset cursor: the ID of the
// last alert of the previous page, 0 for the first page.
type ListQuery struct {
	Open     bool // only alerts not acknowledged yet
	Limit    int  // 1 to 200; 50 when 0
	BeforeID int64
}

// Page is a page of alerts. When More, ListQuery{BeforeID: NextBeforeID} is the next page.
type Page struct {
	Alerts       []Alert
	More         bool
	NextBeforeID int64
}

// List returns a page of alerts, newest first.
func (s *Service) List(ctx context.Context, q ListQuery) (Page, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	as, err := listAlerts(ctx, s.db.R, q.Open, q.BeforeID, limit+1)
	if err != nil {
		return Page{}, err
	}
	p := Page{Alerts: as}
	if len(as) > limit {
		p.Alerts, p.More = as[:limit], true
		p.NextBeforeID = p.Alerts[limit-1].ID
	}
	return p, nil
}

// OpenCount is the number of alerts not acknowledged yet, for the badge in the navigation. It
// reads one partial index, whose size is the number of open alerts.
func (s *Service) OpenCount(ctx context.Context) (int, error) {
	return countOpen(ctx, s.db.R)
}

// Acknowledge marks an alert as seen by a member, with an alert.acknowledged activity event.
// Acknowledging an acknowledged alert changes nothing and writes nothing. Once acknowledged, an
// alert no longer collects repeats: the next one is a new alert.
//
// The caller checks that the member may acknowledge alerts.
func (s *Service) Acknowledge(ctx context.Context, id, memberID int64, memberName string) error {
	if memberID <= 0 {
		return fmt.Errorf("%w: acknowledged by member %d", ErrInvalid, memberID)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		a, err := alertByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.Open() {
			return nil
		}
		now := s.clk.Now().UTC().Truncate(time.Millisecond)
		if _, err := acknowledge(ctx, tx, id, memberID, memberName, now); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{
			Actor: audit.MemberActor(memberID, memberName), Action: "alert.acknowledged", Target: alertTarget(id),
			Changes: []audit.Change{{Field: "acknowledged", Before: false, After: true}},
			Outcome: audit.OutcomeSuccess,
		})
		return err
	})
}

// KnownAddress reports whether the member has signed in from addr's network before (IPv4: the
// address; IPv6: its /64, see auth.ClientNetwork). An empty addr counts as known: there is
// nothing to tell an administrator.
func (s *Service) KnownAddress(ctx context.Context, q db.Querier, memberID int64, addr string) (bool, error) {
	network := auth.ClientNetwork(addr)
	if network == "" {
		return true, nil
	}
	return networkKnown(ctx, q, memberID, network)
}

// RememberAddress records that the member signed in from addr, kept as given (it is the member's
// own sign-in metadata, already in the activity log). The 50 most recently used networks are kept.
func (s *Service) RememberAddress(ctx context.Context, q db.Querier, memberID int64, addr string) error {
	_, err := s.rememberAddress(ctx, q, memberID, addr)
	return err
}

func (s *Service) rememberAddress(ctx context.Context, q db.Querier, memberID int64, addr string) (bool, error) {
	network := auth.ClientNetwork(addr)
	if network == "" {
		return false, nil
	}
	return rememberNetwork(ctx, q, memberID, network, strings.TrimSpace(addr), s.clk.Now())
}

// SignedInFrom remembers a successful sign-in's address and reports whether it deserves a
// KindSignInFromNewAddress alert: the network is new for the member, and the member has signed
// in from somewhere else before. A first sign-in (or the first since this was introduced) is not
// news. Call it in the sign-in transaction.
func (s *Service) SignedInFrom(ctx context.Context, q db.Querier, memberID int64, addr string) (bool, error) {
	if auth.ClientNetwork(addr) == "" {
		return false, nil
	}
	seenBefore, err := hasAnyNetwork(ctx, q, memberID)
	if err != nil {
		return false, err
	}
	isNew, err := s.rememberAddress(ctx, q, memberID, addr)
	if err != nil {
		return false, err
	}
	return isNew && seenBefore, nil
}

func alertTarget(id int64) audit.Target {
	return audit.Target{Type: "alert", ID: strconv.FormatInt(id, 10)}
}

// normalise validates a, cleans its title and fills in the default severity.
func normalise(a Alert) (Alert, error) {
	if !a.Kind.Valid() {
		return Alert{}, fmt.Errorf("%w: kind %q", ErrInvalid, a.Kind)
	}
	if a.Severity == "" {
		a.Severity = a.Kind.DefaultSeverity()
	} else if !a.Severity.Valid() {
		return Alert{}, fmt.Errorf("%w: severity %q", ErrInvalid, a.Severity)
	}
	a.Title = cleanText(a.Title, maxTitle)
	if a.Subject.ID != "" && a.Subject.Type == "" {
		return Alert{}, fmt.Errorf("%w: subject id %q without a type", ErrInvalid, a.Subject.ID)
	}
	if len(a.Subject.Type) > maxSubjectPart || len(a.Subject.ID) > maxSubjectPart {
		return Alert{}, fmt.Errorf("%w: subject too long", ErrInvalid)
	}
	if len(a.Details) > maxDetails {
		return Alert{}, fmt.Errorf("%w: %d details, at most %d", ErrInvalid, len(a.Details), maxDetails)
	}
	var details map[string]string
	for k, v := range a.Details {
		if !validDetailKey(k) {
			return Alert{}, fmt.Errorf("%w: detail key %q", ErrInvalid, k)
		}
		if namesSecret(k) {
			return Alert{}, fmt.Errorf("%w: detail %q looks like a secret", ErrInvalid, k)
		}
		if details == nil {
			details = make(map[string]string, len(a.Details))
		}
		details[k] = truncate(strings.ToValidUTF8(v, "\uFFFD"), maxDetailValue)
	}
	a.Details = details
	return a, nil
}

// cleanText turns control characters (a line break in a member's name) into spaces, trims, and
// cuts to n characters.
func cleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > n {
		s = strings.TrimSpace(string([]rune(s)[:n]))
	}
	return s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func validDetailKey(k string) bool {
	if k == "" || len(k) > maxDetailKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// namesSecret reports whether a detail key has a word of a secret in it: alerts go to webhooks and
// chat channels, where a password or a code must never travel.
func namesSecret(k string) bool {
	for _, w := range strings.Split(k, "_") {
		switch w {
		case "password", "passwd", "passphrase", "secret", "token", "code", "codes", "otp", "totp", "seed",
			"hash", "credential", "credentials":
			return true
		}
	}
	return false
}
