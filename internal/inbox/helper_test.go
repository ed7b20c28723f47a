package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// The fixture's two business numbers: ours (phone_numbers.id) and Meta's ids.
const (
	numberA     int64 = 1
	numberB     int64 = 2
	metaNumberA       = "106540352242922"
	metaNumberB       = "106540352242933"
)

var testStart = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	ctx      context.Context
	db       *db.DB
	clock    *clock.Fake
	svc      *Service
	sender   *fakeSender
	ingester *Ingester
	admin    *authz.Principal
}

func openDB(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	d := openDB(t)
	clk := clock.NewFake(testStart)
	if err := members.NewStore(d).SyncBuiltinRoles(ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	seedNumbers(t, d, 2)
	sender := &fakeSender{}
	svc := NewService(d, audit.New(d, clk), clk, sender)
	g := NewIngester(d, svc.ApplyEvents, IngesterOptions{Clock: clk})
	t.Cleanup(func() { g.Close() })
	f := &fixture{t: t, ctx: ctx, db: d, clock: clk, svc: svc, sender: sender, ingester: g}
	f.admin = f.member("Ada Admin", authz.RoleAdministrator)
	return f
}

// seedNumbers connects one WABA with n numbers, ids 1…n; numbers 1 and 2 have the fixture's
// Meta ids.
func seedNumbers(t testing.TB, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := d.W.ExecContext(ctx, `INSERT INTO wabas (id, waba_id, created_at, updated_at) VALUES (1, '2000', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		meta := strconv.Itoa(106540352242900 + i)
		switch i {
		case 1:
			meta = metaNumberA
		case 2:
			meta = metaNumberB
		}
		if _, err := d.W.ExecContext(ctx, `INSERT INTO phone_numbers (id, waba_ref, phone_number_id, display_phone_number, created_at, updated_at)
			VALUES (?, 1, ?, ?, 0, 0)`, i, meta, fmt.Sprintf("+1 555-000-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// member creates an active member with a built-in role, in all numbers or in the ones given,
// and loads their principal the way the web layer does.
func (f *fixture) member(name, roleKey string, numbers ...int64) *authz.Principal {
	f.t.Helper()
	id := insertMember(f.t, f.db, name, roleKey, numbers...)
	p, _, err := members.NewStore(f.db).Principal(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func insertMember(t testing.TB, d *db.DB, name, roleKey string, numbers ...int64) int64 {
	t.Helper()
	ctx := context.Background()
	var roleID int64
	if err := d.R.QueryRowContext(ctx, `SELECT id FROM roles WHERE key = ?`, roleKey).Scan(&roleID); err != nil {
		t.Fatalf("role %s: %v", roleKey, err)
	}
	all := 0
	if len(numbers) == 0 {
		all = 1
	}
	res, err := d.W.ExecContext(ctx, `INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at, all_numbers)
		VALUES (?, ?, 'x', ?, 0, 0, ?)`, fmt.Sprintf("m%d.%s@example.com", time.Now().UnixNano(), roleKey), name, roleID, all)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	for _, n := range numbers {
		if _, err := d.W.ExecContext(ctx, `INSERT INTO member_numbers (member_id, phone_number_id) VALUES (?, ?)`, id, n); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// inbound describes one customer message for inboundBody.
type inbound struct {
	number string // Meta's phone_number_id
	waID   string
	userID string
	name   string
	wamid  string
	typ    string // "text" when empty
	text   string
	at     time.Time
	// extra is merged into the message object (for types the inbox does not model).
	extra map[string]any
}

func envelope(number string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]any{"display_phone_number": "15550783881", "phone_number_id": number}
	b, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": "2000", "changes": []any{map[string]any{"field": "messages", "value": value}}}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func inboundBody(m inbound) []byte {
	if m.typ == "" {
		m.typ = "text"
	}
	msg := map[string]any{"id": m.wamid, "timestamp": strconv.FormatInt(m.at.Unix(), 10), "type": m.typ}
	contact := map[string]any{"profile": map[string]any{"name": m.name}}
	if m.waID != "" {
		msg["from"] = m.waID
		contact["wa_id"] = m.waID
	}
	if m.userID != "" {
		msg["from_user_id"] = m.userID
		contact["user_id"] = m.userID
	}
	if m.typ == "text" {
		msg["text"] = map[string]any{"body": m.text}
	}
	for k, v := range m.extra {
		msg[k] = v
	}
	return envelope(m.number, map[string]any{"contacts": []any{contact}, "messages": []any{msg}})
}

// status describes one status webhook entry.
type status struct {
	wamid     string
	status    string
	at        time.Time
	recipient string
	errCode   int
	errTitle  string
}

func statusBody(number string, sts ...status) []byte {
	var list []any
	for _, s := range sts {
		st := map[string]any{"id": s.wamid, "status": s.status, "timestamp": strconv.FormatInt(s.at.Unix(), 10),
			"recipient_id": s.recipient}
		if s.errCode != 0 {
			st["errors"] = []any{map[string]any{"code": s.errCode, "title": s.errTitle,
				"error_data": map[string]any{"details": "details of " + s.errTitle}}}
		}
		if s.status == "sent" {
			st["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"}
		}
		list = append(list, st)
	}
	return envelope(number, map[string]any{"statuses": list})
}

// deliver is the webhook handler's part: sign, verify, parse, submit.
func (f *fixture) deliver(body []byte) {
	f.t.Helper()
	if err := deliver(f.ctx, f.ingester, body); err != nil {
		f.t.Fatal(err)
	}
}

var testAppSecret = []byte("test app secret")

func deliver(ctx context.Context, g *Ingester, body []byte) error {
	if err := whatsapp.VerifySignature(testAppSecret, body, whatsapp.Sign(testAppSecret, body)); err != nil {
		return err
	}
	w, err := whatsapp.ParseWebhook(body)
	if err != nil {
		return err
	}
	return g.Submit(ctx, body, w.Events())
}

// customerWrites delivers a text from waID to number A (or the number given) now, and returns
// the conversation it landed in.
func (f *fixture) customerWrites(waID, name, text string, number ...string) int64 {
	f.t.Helper()
	n := metaNumberA
	if len(number) > 0 {
		n = number[0]
	}
	f.deliver(inboundBody(inbound{number: n, waID: waID, name: name, wamid: "wamid.in." + strconv.FormatInt(f.clock.Now().UnixNano(), 36) + waID + text,
		text: text, at: f.clock.Now()}))
	return f.conversationOf(waID, n)
}

func (f *fixture) conversationOf(waID, metaNumber string) int64 {
	f.t.Helper()
	var id int64
	err := f.db.R.QueryRowContext(f.ctx, `SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
		JOIN phone_numbers pn ON pn.id = c.phone_number_id WHERE ct.wa_id = ? AND pn.phone_number_id = ?`, waID, metaNumber).Scan(&id)
	if err != nil {
		f.t.Fatalf("conversation of %s: %v", waID, err)
	}
	return id
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.R.QueryRowContext(f.ctx, query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

type auditRow struct {
	Action, ActorID, TargetType, TargetID, Changes, Outcome string
}

func (f *fixture) events(action string) []auditRow {
	f.t.Helper()
	rows, err := f.db.R.QueryContext(f.ctx, `SELECT action, actor_id, target_type, target_id, changes, outcome
		FROM audit_events WHERE action = ? ORDER BY id`, action)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.Action, &r.ActorID, &r.TargetType, &r.TargetID, &r.Changes, &r.Outcome); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func ids(cs []Conversation) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	slices.Sort(out)
	return out
}

func (f *fixture) list(p *authz.Principal, q ListQuery) []int64 {
	f.t.Helper()
	page, err := f.svc.List(f.ctx, p, q)
	if err != nil {
		f.t.Fatalf("List %+v: %v", q, err)
	}
	return ids(page.Conversations)
}

func mustBe(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// fakeSender stands in for the Cloud API. during, when set, runs inside a send before it
// answers: the place to deliver a status webhook that overtakes the answer.
type fakeSender struct {
	mu     sync.Mutex
	calls  []sentCall
	next   int
	err    error
	during func(wamid string)
	reads  []string
}

type sentCall struct {
	Kind, PhoneNumberID, To, Body, Template string
}

func (s *fakeSender) record(c sentCall) (string, error) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.next++
	wamid := fmt.Sprintf("wamid.out.%d", s.next)
	err, during := s.err, s.during
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	if during != nil {
		during(wamid)
	}
	return wamid, nil
}

func (s *fakeSender) SendText(_ context.Context, pn, to, body string) (string, error) {
	return s.record(sentCall{Kind: "text", PhoneNumberID: pn, To: to, Body: body})
}

func (s *fakeSender) SendTemplate(_ context.Context, pn, to string, t whatsapp.TemplateMessage) (string, error) {
	return s.record(sentCall{Kind: "template", PhoneNumberID: pn, To: to, Template: t.Name})
}

func (s *fakeSender) SendMedia(_ context.Context, pn, to string, m whatsapp.MediaMessage) (string, error) {
	return s.record(sentCall{Kind: m.Type, PhoneNumberID: pn, To: to, Body: m.Caption})
}

func (s *fakeSender) MarkRead(_ context.Context, pn, wamid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, wamid)
	return nil
}

func (s *fakeSender) Calls() []sentCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func template(name string) whatsapp.TemplateMessage {
	return whatsapp.TemplateMessage{Name: name, Language: "en_US",
		Components: []whatsapp.MessageComponent{whatsapp.BodyComponent(whatsapp.TextParam("Jessica"))}}
}
