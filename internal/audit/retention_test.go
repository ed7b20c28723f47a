package audit

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// prunable records old events and a few recent ones: with a 30-day retention, the first 10
// are past the cutoff.
func (f *fixture) prunable(t *testing.T) []Event {
	t.Helper()
	old := f.record(t, 10)
	f.clk.Advance(60 * 24 * time.Hour)
	recent := f.record(t, 5)
	if err := f.log.SetRetention(t.Context(), 30); err != nil {
		t.Fatal(err)
	}
	return append(old, recent...)
}

func TestRetentionSetting(t *testing.T) {
	f := newFixture(t)
	if d, err := f.log.RetentionDays(t.Context()); err != nil || d != 0 {
		t.Fatalf("default retention %d %v, want forever", d, err)
	}
	for _, bad := range []int{-1, 1, MinRetentionDays - 1, MaxRetentionDays + 1} {
		if err := f.log.SetRetention(t.Context(), bad); err != ErrRetention {
			t.Errorf("%d days: %v", bad, err)
		}
	}
	if err := f.log.SetRetention(t.Context(), 90); err != nil {
		t.Fatal(err)
	}
	if err := f.log.SetRetention(t.Context(), 90); err != nil {
		t.Fatal(err)
	}
	evs, _, _ := f.log.List(t.Context(), ListQuery{Filter: Filter{Action: "audit.retention_changed"}})
	if len(evs) != 1 || evs[0].Changes[0].Before != 0.0 || evs[0].Changes[0].After != 90.0 {
		t.Errorf("retention events %+v, want one from 0 to 90", evs)
	}
	if res, err := f.log.Prune(t.Context()); err != nil || res.Deleted != 0 {
		t.Errorf("pruning a young log: %+v %v", res, err)
	}
}

func TestPruneKeepsTheChainVerifiable(t *testing.T) {
	for _, mode := range splitModes() {
		t.Run(mode.name, func(t *testing.T) {
			f := newFixture(t)
			f.log.split = mode.split
			all := f.prunable(t) // ids 1-15, then 16 = audit.retention_changed
			plan, err := f.log.PlanPrune(t.Context())
			if err != nil || plan.Events != 10 || plan.FirstID != 11 {
				t.Fatalf("plan %+v %v", plan, err)
			}
			ctx := WithActor(t.Context(), MemberActor(1, "Ada"))
			res, err := f.log.Prune(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cp := res.Checkpoint
			if res.Deleted != 10 || cp.FirstID != 11 || cp.PrevHash != all[9].Hash || cp.EventID != 17 || cp.ActorName != "Ada" {
				t.Fatalf("result %+v", res)
			}
			if n := f.count(t); n != 7 {
				t.Errorf("%d events left, want 5 recent, the setting and the pruning", n)
			}
			rep := f.verify(t)
			if !rep.Intact || rep.FirstID != 11 || rep.Events != 7 || rep.Checkpoint != cp {
				t.Errorf("after pruning: %+v", rep)
			}
			ev, err := f.log.Get(t.Context(), cp.EventID)
			if err != nil || ev.Action != ActionPruned || ev.Actor.Name != "Ada" {
				t.Errorf("pruning event %+v %v", ev, err)
			}
			// The guard is back: nobody may delete afterwards.
			if _, err := f.db.W.ExecContext(t.Context(), `DELETE FROM audit_events WHERE id = 11`); err == nil ||
				!strings.Contains(err.Error(), "append-only") {
				t.Errorf("delete after pruning: %v", err)
			}
			// Appending goes on from the head.
			f.record(t, 2)
			if rep := f.verify(t); !rep.Intact || rep.Events != 9 {
				t.Errorf("after appending: %+v", rep)
			}
			if _, err := f.db.W.ExecContext(t.Context(), `UPDATE audit_checkpoints SET pruned = 1`); err == nil {
				t.Error("checkpoints can be updated")
			}
		})
	}
}

// A second pruning starts the chain at a later checkpoint, and everything is gone but the
// newest event when everything is old: the chain still goes on from it.
func TestPruneAgainAndEverything(t *testing.T) {
	f := newFixture(t)
	f.prunable(t)
	if _, err := f.log.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(365 * 24 * time.Hour)
	res, err := NewPruner(f.log, slog.New(slog.NewTextHandler(io.Discard, nil))).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 6 || f.count(t) != 2 {
		t.Errorf("pruned %d, %d left: %+v", res.Deleted, f.count(t), res)
	}
	rep := f.verify(t)
	if !rep.Intact || rep.Checkpoint.ID != 2 || rep.Checkpoint.ActorName != "retention" {
		t.Errorf("after pruning everything: %+v", rep)
	}
	cps, err := f.log.Checkpoints(t.Context(), 10)
	if err != nil || len(cps) != 2 || cps[0].ID != 2 {
		t.Errorf("checkpoints %+v %v", cps, err)
	}
}

// A large backlog is pruned in batches, each a transaction with its own checkpoint.
func TestPruneInBatches(t *testing.T) {
	f := newFixture(t)
	f.log.pruneBatch = 4
	f.prunable(t)
	res, err := f.log.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 10 || res.Batches != 3 || res.Plan.Events != 10 || res.Checkpoint.FirstID != 11 {
		t.Errorf("result %+v", res)
	}
	cps, _ := f.log.Checkpoints(t.Context(), 10)
	if len(cps) != 3 || cps[2].FirstID != 5 || cps[1].FirstID != 9 {
		t.Errorf("checkpoints %+v", cps)
	}
	if rep := f.verify(t); !rep.Intact || rep.FirstID != 11 || rep.Checkpoint.ID != 3 {
		t.Errorf("report %+v", rep)
	}
}

// Paging over a pruned log: cursors that point at deleted events still work.
func TestListAfterPruning(t *testing.T) {
	f := newFixture(t)
	f.prunable(t)
	if _, err := f.log.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	evs, p, err := f.log.List(t.Context(), ListQuery{BeforeID: 5})
	if err != nil || len(evs) != 0 || p.HasOlder {
		t.Errorf("before a pruned event: %d events %+v %v", len(evs), p, err)
	}
	evs, _, err = f.log.List(t.Context(), ListQuery{AfterID: 3, Limit: 2})
	if err != nil || len(evs) != 2 || evs[1].ID != 11 {
		t.Errorf("after a pruned event: %+v %v", evs, err)
	}
	older, newer := pageAll(t, f, Filter{}, 2)
	if !slices.Equal(older, []int64{17, 16, 15, 14, 13, 12, 11}) || !slices.Equal(older, newer) {
		t.Errorf("paging a pruned log: %v / %v", older, newer)
	}
}

// Someone with the file: the checkpoint or the events around it are edited. Verify must notice.
func TestVerifyFindsCheckpointTampering(t *testing.T) {
	dropAll := func(t *testing.T, f *fixture) {
		dropTriggers(t, f)
		f.exec(t, `DROP TRIGGER audit_checkpoints_no_update`)
		f.exec(t, `DROP TRIGGER audit_checkpoints_no_delete`)
	}
	tests := []struct {
		name       string
		tamper     func(t *testing.T, f *fixture)
		wantBroken int64
		wantReason string
	}{
		{"first kept event deleted", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `DELETE FROM audit_events WHERE id = 11`)
		}, 12, ReasonCheckpointStart},
		{"more pruned, checkpoint moved to hide it", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `UPDATE audit_checkpoints SET first_id = 13, prev_hash = (SELECT hash FROM audit_events WHERE id = 12)`)
			f.exec(t, `DELETE FROM audit_events WHERE id < 13`)
		}, 17, ReasonCheckpointMismatch},
		{"checkpoint deleted", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `DELETE FROM audit_checkpoints`)
		}, 11, ReasonGenesis},
		{"checkpoint count edited", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `UPDATE audit_checkpoints SET pruned = 3`)
		}, 17, ReasonCheckpointMismatch},
		{"forged checkpoint pointing at an older event", func(t *testing.T, f *fixture) {
			f.exec(t, `INSERT INTO audit_checkpoints (first_id, prev_hash, pruned, cutoff, created_at, actor_name, event_id)
				SELECT 12, hash, 11, 0, 0, 'Eve', 16 FROM audit_events WHERE id = 11`)
		}, 16, ReasonCheckpointMismatch},
		{"tail cut back past the pruning", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `DELETE FROM audit_events WHERE id >= 17`)
		}, 17, ReasonCheckpointMissing},
		{"pruning event edited", func(t *testing.T, f *fixture) {
			dropAll(t, f)
			f.exec(t, `UPDATE audit_events SET changes = replace(changes, '"pruned_events","before":null,"after":10', '"pruned_events","before":null,"after":9') WHERE id = 17`)
			f.exec(t, `UPDATE audit_checkpoints SET pruned = 9`)
		}, 17, ReasonHashMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.prunable(t)
			if _, err := f.log.Prune(t.Context()); err != nil {
				t.Fatal(err)
			}
			f.record(t, 2)
			if rep := f.verify(t); !rep.Intact {
				t.Fatalf("broken before tampering: %+v", rep)
			}
			tt.tamper(t, f)
			rep := f.verify(t)
			if rep.Intact || rep.BrokenID != tt.wantBroken || rep.Reason != tt.wantReason {
				t.Errorf("report %+v\nwant broken at %d: %s", rep, tt.wantBroken, tt.wantReason)
			}
		})
	}
}

// The export of a pruned log verifies on its own: its first row links to the checkpoint's hash,
// which the file cannot show, and every row after links to the one before.
func TestExportOfAPrunedLog(t *testing.T) {
	f := newFixture(t)
	f.prunable(t)
	if _, err := f.log.Prune(t.Context()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.log.Export(t.Context(), Filter{}, ExportJSONL, func() io.Writer { return &buf }); err != nil {
		t.Fatal(err)
	}
	rep, err := VerifyExport(&buf)
	if err != nil || !rep.Intact || rep.FirstID != 11 || rep.Gaps != 0 {
		t.Errorf("report %+v %v", rep, err)
	}
}

// Concurrent checks share one run.
func TestVerifyShared(t *testing.T) {
	f := newFixture(t)
	f.record(t, 50)
	done := make(chan Report, 8)
	for range 8 {
		go func() {
			rep, err := f.log.VerifyShared(t.Context())
			if err != nil {
				t.Error(err)
			}
			done <- rep
		}()
	}
	for range 8 {
		if rep := <-done; !rep.Intact || rep.Events != 50 {
			t.Errorf("shared report %+v", rep)
		}
	}
}
