package audit

import (
	"database/sql"
	"slices"
	"testing"
)

// Each case plays someone with write access to the database file: the triggers go first, then
// the edit. Verify must name the first event that no longer holds together.
func TestVerifyFindsTheFirstBrokenEvent(t *testing.T) {
	const n = 10
	tests := []struct {
		name       string
		tamper     func(t *testing.T, f *fixture, evs []Event)
		wantBroken int64
		wantReason string
	}{
		{"outcome changed", update(`outcome = 'denied'`, 4), 4, ReasonHashMismatch},
		{"time changed", update(`occurred_at = occurred_at - 3600000`, 4), 4, ReasonHashMismatch},
		{"actor_type changed", update(`actor_type = 'system'`, 4), 4, ReasonHashMismatch},
		{"actor_id changed", update(`actor_id = '99'`, 4), 4, ReasonHashMismatch},
		{"actor_name changed", update(`actor_name = 'Mallory'`, 4), 4, ReasonHashMismatch},
		{"action changed", update(`action = 'member.signed_out'`, 4), 4, ReasonHashMismatch},
		{"target_type changed", update(`target_type = 'role'`, 4), 4, ReasonHashMismatch},
		{"target_id changed", update(`target_id = '99'`, 4), 4, ReasonHashMismatch},
		{"changes changed", update(`changes = '[]'`, 4), 4, ReasonHashMismatch},
		{"client_addr changed", update(`client_addr = '10.0.0.1'`, 4), 4, ReasonHashMismatch},
		{"user_agent changed", update(`user_agent = 'curl'`, 4), 4, ReasonHashMismatch},
		{"request_id changed", update(`request_id = 'x'`, 4), 4, ReasonHashMismatch},
		{"prev_hash changed", update(`prev_hash = hash`, 4), 4, ReasonHashMismatch},
		{"hash changed", update(`hash = prev_hash`, 4), 4, ReasonHashMismatch},
		{"last event changed", update(`outcome = 'failed'`, n), n, ReasonHashMismatch},
		{"id moved to the end", update(`id = 1000`, 4), 5, ReasonPrevMismatch},
		{
			name: "edited and re-hashed, so only the next link breaks",
			tamper: func(t *testing.T, f *fixture, evs []Event) {
				dropTriggers(t, f)
				ev := evs[3]
				ev.Outcome = OutcomeDenied
				changes, _ := encodeChanges(ev.Changes)
				text := ev.texts(changes)
				forged := newHasher().hash(appendCanonical(nil, ev.PrevHash, ev.ID, ev.At.UnixMilli(), &text))
				f.exec(t, `UPDATE audit_events SET outcome = 'denied', hash = ? WHERE id = 4`, string(forged))
			},
			wantBroken: 5, wantReason: ReasonPrevMismatch,
		},
		{"middle event deleted", remove(`id = 5`), 6, ReasonPrevMismatch},
		{"first event deleted", remove(`id = 1`), 2, ReasonGenesis},
		{
			name: "two events swapped",
			tamper: func(t *testing.T, f *fixture, evs []Event) {
				dropTriggers(t, f)
				// Move every column but id from 3 to 7 and back, through a spare id.
				cols := `occurred_at, actor_type, actor_id, actor_name, action, target_type, target_id,
					changes, client_addr, user_agent, request_id, outcome, prev_hash, hash`
				f.exec(t, `INSERT INTO audit_events (id, `+cols+`) SELECT 1000, `+cols+` FROM audit_events WHERE id = 3`)
				f.exec(t, `UPDATE audit_events SET (`+cols+`) = (SELECT `+cols+` FROM audit_events WHERE id = 7) WHERE id = 3`)
				f.exec(t, `UPDATE audit_events SET (`+cols+`) = (SELECT `+cols+` FROM audit_events WHERE id = 1000) WHERE id = 7`)
				f.exec(t, `DELETE FROM audit_events WHERE id = 1000`)
			},
			wantBroken: 3, wantReason: ReasonHashMismatch,
		},
		{
			name: "newest event deleted, then another appended",
			tamper: func(t *testing.T, f *fixture, evs []Event) {
				remove(`id = 10`)(t, f, evs)
				if _, err := f.log.Record(t.Context(), Event{Actor: System(), Action: "setup.completed"}); err != nil {
					t.Fatal(err)
				}
			},
			wantBroken: n + 1, wantReason: ReasonIDGap,
		},
		{
			name: "forged event appended",
			tamper: func(t *testing.T, f *fixture, evs []Event) {
				f.exec(t, `INSERT INTO audit_events (id, occurred_at, actor_type, action, outcome, prev_hash, hash)
					VALUES (11, 0, 'system', 'member.created', 'success', ?, ?)`, evs[n-1].Hash, evs[n-1].Hash)
			},
			wantBroken: n + 1, wantReason: ReasonHashMismatch,
		},
	}
	for _, mode := range splitModes() {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t)
				f.log.split = mode.split
				evs := f.record(t, n)
				if rep := f.verify(t); !rep.Intact {
					t.Fatalf("broken before tampering: %+v", rep)
				}
				tt.tamper(t, f, evs)
				rep := f.verify(t)
				if rep.Intact || rep.BrokenID != tt.wantBroken || rep.Reason != tt.wantReason {
					t.Errorf("report %+v\nwant broken at %d: %s", rep, tt.wantBroken, tt.wantReason)
				}
				if rep.Events != int64(f.count(t)) {
					t.Errorf("report counts %d events, table holds %d", rep.Events, f.count(t))
				}
			})
		}
	}
}

// splitModes runs Verify as one pass and as ranges whose edges fall on the tampered events,
// so that a break at a range's first event is found as surely as one inside it.
func splitModes() []struct {
	name  string
	split verifySplit
} {
	return []struct {
		name  string
		split verifySplit
	}{
		{"one pass", verifySplit{minLen: 50_000, max: 4}},
		{"3 ranges", verifySplit{minLen: 1, max: 3}}, // 1-3, 4-6, 7-…
		{"4 ranges", verifySplit{minLen: 1, max: 4}}, // 1-2, 3-4, 5-6, 7-…
	}
}

func TestVerifySplitBounds(t *testing.T) {
	tests := []struct {
		lo, hi int64
		split  verifySplit
		want   []int64
	}{
		{1, 1, verifySplit{50_000, 4}, []int64{1, 2}},
		{1, 99_999, verifySplit{50_000, 4}, []int64{1, 100_000}},
		{1, 100_000, verifySplit{50_000, 4}, []int64{1, 50_001, 100_001}},
		{1, 1_000_000, verifySplit{50_000, 2}, []int64{1, 500_001, 1_000_001}},
		{1, 10, verifySplit{1, 4}, []int64{1, 3, 5, 7, 11}},
		{7, 9, verifySplit{1, 4}, []int64{7, 8, 9, 10}},
	}
	for _, tt := range tests {
		if got := tt.split.bounds(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
			t.Errorf("bounds(%d, %d) with %+v = %v, want %v", tt.lo, tt.hi, tt.split, got, tt.want)
		}
	}
}

func TestVerifyRangesAgreeWithOnePass(t *testing.T) {
	f := newFixture(t)
	evs := f.record(t, 25)
	for _, mode := range splitModes() {
		f.log.split = mode.split
		want := Report{Events: 25, Checked: 25, FirstID: 1, LastID: 25, LastAt: evs[24].At, Intact: true}
		if rep := f.verify(t); rep != want {
			t.Errorf("%s: %+v, want %+v", mode.name, rep, want)
		}
	}
}

// Verify reads snapshots beside the writer; appends made meanwhile must never look like damage.
func TestVerifyWhileRecording(t *testing.T) {
	f := newFixture(t)
	f.log.split = verifySplit{minLen: 1, max: 2}
	f.record(t, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			if _, err := f.log.Record(t.Context(), Event{Actor: System(), Action: "setup.completed"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		if rep := f.verify(t); !rep.Intact {
			t.Fatalf("verify during appends: %+v", rep)
		}
	}
	if rep := f.verify(t); !rep.Intact || rep.Events != 110 {
		t.Errorf("report %+v", rep)
	}
}

// Deleting the newest events and appending nothing after them leaves a shorter chain that is
// still valid: Verify can not see it, and this test pins that documented limit. A pruning
// checkpoint pins the head as of that pruning (TestVerifyFindsCheckpointTampering, "tail cut
// back past the pruning"); events after it stay unpinned unless their last hash is kept
// outside the database.
func TestVerifyCannotSeeATruncatedTail(t *testing.T) {
	f := newFixture(t)
	f.record(t, 5)
	remove(`id >= 4`)(t, f, nil)
	if rep := f.verify(t); !rep.Intact || rep.LastID != 3 {
		t.Errorf("report %+v", rep)
	}
}

func dropTriggers(t *testing.T, f *fixture) {
	t.Helper()
	f.exec(t, `DROP TRIGGER audit_events_no_update`)
	f.exec(t, `DROP TRIGGER audit_events_no_delete`)
}

func update(set string, id int64) func(*testing.T, *fixture, []Event) {
	return func(t *testing.T, f *fixture, _ []Event) {
		dropTriggers(t, f)
		res, err := f.db.W.ExecContext(t.Context(), `UPDATE audit_events SET `+set+` WHERE id = ?`, id)
		mustAffect(t, res, err)
	}
}

func remove(where string) func(*testing.T, *fixture, []Event) {
	return func(t *testing.T, f *fixture, _ []Event) {
		dropTriggers(t, f)
		res, err := f.db.W.ExecContext(t.Context(), `DELETE FROM audit_events WHERE `+where)
		mustAffect(t, res, err)
	}
}

func mustAffect(t *testing.T, res sql.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatal("tampering changed nothing")
	}
}
