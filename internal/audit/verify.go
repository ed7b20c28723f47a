package audit

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Report is the outcome of Verify.
type Report struct {
	Events int64 // events read
	// Checked is how many events were found intact before BrokenID (all of them when Intact).
	// It is not Events: the count goes on past a break so the report still describes the log.
	Checked int64
	FirstID int64
	LastID  int64
	LastAt  time.Time // UTC time of the newest event
	Intact  bool
	// BrokenID is the first event that does not hold together with what precedes it, and
	// Reason says how; both are zero when Intact.
	BrokenID int64
	Reason   string
	// Checkpoint is where the chain starts after pruning; zero when nothing was ever pruned.
	Checkpoint Checkpoint
	// Gaps counts, for VerifyExport, the places where ids skip (a filtered export): the link
	// across a gap can not be checked from the file alone.
	Gaps int64
	// Export is, for VerifyExportWith, the signed checkpoint that ends the export; nil when the
	// export has none.
	Export *ExportAnchor
}

// Reasons Verify gives for a broken link.
const (
	ReasonHashMismatch = "content does not match its hash: the event was changed after it was written"
	ReasonPrevMismatch = "prev_hash does not match the previous event's hash: an event before it was removed, inserted or reordered"
	ReasonIDGap        = "id does not follow the previous event's id: a newer event was removed before this one was appended"
	ReasonGenesis      = "the first event does not start from the genesis hash: earlier events were removed"

	ReasonCheckpointStart    = "the first event does not start where the latest checkpoint says: events were removed after pruning, or the checkpoint was altered"
	ReasonCheckpointMismatch = "the latest checkpoint does not match the audit.pruned event that recorded it: the checkpoint was altered"
	ReasonCheckpointMissing  = "the audit.pruned event that recorded the latest checkpoint is missing: events were removed"
)

// verifySplit says how Verify divides the log between reader connections.
type verifySplit struct {
	// minLen keeps small logs in one pass, where splitting would cost more than it saves.
	minLen int64
	// max is how many ranges run at once: no more than there are cores to run them or
	// connections in the reader pool, and never more than four, so a big machine's pages are
	// not all kept waiting. On a small one, pages wait for a range (well under a second).
	max int
}

func defaultSplit(readers *sql.DB) verifySplit {
	return verifySplit{
		minLen: 50_000,
		max:    max(1, min(runtime.GOMAXPROCS(0), readers.Stats().MaxOpenConnections, 4)),
	}
}

// bounds cuts [lo, hi] into id ranges [b[i], b[i+1]).
func (s verifySplit) bounds(lo, hi int64) []int64 {
	n := max(1, min(int64(s.max), (hi-lo+1)/max(1, s.minLen)))
	step := (hi - lo + 1) / n
	b := make([]int64, 0, n+1)
	for i := range n {
		b = append(b, lo+i*step)
	}
	return append(b, hi+1)
}

// Verify reads every event in id order and recomputes the chain, reporting the first event that
// breaks it. It catches a change to any column of any event (at that event), a deleted,
// inserted or reordered event (at the event after it) and swapped rows (at the lower id).
//
// After pruning, the chain starts from the newest checkpoint instead of the genesis hash: the
// first event kept must be the checkpoint's and link to its hash. The checkpoint row is
// cross-checked against the audit.pruned event that wrote the same values into the chain, and
// that event must still exist, so the checkpoint table can not be edited unseen and the newest
// events can not be cut off back past the last pruning.
//
// What a chain alone cannot catch: removing the newest events since the last checkpoint, as
// long as nothing is appended after them (once something is, the id gap shows it) — unless
// sqlite_sequence is rewound as well, or the whole chain is rebuilt by someone who can also
// recompute every hash. Keeping the last hash outside the database (an export, the integrity
// page's figures) closes those.
//
// Large logs are split into id ranges checked side by side on reader connections, each
// streaming its rows, so memory stays constant and a million events take about 1.3 s on two
// cores (2.3 s in one pass). Each range starts from the stored hash of the event before it and the first break of
// the earliest broken range is the first break of the chain: until then every event is intact,
// so each link is checked exactly as a single pass would check it.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	rep, cpID, err := l.verifyOnce(ctx)
	if err != nil || rep.Intact {
		return rep, err
	}
	// A pruning that commits between reading the checkpoint and reading the events makes the
	// oldest events vanish under Verify. That is not damage: look again, once.
	cp, err := latestCheckpoint(ctx, l.db.R)
	if err != nil || cp.ID == cpID {
		return rep, err
	}
	rep, _, err = l.verifyOnce(ctx)
	return rep, err
}

// chainStart is what the first event of the log must link to.
type chainStart struct {
	link    []byte // length-prefixed prev_hash, as the canonical form starts
	firstID int64  // zero: any
	reason  string // what a mismatch means
}

func (l *Log) verifyOnce(ctx context.Context) (Report, int64, error) {
	var (
		lo, hi sql.NullInt64
		cp     Checkpoint
	)
	// Bounds and checkpoint from one snapshot, so a pruning can not fall between them.
	err := func() error {
		tx, err := l.db.R.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // read only: nothing to undo
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT min(id) FROM audit_events), (SELECT max(id) FROM audit_events)`).Scan(&lo, &hi); err != nil {
			return err
		}
		cp, err = latestCheckpoint(ctx, tx)
		return err
	}()
	if err != nil {
		return Report{}, 0, fmt.Errorf("audit verify: %w", err)
	}
	start := chainStart{link: appendField(nil, GenesisHash), reason: ReasonGenesis}
	if cp.ID != 0 {
		start = chainStart{link: appendField(nil, cp.PrevHash), firstID: cp.FirstID, reason: ReasonCheckpointStart}
	}
	rep := Report{Intact: true}
	if lo.Valid {
		bounds := l.split.bounds(lo.Int64, hi.Int64)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		parts := make([]Report, len(bounds)-1)
		errs := make([]error, len(parts))
		var wg sync.WaitGroup
		for i := range parts {
			wg.Go(func() {
				parts[i], errs[i] = l.verifyRange(rctx, bounds[i], bounds[i+1], start)
				if errs[i] != nil {
					cancel()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return Report{}, 0, err
			}
		}
		rep = merge(parts)
	}
	if cp.ID != 0 {
		rep.Checkpoint = cp
		// The checkpoint says where the chain starts, so a doubt about it comes before any event.
		reason, err := checkCheckpoint(ctx, l.db.R, cp)
		if err != nil {
			return Report{}, 0, err
		}
		if reason != "" {
			rep.Intact, rep.BrokenID, rep.Reason = false, cp.EventID, reason
			rep.Checked = 0 // nothing can be vouched for when the chain's start is in doubt
		}
	}
	return rep, cp.ID, nil
}

// merge joins the reports of consecutive ranges.
func merge(parts []Report) Report {
	rep := Report{Intact: true}
	for _, p := range parts {
		if p.Events == 0 {
			continue
		}
		if rep.Events == 0 {
			rep.FirstID = p.FirstID
		}
		rep.Events += p.Events
		rep.LastID, rep.LastAt = p.LastID, p.LastAt
		if rep.Intact {
			rep.Checked += p.Checked
		}
		if rep.Intact && !p.Intact {
			rep.Intact, rep.BrokenID, rep.Reason = false, p.BrokenID, p.Reason
		}
	}
	return rep
}

// verifyRange checks the events with lo <= id < hi in one read transaction. It reads the event
// just before lo as well, only for the hash and id that the first event must link to; that event
// itself is checked by the range that holds it.
func (l *Log) verifyRange(ctx context.Context, lo, hi int64, start chainStart) (Report, error) {
	rows, err := l.db.R.QueryContext(ctx, `SELECT id, occurred_at, hash, `+canonicalSQL+`
		FROM audit_events
		WHERE id >= coalesce((SELECT max(id) FROM audit_events WHERE id < ?1), ?1) AND id < ?2
		ORDER BY id`, lo, hi)
	if err != nil {
		return Report{}, fmt.Errorf("audit verify: %w", err)
	}
	defer rows.Close()

	var (
		rep       = Report{Intact: true}
		hs        = newHasher()
		id, at    int64
		stored    sql.RawBytes
		canonical sql.RawBytes
		// link is how the next event's canonical form must start: its prev_hash field.
		link   = slices.Clone(start.link) // reused as the link moves on: never the shared start
		prevID int64
		first  = true // no event before this one, so it must start from the chain's start
	)
	for rows.Next() {
		// RawBytes point into the driver's row and stay valid until the next Next, long
		// enough to hash them; strings would allocate for every event.
		if err := rows.Scan(&id, &at, &stored, &canonical); err != nil {
			return Report{}, fmt.Errorf("audit verify: read event after %d: %w", prevID, err)
		}
		if id < lo {
			link, prevID, first = appendField(link[:0], stored), id, false
			continue
		}
		rep.Events++
		if rep.Events == 1 {
			rep.FirstID = id
		}
		rep.LastID = id
		rep.LastAt = time.UnixMilli(at).UTC()
		if !rep.Intact {
			continue // keep counting so the report still describes the whole log
		}
		if reason := check(hs, id, stored, canonical, prevID, link, first, &start); reason != "" {
			rep.Intact, rep.BrokenID, rep.Reason = false, id, reason
			continue
		}
		rep.Checked++
		link, prevID, first = appendField(link[:0], stored), id, false
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit verify: %w", err)
	}
	return rep, nil
}

// check judges one event against its predecessor. Its own hash comes first, so an edited event
// is blamed itself rather than the innocent one after it.
func check(hs *hasher, id int64, stored, canonical []byte, prevID int64, link []byte, first bool, start *chainStart) string {
	if !bytes.Equal(hs.hash(canonical), stored) {
		return ReasonHashMismatch
	}
	// The canonical form starts with the event's length-prefixed prev_hash, which its own hash
	// has just vouched for.
	if !bytes.HasPrefix(canonical, link) {
		if first {
			return start.reason
		}
		return ReasonPrevMismatch
	}
	if first && start.firstID != 0 && id != start.firstID {
		return start.reason
	}
	if !first && id != prevID+1 {
		return ReasonIDGap
	}
	return ""
}
