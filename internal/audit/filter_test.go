package audit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// mixed records n events over a few actors, actions, targets and outcomes, several of them
// sharing a millisecond, and returns them as stored.
func (f *fixture) mixed(tb testing.TB, n int) []Event {
	tb.Helper()
	actors := []Actor{MemberActor(1, "Ada"), MemberActor(2, "Grace"), APIKeyActor(7, "CRM"), System(), Anonymous()}
	actions := []string{"member.signed_in", "member.signed_out", "member.updated", "template.approved", "access.denied", "message.sent"}
	outcomes := []Outcome{OutcomeSuccess, OutcomeSuccess, OutcomeDenied, OutcomeFailed}
	out := make([]Event, 0, n)
	for i := range n {
		if i%3 != 0 {
			f.clk.Advance(time.Minute) // every third event shares the time of the one before
		}
		ev := Event{
			Actor:   actors[i%len(actors)],
			Action:  actions[i*7%len(actions)],
			Outcome: outcomes[i*5%len(outcomes)],
		}
		if i%4 != 0 {
			ev.Target = NewTarget([]string{"member", "template"}[i%2], int64(i%5+1))
		}
		rec, err := f.log.Record(tb.Context(), ev)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, rec)
	}
	return out
}

// matches is the filter's meaning, spelled out plainly for the tests to compare against.
func matches(f Filter, ev Event) bool {
	return (f.ActorType == "" || ev.Actor.Type == f.ActorType) &&
		(f.ActorID == "" || ev.Actor.ID == f.ActorID) &&
		(f.Action == "" || ev.Action == f.Action) &&
		(f.Action != "" || f.Group == "" || GroupOf(ev.Action).Key == f.Group) &&
		(f.TargetType == "" || ev.Target.Type == f.TargetType) &&
		(f.TargetID == "" || ev.Target.ID == f.TargetID) &&
		(f.Outcome == "" || ev.Outcome == f.Outcome) &&
		(f.From.IsZero() || !ev.At.Before(f.From)) &&
		(f.To.IsZero() || ev.At.Before(f.To))
}

func want(all []Event, f Filter) []int64 {
	var ids []int64
	for i := len(all) - 1; i >= 0; i-- {
		if matches(f, all[i]) {
			ids = append(ids, all[i].ID)
		}
	}
	return ids
}

// pageAll walks the whole filtered log with the keyset cursors, older then back newer, and
// returns the ids seen each way (newest first).
func pageAll(t *testing.T, f *fixture, filter Filter, limit int) (older, newer []int64) {
	t.Helper()
	q := ListQuery{Filter: filter, Limit: limit}
	var last Page
	for range 10_000 {
		evs, p, err := f.log.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			older = append(older, ev.ID)
		}
		last = p
		if !p.HasOlder {
			break
		}
		q = ListQuery{Filter: filter, Limit: limit, BeforeID: p.Before}
	}
	if len(older) == 0 {
		return older, nil
	}
	// Back up again from the oldest page.
	q = ListQuery{Filter: filter, Limit: limit, AfterID: last.After}
	newer = slices.Clone(idsOf(t, f, ListQuery{Filter: filter, Limit: limit, BeforeID: last.After + 1}))
	for range 10_000 {
		evs, p, err := f.log.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, 0, len(evs))
		for _, ev := range evs {
			ids = append(ids, ev.ID)
		}
		newer = append(ids, newer...)
		if !p.HasNewer {
			break
		}
		q = ListQuery{Filter: filter, Limit: limit, AfterID: p.After}
	}
	return older, newer
}

func idsOf(t *testing.T, f *fixture, q ListQuery) []int64 {
	t.Helper()
	evs, _, err := f.log.List(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

func TestListFiltersCombine(t *testing.T) {
	f := newFixture(t)
	all := f.mixed(t, 240)
	at := func(i int) time.Time { return all[i].At }
	filters := []Filter{
		{},
		{ActorType: ActorMember},
		{ActorType: ActorMember, ActorID: "2"},
		{ActorType: ActorAPIKey},
		{ActorType: ActorSystem},
		{ActorType: ActorAnonymous},
		{Action: "member.updated"},
		{Group: "signin"},
		{Group: "security"},
		{Group: "templates", Outcome: OutcomeDenied},
		{Group: "nothing-here"},
		{TargetType: "member"},
		{TargetType: "member", TargetID: "3"},
		{Outcome: OutcomeDenied},
		{Outcome: OutcomeSuccess, ActorType: ActorMember, ActorID: "1"},
		{ActorType: ActorMember, ActorID: "1", Action: "member.signed_in", TargetType: "member", Outcome: OutcomeSuccess},
		{From: at(60)},
		{To: at(100)},
		{From: at(30), To: at(31)}, // events 30 and 31 may share a millisecond: an empty range
		{From: at(30), To: at(200), Group: "signin", ActorType: ActorMember},
		{From: at(239).Add(time.Hour)},
		{To: at(0)},
		{Action: "no.such_action"},
	}
	for _, filter := range filters {
		t.Run(filter.Encode(), func(t *testing.T) {
			wantIDs := want(all, filter)
			for _, limit := range []int{1, 7, 50} {
				older, newer := pageAll(t, f, filter, limit)
				if !slices.Equal(older, wantIDs) {
					t.Fatalf("limit %d, paging older:\n got %v\nwant %v", limit, older, wantIDs)
				}
				if len(wantIDs) > 0 && !slices.Equal(newer, wantIDs) {
					t.Fatalf("limit %d, paging back newer:\n got %v\nwant %v", limit, newer, wantIDs)
				}
			}
		})
	}
}

// Events that share a millisecond page by id alone, so none is skipped or shown twice at a
// page's edge, and a time range includes or excludes all of them together.
func TestListKeysetBoundariesAtTheSameTime(t *testing.T) {
	f := newFixture(t)
	var all []Event
	for range 9 {
		ev, err := f.log.Record(t.Context(), Event{Actor: System(), Action: "setup.completed"})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ev)
	}
	if !all[0].At.Equal(all[8].At) {
		t.Fatal("the fixture's clock moved")
	}
	for _, limit := range []int{1, 2, 4} {
		older, newer := pageAll(t, f, Filter{}, limit)
		if w := want(all, Filter{}); !slices.Equal(older, w) || !slices.Equal(newer, w) {
			t.Errorf("limit %d: older %v newer %v", limit, older, newer)
		}
	}
	if got := idsOf(t, f, ListQuery{Filter: Filter{From: all[0].At, To: all[0].At.Add(time.Millisecond)}}); len(got) != 9 {
		t.Errorf("the millisecond holds %d events, want 9", len(got))
	}
	if got := idsOf(t, f, ListQuery{Filter: Filter{To: all[0].At}}); len(got) != 0 {
		t.Errorf("before the millisecond: %v", got)
	}
}

// A filter the index cannot answer alone searches in bounded windows: with a budget of one
// window per page, pages come back partial, and paging on finds every match in order.
func TestListPartialPagesGoOn(t *testing.T) {
	f := newFixture(t)
	all := f.mixed(t, 300)
	f.log.scan = scanBudget{window: 16, budget: 0}
	filter := Filter{ActorType: ActorMember, ActorID: "1", Outcome: OutcomeDenied}
	wantIDs := want(all, filter)
	var got []int64
	partials := 0
	q := ListQuery{Filter: filter, Limit: 5}
	for range 1000 {
		evs, p, err := f.log.List(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			got = append(got, ev.ID)
		}
		if p.Partial {
			partials++
		}
		if !p.HasOlder {
			break
		}
		q.BeforeID = p.Before
	}
	if !slices.Equal(got, wantIDs) {
		t.Errorf("got %v\nwant %v", got, wantIDs)
	}
	if partials == 0 {
		t.Error("no page was partial: the budget was not applied")
	}
}

func TestListCursorsPastTheEnds(t *testing.T) {
	f := newFixture(t)
	f.record(t, 5)
	evs, p, err := f.log.List(t.Context(), ListQuery{BeforeID: 1})
	if err != nil || len(evs) != 0 || p.HasOlder || !p.HasNewer || p.After != 0 {
		t.Errorf("before the first: %d events, %+v, %v", len(evs), p, err)
	}
	evs, p, err = f.log.List(t.Context(), ListQuery{AfterID: 5})
	if err != nil || len(evs) != 0 || p.HasNewer || !p.HasOlder {
		t.Errorf("after the last: %d events, %+v, %v", len(evs), p, err)
	}
	evs, _, err = f.log.List(t.Context(), ListQuery{BeforeID: 1 << 40})
	if err != nil || len(evs) != 5 {
		t.Errorf("before a huge id: %d events, %v", len(evs), err)
	}
}

func TestGetAndNeighbours(t *testing.T) {
	f := newFixture(t)
	evs := f.record(t, 3)
	got, err := f.log.Get(t.Context(), 2)
	if err != nil || got.Hash != evs[1].Hash || got.Changes[0].Field != "last_sign_in_at" {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := f.log.Get(t.Context(), 99); err != ErrNotFound {
		t.Errorf("missing event: %v", err)
	}
	prev, next, err := f.log.Neighbours(t.Context(), 2)
	if err != nil || prev != 1 || next != 3 {
		t.Errorf("neighbours of 2: %d %d %v", prev, next, err)
	}
	prev, next, _ = f.log.Neighbours(t.Context(), 1)
	if prev != 0 || next != 2 {
		t.Errorf("neighbours of 1: %d %d", prev, next)
	}
}

func TestFacets(t *testing.T) {
	f := newFixture(t)
	f.mixed(t, 40)
	fc, err := f.log.Facets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(fc.Actions) || len(fc.Actions) != 6 || !slices.Equal(fc.TargetTypes, []string{"member", "template"}) {
		t.Errorf("facets %+v", fc)
	}
}

func TestActionGroups(t *testing.T) {
	for action, group := range map[string]string{
		"member.signed_in": "signin", "member.sign_in_failed": "signin", "member.signed_out": "signin",
		"member.updated": "members", "role.created": "members", "access.denied": "security",
		"request.csrf_refused": "security", "audit.exported": "audit", "template.approved": "templates",
		"message.sent": "inbox", "setup.completed": "settings", "api_key.created": "developers",
		"something.else": "other",
	} {
		if got := GroupOf(action).Key; got != group {
			t.Errorf("%s is in %s, want %s", action, got, group)
		}
	}
}

func TestFilterEncode(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f := Filter{ActorType: ActorMember, ActorID: "7", Group: "signin", Outcome: OutcomeDenied, From: from, TargetType: "member", TargetID: "a b"}
	got := f.Encode()
	for _, part := range []string{"actor=member%3A7", "action=group%3Asignin", "outcome=denied", "from=2026-03-01T00%3A00%3A00Z", "target_id=a+b"} {
		if !strings.Contains(got, part) {
			t.Errorf("%q lacks %q", got, part)
		}
	}
	if (Filter{}).Encode() != "" {
		t.Error("the empty filter encodes to something")
	}
}

func ExampleFilter_Encode() {
	fmt.Println(Filter{ActorType: ActorMember, ActorID: "7", Action: "member.signed_in"}.Encode())
	// Output: actor=member%3A7&action=member.signed_in
}
