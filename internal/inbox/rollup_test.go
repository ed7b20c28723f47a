package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// rollupDump is every non-zero rollup row, for comparing the figures kept as traffic arrives
// with those rebuilt from scratch.
func rollupDump(t *testing.T, d *db.DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, q := range []struct{ table, cols, nonzero string }{
		{"analytics_messages", "grain, t, phone_number_id, member_id, template_name, template_language, inbound, outbound, pending, sent, delivered, read, failed, replies, clicks",
			"inbound <> 0 OR outbound <> 0 OR pending <> 0 OR sent <> 0 OR delivered <> 0 OR read <> 0 OR failed <> 0 OR replies <> 0 OR clicks <> 0"},
		{"analytics_number_hours", "t, phone_number_id, inbound, outbound, pending, sent, delivered, read, failed, replies",
			"inbound <> 0 OR outbound <> 0 OR pending <> 0 OR sent <> 0 OR delivered <> 0 OR read <> 0 OR failed <> 0 OR replies <> 0"},
		{"analytics_failures", "grain, t, phone_number_id, member_id, template_name, error_code, n", "n <> 0"},
		{"analytics_conversations", "grain, t, phone_number_id, member_id, opened, closed", "opened <> 0 OR closed <> 0"},
		{"analytics_durations", "grain, t, kind, phone_number_id, member_id, bucket, n", "n <> 0"},
		{"analytics_first_responses", "conversation_id, t, phone_number_id, member_id, bucket, n", "n <> 0"},
		{"analytics_billable", "grain, t, phone_number_id, category, prefix, n", "n <> 0"},
		{"analytics_label_conversations", "label_id, grain, t, phone_number_id, member_id, opened, closed", "opened <> 0 OR closed <> 0"},
		{"analytics_label_durations", "label_id, grain, t, kind, phone_number_id, member_id, bucket, n", "n <> 0"},
	} {
		rows, err := d.R.Query(`SELECT ` + q.cols + ` FROM ` + q.table + ` WHERE ` + q.nonzero + ` ORDER BY ` + q.cols)
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

// pricedStatus is a status webhook with Meta's pricing (billable on delivered and read).
func pricedStatus(number, wamid, st string, at time.Time, category string, errCode int) []byte {
	s := map[string]any{"id": wamid, "status": st, "timestamp": strconv.FormatInt(at.Unix(), 10), "recipient_id": "4915100000000"}
	if category != "" {
		s["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "type": "regular", "category": category}
	}
	if errCode != 0 {
		s["errors"] = []any{map[string]any{"code": errCode, "title": "Failed", "error_data": map[string]any{"details": "x"}}}
	}
	return envelope(number, map[string]any{"statuses": []any{s}})
}

// The rollups kept as traffic arrives (ingest in batches, sends, statuses in and out of
// order, failures, closing, reopening, reassigning a closed conversation, a body rolled back
// behind its savepoint, labels put on and taken off before and after all of these) must equal,
// row for row, what a rebuild from scratch computes.
func TestIncrementalRollupsMatchRebuild(t *testing.T) {
	f := newFixture(t)
	alice := f.member("Alice", authz.RoleAgent)
	bob := f.member("Bob", authz.RoleAgent)

	// An ingester whose apply fails once on a poisoned body, so that a batch is stored again
	// body by body behind savepoints.
	var mu sync.Mutex
	poisoned := true
	apply := func(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
		if err := f.svc.ApplyEvents(ctx, q, events); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range events {
			if in, ok := ev.(whatsapp.InboundMessage); ok && in.Text == "poison" && poisoned {
				return errors.New("cannot apply this one")
			}
		}
		return nil
	}
	g := NewIngester(f.db, apply, IngesterOptions{MaxDelay: 20 * time.Millisecond, Clock: f.clock})
	defer g.Close()
	send := func(bodies ...[]byte) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(bodies))
		for i, b := range bodies {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = deliver(f.ctx, g, b) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	seq := 0
	in := func(number, waID, text string, at time.Time) []byte {
		seq++
		return inboundBody(inbound{number: number, waID: waID, name: "C" + waID[len(waID)-2:],
			wamid: fmt.Sprintf("wamid.roll.in.%d", seq), text: text, at: at})
	}
	customers := []string{"4915100000201", "4915100000202", "4420700000203", "12025550204", "34600000205", "4915100000206"}
	numbers := []string{metaNumberA, metaNumberB}

	// Customers write in batches, on both numbers.
	var bodies [][]byte
	for i, c := range customers {
		for k := range 3 {
			bodies = append(bodies, in(numbers[i%2], c, fmt.Sprintf("hello %d", k), f.clock.Now().Add(time.Duration(k)*time.Second)))
		}
	}
	bodies = append(bodies, in(metaNumberA, "4915100000299", "poison", f.clock.Now()))
	send(bodies...)
	conv := map[string]int64{}
	for i, c := range customers {
		conv[c] = f.conversationOf(c, numbers[i%2])
		p := alice
		if i%2 == 1 {
			p = bob
		}
		if err := f.svc.Assign(f.ctx, f.admin, conv[c], p.MemberID); err != nil {
			t.Fatal(err)
		}
	}

	// Labels: VIP on two conversations before anything is answered or closed.
	vip, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "VIP", Color: "red"})
	if err != nil {
		t.Fatal(err)
	}
	billing, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "Billing", Color: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	label := func(c string, l Label, on bool) {
		t.Helper()
		if err := f.svc.LabelConversation(f.ctx, f.admin, conv[c], l.ID, on); err != nil {
			t.Fatal(err)
		}
	}
	label(customers[0], vip, true)
	label(customers[1], vip, true)

	// Agents answer after a while; a template goes out; one send fails at Meta.
	f.clock.Advance(7 * time.Minute)
	var out []Message
	for i, c := range customers[:4] {
		p := alice
		if i%2 == 1 {
			p = bob
		}
		m, err := f.svc.SendText(f.ctx, p, conv[c], "on it")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	f.clock.Advance(3 * time.Minute)
	tpl, err := f.svc.SendTemplate(f.ctx, alice, conv[customers[4]], template("order_update"))
	if err != nil {
		t.Fatal(err)
	}
	f.sender.mu.Lock()
	f.sender.err = &whatsapp.APIError{Code: 131026, Message: "Message undeliverable"}
	f.sender.mu.Unlock()
	if _, err := f.svc.SendText(f.ctx, bob, conv[customers[5]], "will fail"); err == nil {
		t.Fatal("a send Meta refuses succeeded")
	}
	f.sender.mu.Lock()
	f.sender.err = nil
	// A billable status overtakes the answer to the send call.
	f.sender.during = func(wamid string) {
		if err := deliver(f.ctx, g, pricedStatus(metaNumberA, wamid, "delivered", f.clock.Now(), "utility", 0)); err != nil {
			t.Error(err)
		}
	}
	f.sender.mu.Unlock()
	early, err := f.svc.SendTemplate(f.ctx, alice, conv[customers[0]], template("spring_sale"))
	if err != nil {
		t.Fatal(err)
	}
	f.sender.mu.Lock()
	f.sender.during = nil
	f.sender.mu.Unlock()

	// Statuses arrive, in batches and out of order; one message fails after being sent.
	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	send(
		pricedStatus(metaNumberA, out[0].WAMID, "read", now, "service", 0),
		pricedStatus(metaNumberA, out[0].WAMID, "delivered", now, "service", 0),
		pricedStatus(metaNumberB, out[1].WAMID, "sent", now, "", 0),
		pricedStatus(metaNumberA, out[2].WAMID, "sent", now, "", 0),
		pricedStatus(metaNumberA, tpl.WAMID, "delivered", now, "marketing", 0),
		pricedStatus(metaNumberA, early.WAMID, "read", now, "marketing", 0),
		pricedStatus(metaNumberA, "wamid.unknown.1", "delivered", now, "marketing", 0),
	)
	send(pricedStatus(metaNumberA, out[2].WAMID, "failed", now, "", 131049),
		pricedStatus(metaNumberB, out[3].WAMID, "read", now, "utility", 0))

	// The customer answers the template; another writes with a timestamp from before the
	// agent's reply (Meta's clock is the customer's), which lands before it in the order.
	f.clock.Advance(2 * time.Hour)
	// One presses the template's quick-reply button: a "button" message whose context is it.
	seq++
	press := inboundBody(inbound{number: numbers[0], waID: customers[0], name: "C01", wamid: fmt.Sprintf("wamid.roll.in.%d", seq),
		typ: "button", at: f.clock.Now(), extra: map[string]any{"button": map[string]any{"payload": "YES", "text": "Yes, please"},
			"context": map[string]any{"from": "15550783881", "id": early.WAMID}}})
	send(in(numbers[0], customers[4], "yes please", f.clock.Now()),
		in(numbers[0], customers[0], "late one", out[0].CreatedAt.Add(-30*time.Second)),
		in(numbers[1], customers[1], "and another", f.clock.Now()), press)

	// After the first responses: Billing on an answered conversation, VIP off another.
	label(customers[2], billing, true)
	label(customers[3], billing, true)
	label(customers[3], vip, true)
	label(customers[3], vip, false)

	// Closing, reassigning while closed, reopening by a customer and by a member.
	f.clock.Advance(time.Hour)
	for _, c := range customers[:4] {
		if err := f.svc.Close(f.ctx, f.admin, conv[c]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.Assign(f.ctx, f.admin, conv[customers[1]], alice.MemberID); err != nil {
		t.Fatal(err)
	}
	// Labels on and off a closed conversation; one closed labelled conversation loses its label.
	label(customers[1], billing, true)
	label(customers[2], vip, true)
	label(customers[3], billing, false)
	f.clock.Advance(time.Hour)
	send(in(numbers[0], customers[0], "one more thing", f.clock.Now()))
	if err := f.svc.Reopen(f.ctx, f.admin, conv[customers[2]]); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(20 * time.Minute)
	if _, err := f.svc.SendText(f.ctx, alice, conv[customers[0]], "sure"); err != nil {
		t.Fatal(err)
	}
	// Automation answers too (no member: it is no first response), and a status follows.
	auto, err := f.svc.SendAutomated(f.ctx, conv[customers[3]], AutomatedMessage{Kind: "away", Text: "We are closed until 9:00."}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send(pricedStatus(metaNumberB, auto.WAMID, "read", f.clock.Now(), "utility", 0))
	// The poisoned body is reprocessed once it applies.
	mu.Lock()
	poisoned = false
	mu.Unlock()
	if n, err := g.Reprocess(f.ctx); err != nil || n != 1 {
		t.Fatalf("reprocess: %d, %v", n, err)
	}

	live := rollupDump(t, f.db)
	for _, table := range []string{"analytics_messages", "analytics_failures", "analytics_conversations", "analytics_durations", "analytics_billable",
		"analytics_label_conversations", "analytics_label_durations"} {
		if len(live[table]) == 0 {
			t.Fatalf("the traffic left %s empty", table)
		}
	}
	var replies int
	if err := f.db.R.QueryRow(`SELECT coalesce(sum(replies), 0) FROM analytics_messages WHERE grain = 1`).Scan(&replies); err != nil || replies == 0 {
		t.Fatalf("no template reply counted: %d %v", replies, err)
	}
	var clicks int
	var lang string
	if err := f.db.R.QueryRow(`SELECT coalesce(sum(clicks), 0), coalesce(max(template_language), '') FROM analytics_messages
		WHERE grain = 1 AND template_name = 'spring_sale'`).Scan(&clicks, &lang); err != nil || clicks != 1 || lang == "" {
		t.Fatalf("button press counted %d times for language %q: %v", clicks, lang, err)
	}
	if err := f.db.Tx(f.ctx, func(tx *sql.Tx) error { return rollup.Rebuild(f.ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	rebuilt := rollupDump(t, f.db)
	for table := range rebuilt {
		if !reflect.DeepEqual(live[table], rebuilt[table]) {
			t.Errorf("%s kept live:\n%v\nrebuilt:\n%v", table, live[table], rebuilt[table])
		}
	}
}
