// Package rollup keeps the analytics rollups of migrations/0014_analytics.sql up to date. It
// replaces the row triggers that did it before (dropped by migrations/0016_ingest_and_inbox_speed.sql):
// they ran several upserts at three grains and a few look-ups for every message and status, and
// webhook ingest fell behind at 3,300 events/s. Changes are gathered in a Delta, in memory, and
// written by Flush as one upsert per grain and key, so a batch of 200 webhook bodies costs a
// handful of upserts rather than a thousand.
//
// Who counts what:
//   - new messages are found by CatchUp, from a high-water mark on their AUTOINCREMENT id (as
//     the search index does), so every writer of messages is counted, however it inserts; the
//     Ingester runs it once per batch and the send path in its transaction;
//   - a status that moves a message already counted (id at or below the mark) is told by the
//     code that moves it (StatusMoved); a billable status of a counted message likewise
//     (Billable, BillableOf);
//   - conversations opened, closed, reopened and reassigned while closed are still counted by
//     the two conversation triggers of 0014: they fire rarely (their WHEN clause is false for
//     the update every inbound message makes) and so cover every writer for nearly nothing.
//
// Rebuild recomputes everything with the same rules; TestIncrementalRollupsMatchRebuild in
// internal/analytics keeps the two equal.
package rollup

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/internal/db"
)

// Grains are the bucket sizes in hours that the rollups store.
var Grains = []int64{1, 24, 168}

// grainsSQL is Grains as a one-column table.
var grainsSQL = func() string {
	parts := make([]string, len(Grains))
	for i, g := range Grains {
		parts[i] = fmt.Sprintf("SELECT %d AS grain", g)
	}
	return strings.Join(parts, " UNION ALL ")
}()

// Bounds are the upper ends (exclusive, in seconds) of the duration histogram's buckets;
// bucket len(Bounds) holds everything from a week on.
var Bounds = []int64{30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200,
	10800, 14400, 21600, 28800, 43200, 86400, 172800, 259200, 604800}

// BucketOf is the bucket of a duration of s seconds.
func BucketOf(s int64) int {
	for i, b := range Bounds {
		if s < b {
			return i
		}
	}
	return len(Bounds)
}

// BucketSQL is BucketOf as an SQL expression over expr (seconds).
func BucketSQL(expr string) string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, bound := range Bounds {
		fmt.Fprintf(&b, " WHEN %s < %d THEN %d", expr, bound, i)
	}
	fmt.Fprintf(&b, " ELSE %d END", len(Bounds))
	return b.String()
}

const hourMs = 3_600_000

// Counts are the message columns of analytics_messages. Clicks are template button presses
// (analytics_messages only; analytics_number_hours has no such column).
type Counts struct {
	Inbound, Outbound, Pending, Sent, Delivered, Read, Failed, Replies, Clicks int64
}

func (c *Counts) add(o Counts) {
	c.Inbound += o.Inbound
	c.Outbound += o.Outbound
	c.Pending += o.Pending
	c.Sent += o.Sent
	c.Delivered += o.Delivered
	c.Read += o.Read
	c.Failed += o.Failed
	c.Replies += o.Replies
	c.Clicks += o.Clicks
}

func (c Counts) zero() bool { return c == Counts{} }

// statusCount is the column an outgoing message's status counts in (exclusive), or nil.
func (c *Counts) status(s string) *int64 {
	switch s {
	case "pending", "accepted":
		return &c.Pending
	case "sent":
		return &c.Sent
	case "delivered":
		return &c.Delivered
	case "read":
		return &c.Read
	case "failed":
		return &c.Failed
	}
	return nil
}

type msgKey struct {
	hour, number, member int64
	template, language   string
}

type failKey struct {
	hour, number, member int64
	template             string
	code                 int64
}

type durKey struct {
	hour, number, member int64
	kind                 string
	bucket               int
}

// respKey is a first response of one conversation (analytics_first_responses).
type respKey struct {
	conv, hour, number, member int64
	bucket                     int
}

type billKey struct {
	hour, number     int64
	category, prefix string
}

// Delta is a set of changes to the rollups, at hourly keys; Flush writes them at every grain.
// The zero value is not usable: New makes one.
type Delta struct {
	msgs  map[msgKey]*Counts
	fails map[failKey]int64
	durs  map[durKey]int64
	resps map[respKey]int64
	bills map[billKey]int64
}

// New returns an empty delta.
func New() *Delta {
	return &Delta{msgs: map[msgKey]*Counts{}, fails: map[failKey]int64{}, durs: map[durKey]int64{}, resps: map[respKey]int64{},
		bills: map[billKey]int64{}}
}

// Empty reports whether the delta changes nothing.
func (d *Delta) Empty() bool {
	return len(d.msgs) == 0 && len(d.fails) == 0 && len(d.durs) == 0 && len(d.resps) == 0 && len(d.bills) == 0
}

// Merge adds o's changes to d.
func (d *Delta) Merge(o *Delta) {
	for k, c := range o.msgs {
		d.counts(k).add(*c)
	}
	for k, n := range o.fails {
		d.fails[k] += n
	}
	for k, n := range o.durs {
		d.durs[k] += n
	}
	for k, n := range o.resps {
		d.resps[k] += n
	}
	for k, n := range o.bills {
		d.bills[k] += n
	}
}

func (d *Delta) counts(k msgKey) *Counts {
	c := d.msgs[k]
	if c == nil {
		c = &Counts{}
		d.msgs[k] = c
	}
	return c
}

// Message is what the rollups know of one message.
type Message struct {
	Out       bool
	Member    int64 // sent_by, 0 for none
	Template  string
	Language  string // the template's language, "" for none or unknown
	Status    string
	ErrorCode int64 // 0 for none
	At        int64 // created_at, unix ms
	Number    int64 // the conversation's phone_numbers.id
}

// add counts message m (sign 1) or takes it out (sign -1): the direction, the status and a
// failure, as the 0014 triggers did on insert.
func (d *Delta) add(m Message, sign int64) {
	if !m.Out {
		d.counts(msgKey{m.At / hourMs, m.Number, 0, "", ""}).Inbound += sign
		return
	}
	c := d.counts(msgKey{m.At / hourMs, m.Number, m.Member, m.Template, m.Language})
	c.Outbound += sign
	d.status(m, sign)
}

func (d *Delta) status(m Message, sign int64) {
	c := d.counts(msgKey{m.At / hourMs, m.Number, m.Member, m.Template, m.Language})
	if p := c.status(m.Status); p != nil {
		*p += sign
	}
	if m.Status == "failed" {
		d.fails[failKey{m.At / hourMs, m.Number, m.Member, m.Template, m.ErrorCode}] += sign
	}
}

// StatusMoved records that outgoing message m (as it was) now has status and code. Only for a
// message CatchUp has counted already: one it has not counted yet is counted as it stands.
func (d *Delta) StatusMoved(m Message, status string, code int64) {
	if !m.Out || (m.Status == status && m.ErrorCode == code) {
		return
	}
	d.status(m, -1)
	m.Status, m.ErrorCode = status, code
	d.status(m, 1)
}

// Billable records a billable status (delivered or read, with Meta's pricing) at unix ms at, of
// a message on number whose customer's number starts with prefix (its first three digits).
func (d *Delta) Billable(at, number int64, category, prefix string) {
	d.bills[billKey{at / hourMs, number, category, prefix}]++
}

// Flush writes the delta through q (the caller's write transaction) and empties it.
func (d *Delta) Flush(ctx context.Context, q db.Querier) error {
	if d.Empty() {
		return nil
	}
	if err := d.flushMessages(ctx, q); err != nil {
		return err
	}
	if err := d.flushSmall(ctx, q); err != nil {
		return err
	}
	*d = *New()
	return nil
}

func (d *Delta) flushMessages(ctx context.Context, q db.Querier) error {
	// Sum each grain's keys in Go first: one upsert per grain and key.
	type gk struct {
		grain int64
		msgKey
	}
	byGrain := map[gk]*Counts{}
	hours := map[[2]int64]*Counts{}
	for k, c := range d.msgs {
		if c.zero() {
			continue
		}
		for _, g := range Grains {
			kk := gk{g, msgKey{k.hour / g, k.number, k.member, k.template, k.language}}
			if byGrain[kk] == nil {
				byGrain[kk] = &Counts{}
			}
			byGrain[kk].add(*c)
		}
		hk := [2]int64{k.hour, k.number}
		if hours[hk] == nil {
			hours[hk] = &Counts{}
		}
		noClicks := *c
		noClicks.Clicks = 0
		hours[hk].add(noClicks)
	}
	const set = ` ON CONFLICT DO UPDATE SET inbound = inbound + excluded.inbound, outbound = outbound + excluded.outbound,
		pending = pending + excluded.pending, sent = sent + excluded.sent, delivered = delivered + excluded.delivered,
		read = read + excluded.read, failed = failed + excluded.failed, replies = replies + excluded.replies`
	for k, c := range byGrain {
		if c.zero() {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, template_language,
			inbound, outbound, pending, sent, delivered, read, failed, replies, clicks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+
			set+`, clicks = clicks + excluded.clicks`,
			k.grain, k.hour, k.number, k.member, k.template, k.language,
			c.Inbound, c.Outbound, c.Pending, c.Sent, c.Delivered, c.Read, c.Failed, c.Replies, c.Clicks); err != nil {
			return fmt.Errorf("rollup messages: %w", err)
		}
	}
	for k, c := range hours {
		if c.zero() {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_number_hours (t, phone_number_id,
			inbound, outbound, pending, sent, delivered, read, failed, replies) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+set,
			k[0], k[1], c.Inbound, c.Outbound, c.Pending, c.Sent, c.Delivered, c.Read, c.Failed, c.Replies); err != nil {
			return fmt.Errorf("rollup number hours: %w", err)
		}
	}
	return nil
}

func (d *Delta) flushSmall(ctx context.Context, q db.Querier) error {
	type gfail struct {
		grain int64
		failKey
	}
	fails := map[gfail]int64{}
	for k, n := range d.fails {
		for _, g := range Grains {
			fails[gfail{g, failKey{k.hour / g, k.number, k.member, k.template, k.code}}] += n
		}
	}
	for k, n := range fails {
		if n == 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`,
			k.grain, k.hour, k.number, k.member, k.template, k.code, n); err != nil {
			return fmt.Errorf("rollup failures: %w", err)
		}
	}
	type gdur struct {
		grain int64
		durKey
	}
	durs := map[gdur]int64{}
	for k, n := range d.durs {
		for _, g := range Grains {
			durs[gdur{g, durKey{k.hour / g, k.number, k.member, k.kind, k.bucket}}] += n
		}
	}
	for k, n := range durs {
		if n == 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`,
			k.grain, k.hour, k.number, k.member, k.kind, k.bucket, n); err != nil {
			return fmt.Errorf("rollup durations: %w", err)
		}
	}
	for k, n := range d.resps {
		if n == 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_first_responses (conversation_id, t, phone_number_id, member_id, bucket, n)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`,
			k.conv, k.hour, k.number, k.member, k.bucket, n); err != nil {
			return fmt.Errorf("rollup first responses: %w", err)
		}
		// And under each label the conversation carries (migrations/0026), at every grain.
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
			SELECT cl.label_id, g.grain, ? / g.grain, 'first_response', ?, ?, ?, ?
			FROM conversation_labels cl, (`+grainsSQL+`) g WHERE cl.conversation_id = ?
			ON CONFLICT DO UPDATE SET n = n + excluded.n`,
			k.hour, k.number, k.member, k.bucket, n, k.conv); err != nil {
			return fmt.Errorf("rollup first responses by label: %w", err)
		}
	}
	type gbill struct {
		grain int64
		billKey
	}
	bills := map[gbill]int64{}
	for k, n := range d.bills {
		for _, g := range Grains {
			bills[gbill{g, billKey{k.hour / g, k.number, k.category, k.prefix}}] += n
		}
	}
	for k, n := range bills {
		if n == 0 {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET n = n + excluded.n`,
			k.grain, k.hour, k.number, k.category, k.prefix, n); err != nil {
			return fmt.Errorf("rollup billable: %w", err)
		}
	}
	return nil
}
