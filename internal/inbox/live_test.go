package inbox

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// liveFixture is the inbox fixture with live updates wired as the app wires them: the ingester
// announces committed conversations and the service announces its own changes.
func liveFixture(t *testing.T) (*fixture, *Live) {
	t.Helper()
	f := newFixture(t)
	live := NewLive(f.db, nil)
	t.Cleanup(live.Close)
	f.svc.Live = live
	f.ingester.Close()
	f.ingester = NewIngester(f.db, f.svc.ApplyEvents, IngesterOptions{Clock: f.clock,
		Committed: func(ids []int64) { live.Publish(ids...) }})
	t.Cleanup(func() { f.ingester.Close() })
	return f, live
}

// received collects what a subscription gets until quiet for the given time.
func received(sub *Subscription, quiet time.Duration) []int64 {
	var got []int64
	for {
		select {
		case ev := <-sub.Events():
			got = append(got, ev.ConversationID)
		case <-time.After(quiet):
			return got
		}
	}
}

func waitFor(t *testing.T, sub *Subscription, id int64) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-sub.Events():
			if ev.ConversationID == id {
				return
			}
		case <-deadline:
			t.Fatalf("no live event for conversation %d", id)
		}
	}
}

// Every live event reaches exactly the members who may see the conversation, by the same
// predicate as the pages: an agent is told of their own conversation and of nothing else; an
// agent of another number hears nothing; a supervisor of all numbers hears everything.
func TestLiveEventsReachOnlyThoseWhoSeeTheConversation(t *testing.T) {
	f, live := liveFixture(t)
	agent := f.member("Alice Agent", authz.RoleAgent, numberA)
	onB := f.member("Bea B", authz.RoleAgent, numberB)
	auditor := f.member("Aud Itor", authz.RoleAuditor)

	mine := f.customerWrites("4915100000101", "Mia", "hello")
	if err := f.svc.Assign(f.ctx, f.admin, mine, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	subs := map[string]*Subscription{}
	for name, p := range map[string]*authz.Principal{"admin": f.admin, "agent": agent, "onB": onB, "auditor": auditor} {
		subs[name] = live.Subscribe(p)
	}

	f.customerWrites("4915100000101", "Mia", "are you there?")                       // mine, on A
	other := f.customerWrites("4915100000102", "Otto", "unassigned on A")            // nobody's, on A
	b := f.customerWrites("4915100000103", "Bob", "hello from B", metaNumberB)       // nobody's, on B
	if _, err := f.svc.SendText(f.ctx, agent, mine, "Yes, I am here."); err != nil { // an outgoing message
		t.Fatal(err)
	}

	got := map[string][]int64{}
	for name, s := range subs {
		got[name] = received(s, 300*time.Millisecond)
	}
	if !slices.Contains(got["agent"], mine) {
		t.Errorf("the agent was not told of their conversation: %v", got["agent"])
	}
	for _, id := range got["agent"] {
		if id != mine {
			t.Errorf("the agent was told of conversation %d, which they cannot see", id)
		}
	}
	if len(got["onB"]) != 0 || len(got["auditor"]) != 0 {
		t.Errorf("members who see none of these were told: B %v, auditor %v", got["onB"], got["auditor"])
	}
	for _, id := range []int64{mine, other, b} {
		if !slices.Contains(got["admin"], id) {
			t.Errorf("the administrator was not told of conversation %d: %v", id, got["admin"])
		}
	}

	// A reassignment moves what each hears: once a conversation the agent never took part in is
	// taken from them, they hear nothing more of it. (One they replied in stays theirs to see.)
	if err := f.svc.Assign(f.ctx, f.admin, other, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, subs["agent"], other)
	if err := f.svc.Assign(f.ctx, f.admin, other, 0); err != nil {
		t.Fatal(err)
	}
	received(subs["agent"], 100*time.Millisecond)
	f.customerWrites("4915100000102", "Otto", "hello again")
	if ids := received(subs["agent"], 300*time.Millisecond); slices.Contains(ids, other) {
		t.Errorf("the agent still hears of a conversation taken from them: %v", ids)
	}
}

// A member whose scope narrows while their page is open hears only what they may see now.
func TestLiveVisibilityFollowsThePrincipal(t *testing.T) {
	f, live := liveFixture(t)
	wide := f.member("Sam Supervisor", authz.RoleAnalyst)
	sub := live.Subscribe(wide)
	onB := f.customerWrites("4915100000201", "Bo", "hi", metaNumberB)
	waitFor(t, sub, onB)

	narrowed := *wide
	narrowed.Numbers = authz.NumberScope{IDs: []int64{numberA}}
	sub.SetPrincipal(&narrowed)
	f.customerWrites("4915100000201", "Bo", "still there?", metaNumberB)
	onA := f.customerWrites("4915100000202", "Al", "hi")
	got := received(sub, 300*time.Millisecond)
	if slices.Contains(got, onB) || !slices.Contains(got, onA) {
		t.Errorf("after narrowing to number A: %v, want %d and not %d", got, onA, onB)
	}
}

// A subscriber that does not read its events gets a resync instead of an ever-growing queue, and
// the others are not held up.
func TestLiveSlowSubscriberIsToldToResync(t *testing.T) {
	f, live := liveFixture(t)
	slow := live.Subscribe(f.admin)
	fast := live.Subscribe(f.admin)
	var last int64
	for i := 0; i < subscriberBuffer+20; i++ {
		last = f.customerWrites("49151000003"+string(rune('0'+i%10))+string(rune('0'+i/10)), "C", "m")
		if i%8 == 0 {
			received(fast, time.Millisecond) // the fast one keeps reading
		}
	}
	waitFor(t, fast, last)
	var sawResync bool
	for _, id := range received(slow, 200*time.Millisecond) {
		if id == 0 {
			sawResync = true
		}
	}
	if !sawResync {
		t.Error("a subscriber that fell behind was not told to resync")
	}
	live.Unsubscribe(slow)
	select {
	case <-slow.Done():
	default:
		t.Error("an ended subscription is not done")
	}
}
