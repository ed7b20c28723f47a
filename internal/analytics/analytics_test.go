package analytics_test

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics"
	"github.com/switchboard/switchboard/internal/analytics/analyticsgen"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

var genNow = time.Date(2026, 11, 10, 15, 30, 0, 0, time.UTC)

func generated(t testing.TB, conversations int) (*db.DB, analyticsgen.Result) {
	t.Helper()
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, genNow); err != nil {
		t.Fatal(err)
	}
	res, err := analyticsgen.Generate(ctx, d, analyticsgen.Options{Conversations: conversations, Days: 40, Now: genNow, Seed: 7,
		Labels: []string{"VIP", "Billing"}})
	if err != nil {
		t.Fatal(err)
	}
	return d, res
}

// dump is every rollup row, for comparing the triggers' figures with the rebuild's.
func dump(t *testing.T, d *db.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, q := range []struct{ table, cols, nonzero string }{
		{"analytics_messages", "grain, t, phone_number_id, member_id, template_name, template_language, inbound, outbound, pending, sent, delivered, read, failed, replies, clicks",
			"inbound + outbound + pending + sent + delivered + read + failed + replies + clicks"},
		{"analytics_number_hours", "t, phone_number_id, inbound, outbound, pending, sent, delivered, read, failed, replies",
			"inbound + outbound + pending + sent + delivered + read + failed + replies"},
		{"analytics_failures", "grain, t, phone_number_id, member_id, template_name, error_code, n", "n"},
		{"analytics_conversations", "grain, t, phone_number_id, member_id, opened, closed", "opened + closed"},
		{"analytics_durations", "grain, t, kind, phone_number_id, member_id, bucket, n", "n"},
		{"analytics_first_responses", "conversation_id, t, phone_number_id, member_id, bucket, n", "n"},
		{"analytics_billable", "grain, t, phone_number_id, category, prefix, n", "n"},
	} {
		rows, err := d.R.Query(`SELECT ` + q.cols + ` FROM ` + q.table + ` WHERE ` + q.nonzero + ` <> 0 ORDER BY ` + q.cols)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[q.table] = append(out[q.table], fmt.Sprint(vals...))
		}
		rows.Close()
	}
	return out
}

// The rollups kept as history is written (rollup.Delta.CatchUp after each chunk of the
// generator, the conversation triggers) and Rebuild (from scratch) must agree row for row,
// also after conversations are reopened and closed again by someone else. The inbox's write
// paths (ingest, sends, statuses) are checked the same way by
// internal/inbox.TestIncrementalRollupsMatchRebuild.
func TestGeneratedRollupsMatchRebuild(t *testing.T) {
	ctx := context.Background()
	d, _, err := db.OpenAndMigrate(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, genNow); err != nil {
		t.Fatal(err)
	}
	if _, err := analyticsgen.Generate(ctx, d, analyticsgen.Options{Conversations: 400, Days: 40, Now: genNow, Seed: 7, Chunk: 37,
		Labels: []string{"VIP"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE conversations SET status = 'open', closed_at = NULL WHERE id IN (SELECT id FROM conversations WHERE status = 'closed' LIMIT 4)`,
		`UPDATE conversations SET assignee_id = NULL WHERE id IN (SELECT id FROM conversations WHERE status = 'closed' LIMIT 2)`,
	} {
		if _, err := d.W.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	live := dump(t, d)
	var clicks int64
	d.R.QueryRow(`SELECT coalesce(sum(clicks), 0) FROM analytics_messages WHERE grain = 1`).Scan(&clicks)
	if clicks == 0 {
		t.Fatal("generated data has no button clicks")
	}
	if len(live["analytics_messages"]) == 0 || len(live["analytics_durations"]) == 0 || len(live["analytics_billable"]) == 0 ||
		len(live["analytics_first_responses"]) == 0 ||
		len(live["analytics_failures"]) == 0 || len(live["analytics_conversations"]) == 0 {
		t.Fatalf("generated data left a rollup empty: %v", func() (n []int) {
			for _, v := range live {
				n = append(n, len(v))
			}
			return
		}())
	}
	if err := analytics.NewStore(d, nil).Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt := dump(t, d)
	for table := range live {
		if !reflect.DeepEqual(live[table], rebuilt[table]) {
			a, b := live[table], rebuilt[table]
			for i := 0; i < min(len(a), len(b)); i++ {
				if a[i] != b[i] {
					t.Fatalf("%s differs at row %d: live %q, rebuilt %q (%d vs %d rows)", table, i, a[i], b[i], len(a), len(b))
				}
			}
			t.Fatalf("%s: %d live rows, %d rebuilt", table, len(a), len(b))
		}
	}
}

func TestBucketsMatchTheirSQL(t *testing.T) {
	if len(analytics.Bounds)+1 != len(analytics.Dist{}.Counts) {
		t.Fatalf("Dist has %d buckets, Bounds %d", len(analytics.Dist{}.Counts), len(analytics.Bounds))
	}
	for _, s := range []int64{-5, 0, 29, 30, 59, 60, 3599, 3600, 604799, 604800, 1e9} {
		b := analytics.BucketOf(s)
		if b > 0 && s < analytics.Bounds[b-1] || b < len(analytics.Bounds) && s >= analytics.Bounds[b] {
			t.Fatalf("BucketOf(%d) = %d", s, b)
		}
	}
}

func TestPeriodBoundsAreLocalMidnights(t *testing.T) {
	now := time.Date(2026, 11, 10, 3, 0, 0, 0, time.UTC)
	ny, _ := time.LoadLocation("America/New_York")
	p, err := analytics.ParsePeriod(analytics.Preset7, "", "", ny, now)
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 UTC is still 9 November in New York (EST, UTC-5).
	if want := time.Date(2026, 11, 3, 0, 0, 0, 0, ny); !p.Start.Equal(want) || !p.End.Equal(time.Date(2026, 11, 10, 0, 0, 0, 0, ny)) || p.Shifted {
		t.Fatalf("7 days in New York: %v – %v", p.Start, p.End)
	}
	if len(p.Bars()) != 7 || p.Step != analytics.StepDay {
		t.Fatalf("bars %d", len(p.Bars()))
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	p, _ = analytics.ParsePeriod(analytics.PresetToday, "", "", kolkata, now)
	if !p.Shifted || p.Start != time.Date(2026, 11, 9, 18, 0, 0, 0, time.UTC) || p.Step != analytics.StepHour || len(p.Bars()) != 24 {
		t.Fatalf("today in Kolkata: %+v", p)
	}
	for _, bad := range [][2]string{{"2026-11-10", "2026-11-01"}, {"x", "2026-11-01"}, {"2020-01-01", "2026-11-01"}} {
		if _, err := analytics.ParsePeriod(analytics.PresetCustom, bad[0], bad[1], time.UTC, now); err == nil {
			t.Fatalf("custom %v accepted", bad)
		}
	}
}

// truth is the figures computed straight from the messages and conversations tables.
type truth struct {
	totals         analytics.Counts
	bars           []analytics.Counts
	failures       map[int]int64
	opened, closed int64
	firstResponse  []int64 // seconds, sorted
	resolution     []int64
	heat           [7][24]int64
	agentSent      map[int64]int64
	// templates by name and language: outbound, delivered, read, failed, replies, clicks.
	templates map[[2]string]analytics.Counts
}

func computeTruth(t *testing.T, d *db.DB, p analytics.Period, f analytics.Filter, scope []int64) truth {
	t.Helper()
	tr := truth{failures: map[int]int64{}, agentSent: map[int64]int64{}, templates: map[[2]string]analytics.Counts{}}
	bars := p.Bars()
	tr.bars = make([]analytics.Counts, len(bars))
	start, end := p.Start.UnixMilli(), p.End.UnixMilli()
	inScope := func(n int64) bool {
		return slices.Contains(scope, n) && (f.NumberID == 0 || n == f.NumberID)
	}
	// The label filter narrows the conversation figures to conversations carrying it now.
	labelled := func(int64) bool { return true }
	if f.LabelID != 0 {
		ids := map[int64]bool{}
		lr, err := d.R.Query(`SELECT conversation_id FROM conversation_labels WHERE label_id = ?`, f.LabelID)
		if err != nil {
			t.Fatal(err)
		}
		for lr.Next() {
			var id int64
			lr.Scan(&id)
			ids[id] = true
		}
		lr.Close()
		if len(ids) == 0 {
			t.Fatal("no conversation carries the label")
		}
		labelled = func(id int64) bool { return ids[id] }
	}
	// Button presses: inbound "button" messages whose context is a template message.
	br, err := d.R.Query(`SELECT c.phone_number_id, coalesce(t.sent_by, 0), t.template_name, t.template_language, t.created_at
		FROM messages b JOIN messages t ON t.wamid = b.reply_to JOIN conversations c ON c.id = t.conversation_id
		WHERE b.direction = 'in' AND b.type = 'button' AND t.template_name <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	for br.Next() {
		var number, by, at int64
		var tpl, lang string
		if err := br.Scan(&number, &by, &tpl, &lang, &at); err != nil {
			t.Fatal(err)
		}
		if at >= start && at < end && inScope(number) && (f.MemberID == 0 || by == f.MemberID) && (f.Template == "" || tpl == f.Template) {
			k := [2]string{tpl, lang}
			c := tr.templates[k]
			c.Clicks++
			tr.templates[k] = c
			tr.totals.Clicks++
		}
	}
	br.Close()
	rows, err := d.R.Query(`SELECT m.conversation_id, c.phone_number_id, m.direction, m.status, coalesce(m.error_code, 0),
		coalesce(m.sent_by, 0), m.sent_by IS NOT NULL, m.template_name, m.template_language, m.created_at
		FROM messages m JOIN conversations c ON c.id = m.conversation_id ORDER BY m.conversation_id, m.created_at, m.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type prev struct {
		out       bool
		tpl, lang string
		by, at    int64
		waitFrom  int64
	}
	var conv int64 = -1
	var pv prev
	for rows.Next() {
		var (
			cid, number, by, at    int64
			dir, status, tpl, lang string
			code                   int
			byMember               bool
		)
		if err := rows.Scan(&cid, &number, &dir, &status, &code, &by, &byMember, &tpl, &lang, &at); err != nil {
			t.Fatal(err)
		}
		if cid != conv {
			conv, pv = cid, prev{waitFrom: -1}
		}
		in := at >= start && at < end && inScope(number)
		memberOK := f.MemberID == 0 || by == f.MemberID
		tplOK := f.Template == "" || tpl == f.Template
		if dir == "out" {
			if in && memberOK && tplOK && !(f.MemberID != 0 && by == 0) {
				var c analytics.Counts
				c.Outbound = 1
				switch status {
				case "pending", "accepted":
					c.Pending = 1
				case "sent":
					c.Sent = 1
				case "delivered":
					c.Delivered = 1
				case "read":
					c.Read = 1
				case "failed":
					c.Failed = 1
					tr.failures[code]++
				}
				addCounts(&tr.totals, c)
				addCounts(&tr.bars[barOf(bars, at)], c)
				if by != 0 {
					tr.agentSent[by]++
				}
				if tpl != "" {
					k := [2]string{tpl, lang}
					tc := tr.templates[k]
					addCounts(&tc, c)
					tr.templates[k] = tc
				}
			}
			if byMember && pv.waitFrom >= 0 && in && memberOK && labelled(cid) {
				tr.firstResponse = append(tr.firstResponse, (at-pv.waitFrom)/1000)
			}
			pv.waitFrom = -1
		} else {
			if pv.waitFrom < 0 {
				pv.waitFrom = at
			}
			if in && f.MemberID == 0 && f.Template == "" {
				tr.totals.Inbound++
				tr.bars[barOf(bars, at)].Inbound++
			}
			if in {
				// By the local hour of the UTC hour the message falls in: the same as its own
				// local hour in every whole-hour zone (see Period).
				l := time.UnixMilli(at).UTC().Truncate(time.Hour).In(p.Loc)
				tr.heat[(int(l.Weekday())+6)%7][l.Hour()]++
			}
			if pv.out && pv.tpl != "" && at-pv.at < 86_400_000 && pv.at >= start && pv.at < end && inScope(number) &&
				(f.MemberID == 0 || pv.by == f.MemberID) && (f.Template == "" || pv.tpl == f.Template) {
				k := [2]string{pv.tpl, pv.lang}
				tc := tr.templates[k]
				tc.Replies++
				tr.templates[k] = tc
				tr.totals.Replies++
				tr.bars[barOf(bars, pv.at)].Replies++
			}
		}
		pv.out, pv.tpl, pv.lang, pv.by, pv.at = dir == "out", tpl, lang, by, at
	}
	crow, err := d.R.Query(`SELECT id, phone_number_id, coalesce(assignee_id, 0), status, created_at, closed_at FROM conversations`)
	if err != nil {
		t.Fatal(err)
	}
	defer crow.Close()
	for crow.Next() {
		var id, number, assignee, created int64
		var status string
		var closed sql.NullInt64
		if err := crow.Scan(&id, &number, &assignee, &status, &created, &closed); err != nil {
			t.Fatal(err)
		}
		if !inScope(number) || !labelled(id) {
			continue
		}
		if created >= start && created < end {
			tr.opened++
		}
		if status == "closed" && closed.Valid && closed.Int64 >= start && closed.Int64 < end && (f.MemberID == 0 || assignee == f.MemberID) {
			tr.closed++
			tr.resolution = append(tr.resolution, (closed.Int64-created)/1000)
		}
	}
	slices.Sort(tr.firstResponse)
	slices.Sort(tr.resolution)
	return tr
}

func addCounts(a *analytics.Counts, b analytics.Counts) {
	a.Inbound += b.Inbound
	a.Outbound += b.Outbound
	a.Pending += b.Pending
	a.Sent += b.Sent
	a.Delivered += b.Delivered
	a.Read += b.Read
	a.Failed += b.Failed
	a.Replies += b.Replies
	a.Clicks += b.Clicks
}

func barOf(bars []time.Time, ms int64) int {
	at := time.UnixMilli(ms)
	i := 0
	for i+1 < len(bars) && !at.Before(bars[i+1]) {
		i++
	}
	return i
}

// nearestRank is the bucket of the ⌈pct·N/100⌉-th smallest sample.
func nearestRank(samples []int64, pct int) int {
	if len(samples) == 0 {
		return -1
	}
	rank := max((pct*len(samples)+99)/100, 1)
	return analytics.BucketOf(samples[rank-1])
}

func TestReportEqualsFiguresFromMessages(t *testing.T) {
	d, gen := generated(t, 1500)
	ctx := context.Background()
	svc := analytics.NewService(d, nil, clock.NewFake(genNow), nil)
	all := &authz.Principal{MemberID: 999, Permissions: authz.NewSet(authz.AnalyticsView), Numbers: authz.NumberScope{All: true}}
	one := &authz.Principal{MemberID: 998, Permissions: authz.NewSet(authz.AnalyticsView), Numbers: authz.NumberScope{IDs: []int64{gen.Numbers[1]}}}
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []struct {
		name   string
		who    *authz.Principal
		preset string
		from   string
		to     string
		loc    *time.Location
		filter analytics.Filter
	}{
		{"7 days UTC", all, analytics.Preset7, "", "", time.UTC, analytics.Filter{}},
		{"30 days New York across DST", all, analytics.Preset30, "", "", zone("America/New_York"), analytics.Filter{}},
		{"today Tokyo", all, analytics.PresetToday, "", "", zone("Asia/Tokyo"), analytics.Filter{}},
		{"custom Kolkata (half-hour zone)", all, analytics.PresetCustom, "2026-10-20", "2026-10-27", zone("Asia/Kolkata"), analytics.Filter{}},
		{"90 days one number", all, analytics.Preset90, "", "", zone("Europe/Berlin"), analytics.Filter{NumberID: gen.Numbers[0]}},
		{"30 days one agent", all, analytics.Preset30, "", "", time.UTC, analytics.Filter{MemberID: gen.Agents[0]}},
		{"30 days one template", all, analytics.Preset30, "", "", zone("America/Los_Angeles"), analytics.Filter{Template: "spring_sale"}},
		{"scoped analyst", one, analytics.Preset30, "", "", time.UTC, analytics.Filter{}},
		{"30 days one label", all, analytics.Preset30, "", "", zone("Europe/Berlin"), analytics.Filter{LabelID: gen.Labels[0]}},
		{"90 days label and agent", all, analytics.Preset90, "", "", time.UTC, analytics.Filter{LabelID: gen.Labels[1], MemberID: gen.Agents[1]}},
		{"7 days label, scoped analyst", one, analytics.Preset7, "", "", zone("America/New_York"), analytics.Filter{LabelID: gen.Labels[0]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := analytics.ParsePeriod(tc.preset, tc.from, tc.to, tc.loc, genNow)
			if err != nil {
				t.Fatal(err)
			}
			r, err := svc.Report(ctx, tc.who, p, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			scope := gen.Numbers
			if !tc.who.Numbers.All {
				scope = tc.who.Numbers.IDs
			}
			want := computeTruth(t, d, p, tc.filter, scope)
			if want.totals.Outbound == 0 && want.totals.Inbound == 0 {
				t.Fatal("the case covers no messages")
			}
			if tc.filter.Template != "" {
				// The case means something: the template in two languages, with button presses.
				if want.templates[[2]string{tc.filter.Template, "en"}].Clicks == 0 || want.templates[[2]string{tc.filter.Template, "es"}].Clicks == 0 {
					t.Fatalf("generated %s has no clicks in one of its languages: %+v", tc.filter.Template, want.templates)
				}
			}
			if tc.filter.LabelID != 0 && (want.opened == 0 || want.closed == 0 || len(want.firstResponse) == 0) {
				t.Fatalf("the label case covers no conversations: %+v", want)
			}
			if r.Totals != want.totals {
				t.Errorf("totals\n got %+v\nwant %+v", r.Totals, want.totals)
			}
			if len(r.Bars) != len(want.bars) {
				t.Fatalf("%d bars, want %d", len(r.Bars), len(want.bars))
			}
			for i := range r.Bars {
				if r.Bars[i].Counts != want.bars[i] {
					t.Errorf("bar %d (%v): got %+v want %+v", i, r.Bars[i].Start, r.Bars[i].Counts, want.bars[i])
				}
			}
			got := map[int]int64{}
			for _, f := range r.Failures {
				got[f.Code] = f.N
			}
			if !reflect.DeepEqual(got, want.failures) && len(want.failures)+len(got) > 0 {
				t.Errorf("failures %v, want %v", got, want.failures)
			}
			if tc.filter.Template == "" {
				if r.Opened != want.opened || r.Closed != want.closed {
					t.Errorf("opened/closed %d/%d, want %d/%d", r.Opened, r.Closed, want.opened, want.closed)
				}
				if r.FirstResponse.N != int64(len(want.firstResponse)) || r.FirstResponse.Median() != nearestRank(want.firstResponse, 50) ||
					r.FirstResponse.P90() != nearestRank(want.firstResponse, 90) {
					t.Errorf("first response n=%d median %d p90 %d; want n=%d %d %d", r.FirstResponse.N, r.FirstResponse.Median(), r.FirstResponse.P90(),
						len(want.firstResponse), nearestRank(want.firstResponse, 50), nearestRank(want.firstResponse, 90))
				}
				if r.Resolution.N != int64(len(want.resolution)) || r.Resolution.Median() != nearestRank(want.resolution, 50) {
					t.Errorf("resolution n=%d median %d; want n=%d %d", r.Resolution.N, r.Resolution.Median(), len(want.resolution), nearestRank(want.resolution, 50))
				}
				if r.Heat != want.heat {
					t.Errorf("heat map differs:\n got %v\nwant %v", r.Heat, want.heat)
				}
			}
			sent := map[int64]int64{}
			for _, a := range r.Agents {
				if a.Sent > 0 {
					sent[a.MemberID] = a.Sent
				}
			}
			if !reflect.DeepEqual(sent, want.agentSent) {
				t.Errorf("agents' sends %v, want %v", sent, want.agentSent)
			}
			// Templates by name and language: what the Templates table shows.
			tpls := map[[2]string]analytics.Counts{}
			for _, tpl := range r.Templates {
				c := tpl.Counts
				tpls[[2]string{tpl.Name, tpl.Language}] = analytics.Counts{Outbound: c.Outbound, Pending: c.Pending, Sent: c.Sent,
					Delivered: c.Delivered, Read: c.Read, Failed: c.Failed, Replies: c.Replies, Clicks: c.Clicks}
			}
			if !reflect.DeepEqual(tpls, want.templates) {
				t.Errorf("templates\n got %+v\nwant %+v", tpls, want.templates)
			}
			if !tc.who.Numbers.All {
				for _, n := range r.Numbers {
					if n.NumberID != gen.Numbers[1] {
						t.Errorf("scoped analyst sees number %d", n.NumberID)
					}
				}
			}
		})
	}
	// A number outside the scope is refused, like one that does not exist.
	p, _ := analytics.ParsePeriod(analytics.Preset30, "", "", time.UTC, genNow)
	if _, err := svc.Report(ctx, one, p, analytics.Filter{NumberID: gen.Numbers[0]}); err != analytics.ErrNotFound {
		t.Fatalf("other number: %v", err)
	}
	if _, err := svc.Report(ctx, &authz.Principal{Numbers: authz.NumberScope{All: true}}, p, analytics.Filter{}); err != analytics.ErrForbidden {
		t.Fatalf("without analytics.view: %v", err)
	}
}
