package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// Each test delivers one of Meta's documented webhook examples (as a signed body, through the
// Ingester) and checks what the inbox made of it.

func (f *fixture) lastMessage(conv int64) Message {
	f.t.Helper()
	msgs, err := f.svc.Messages(f.ctx, f.admin, conv, 0, 1)
	if err != nil || len(msgs) == 0 {
		f.t.Fatalf("messages of %d: %v %v", conv, msgs, err)
	}
	return msgs[0]
}

func (f *fixture) messageByWamid(wamid string) Message {
	f.t.Helper()
	var conv, id int64
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT conversation_id, id FROM messages WHERE wamid = ?`, wamid).Scan(&conv, &id); err != nil {
		f.t.Fatalf("message %s: %v", wamid, err)
	}
	msgs, err := f.svc.Messages(f.ctx, f.admin, conv, 0, MaxLimit)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m
		}
	}
	f.t.Fatalf("message %s not listed", wamid)
	return Message{}
}

func (f *fixture) sends(wamid string, extra map[string]any, typ string) {
	f.t.Helper()
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "16505551234", name: "Sheena Nelson", wamid: wamid, typ: typ,
		text: "Hello", at: f.clock.Now(), extra: extra}))
}

func raw(s string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		panic(err)
	}
	return m
}

func TestDocumentWithCaptionKeepsItsFileName(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.doc", raw(`{"document":{"caption":"Lucky Shrub Invoice","filename":"lucky-shrub-invoice.pdf","mime_type":"application/pdf","sha256":"Y2FmZQ==","id":"1003383421387256"}}`), "document")
	m := f.messageByWamid("wamid.doc")
	if m.Text != "Lucky Shrub Invoice" || m.Detail == nil || m.Detail.FileName != "lucky-shrub-invoice.pdf" {
		t.Fatalf("text %q detail %+v", m.Text, m.Detail)
	}
	if m.Media == nil || m.Media.State != MediaPending || m.Media.FileName != "lucky-shrub-invoice.pdf" || m.Media.Kind != "document" {
		t.Fatalf("media job %+v", m.Media)
	}
}

func TestEditUpdatesTheOriginal(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.orig", nil, "text")
	conv := f.conversationOf("16505551234", metaNumberA)
	edit := raw(`{"edit":{"original_message_id":"wamid.orig","message":{"context":{"id":"wamid.orig"},"type":"text","text":{"body":"Hello, I meant Tuesday"}}}}`)
	for range 2 { // Meta redelivers
		f.sends("wamid.edit", edit, "edit")
	}
	m := f.messageByWamid("wamid.orig")
	if m.Text != "Hello, I meant Tuesday" || m.EditedAt.IsZero() {
		t.Fatalf("original after edit: %q edited %v", m.Text, m.EditedAt)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE conversation_id = ?`, conv); n != 1 {
		t.Fatalf("the edit added rows: %d messages", n)
	}
	// An older edit delivered late does not overwrite the newer one.
	older := raw(`{"edit":{"original_message_id":"wamid.orig","message":{"type":"text","text":{"body":"Hello, Monday"}}}}`)
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "16505551234", name: "Sheena Nelson", wamid: "wamid.edit0", typ: "edit",
		at: f.clock.Now().Add(-time.Hour), extra: older}))
	if m := f.messageByWamid("wamid.orig"); m.Text != "Hello, I meant Tuesday" {
		t.Fatalf("a late older edit won: %q", m.Text)
	}
	// Another customer cannot edit Sheena's message.
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "16505550000", name: "Mallory", wamid: "wamid.forged", typ: "edit",
		at: f.clock.Now(), extra: raw(`{"edit":{"original_message_id":"wamid.orig","message":{"type":"text","text":{"body":"pwned"}}}}`)}))
	if m := f.messageByWamid("wamid.orig"); m.Text != "Hello, I meant Tuesday" {
		t.Fatalf("another sender edited the message: %q", m.Text)
	}
}

func TestRevokeMarksTheOriginalDeleted(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.orig", nil, "text")
	conv := f.conversationOf("16505551234", metaNumberA)
	f.sends("wamid.revoke", raw(`{"revoke":{"original_message_id":"wamid.orig"}}`), "revoke")
	m := f.messageByWamid("wamid.orig")
	if m.DeletedAt.IsZero() || m.Text != "" {
		t.Fatalf("revoked message: text %q deleted %v", m.Text, m.DeletedAt)
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE conversation_id = ?`, conv); n != 1 {
		t.Fatalf("the revoke added a row: %d messages", n)
	}
	// A revoke for a message Switchboard never saw is kept as a notice, not lost.
	f.sends("wamid.revoke2", raw(`{"revoke":{"original_message_id":"wamid.unknown"}}`), "revoke")
	if m := f.messageByWamid("wamid.revoke2"); m.Text != "[deleted a message]" {
		t.Fatalf("unknown revoke stored as %q", m.Text)
	}
}

func TestReactionAndItsRemoval(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.orig", nil, "text")
	f.sends("wamid.r1", raw(`{"reaction":{"message_id":"wamid.orig","emoji":"\ud83d\ude00"}}`), "reaction")
	if m := f.messageByWamid("wamid.orig"); m.Reaction != "😀" {
		t.Fatalf("reaction = %q", m.Reaction)
	}
	if m := f.messageByWamid("wamid.r1"); m.Detail == nil || m.Detail.ReactionTo != "wamid.orig" || m.Text != "[reacted 😀]" {
		t.Fatalf("reaction row %q %+v", m.Text, m.Detail)
	}
	// Meta's removal has no emoji field.
	f.sends("wamid.r2", raw(`{"reaction":{"message_id":"wamid.orig"}}`), "reaction")
	if m := f.messageByWamid("wamid.orig"); m.Reaction != "" {
		t.Fatalf("removed reaction still %q", m.Reaction)
	}
}

func TestListReplyKeepsItsDescription(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.list", raw(`{"context":{"from":"15550783881","id":"wamid.menu"},"interactive":{"type":"list_reply","list_reply":{"id":"priority","title":"Priority mail","description":"Next day to most cities"}}}`), "interactive")
	m := f.messageByWamid("wamid.list")
	if m.Text != "Priority mail" || m.Detail == nil || m.Detail.Description != "Next day to most cities" || m.ReplyTo != "wamid.menu" {
		t.Fatalf("%q %+v reply to %q", m.Text, m.Detail, m.ReplyTo)
	}
}

func TestInteractiveAndUnsupportedShowMetaErrors(t *testing.T) {
	f := newFixture(t)
	errs := `"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]`
	f.sends("wamid.int", raw(`{`+errs+`}`), "interactive")
	f.sends("wamid.uns", raw(`{`+errs+`}`), "unsupported")
	for _, w := range []string{"wamid.int", "wamid.uns"} {
		m := f.messageByWamid(w)
		if !strings.Contains(m.Text, "Message type unknown") || m.Detail == nil || len(m.Detail.Errors) != 1 ||
			m.Detail.Errors[0].Code != 131051 || m.Detail.Errors[0].Details != "Message type is currently not supported." {
			t.Fatalf("%s: %q %+v", w, m.Text, m.Detail)
		}
	}
}

func TestLocationOrderReferralAndContacts(t *testing.T) {
	f := newFixture(t)
	f.sends("wamid.loc", raw(`{"location":{"address":"1 Hacker Way, Menlo Park, CA 94025","latitude":37.483307,"longitude":-122.148981,"name":"Main Street Beach"}}`), "location")
	if d := f.messageByWamid("wamid.loc").Detail; d == nil || d.Location == nil || d.Location.Latitude != 37.483307 || d.Location.Name != "Main Street Beach" {
		t.Fatalf("location %+v", d)
	}
	f.sends("wamid.order", raw(`{"order":{"catalog_id":"194836987003835","text":"Ship fast","product_items":[{"product_retailer_id":"di9ozbzfi4","quantity":2,"item_price":30,"currency":"USD"}]}}`), "order")
	if d := f.messageByWamid("wamid.order").Detail; d == nil || d.Order == nil || d.Order.Items[0].Quantity != "2" || d.Order.Items[0].Price != "30" {
		t.Fatalf("order %+v", d)
	}
	f.sends("wamid.ref", raw(`{"referral":{"source_url":"https://fb.me/2ZulEu42P","source_id":"120226305854810726","source_type":"ad","headline":"Chat with us","body":"Free delivery","media_type":"image"},"text":{"body":"Is this still on?"}}`), "text")
	if m := f.messageByWamid("wamid.ref"); m.Detail == nil || m.Detail.Referral == nil || m.Detail.Referral.Headline != "Chat with us" {
		t.Fatalf("referral %+v", m.Detail)
	}
	f.sends("wamid.card", raw(`{"contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara"},"phones":[{"phone":"+1 (940) 555-1234","wa_id":"19405551234","type":"HOME"}]}]}`), "contacts")
	if d := f.messageByWamid("wamid.card").Detail; d == nil || len(d.Contacts) != 1 || d.Contacts[0].Phones[0] != "+1 (940) 555-1234" {
		t.Fatalf("card for the admin %+v", d)
	}
	// An agent without contacts.view_pii sees the card's number masked.
	agent := f.member("Alan Agent", authz.RoleAgent)
	conv := f.conversationOf("16505551234", metaNumberA)
	if err := f.svc.Assign(f.ctx, f.admin, conv, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	msgs, err := f.svc.Messages(f.ctx, agent, conv, 0, MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Detail != nil && len(m.Detail.Contacts) > 0 && strings.Contains(m.Detail.Contacts[0].Phones[0], "555-1234") {
			t.Fatalf("the agent sees the card's number %q", m.Detail.Contacts[0].Phones[0])
		}
	}
}

func TestUserChangedNumberMovesTheContact(t *testing.T) {
	f := newFixture(t)
	conv := f.customerWrites("16505551234", "Sheena Nelson", "Hi")
	// Meta's example: a system message without contacts[].
	body := envelope(metaNumberA, map[string]any{"messages": []any{raw(`{"from":"16505551234","id":"wamid.sys","timestamp":"` +
		itoa(f.clock.Now().Unix()) + `","type":"system","system":{"body":"User Sheena Nelson changed from 16505551234 to 16505559999","new_wa_id":"16505559999","type":"user_changed_number"}}`)}})
	f.deliver(body)
	var wa, prev string
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT wa_id, previous_wa_id FROM contacts`).Scan(&wa, &prev); err != nil {
		t.Fatal(err)
	}
	if wa != "16505559999" || prev != "16505551234" {
		t.Fatalf("contact now %s (was %s)", wa, prev)
	}
	// The next message from the new number continues the same conversation.
	if got := f.customerWrites("16505559999", "Sheena Nelson", "New phone, same me"); got != conv {
		t.Fatalf("new number opened conversation %d, want %d", got, conv)
	}
	ev := f.events("contact.number_changed")
	if len(ev) != 1 || strings.Contains(ev[0].Changes, "16505559999") {
		t.Fatalf("activity %+v (numbers masked)", ev)
	}
}

func TestStatusWithErrorsAndPricing(t *testing.T) {
	f := newFixture(t)
	// Meta's failed status example carries errors[]; a sent one carries pricing.
	f.deliver(statusBody(metaNumberA, status{wamid: "wamid.out1", status: "sent", at: f.clock.Now(), recipient: "16505551234"},
		status{wamid: "wamid.out1", status: "failed", at: f.clock.Now(), recipient: "16505551234", errCode: 131049, errTitle: "This message was not delivered to maintain healthy ecosystem engagement."}))
	var category string
	var billable bool
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT pricing_category, billable FROM message_statuses WHERE wamid = 'wamid.out1' AND status = 'sent'`).Scan(&category, &billable); err != nil {
		t.Fatal(err)
	}
	if category != "utility" || !billable {
		t.Fatalf("pricing %q %v", category, billable)
	}
	var code int
	var title string
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT error_code, error_title FROM message_statuses WHERE wamid = 'wamid.out1' AND status = 'failed'`).Scan(&code, &title); err != nil {
		t.Fatal(err)
	}
	if code != 131049 || !strings.Contains(title, "healthy ecosystem") {
		t.Fatalf("error %d %q", code, title)
	}
}

// fakeTransport serves media like Meta: by id, with a fixed content.
type fakeTransport struct {
	mu    sync.Mutex
	files map[string][]byte
	fail  int
}

func (ft *fakeTransport) FetchMedia(_ context.Context, _, mediaID string, maxBytes int64) ([]byte, string, error) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if ft.fail > 0 {
		ft.fail--
		return nil, "", errors.New("cdn unavailable")
	}
	data, ok := ft.files[mediaID]
	if !ok {
		return nil, "", errors.New("no such media")
	}
	if int64(len(data)) > maxBytes {
		return nil, "", errors.New("larger than the cap")
	}
	return data, "image/png", nil
}

func (ft *fakeTransport) UploadMedia(context.Context, string, string, string, []byte) (string, error) {
	return "", errors.New("not in this test")
}

func TestInboundMediaIsFetchedOffThePathAndServedOnlyWithinVisibility(t *testing.T) {
	f := newFixture(t)
	png := []byte("\x89PNG\r\n\x1a\nnot really an image, but bytes")
	ft := &fakeTransport{files: map[string][]byte{"555": png, "666": make([]byte, 2048)}, fail: 1}
	f.svc.Media = NewMediaFetcher(f.db, MediaStore{Dir: t.TempDir()}, ft, f.clock, nil)
	f.svc.Media.MaxBytes = 1024
	agent := f.member("Alan Agent", authz.RoleAgent)

	f.sends("wamid.img", raw(`{"image":{"caption":"The damage","mime_type":"image/png","sha256":"x","id":"555"}}`), "image")
	f.sends("wamid.big", raw(`{"image":{"mime_type":"image/png","sha256":"x","id":"666"}}`), "image")
	m := f.messageByWamid("wamid.img")
	if m.Media == nil || m.Media.State != MediaPending {
		t.Fatalf("media not queued: %+v", m.Media)
	}
	// The first attempt fails (Meta's CDN), the job waits and is tried again.
	f.svc.Media.FetchDue(f.ctx)
	if m := f.messageByWamid("wamid.img"); m.Media.State != MediaPending {
		t.Fatalf("after a failed attempt: %+v", m.Media)
	}
	f.clock.Advance(time.Minute)
	f.svc.Media.FetchDue(f.ctx)
	m = f.messageByWamid("wamid.img")
	if m.Media.State != MediaStored || m.Media.Size != int64(len(png)) || len(m.Media.SHA256) != 64 {
		t.Fatalf("after the retry: %+v", m.Media)
	}
	if big := f.messageByWamid("wamid.big"); big.Media.State != MediaFailed || !strings.Contains(big.Media.Error, "larger than") {
		t.Fatalf("file over the cap: %+v", big.Media)
	}

	file, err := f.svc.MediaFile(f.ctx, f.admin, m.Media.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.svc.OpenMedia(file)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(png)+10)
	n, _ := rc.Read(got)
	rc.Close()
	if string(got[:n]) != string(png) {
		t.Fatalf("stored content differs")
	}
	if _, err := os.Stat(f.svc.Media.Store().path(file.SHA256)); err != nil {
		t.Fatalf("not content-addressed: %v", err)
	}
	// The agent is not involved in the conversation: not found, as if it did not exist.
	mustBe(t, func() error { _, err := f.svc.MediaFile(f.ctx, agent, m.Media.ID); return err }(), ErrNotFound, "agent reads the media")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A file no message refers to any more (its contact was erased) is deleted from disk; a file
// still referred to stays.
func TestPruneMediaFiles(t *testing.T) {
	f := newFixture(t)
	ft := &fakeTransport{files: map[string][]byte{"1": []byte("first file"), "2": []byte("second file")}}
	f.svc.Media = NewMediaFetcher(f.db, MediaStore{Dir: t.TempDir()}, ft, f.clock, nil)
	f.sends("wamid.a", raw(`{"image":{"mime_type":"image/png","id":"1"}}`), "image")
	f.deliver(inboundBody(inbound{number: metaNumberA, waID: "16505559999", name: "Max", wamid: "wamid.b", typ: "image", at: f.clock.Now(),
		extra: raw(`{"image":{"mime_type":"image/png","id":"2"}}`)}))
	f.svc.Media.FetchDue(f.ctx)
	keep := f.messageByWamid("wamid.a").Media
	gone := f.messageByWamid("wamid.b").Media
	if _, err := f.db.W.ExecContext(f.ctx, `DELETE FROM messages WHERE wamid = 'wamid.b'`); err != nil {
		t.Fatal(err)
	}
	n, err := f.svc.PruneMediaFiles(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	if _, err := os.Stat(f.svc.Media.Store().path(gone.SHA256)); !os.IsNotExist(err) {
		t.Fatal("the erased message's file is still on disk")
	}
	if _, err := os.Stat(f.svc.Media.Store().path(keep.SHA256)); err != nil {
		t.Fatal("a file in use was deleted")
	}
}
