package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The same webhook ten times is one message, one unread, and ten stored bodies (every accepted
// POST is kept).
func TestDuplicateWebhooksAreOneMessage(t *testing.T) {
	f := newFixture(t)
	body := inboundBody(inbound{number: metaNumberA, waID: "16505551234", name: "Sheena Nelson", wamid: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
		text: "Hi", at: f.clock.Now()})
	for range 10 {
		f.deliver(body)
	}
	if n := f.count(`SELECT count(*) FROM messages`); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE processed = 1`); n != 10 {
		t.Errorf("%d stored bodies, want 10", n)
	}
	c, err := f.svc.Get(f.ctx, f.admin, f.conversationOf("16505551234", metaNumberA))
	if err != nil || c.Unread != 1 || c.Contact.Name != "Sheena Nelson" || c.Contact.Phone != "+16505551234" || c.Preview != "Hi" {
		t.Errorf("conversation %+v %v", c, err)
	}
}

// Statuses out of order never move a message backwards; duplicates are ignored; a failure after
// delivery does not override it, one after "sent" does and keeps Meta's error.
func TestOutOfOrderStatuses(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915100000201", "Cust", "hello")
	m1, err := f.svc.SendText(f.ctx, f.admin, c, "one")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := f.svc.SendText(f.ctx, f.admin, c, "two")
	if err != nil {
		t.Fatal(err)
	}
	now := f.clock.Now()
	f.deliver(statusBody(metaNumberA, status{wamid: m1.WAMID, status: "read", at: now}))
	f.deliver(statusBody(metaNumberA, status{wamid: m1.WAMID, status: "delivered", at: now}, status{wamid: m1.WAMID, status: "sent", at: now}))
	f.deliver(statusBody(metaNumberA, status{wamid: m1.WAMID, status: "failed", at: now, errCode: 131026, errTitle: "Message undeliverable"}))
	f.deliver(statusBody(metaNumberA, status{wamid: m2.WAMID, status: "sent", at: now}))
	f.deliver(statusBody(metaNumberA, status{wamid: m2.WAMID, status: "failed", at: now, errCode: 131026, errTitle: "Message undeliverable"}))
	f.deliver(statusBody(metaNumberA, status{wamid: m2.WAMID, status: "sent", at: now}))

	msgs, err := f.svc.Messages(f.ctx, f.admin, c, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Message{}
	for _, m := range msgs {
		byID[m.ID] = m
	}
	if got := byID[m1.ID]; got.Status != "read" || got.Error != nil {
		t.Errorf("message 1: %s %+v, want read without error", got.Status, got.Error)
	}
	if got := byID[m2.ID]; got.Status != "failed" || got.Error == nil || got.Error.Code != 131026 || got.Error.Title != "Message undeliverable" {
		t.Errorf("message 2: %s %+v, want failed with 131026", got.Status, got.Error)
	}
	if n := f.count(`SELECT count(*) FROM message_statuses`); n != 6 {
		t.Errorf("%d distinct statuses recorded, want 6", n)
	}
}

// A status for a message that never becomes known (sent by another app) is kept and harmless.
func TestStatusForUnknownMessageIsParked(t *testing.T) {
	f := newFixture(t)
	f.deliver(statusBody(metaNumberA, status{wamid: "wamid.elsewhere", status: "delivered", at: f.clock.Now()}))
	if n := f.count(`SELECT count(*) FROM message_statuses WHERE wamid = 'wamid.elsewhere'`); n != 1 {
		t.Errorf("parked statuses %d", n)
	}
	f.clock.Advance(8 * 24 * time.Hour)
	n, err := f.ingester.PruneWebhooks(f.ctx, f.clock.Now().Add(-7*24*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("prune: %d %v, want the body and the orphan status", n, err)
	}
}

// A customer known only by a business-scoped user id (no phone number) gets a contact and a
// conversation, is answered through "recipient", and keeps one contact when a number appears.
func TestBusinessScopedUserID(t *testing.T) {
	f := newFixture(t)
	const bsuid = "US.13491208655302741918"
	f.deliver(inboundBody(inbound{number: metaNumberA, userID: bsuid, name: "", wamid: "wamid.bsuid.1", text: "hi, no number", at: f.clock.Now(),
		extra: map[string]any{}}))
	var contactID int64
	var wa *string
	if err := f.db.R.QueryRow(`SELECT id, wa_id FROM contacts WHERE user_id = ?`, bsuid).Scan(&contactID, &wa); err != nil || wa != nil {
		t.Fatalf("contact: %v, wa_id %v", err, wa)
	}
	var convID int64
	if err := f.db.R.QueryRow(`SELECT id FROM conversations WHERE contact_id = ?`, contactID).Scan(&convID); err != nil {
		t.Fatal(err)
	}
	agentNoPII := f.member("Alice", authz.RoleAgent)
	if err := f.svc.Assign(f.ctx, f.admin, convID, agentNoPII.MemberID); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Get(f.ctx, agentNoPII, convID)
	if err != nil || c.Contact.Phone != "" || c.Contact.UserID != bsuid || c.Contact.Label() != bsuid {
		t.Errorf("BSUID contact %+v %v", c.Contact, err)
	}
	if _, err := f.svc.SendText(f.ctx, agentNoPII, convID, "hello"); err != nil {
		t.Fatal(err)
	}
	if calls := f.sender.Calls(); calls[0].To != bsuid {
		t.Errorf("sent to %q, want the user id", calls[0].To)
	}
	// Later the same user writes with a number as well: same contact, same conversation.
	f.deliver(inboundBody(inbound{number: metaNumberA, userID: bsuid, waID: "4915100000301", name: "Now Named", wamid: "wamid.bsuid.2",
		text: "here is my number", at: f.clock.Now()}))
	if n := f.count(`SELECT count(*) FROM contacts`); n != 1 {
		t.Errorf("%d contacts, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM conversations`); n != 1 {
		t.Errorf("%d conversations, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM contacts WHERE wa_id = '4915100000301' AND user_id = ? AND profile_name = 'Now Named'`, bsuid); n != 1 {
		t.Error("the number did not join the contact")
	}
}

// Types the inbox does not model are kept with their raw JSON and a readable summary; the raw
// JSON (which holds the number) is shown only to members with contacts.view_pii.
func TestUnknownTypesKeptRaw(t *testing.T) {
	f := newFixture(t)
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "4915100000401", name: "Cust", wamid: "wamid.hologram", typ: "hologram",
		at: f.clock.Now(), extra: map[string]any{"hologram": map[string]any{"id": "h1", "depth": 3}}}))
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "4915100000401", name: "Cust", wamid: "wamid.image", typ: "image",
		at: f.clock.Now(), extra: map[string]any{"image": map[string]any{"id": "123", "mime_type": "image/jpeg", "caption": "my receipt"}}}))
	c := f.conversationOf("4915100000401", metaNumberA)
	msgs, err := f.svc.Messages(f.ctx, f.admin, c, 0, 10)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%v %v", msgs, err)
	}
	var holo, img Message
	for _, m := range msgs {
		switch m.Type {
		case "hologram":
			holo = m
		case "image":
			img = m
		}
	}
	if holo.Text != "[hologram]" || !strings.Contains(string(holo.Raw), `"depth":3`) {
		t.Errorf("unknown type: %q raw %s", holo.Text, holo.Raw)
	}
	if img.Text != "my receipt" {
		t.Errorf("image summary %q", img.Text)
	}
	agent := f.member("Alice", authz.RoleAgent)
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	msgs, _ = f.svc.Messages(f.ctx, agent, c, 0, 10)
	for _, m := range msgs {
		if m.Raw != nil {
			t.Error("raw JSON (with the number) shown without contacts.view_pii")
		}
	}
}

func TestMessageForUnconnectedNumberIsSkipped(t *testing.T) {
	f := newFixture(t)
	f.deliver(inboundBody(inbound{number: "999999999", waID: "4915100000501", name: "X", wamid: "wamid.other", text: "hi", at: f.clock.Now()}))
	if n := f.count(`SELECT count(*) FROM messages`); n != 0 {
		t.Errorf("%d messages for a number that is not connected", n)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events`); n != 1 {
		t.Error("the body was not kept")
	}
}

// One body that fails to apply must not cost the others in its batch: they commit, and the
// failing body is kept unprocessed for Reprocess.
func TestIngesterKeepsAFailingBodyAndCommitsTheRest(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	broken := true
	apply := func(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
		if err := f.svc.ApplyEvents(ctx, q, events); err != nil {
			return err
		}
		for _, ev := range events {
			mu.Lock()
			b := broken
			mu.Unlock()
			if in, ok := ev.(whatsapp.InboundMessage); ok && in.Text == "poison" && b {
				return errors.New("cannot apply this one")
			}
		}
		return nil
	}
	g := NewIngester(f.db, apply, IngesterOptions{MaxDelay: 50 * time.Millisecond, Clock: f.clock})
	defer g.Close()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprintf("message %d", i)
			if i == 7 {
				text = "poison"
			}
			errs[i] = deliver(f.ctx, g, inboundBody(inbound{number: metaNumberA, waID: fmt.Sprintf("49151000006%02d", i), name: "C",
				wamid: fmt.Sprintf("wamid.batch.%d", i), text: text, at: f.clock.Now()}))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("submit %d: %v", i, err)
		}
	}
	if n := f.count(`SELECT count(*) FROM messages`); n != 19 {
		t.Errorf("%d messages, want the 19 good ones", n)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE processed = 0 AND error LIKE '%cannot apply%'`); n != 1 {
		t.Errorf("%d kept unprocessed, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE text = 'poison'`); n != 0 {
		t.Error("the failing body's effects were committed half-way")
	}
	mu.Lock()
	broken = false
	mu.Unlock()
	n, err := g.Reprocess(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("reprocess: %d %v", n, err)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE text = 'poison'`); n != 1 {
		t.Error("reprocessing did not apply the body")
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE processed = 0`); n != 0 {
		t.Errorf("%d still unprocessed", n)
	}
}

func TestIngesterCloseDrainsAndRefuses(t *testing.T) {
	f := newFixture(t)
	g := NewIngester(f.db, f.svc.ApplyEvents, IngesterOptions{MaxDelay: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := deliver(f.ctx, g, inboundBody(inbound{number: metaNumberA, waID: "4915100000700", name: "C",
				wamid: fmt.Sprintf("wamid.close.%d", i), text: "x", at: f.clock.Now()})); err != nil && !errors.Is(err, ErrClosed) {
				t.Error(err)
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	g.Close()
	wg.Wait()
	stored := f.count(`SELECT count(*) FROM webhook_events`)
	if n := f.count(`SELECT count(*) FROM messages`); n != stored {
		t.Errorf("%d messages for %d stored bodies", n, stored)
	}
	if err := g.Submit(f.ctx, []byte("{}"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after close: %v", err)
	}
}

// Exactly once after a duplicate storm: many submitters deliver the same bodies (messages and
// statuses) in random order and many times over; every message exists once, every status is
// recorded once, unread counts count each message once.
func TestExactlyOnceAfterDuplicateStorm(t *testing.T) {
	f := newFixture(t)
	const customers, perCustomer = 20, 5
	var bodies [][]byte
	for cu := range customers {
		for k := range perCustomer {
			bodies = append(bodies, inboundBody(inbound{number: metaNumberA, waID: fmt.Sprintf("4915100008%03d", cu), name: "Storm",
				wamid: fmt.Sprintf("wamid.storm.%d.%d", cu, k), text: fmt.Sprintf("m%d", k), at: f.clock.Now()}))
		}
	}
	// Outgoing messages whose statuses storm in too.
	c := f.customerWrites("4915100009999", "Out", "hi")
	var wamids []string
	for range 10 {
		m, err := f.svc.SendText(f.ctx, f.admin, c, "out")
		if err != nil {
			t.Fatal(err)
		}
		wamids = append(wamids, m.WAMID)
	}
	for _, w := range wamids {
		for _, st := range []string{"sent", "delivered", "read"} {
			bodies = append(bodies, statusBody(metaNumberA, status{wamid: w, status: st, at: f.clock.Now()}))
		}
	}
	var wg sync.WaitGroup
	for s := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(s), 9))
			for range 5 {
				for _, i := range rng.Perm(len(bodies)) {
					if err := deliver(f.ctx, f.ingester, bodies[i]); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'in'`); n != customers*perCustomer+1 {
		t.Errorf("%d inbound messages, want %d", n, customers*perCustomer+1)
	}
	if n := f.count(`SELECT count(*) FROM conversations`); n != customers+1 {
		t.Errorf("%d conversations, want %d", n, customers+1)
	}
	if n := f.count(`SELECT count(*) FROM conversations WHERE unread_count = ? AND id <> ?`, perCustomer, c); n != customers {
		t.Errorf("%d conversations with unread %d, want %d", n, perCustomer, customers)
	}
	if n := f.count(`SELECT count(*) FROM message_statuses`); n != len(wamids)*3 {
		t.Errorf("%d statuses, want %d", n, len(wamids)*3)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'read'`); n != len(wamids) {
		t.Errorf("%d read, want %d", n, len(wamids))
	}
	if n := f.count(`SELECT count(*) FROM webhook_events`); n != 16*5*len(bodies)+1 {
		t.Errorf("%d bodies stored, want every accepted POST (%d)", n, 16*5*len(bodies)+1)
	}
}

// New messages are searchable at once, whether they came through the Ingester (indexed once
// per batch) or through ApplyEvents in a transaction of the caller's (indexed at once).
func TestIngestedMessagesAreSearchable(t *testing.T) {
	f := newFixture(t)
	a := f.customerWrites("4915100000801", "Cust One", "my espresso machine leaks")
	w, err := whatsapp.ParseWebhook(inboundBody(inbound{number: metaNumberA, waID: "4915100000802", name: "Cust Two",
		wamid: "wamid.direct", text: "the grinder is noisy", at: f.clock.Now()}))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.Tx(f.ctx, func(tx *sql.Tx) error { return f.svc.ApplyEvents(f.ctx, tx, w.Events()) }); err != nil {
		t.Fatal(err)
	}
	b := f.conversationOf("4915100000802", metaNumberA)
	for q, want := range map[string]int64{"espresso": a, "machine lea": a, "grinder": b, "noisy": b} {
		if got := f.list(f.admin, ListQuery{Search: q}); len(got) != 1 || got[0] != want {
			t.Errorf("search %q: %v, want [%d]", q, got, want)
		}
	}
}

// A signed body that did not parse is submitted without events: it is kept for Reprocess.
func TestUnparsedBodyIsKept(t *testing.T) {
	f := newFixture(t)
	if err := f.ingester.Submit(f.ctx, []byte(`{"object":"whatsapp_business_account","entry":[{"id":1}]}`), nil); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE processed = 0 AND error LIKE '%could not be parsed%'`); n != 1 {
		t.Errorf("%d kept", n)
	}
	if st := f.ingester.Stats(); st.Kept != 1 || st.Bodies != 1 || st.Batches != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Applied sees every applied event once, in the batch's transaction, and runs once per batch
// rather than once per body; when it refuses a body's events, that body alone is kept
// unprocessed and nothing of it is committed.
func TestIngesterAppliedRunsOncePerBatchAndFailsAlone(t *testing.T) {
	f := newFixture(t)
	var (
		mu    sync.Mutex
		calls int
		seen  = map[string]int{}
	)
	applied := func(ctx context.Context, q db.Querier, events []whatsapp.Event) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, ev := range events {
			in, ok := ev.(whatsapp.InboundMessage)
			if !ok {
				continue
			}
			if in.Text == "refused" {
				return errors.New("applied refuses this one")
			}
			// Written in the ingester's transaction: rolled back with it.
			if _, err := q.ExecContext(ctx, `UPDATE messages SET text = text || ' (seen)' WHERE wamid = ?`, in.MessageID); err != nil {
				return err
			}
		}
		for _, ev := range events {
			if in, ok := ev.(whatsapp.InboundMessage); ok {
				seen[in.MessageID]++
			}
		}
		return nil
	}
	g := NewIngester(f.db, f.svc.ApplyEvents, IngesterOptions{MaxDelay: 50 * time.Millisecond, Clock: f.clock, Applied: applied})
	defer g.Close()
	const bodies = 20
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprintf("message %d", i)
			if i == 11 {
				text = "refused"
			}
			if err := deliver(f.ctx, g, inboundBody(inbound{number: metaNumberA, waID: fmt.Sprintf("49151000007%02d", i), name: "C",
				wamid: fmt.Sprintf("wamid.applied.%d", i), text: text, at: f.clock.Now()})); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := f.count(`SELECT count(*) FROM messages WHERE text LIKE '% (seen)'`); n != bodies-1 {
		t.Errorf("%d messages went through Applied's writes, want %d", n, bodies-1)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE text LIKE 'refused%'`); n != 0 {
		t.Error("the body Applied refused was committed")
	}
	if n := f.count(`SELECT count(*) FROM webhook_events WHERE processed = 0 AND error LIKE '%refuses%'`); n != 1 {
		t.Errorf("%d bodies kept unprocessed, want the refused one", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s committed after Applied saw it %d times", id, n)
		}
	}
	if len(seen) != bodies-1 {
		t.Errorf("Applied saw %d committed messages, want %d", len(seen), bodies-1)
	}
	st := g.Stats()
	// One call per batch, plus one per body when the batch with the refused body was redone
	// body by body: far fewer than one per body per attempt.
	if calls >= 2*bodies {
		t.Errorf("Applied ran %d times for %d bodies in %d batches", calls, bodies, st.Batches)
	}
}

// A text message's columns hold all of it, so its JSON is not kept beside them; a type the
// inbox does not render keeps it (TestUnknownTypesKeptRaw).
func TestTextMessagesAreStoredWithoutTheirJSON(t *testing.T) {
	f := newFixture(t)
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "4915100000402", name: "Cust", wamid: "wamid.text.raw",
		text: "Is my order 4711 on its way?", at: f.clock.Now(),
		extra: map[string]any{"referral": map[string]any{"source_type": "ad", "source_url": "https://fb.me/ad", "headline": "Olive trees"}}}))
	var raw sql.NullString
	var text, detail string
	if err := f.db.R.QueryRow(`SELECT raw, text, coalesce(detail, '') FROM messages WHERE wamid = 'wamid.text.raw'`).Scan(&raw, &text, &detail); err != nil {
		t.Fatal(err)
	}
	if raw.Valid || text != "Is my order 4711 on its way?" || !strings.Contains(detail, "Olive trees") {
		t.Errorf("raw %v, text %q, detail %s: want no JSON, the text, and the ad it came from", raw, text, detail)
	}
}
