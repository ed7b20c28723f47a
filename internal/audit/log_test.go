package audit

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestRecordChainsEveryEvent(t *testing.T) {
	f := newFixture(t)
	evs := f.record(t, 200)

	hexHash := regexp.MustCompile(`^[0-9a-f]{64}$`)
	prev := GenesisHash
	for i, ev := range evs {
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d: id %d", i, ev.ID)
		}
		if ev.PrevHash != prev {
			t.Fatalf("event %d: prev_hash %s, want %s", ev.ID, ev.PrevHash, prev)
		}
		if !hexHash.MatchString(ev.Hash) {
			t.Fatalf("event %d: hash %q is not lower-case hex SHA-256", ev.ID, ev.Hash)
		}
		prev = ev.Hash
	}

	var storedHash string
	if err := f.db.R.QueryRowContext(t.Context(), `SELECT hash FROM audit_events WHERE id = 200`).Scan(&storedHash); err != nil {
		t.Fatal(err)
	}
	if storedHash != evs[199].Hash {
		t.Errorf("stored hash %s, returned %s", storedHash, evs[199].Hash)
	}

	rep := f.verify(t)
	want := Report{Events: 200, Checked: 200, FirstID: 1, LastID: 200, LastAt: evs[199].At, Intact: true}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	f := newFixture(t)
	if rep := f.verify(t); rep != (Report{Intact: true}) {
		t.Errorf("empty log: %+v", rep)
	}
}

// zonedClock reports time in a non-UTC zone, as a misconfigured clock might.
type zonedClock struct{ t time.Time }

func (c zonedClock) Now() time.Time { return c.t }

func TestTimesAreUTCMilliseconds(t *testing.T) {
	f := newFixture(t)
	berlin := time.FixedZone("CET", 60*60)
	local := time.Date(2026, 3, 1, 10, 30, 0, 987_654_321, berlin)
	l := New(f.db, zonedClock{local})

	ev, err := l.Record(t.Context(), Event{Actor: System(), Action: "setup.completed"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 1, 9, 30, 0, 987_000_000, time.UTC)
	if ev.At.Location() != time.UTC || !ev.At.Equal(want) || ev.At.Nanosecond() != 987_000_000 {
		t.Errorf("At = %v (%v), want %v in UTC", ev.At, ev.At.Location(), want)
	}

	var ms int64
	if err := f.db.R.QueryRowContext(t.Context(), `SELECT occurred_at FROM audit_events`).Scan(&ms); err != nil {
		t.Fatal(err)
	}
	if ms != want.UnixMilli() {
		t.Errorf("occurred_at = %d, want %d", ms, want.UnixMilli())
	}

	rep := f.verify(t)
	if !rep.Intact || rep.LastAt.Location() != time.UTC || !rep.LastAt.Equal(want) {
		t.Errorf("report %+v, want intact with LastAt %v UTC", rep, want)
	}
}

func TestEventTimeComesFromTheClock(t *testing.T) {
	f := newFixture(t)
	ev, err := f.log.Record(t.Context(), Event{
		Actor: System(), Action: "setup.completed", At: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := start().Truncate(time.Millisecond); !ev.At.Equal(want) {
		t.Errorf("At = %v, want the clock's %v: events must not be back-dated", ev.At, want)
	}
}

func TestContextFillsEmptyFields(t *testing.T) {
	req := Request{ClientAddr: "203.0.113.7", UserAgent: "Firefox/140", RequestID: "req-1"}
	ada := MemberActor(7, "Ada")

	tests := []struct {
		name     string
		actor    *Actor   // attached with WithActor when not nil
		request  *Request // attached with WithRequest when not nil
		event    Event
		wantRead stored
	}{
		{
			name:     "everything from context",
			actor:    &ada,
			request:  &req,
			event:    Event{Action: "member.signed_out"},
			wantRead: stored{"member", "7", "Ada", "203.0.113.7", "Firefox/140", "req-1", "success"},
		},
		{
			name:    "explicit fields win",
			actor:   &ada,
			request: &req,
			event: Event{
				Action: "member.created", Actor: System(), ClientAddr: "198.51.100.1",
				RequestID: "req-own", Outcome: OutcomeDenied,
			},
			wantRead: stored{"system", "", "system", "198.51.100.1", "Firefox/140", "req-own", "denied"},
		},
		{
			name:     "no context: anonymous",
			event:    Event{Action: "member.sign_in_failed", Outcome: OutcomeFailed},
			wantRead: stored{"anonymous", "", "", "", "", "", "failed"},
		},
		{
			name:     "request without actor",
			request:  &req,
			event:    Event{Action: "member.sign_in_failed", Outcome: OutcomeFailed},
			wantRead: stored{"anonymous", "", "", "203.0.113.7", "Firefox/140", "req-1", "failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			if tt.actor != nil {
				ctx = WithActor(ctx, *tt.actor)
			}
			if tt.request != nil {
				ctx = WithRequest(ctx, *tt.request)
			}
			ev, err := f.log.Record(ctx, tt.event)
			if err != nil {
				t.Fatal(err)
			}
			got := readStored(t, f, ev.ID)
			if got != tt.wantRead {
				t.Errorf("stored %+v, want %+v", got, tt.wantRead)
			}
			fromEvent := stored{string(ev.Actor.Type), ev.Actor.ID, ev.Actor.Name, ev.ClientAddr,
				ev.UserAgent, ev.RequestID, string(ev.Outcome)}
			if fromEvent != got {
				t.Errorf("returned %+v, stored %+v", fromEvent, got)
			}
		})
	}
}

type stored struct {
	actorType, actorID, actorName, clientAddr, userAgent, requestID, outcome string
}

func readStored(t *testing.T, f *fixture, id int64) stored {
	t.Helper()
	var s stored
	err := f.db.R.QueryRowContext(t.Context(), `SELECT actor_type, actor_id, actor_name,
		client_addr, user_agent, request_id, outcome FROM audit_events WHERE id = ?`, id).
		Scan(&s.actorType, &s.actorID, &s.actorName, &s.clientAddr, &s.userAgent, &s.requestID, &s.outcome)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUserAgentIsBounded(t *testing.T) {
	f := newFixture(t)
	ctx := WithRequest(t.Context(), Request{UserAgent: strings.Repeat("é", 1000) + "\xff"})
	ev, err := f.log.Record(ctx, Event{Action: "member.sign_in_failed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.UserAgent) > maxUserAgent || !utf8.ValidString(ev.UserAgent) {
		t.Errorf("user agent of %d bytes, valid UTF-8 %v", len(ev.UserAgent), utf8.ValidString(ev.UserAgent))
	}
	if !f.verify(t).Intact {
		t.Error("chain broken")
	}
}

func TestRecordRefusesInvalidEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
	}{
		{"no action", Event{Actor: System()}},
		{"action without dot", Event{Action: "signin"}},
		{"action upper case", Event{Action: "Member.Created"}},
		{"action empty segment", Event{Action: "member..created"}},
		{"action trailing dot", Event{Action: "member."}},
		{"action with space", Event{Action: "member.signed in"}},
		{"unknown outcome", Event{Action: "member.created", Outcome: "ok"}},
		{"unknown actor type", Event{Action: "member.created", Actor: Actor{Type: "robot"}}},
		{"member without id", Event{Action: "member.created", Actor: Actor{Type: ActorMember, Name: "Ada"}}},
		{"target id without type", Event{Action: "member.created", Target: Target{ID: "3"}}},
		{"change without field", Event{Action: "member.created", Changes: []Change{{After: 1}}}},
		{"change not JSON-encodable", Event{Action: "member.created", Changes: []Change{{Field: "f", After: make(chan int)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.log.Record(t.Context(), tt.ev)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if n := f.count(t); n != 0 {
				t.Errorf("%d events stored after a refused one", n)
			}
		})
	}
}

func TestTriggersRefuseUpdateAndDelete(t *testing.T) {
	f := newFixture(t)
	f.record(t, 3)
	for _, q := range []string{
		`UPDATE audit_events SET outcome = 'denied' WHERE id = 2`,
		`UPDATE audit_events SET hash = prev_hash`,
		`DELETE FROM audit_events WHERE id = 2`,
		`DELETE FROM audit_events`,
	} {
		_, err := f.db.W.ExecContext(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
	if n := f.count(t); n != 3 {
		t.Errorf("%d events, want 3", n)
	}
	if !f.verify(t).Intact {
		t.Error("chain broken")
	}
}

func TestAppendRollsBackWithItsTransaction(t *testing.T) {
	f := newFixture(t)
	first := f.record(t, 1)[0]

	errBoom := errors.New("state change failed")
	err := f.db.Tx(t.Context(), func(tx *sql.Tx) error {
		if _, err := f.log.Append(t.Context(), tx, Event{Actor: System(), Action: "member.created"}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("tx err = %v", err)
	}
	if n := f.count(t); n != 1 {
		t.Fatalf("%d events after rollback, want 1", n)
	}

	next, err := f.log.Record(t.Context(), Event{Actor: System(), Action: "member.created"})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID != first.ID+1 || next.PrevHash != first.Hash {
		t.Errorf("next event id %d prev %s, want id %d prev %s", next.ID, next.PrevHash, first.ID+1, first.Hash)
	}
	if rep := f.verify(t); !rep.Intact || rep.Events != 2 {
		t.Errorf("report %+v", rep)
	}
}

func TestAppendSharesTheCallersTransaction(t *testing.T) {
	f := newFixture(t)
	err := f.db.Tx(t.Context(), func(tx *sql.Tx) error {
		for i := range 3 {
			if _, err := f.log.Append(t.Context(), tx, Event{Actor: System(), Action: fmt.Sprintf("member.step_%d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep := f.verify(t); !rep.Intact || rep.Events != 3 {
		t.Errorf("report %+v", rep)
	}
}

func TestConcurrentRecordKeepsTheChain(t *testing.T) {
	f := newFixture(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			ctx := WithActor(t.Context(), MemberActor(int64(w+1), fmt.Sprintf("member %d", w)))
			for range each {
				if _, err := f.log.Record(ctx, Event{Action: "conversation.viewed"}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rep := f.verify(t)
	if !rep.Intact || rep.Events != workers*each || rep.LastID != workers*each {
		t.Errorf("report %+v", rep)
	}
}
