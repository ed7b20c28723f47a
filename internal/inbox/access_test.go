package inbox

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// An agent scoped to number A cannot see, count, search, open, read or act on a conversation
// of number B, nor one of number A assigned to someone else: each is ErrNotFound, exactly like
// a conversation that does not exist.
func TestScopedAgentSeesOnlyTheirOwn(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice Agent", authz.RoleAgent, numberA)
	other := f.member("Oscar Other", authz.RoleAgent, numberA)

	mine := f.customerWrites("4915100000001", "Mia Mine", "hello from mine")
	othersA := f.customerWrites("4915100000002", "Otto Others", "hello from others")
	onB := f.customerWrites("4915100000003", "Bea Bnumber", "hello from b", metaNumberB)
	for conv, to := range map[int64]*authz.Principal{mine: agent, othersA: other, onB: f.admin} {
		if err := f.svc.Assign(f.ctx, f.admin, conv, to.MemberID); err != nil {
			t.Fatal(err)
		}
	}
	const missing = 999999

	for _, box := range []Box{BoxMine, BoxAll, BoxClosed} {
		got := f.list(agent, ListQuery{Box: box})
		want := []int64{}
		if box != BoxClosed {
			want = []int64{mine}
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s box: %v, want %v", box, got, want)
		}
	}
	for _, q := range []string{"Otto", "Bea", "hello", "0002", "0003"} {
		if got := f.list(agent, ListQuery{Box: BoxAll, Search: q}); slices.Contains(got, othersA) || slices.Contains(got, onB) {
			t.Errorf("search %q found another's conversation: %v", q, got)
		}
	}
	counts, err := f.svc.Counts(f.ctx, agent)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Mine != 1 || counts.All != 1 || counts.Unread != 1 || counts.Unassigned != -1 || counts.Escalated != -1 {
		t.Errorf("agent counts %+v, want mine 1, all 1, unread 1, unassigned/escalated not allowed", counts)
	}

	for _, id := range []int64{othersA, onB, missing} {
		_, err := f.svc.Get(f.ctx, agent, id)
		mustBe(t, err, ErrNotFound, "Get")
		_, err = f.svc.Messages(f.ctx, agent, id, 0, 10)
		mustBe(t, err, ErrNotFound, "Messages")
		_, err = f.svc.SendText(f.ctx, agent, id, "hi")
		mustBe(t, err, ErrNotFound, "SendText")
		_, err = f.svc.SendTemplate(f.ctx, agent, id, template("order_update"))
		mustBe(t, err, ErrNotFound, "SendTemplate")
		mustBe(t, f.svc.Escalate(f.ctx, agent, id, "help"), ErrNotFound, "Escalate")
		mustBe(t, f.svc.Close(f.ctx, agent, id), ErrNotFound, "Close")
		mustBe(t, f.svc.MarkRead(f.ctx, agent, id), ErrNotFound, "MarkRead")
	}
	if n := len(f.sender.Calls()); n != 0 {
		t.Errorf("%d calls reached Meta for conversations the agent cannot see", n)
	}
	if _, err := f.svc.Get(f.ctx, agent, mine); err != nil {
		t.Errorf("own conversation: %v", err)
	}

	// The administrator's boxes see everything.
	if got := f.list(f.admin, ListQuery{Box: BoxAll}); len(got) != 3 {
		t.Errorf("administrator sees %v, want all 3", got)
	}
}

// Reassigning takes a conversation away from the previous assignee unless they took part.
func TestAssignmentMovesVisibility(t *testing.T) {
	f := newFixture(t)
	alice := f.member("Alice", authz.RoleAgent, numberA)
	bob := f.member("Bob", authz.RoleAgent, numberA)
	c1 := f.customerWrites("4915100000011", "C One", "one")
	c2 := f.customerWrites("4915100000012", "C Two", "two")
	for _, c := range []int64{c1, c2} {
		if err := f.svc.Assign(f.ctx, f.admin, c, alice.MemberID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.SendText(f.ctx, alice, c2, "I am on it"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []int64{c1, c2} {
		if err := f.svc.Assign(f.ctx, f.admin, c, bob.MemberID); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.svc.Get(f.ctx, alice, c1)
	mustBe(t, err, ErrNotFound, "previous assignee who never replied")
	if _, err := f.svc.Get(f.ctx, alice, c2); err != nil {
		t.Errorf("previous assignee who replied lost the conversation: %v", err)
	}
	if got := f.list(alice, ListQuery{Box: BoxMine}); len(got) != 0 {
		t.Errorf("alice's mine box after reassignment: %v", got)
	}
	if got := f.list(bob, ListQuery{Box: BoxMine}); !slices.Equal(got, []int64{c1, c2}) {
		t.Errorf("bob's mine box: %v", got)
	}
}

func TestAssignTargetMustSeeTheConversation(t *testing.T) {
	f := newFixture(t)
	onA := f.customerWrites("4915100000021", "Cust", "hi")
	onlyB := f.member("Bea", authz.RoleAgent, numberB)
	auditor := f.member("Aud", authz.RoleAuditor)
	gone := f.member("Gone", authz.RoleAgent)
	if _, err := f.db.W.Exec(`UPDATE members SET status = 'deactivated' WHERE id = ?`, gone.MemberID); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]int64{"outside scope": onlyB.MemberID, "no conversation permission": auditor.MemberID,
		"deactivated": gone.MemberID, "unknown": 424242} {
		err := f.svc.Assign(f.ctx, f.admin, onA, id)
		var fe FieldErrors
		if !errors.As(err, &fe) || fe["member"] == "" {
			t.Errorf("assign to %s: %v, want a member field error", name, err)
		}
	}
	if n := len(f.events("conversation.assigned")); n != 0 {
		t.Errorf("%d assignment events for refused assignments", n)
	}

	// The list the assigner picks from offers exactly those who would be accepted.
	onA2 := f.member("Ann", authz.RoleAgent, numberA)
	analyst := f.member("Ana", authz.RoleAnalyst)
	offered, err := f.svc.Assignees(f.ctx, f.admin, onA)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range offered {
		names = append(names, a.Name)
		if err := f.svc.Assign(f.ctx, f.admin, onA, a.ID); err != nil {
			t.Errorf("offered %s, but assigning refused: %v", a.Name, err)
		}
	}
	for _, who := range []*authz.Principal{onlyB, auditor, gone} {
		if slices.Contains(names, who.Name) {
			t.Errorf("offered %s, who cannot see the conversation: %v", who.Name, names)
		}
	}
	for _, who := range []*authz.Principal{f.admin, onA2, analyst} {
		if !slices.Contains(names, who.Name) {
			t.Errorf("%s can see the conversation but is not offered: %v", who.Name, names)
		}
	}
	if _, err := f.svc.Assignees(f.ctx, onA2, onA); !errors.Is(err, ErrForbidden) {
		t.Errorf("assignee list for a member without conversations.assign: %v", err)
	}
	before := len(f.events("conversation.assigned"))

	// Without conversations.assign: refused and recorded.
	agent := f.member("Agent", authz.RoleAgent)
	mustBe(t, f.svc.Assign(f.ctx, agent, onA, agent.MemberID), ErrForbidden, "agent assigns")
	if ev := f.events("conversation.assigned"); len(ev) != before+1 || ev[len(ev)-1].Outcome != "denied" {
		t.Errorf("refusal events: %+v", ev)
	}
}

// An Analyst reads every conversation but sends nothing and changes nothing.
func TestAnalystSeesAllButCannotSend(t *testing.T) {
	f := newFixture(t)
	analyst := f.member("Ann Analyst", authz.RoleAnalyst)
	a := f.customerWrites("4915100000031", "Cust A", "hi")
	b := f.customerWrites("4915100000032", "Cust B", "hi", metaNumberB)
	if got := f.list(analyst, ListQuery{Box: BoxAll}); !slices.Equal(got, []int64{a, b}) {
		t.Errorf("analyst sees %v", got)
	}
	if _, err := f.svc.Messages(f.ctx, analyst, a, 0, 10); err != nil {
		t.Error(err)
	}
	cr, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: "Thanks", Body: "Thank you!"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.SendText(f.ctx, analyst, a, "hi")
	mustBe(t, err, ErrForbidden, "SendText")
	_, err = f.svc.SendText(f.ctx, analyst, 999999, "")
	mustBe(t, err, ErrForbidden, "SendText: the permission is checked before anything else")
	_, err = f.svc.SendCanned(f.ctx, analyst, a, cr.ID)
	mustBe(t, err, ErrForbidden, "SendCanned")
	_, err = f.svc.SendTemplate(f.ctx, analyst, a, template("order_update"))
	mustBe(t, err, ErrForbidden, "SendTemplate")
	_, err = f.svc.SendMedia(f.ctx, analyst, a, whatsapp.MediaMessage{Type: "image", Link: "https://example.com/a.png"})
	mustBe(t, err, ErrForbidden, "SendMedia")
	mustBe(t, f.svc.Assign(f.ctx, analyst, a, analyst.MemberID), ErrForbidden, "Assign")
	mustBe(t, f.svc.Close(f.ctx, analyst, a), ErrForbidden, "Close")
	mustBe(t, f.svc.Escalate(f.ctx, analyst, a, "why"), ErrForbidden, "Escalate")
	if len(f.sender.Calls()) != 0 {
		t.Error("an analyst's send reached Meta")
	}
	if n := f.count(`SELECT count(*) FROM messages WHERE direction = 'out'`); n != 0 {
		t.Errorf("%d outgoing messages stored", n)
	}
	if ev := f.events("message.sent"); len(ev) != 5 || ev[0].Outcome != "denied" {
		t.Errorf("denied send events: %+v", ev)
	}
	// Reading along does not clear the team's unread count.
	if err := f.svc.MarkRead(f.ctx, analyst, a); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.svc.Get(f.ctx, f.admin, a); c.Unread != 1 {
		t.Errorf("unread after the analyst read it: %d, want 1", c.Unread)
	}
	// Boxes an analyst may open, and one they may not.
	if _, err := f.svc.List(f.ctx, f.member("Dev", authz.RoleDeveloper), ListQuery{Box: BoxAll}); !errors.Is(err, ErrForbidden) {
		t.Errorf("developer opens the inbox: %v", err)
	}
}

// Support answers with canned responses and templates only.
func TestSupportSendsCannedAndTemplatesButNotText(t *testing.T) {
	f := newFixture(t)
	support := f.member("Sam Support", authz.RoleSupport)
	c := f.customerWrites("4915100000041", "Cust", "my parcel?")
	if err := f.svc.Assign(f.ctx, f.admin, c, support.MemberID); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.SendText(f.ctx, support, c, "free text")
	mustBe(t, err, ErrForbidden, "support SendText")
	_, err = f.svc.SendMedia(f.ctx, support, c, whatsapp.MediaMessage{Type: "image", Link: "https://example.com/a.png"})
	mustBe(t, err, ErrForbidden, "support SendMedia")

	cr, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: "Parcel", Body: "Your parcel is on its way."})
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.CannedResponses(f.ctx, support)
	if err != nil || len(list) != 1 {
		t.Fatalf("support lists canned responses: %v %v", list, err)
	}
	if _, err := f.svc.CreateCanned(f.ctx, support, CannedInput{Title: "Mine", Body: "x"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("support creates a canned response: %v", err)
	}
	m, err := f.svc.SendCanned(f.ctx, support, c, cr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Your parcel is on its way." || m.CannedID != cr.ID || m.Status != MessageAccepted || m.SentBy != support.MemberID {
		t.Errorf("canned message %+v", m)
	}
	if _, err := f.svc.SendTemplate(f.ctx, support, c, template("order_update")); err != nil {
		t.Fatal(err)
	}
	calls := f.sender.Calls()
	if len(calls) != 2 || calls[0].Body != "Your parcel is on its way." || calls[0].To != "+4915100000041" ||
		calls[0].PhoneNumberID != metaNumberA || calls[1].Template != "order_update" {
		t.Errorf("calls to Meta: %+v", calls)
	}
}

// An escalation reaches the members who assign; the escalator keeps seeing the conversation.
func TestEscalationVisibleToAssigners(t *testing.T) {
	f := newFixture(t)
	support := f.member("Sam Support", authz.RoleSupport, numberA)
	bystander := f.member("Agent Bystander", authz.RoleAgent, numberA)
	c := f.customerWrites("4915100000051", "Angry Customer", "I want a refund")
	if err := f.svc.Assign(f.ctx, f.admin, c, support.MemberID); err != nil {
		t.Fatal(err)
	}

	var fe FieldErrors
	if err := f.svc.Escalate(f.ctx, support, c, "   "); !errors.As(err, &fe) || fe["reason"] == "" {
		t.Errorf("escalation without a reason: %v", err)
	}
	if err := f.svc.Escalate(f.ctx, support, c, "Refund above my limit"); err != nil {
		t.Fatal(err)
	}
	if got := f.list(f.admin, ListQuery{Box: BoxEscalated}); !slices.Equal(got, []int64{c}) {
		t.Errorf("assigner's escalated box: %v", got)
	}
	counts, _ := f.svc.Counts(f.ctx, f.admin)
	if counts.Escalated != 1 {
		t.Errorf("assigner's escalated count %d", counts.Escalated)
	}
	got, err := f.svc.Get(f.ctx, f.admin, c)
	if err != nil || !got.Escalated || got.EscalationReason != "Refund above my limit" || got.EscalatedBy != support.MemberID {
		t.Errorf("escalated conversation: %+v %v", got, err)
	}
	if _, err := f.svc.List(f.ctx, support, ListQuery{Box: BoxEscalated}); !errors.Is(err, ErrForbidden) {
		t.Errorf("support opens the escalated box: %v", err)
	}
	_, err = f.svc.Get(f.ctx, bystander, c)
	mustBe(t, err, ErrNotFound, "uninvolved agent")

	// The supervisor takes it: the escalation is dealt with, the escalator still sees it.
	if err := f.svc.Assign(f.ctx, f.admin, c, f.admin.MemberID); err != nil {
		t.Fatal(err)
	}
	if got := f.list(f.admin, ListQuery{Box: BoxEscalated}); len(got) != 0 {
		t.Errorf("escalated box after assignment: %v", got)
	}
	if _, err := f.svc.Get(f.ctx, support, c); err != nil {
		t.Errorf("the escalator lost the conversation: %v", err)
	}
	if got := f.list(support, ListQuery{Box: BoxAll}); !slices.Equal(got, []int64{c}) {
		t.Errorf("escalator's all box: %v", got)
	}
	ev := f.events("conversation.escalated")
	if len(ev) != 1 || ev[0].ActorID == "" || !strings.Contains(ev[0].Changes, "Refund above my limit") {
		t.Errorf("escalation events %+v", ev)
	}
}

func TestCloseAndReopen(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice", authz.RoleAgent)
	other := f.member("Olga", authz.RoleAgent)
	c := f.customerWrites("4915100000061", "Cust", "hi")
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendText(f.ctx, other, c, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("uninvolved agent sends: %v", err)
	}
	if err := f.svc.Close(f.ctx, agent, c); err != nil {
		t.Fatal(err)
	}
	if got := f.list(agent, ListQuery{Box: BoxClosed}); !slices.Equal(got, []int64{c}) {
		t.Errorf("closed box %v", got)
	}
	if got := f.list(agent, ListQuery{Box: BoxMine}); len(got) != 0 {
		t.Errorf("mine box holds a closed conversation: %v", got)
	}
	if err := f.svc.Close(f.ctx, agent, c); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	// The customer writes again: open again, still the agent's.
	f.clock.Advance(1000)
	f.customerWrites("4915100000061", "Cust", "still there?")
	got, err := f.svc.Get(f.ctx, agent, c)
	if err != nil || got.Status != StatusOpen || got.AssigneeID != agent.MemberID {
		t.Errorf("after a new message: %+v %v", got, err)
	}
	if err := f.svc.Close(f.ctx, f.admin, c); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Reopen(f.ctx, agent, c); err != nil {
		t.Fatal(err)
	}
	closed, reopened := f.events("conversation.closed"), f.events("conversation.reopened")
	if len(closed) != 2 || len(reopened) != 1 {
		t.Errorf("events: closed %d, reopened %d", len(closed), len(reopened))
	}
}

// Every send, assignment, escalation and close is an activity event, with the conversation as
// target and without the customer's words.
func TestAuditEventsForChanges(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alice", authz.RoleAgent)
	c := f.customerWrites("4915100000071", "Cust", "secret order details")
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendText(f.ctx, agent, c, "Here is your confidential code 123"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendTemplate(f.ctx, agent, c, template("order_update")); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Escalate(f.ctx, agent, c, "needs a refund"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Close(f.ctx, agent, c); err != nil {
		t.Fatal(err)
	}
	target := func(rows []auditRow) bool {
		for _, r := range rows {
			if r.TargetType != "conversation" || r.TargetID == "" || r.Outcome != "success" {
				return false
			}
		}
		return len(rows) > 0
	}
	for _, action := range []string{"conversation.assigned", "conversation.escalated", "conversation.closed", "message.sent"} {
		if ev := f.events(action); !target(ev) {
			t.Errorf("%s events: %+v", action, ev)
		}
	}
	sent := f.events("message.sent")
	if len(sent) != 2 || !strings.Contains(sent[1].Changes, "order_update") {
		t.Errorf("send events %+v", sent)
	}
	var all string
	if err := f.db.R.QueryRow(`SELECT group_concat(changes, ' ') FROM audit_events`).Scan(&all); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(all, "confidential") || strings.Contains(all, "secret order") {
		t.Error("message text in the activity log")
	}
}

func TestCannedResponsesCRUD(t *testing.T) {
	f := newFixture(t)
	cr, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: " Greeting ", Body: "Hello! How can we help?"})
	if err != nil || cr.Title != "Greeting" {
		t.Fatalf("create: %+v %v", cr, err)
	}
	var fe FieldErrors
	if _, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: "greeting", Body: "dup"}); !errors.As(err, &fe) || fe["title"] == "" {
		t.Errorf("duplicate title: %v", err)
	}
	if _, err := f.svc.CreateCanned(f.ctx, f.admin, CannedInput{Title: "Empty"}); !errors.As(err, &fe) || fe["body"] == "" {
		t.Errorf("empty body: %v", err)
	}
	up, err := f.svc.UpdateCanned(f.ctx, f.admin, cr.ID, CannedInput{Title: "Greeting", Body: "Hi there!"})
	if err != nil || up.Body != "Hi there!" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if err := f.svc.DeleteCanned(f.ctx, f.admin, cr.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.UpdateCanned(f.ctx, f.admin, cr.ID, CannedInput{Title: "x", Body: "y"})
	mustBe(t, err, ErrNotFound, "update deleted")
	for _, a := range []string{"canned_response.created", "canned_response.updated", "canned_response.deleted"} {
		if len(f.events(a)) != 1 {
			t.Errorf("%s: %d events", a, len(f.events(a)))
		}
	}
	agent := f.member("Alice", authz.RoleAgent)
	mustBe(t, f.svc.DeleteCanned(f.ctx, agent, 1), ErrForbidden, "agent deletes")
	if _, err := f.svc.CannedResponses(f.ctx, f.member("Ann", authz.RoleAnalyst)); !errors.Is(err, ErrForbidden) {
		t.Errorf("analyst lists canned responses: %v", err)
	}
}

func TestListSearchAndPages(t *testing.T) {
	f := newFixture(t)
	var convs []int64
	for i, name := range []string{"Sheena Nelson", "Pablo Diaz", "Nelly Furtado", "Zoë Ölmez"} {
		f.clock.Advance(60_000_000_000)
		convs = append(convs, f.customerWrites("491510000010"+string(rune('0'+i)), name, "order number "+name[:3]))
	}
	if got := f.list(f.admin, ListQuery{Search: "nel"}); !slices.Equal(got, []int64{convs[0], convs[2]}) {
		t.Errorf("search nel: %v", got)
	}
	if got := f.list(f.admin, ListQuery{Search: "ölm"}); !slices.Equal(got, []int64{convs[3]}) {
		t.Errorf("search ölm: %v", got)
	}
	if got := f.list(f.admin, ListQuery{Search: "number Pab"}); !slices.Equal(got, []int64{convs[1]}) {
		t.Errorf("message search: %v", got)
	}
	if got := f.list(f.admin, ListQuery{Search: "Pa"}); !slices.Equal(got, []int64{convs[1]}) {
		t.Errorf("short name prefix: %v", got)
	}
	if got := f.list(f.admin, ListQuery{Search: `"; DROP TABLE x; --`}); len(got) != 0 {
		t.Errorf("hostile search: %v", got)
	}
	if got := f.list(f.admin, ListQuery{Search: "+49 151 000001"}); len(got) != 4 {
		t.Errorf("number prefix with PII: %v", got)
	}
	page, err := f.svc.List(f.ctx, f.admin, ListQuery{Limit: 3})
	if err != nil || len(page.Conversations) != 3 || page.Next.IsZero() || page.Conversations[0].ID != convs[3] {
		t.Fatalf("first page: %+v %v", page, err)
	}
	if page.Conversations[0].Preview != "order number Zo" && !strings.HasPrefix(page.Conversations[0].Preview, "order number") {
		t.Errorf("preview %q", page.Conversations[0].Preview)
	}
	cur, err := ParseCursor(page.Next.String())
	if err != nil || cur != page.Next {
		t.Fatalf("cursor round trip: %v %v", cur, err)
	}
	page, err = f.svc.List(f.ctx, f.admin, ListQuery{Limit: 3, Before: cur})
	if err != nil || len(page.Conversations) != 1 || page.Conversations[0].ID != convs[0] || !page.Next.IsZero() {
		t.Fatalf("second page: %+v %v", page, err)
	}
	if _, err := ParseCursor("x.y"); err == nil {
		t.Error("bad cursor accepted")
	}
}

func TestFTS5IsCompiledIn(t *testing.T) {
	d := openDB(t)
	rows, err := d.R.Query(`PRAGMA compile_options`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		rows.Scan(&o)
		if o == "ENABLE_FTS5" {
			return
		}
	}
	t.Fatal("this modernc.org/sqlite build has no FTS5: migration 0009 and inbox search need it (or a LIKE fallback)")
}

// The last word of a search is a prefix while it is being typed, but the prefix (which reads
// every posting of every word it expands to) is asked for only when the exact words are few: a
// partly typed word still finds its completions, a complete word finds its other forms when
// it is rare, and a common complete word is answered from its own newest matches.
func TestSearchTakesThePrefixOnlyWhenTheExactWordsAreFew(t *testing.T) {
	f := newFixture(t)
	warranty := f.customerWrites("4915100000801", "Ana", "Is the warranty still valid?")
	repairs := f.customerWrites("4915100000802", "Ben", "Two repairs so far")
	common := f.customerWrites("4915100000803", "Cleo", "My order")
	// Cleo's conversation holds more messages with "order" than a search reads.
	if _, err := f.db.W.ExecContext(f.ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO messages (conversation_id, direction, wamid, type, text, status, created_at)
		SELECT ?, 'in', 'wamid.order.' || i, 'text', 'order number ' || i, 'received', ? FROM n`,
		searchMessageCap+10, common, f.clock.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.IndexSearch(f.ctx, f.db.W); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		search string
		want   []int64
	}{
		{"warr", []int64{warranty}},  // typed in part: the prefix finds "warranty"
		{"repair", []int64{repairs}}, // no exact "repair": its other forms are found
		{"repair ", nil},             // a trailing space means the word is complete
		{"order", []int64{common}},   // common and complete: its exact matches
		{"still valid", []int64{warranty}},
	} {
		if got := f.list(f.admin, ListQuery{Search: c.search}); !slices.Equal(got, c.want) {
			t.Errorf("search %q found %v, want %v", c.search, got, c.want)
		}
	}
}
