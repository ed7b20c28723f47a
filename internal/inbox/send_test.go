package inbox

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The 24-hour window, on the fake clock: free text at 23:59 goes, at 24:01 it is refused before
// Meta is called; a template still goes; a new customer message opens the window again.
func TestWindowRules(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice", authz.RoleAgent)
	c := f.customerWrites("4915100000081", "Cust", "hello")
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	wrote := f.clock.Now()

	f.clock.Set(wrote.Add(23*time.Hour + 59*time.Minute))
	got, err := f.svc.Get(f.ctx, agent, c)
	if err != nil || !got.Window.Open || !got.Window.ClosesAt.Equal(wrote.Add(24*time.Hour)) {
		t.Fatalf("window at 23:59: %+v %v", got.Window, err)
	}
	if _, err := f.svc.SendText(f.ctx, agent, c, "still in time"); err != nil {
		t.Fatalf("text at 23:59: %v", err)
	}

	f.clock.Set(wrote.Add(24*time.Hour + time.Minute))
	if got, _ := f.svc.Get(f.ctx, agent, c); got.Window.Open {
		t.Fatal("window open at 24:01")
	}
	calls := len(f.sender.Calls())
	_, err = f.svc.SendText(f.ctx, agent, c, "too late")
	mustBe(t, err, ErrWindowClosed, "text at 24:01")
	_, err = f.svc.SendMedia(f.ctx, agent, c, whatsapp.MediaMessage{Type: "image", Link: "https://example.com/a.png"})
	mustBe(t, err, ErrWindowClosed, "media at 24:01")
	cr, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: "Hi", Body: "Hi!"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.SendCanned(f.ctx, agent, c, cr.ID)
	mustBe(t, err, ErrWindowClosed, "canned at 24:01")
	if len(f.sender.Calls()) != calls {
		t.Error("Meta was called outside the window")
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE text IN ('too late', 'Hi!')`); n != 0 {
		t.Errorf("%d refused messages stored", n)
	}
	if _, err := f.svc.SendTemplate(f.ctx, agent, c, template("we_miss_you")); err != nil {
		t.Fatalf("template outside the window: %v", err)
	}

	f.customerWrites("4915100000081", "Cust", "I'm back")
	if _, err := f.svc.SendText(f.ctx, agent, c, "welcome back"); err != nil {
		t.Fatalf("text after a new customer message: %v", err)
	}
}

// When Meta itself says the window is closed (131047, our clock and Meta's disagree), it is
// the same error, and the message is kept as failed with Meta's code.
func TestMetaOutsideWindowIsWindowClosed(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915100000091", "Cust", "hello")
	f.sender.err = &whatsapp.APIError{HTTPStatus: 400, Code: whatsapp.CodeOutsideWindow, Message: "(#131047) Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed"}
	m, err := f.svc.SendText(f.ctx, f.admin, c, "hello?")
	mustBe(t, err, ErrWindowClosed, "131047")
	var api *whatsapp.APIError
	if !errors.As(err, &api) || api.Code != 131047 {
		t.Errorf("the Meta error is not kept in %v", err)
	}
	if m.Status != whatsapp.StatusFailed || m.Error == nil || m.Error.Code != 131047 || !strings.Contains(m.Error.Details, "24 hours") {
		t.Errorf("failed message %+v %+v", m, m.Error)
	}
	ev := f.events("message.sent")
	if len(ev) != 1 || ev[0].Outcome != "failed" || !strings.Contains(ev[0].Changes, "131047") {
		t.Errorf("failure event %+v", ev)
	}

	f.sender.err = errors.New("dial tcp: connection refused")
	m, err = f.svc.SendText(f.ctx, f.admin, c, "again")
	mustBe(t, err, ErrSendFailed, "network failure")
	if m.Status != whatsapp.StatusFailed || m.Error == nil || m.Error.Code != whatsapp.CodeUnknown {
		t.Errorf("network failure message %+v", m)
	}
}

// A status webhook can reach us before Meta's answer to the send call: the outgoing row exists
// (pending, no wamid yet), the status waits in message_statuses and is applied with the wamid.
func TestStatusBeforeSendAnswer(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915100000101", "Cust", "hello")
	f.sender.during = func(wamid string) {
		if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'out' AND status = 'pending' AND wamid IS NULL`); n != 1 {
			t.Errorf("during the call: %d pending rows, want the message stored before Meta is called", n)
		}
		now := f.clock.Now()
		if err := deliver(f.ctx, f.ingester, statusBody(metaNumberA,
			status{wamid: wamid, status: "sent", at: now, recipient: "4915100000101"},
			status{wamid: wamid, status: "delivered", at: now, recipient: "4915100000101"})); err != nil {
			t.Error(err)
		}
	}
	m, err := f.svc.SendText(f.ctx, f.admin, c, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != whatsapp.StatusDelivered || m.WAMID == "" {
		t.Errorf("message after the early statuses: %+v", m)
	}
	f.sender.during = nil
	// A late "sent" changes nothing; "read" moves it on.
	f.deliver(statusBody(metaNumberA, status{wamid: m.WAMID, status: "sent", at: f.clock.Now()}))
	f.deliver(statusBody(metaNumberA, status{wamid: m.WAMID, status: "read", at: f.clock.Now()}))
	msgs, err := f.svc.Messages(f.ctx, f.admin, c, 0, 10)
	if err != nil || msgs[0].Status != whatsapp.StatusRead {
		t.Errorf("after read: %+v %v", msgs, err)
	}
}

// Replying makes the member a participant, clears unread and moves the conversation up.
func TestReplyingMakesAParticipant(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice", authz.RoleAgent)
	c := f.customerWrites("4915100000111", "Cust", "hello")
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.svc.SendText(f.ctx, agent, c, "hi"); err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM conversation_participants WHERE conversation_id = ? AND member_id = ? AND why = 'replied'`, c, agent.MemberID); n != 1 {
		t.Error("the replying agent is not a participant")
	}
	got, _ := f.svc.Get(f.ctx, agent, c)
	if got.Unread != 0 || !got.LastMessageAt.Equal(f.clock.Now().Truncate(time.Millisecond)) || got.Preview != "hi" {
		t.Errorf("after reply: %+v", got)
	}
	msgs, _ := f.svc.Messages(f.ctx, agent, c, 0, 10)
	if len(msgs) != 2 || msgs[0].Direction != Outbound || msgs[0].SentByName != "Alice" || msgs[1].Direction != Inbound {
		t.Errorf("messages newest first: %+v", msgs)
	}
	older, _ := f.svc.Messages(f.ctx, agent, c, msgs[0].ID, 10)
	if len(older) != 1 || older[0].ID != msgs[1].ID {
		t.Errorf("messages before %d: %+v", msgs[0].ID, older)
	}
}

func TestMarkRead(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice", authz.RoleAgent)
	c := f.customerWrites("4915100000121", "Cust", "one")
	f.customerWrites("4915100000121", "Cust", "two")
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Get(f.ctx, agent, c); got.Unread != 2 {
		t.Fatalf("unread %d, want 2", got.Unread)
	}
	if err := f.svc.MarkRead(f.ctx, agent, c); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Get(f.ctx, agent, c); got.Unread != 0 {
		t.Errorf("unread after MarkRead %d", got.Unread)
	}
	if len(f.sender.reads) != 1 || !strings.HasPrefix(f.sender.reads[0], "wamid.in.") {
		t.Errorf("mark-read calls %v", f.sender.reads)
	}
	if err := f.svc.MarkRead(f.ctx, agent, c); err != nil || len(f.sender.reads) != 1 {
		t.Errorf("second MarkRead: %v, calls %v", err, f.sender.reads)
	}
}

func TestSendValidation(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915100000131", "Cust", "one")
	var fe FieldErrors
	if _, err := f.svc.SendText(f.ctx, f.admin, c, "  "); !errors.As(err, &fe) || fe["body"] == "" {
		t.Errorf("empty text: %v", err)
	}
	if _, err := f.svc.SendText(f.ctx, f.admin, c, strings.Repeat("x", 4097)); !errors.As(err, &fe) {
		t.Errorf("long text: %v", err)
	}
	if _, err := f.svc.SendTemplate(f.ctx, f.admin, c, whatsapp.TemplateMessage{Name: "Bad Name", Language: "en"}); !errors.As(err, &fe) || fe["template"] == "" {
		t.Errorf("bad template: %v", err)
	}
	if _, err := f.svc.SendCanned(f.ctx, f.admin, c, 12345); !errors.As(err, &fe) || fe["canned_response"] == "" {
		t.Errorf("unknown canned response: %v", err)
	}
	m, err := f.svc.SendMedia(f.ctx, f.admin, c, whatsapp.MediaMessage{Type: "document", Link: "https://example.com/i.pdf", Filename: "invoice.pdf"})
	if err != nil || m.Text != "[document: invoice.pdf]" || m.Type != "document" {
		t.Errorf("media: %+v %v", m, err)
	}
}
