package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// CheckpointReport is what VerifyCheckpoints found.
type CheckpointReport struct {
	// Latest is the newest checkpoint of the two copies; HasLatest is false when there is none.
	Latest    SignedCheckpoint
	HasLatest bool
	Stored    int64 // checkpoints in the database
	InFile    int64 // checkpoints in the file
	// Unanchored counts the events newer than Latest's event: no checkpoint vouches for them yet.
	Unanchored int64
	// Missing counts the events up to Latest's event that are gone (retention aside).
	Missing int64
	// AnchorPruned: Latest's event is older than the retention checkpoint, so its absence is
	// expected and the anchor says nothing more about the chain.
	AnchorPruned bool
	// Problems are sentences, most important first; none when the checkpoints hold.
	Problems []string
	// KeyID names the key the signatures were checked with.
	KeyID string
}

// OK reports whether the checkpoints hold.
func (r CheckpointReport) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds the sentences a report lists; the rest are counted.
const maxProblems = 8

type problems struct {
	list []string
	more int
}

func (p *problems) add(format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) done() []string {
	if p.more > 0 {
		return append(p.list, fmt.Sprintf("and %d more problems like these", p.more))
	}
	return p.list
}

// VerifyCheckpoints checks the signed checkpoints against the log. file is the copy kept
// outside the database (nil when it cannot be found, which is itself a problem once the
// database holds checkpoints); pub is the key they must be signed with.
//
// The two copies must hold the same checkpoints, numbered without gaps, each linking to the one
// before by its digest, and the newest must carry a valid signature: together these vouch for
// every checkpoint. Each checkpoint's event must still be there with the hash it signed, unless
// retention pruned it. Last, it counts the events after the newest checkpoint, which nothing
// vouches for yet.
func (l *Log) VerifyCheckpoints(ctx context.Context, pub ed25519.PublicKey, file io.Reader) (CheckpointReport, error) {
	var rep CheckpointReport
	var p problems
	if pub != nil {
		rep.KeyID = KeyID(pub)
	}
	tx, err := l.db.R.BeginTx(ctx, nil)
	if err != nil {
		return rep, fmt.Errorf("audit verify checkpoints: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only
	retention, err := latestCheckpoint(ctx, tx)
	if err != nil {
		return rep, err
	}
	var lo, hi sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(id), max(id) FROM audit_events`).Scan(&lo, &hi); err != nil {
		return rep, fmt.Errorf("audit verify checkpoints: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.seq, c.event_id, c.event_hash, c.created_at, c.prev_digest, c.key_id, c.signature, e.hash
		FROM audit_signed_checkpoints c LEFT JOIN audit_events e ON e.id = c.event_id ORDER BY c.seq`)
	if err != nil {
		return rep, fmt.Errorf("audit verify checkpoints: %w", err)
	}
	defer rows.Close()
	nextDB := func() (SignedCheckpoint, sql.NullString, bool, error) {
		if !rows.Next() {
			return SignedCheckpoint{}, sql.NullString{}, false, rows.Err()
		}
		var cp SignedCheckpoint
		var hash sql.NullString
		err := rows.Scan(&cp.Seq, &cp.EventID, &cp.EventHash, &cp.CreatedAt, &cp.PrevDigest, &cp.KeyID, &cp.Signature, &hash)
		return cp, hash, err == nil, err
	}
	var fr *checkpointReader
	if file != nil {
		fr = newCheckpointReader(file)
	}
	nextFile := func() (SignedCheckpoint, bool, error) {
		if fr == nil {
			return SignedCheckpoint{}, false, nil
		}
		cp, err := fr.next()
		if errors.Is(err, io.EOF) {
			return SignedCheckpoint{}, false, nil
		}
		return cp, err == nil, err
	}
	eventHash := func(id int64) (sql.NullString, error) {
		var h sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE id = ?`, id).Scan(&h)
		if errors.Is(err, sql.ErrNoRows) {
			return sql.NullString{}, nil
		}
		return h, err
	}

	dbCp, dbHash, dbOK, err := nextDB()
	if err != nil {
		return rep, fmt.Errorf("audit verify checkpoints: %w", err)
	}
	fileCp, fileOK, err := nextFile()
	if err != nil {
		p.add("the checkpoint file cannot be read: %v", err)
		fr, fileOK = nil, false
	}
	var (
		prev, latestDB, latestFile SignedCheckpoint
		havePrev                   bool
		onlyDB, onlyFile           int64
		firstOnlyDB, firstOnlyFile int64
		firstMissing               SignedCheckpoint // the first whose event is gone
	)
	for dbOK || fileOK {
		var cp SignedCheckpoint
		var hash sql.NullString
		switch {
		case dbOK && fileOK && dbCp.Seq == fileCp.Seq:
			if dbCp != fileCp {
				p.add("checkpoint %d differs between the database and the file: one of the two copies was altered", dbCp.Seq)
			}
			cp, hash = dbCp, dbHash
		case dbOK && (!fileOK || dbCp.Seq < fileCp.Seq):
			if onlyDB == 0 {
				firstOnlyDB = dbCp.Seq
			}
			onlyDB++
			cp, hash = dbCp, dbHash
		default:
			if onlyFile == 0 {
				firstOnlyFile = fileCp.Seq
			}
			onlyFile++
			cp = fileCp
			if hash, err = eventHash(cp.EventID); err != nil {
				return rep, fmt.Errorf("audit verify checkpoints: %w", err)
			}
		}
		// The links, judged on the copy the database holds where it has one.
		if havePrev {
			switch {
			case cp.Seq != prev.Seq+1:
				p.add("checkpoints jump from %d to %d: checkpoints were removed", prev.Seq, cp.Seq)
			case cp.PrevDigest != prev.Digest():
				p.add("checkpoint %d does not link to checkpoint %d: one of them was altered", cp.Seq, prev.Seq)
			case cp.EventID < prev.EventID:
				p.add("checkpoint %d anchors event %d, before checkpoint %d's event %d", cp.Seq, cp.EventID, prev.Seq, prev.EventID)
			}
		} else if cp.Seq != 1 || cp.PrevDigest != GenesisHash {
			p.add("the first checkpoint is number %d, not 1: earlier checkpoints were removed", cp.Seq)
		}
		switch {
		case !hash.Valid && retention.ID != 0 && cp.EventID < retention.FirstID:
			// Pruned by retention: nothing to compare.
		case !hash.Valid:
			// The newest checkpoint gets its own, fuller sentence below.
		case hash.String != cp.EventHash:
			p.add("event %d does not have the hash checkpoint %d signed (%s…): it was changed, or the log was rebuilt", cp.EventID, cp.Seq, ShortHash(cp.EventHash))
		}
		if !hash.Valid && !(retention.ID != 0 && cp.EventID < retention.FirstID) && firstMissing.Seq == 0 {
			firstMissing = cp
		}
		prev, havePrev = cp, true

		if dbOK && cp.Seq == dbCp.Seq {
			rep.Stored++
			latestDB = dbCp
			if dbCp, dbHash, dbOK, err = nextDB(); err != nil {
				return rep, fmt.Errorf("audit verify checkpoints: %w", err)
			}
		}
		if fileOK && cp.Seq == fileCp.Seq {
			rep.InFile++
			latestFile = fileCp
			if fileCp, fileOK, err = nextFile(); err != nil {
				p.add("the checkpoint file cannot be read past checkpoint %d: %v", cp.Seq, err)
				fileOK = false
			}
		}
	}
	rows.Close()
	switch {
	case file == nil && rep.Stored > 0:
		p.add("the checkpoint file is missing, so the database's %d checkpoints cannot be cross-checked: it was deleted, or verify is looking in the wrong place", rep.Stored)
	case onlyDB > 0:
		p.add("%d checkpoints, from number %d, are in the database but not in the file: they were added to the database, or removed from the file", onlyDB, firstOnlyDB)
	}
	if onlyFile > 0 {
		p.add("%d checkpoints, from number %d, are in the file but not in the database: they were removed from the database", onlyFile, firstOnlyFile)
	}
	if !havePrev {
		rep.Problems = p.done()
		if hi.Valid {
			rep.Unanchored = hi.Int64 - lo.Int64 + 1
		}
		return rep, nil
	}
	rep.Latest, rep.HasLatest = prev, true

	// The newest signature vouches for every checkpoint before it through the digests. Where
	// the two copies end differently, both ends are checked.
	ends := []SignedCheckpoint{latestDB}
	if latestFile != latestDB {
		ends = append(ends, latestFile)
	}
	for _, cp := range ends {
		switch {
		case cp.Seq == 0:
		case pub == nil:
			p.add("no public key to check checkpoint %d's signature with", cp.Seq)
		default:
			if err := cp.VerifySignature(pub); err != nil {
				p.add("checkpoint %d: %v", cp.Seq, err)
			}
		}
	}
	// A missing event past the end of the log is part of the cut reported below.
	if firstMissing.Seq != 0 && firstMissing.Seq != prev.Seq && hi.Valid && firstMissing.EventID < hi.Int64 {
		p.add("event %d, anchored by checkpoint %d, is missing", firstMissing.EventID, firstMissing.Seq)
	}

	// The newest anchor, in full.
	latest := rep.Latest
	var anchored, upTo int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(id), 0) FROM audit_events WHERE id <= ?`, latest.EventID).Scan(&anchored, &upTo); err != nil {
		return rep, fmt.Errorf("audit verify checkpoints: %w", err)
	}
	start := int64(1)
	if retention.ID != 0 {
		start = retention.FirstID
	}
	switch {
	case latest.EventID < start:
		rep.AnchorPruned = true
		rep.Missing = 0
	case !hi.Valid || hi.Int64 < latest.EventID:
		end := int64(0)
		if hi.Valid {
			end = hi.Int64
		}
		rep.Missing = latest.EventID - max(end, start-1)
		p.add("the log ends at event %d, but checkpoint %d (signed %s) anchors event %d: the last %s (%d to %d) were removed",
			end, latest.Seq, latest.Time().Format(time.RFC3339), latest.EventID, countEvents(rep.Missing), latest.EventID-rep.Missing+1, latest.EventID)
	case upTo != latest.EventID:
		rep.Missing = max(1, latest.EventID-start+1-anchored)
		p.add("event %d, anchored by checkpoint %d (signed %s), is missing", latest.EventID, latest.Seq, latest.Time().Format(time.RFC3339))
	case anchored < latest.EventID-start+1:
		rep.Missing = latest.EventID - start + 1 - anchored
		p.add("%d events up to event %d, anchored by checkpoint %d, are missing", rep.Missing, latest.EventID, latest.Seq)
	default:
		rep.Missing = 0
	}
	if hi.Valid && hi.Int64 > latest.EventID {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_events WHERE id > ?`, latest.EventID).Scan(&rep.Unanchored); err != nil {
			return rep, fmt.Errorf("audit verify checkpoints: %w", err)
		}
	}
	rep.Problems = p.done()
	return rep, nil
}

// ShortHash is the start of a hash, for sentences; a value from a file may be any length.
func ShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func countEvents(n int64) string {
	if n == 1 {
		return "1 event"
	}
	return itoa(n) + " events"
}

// VerifyOwnCheckpoints is VerifyCheckpoints as the running server sees it: with its own public
// key and its own checkpoint file. ok is false when no Checkpointer is set.
func (l *Log) VerifyOwnCheckpoints(ctx context.Context) (rep CheckpointReport, ok bool, err error) {
	c := l.checkpointer
	if c == nil {
		return CheckpointReport{}, false, nil
	}
	var file io.Reader
	for _, s := range c.sinks {
		fs, isFile := s.sink.(*FileSink)
		if !isFile {
			continue
		}
		f, err := os.Open(fs.path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return CheckpointReport{}, true, err
		}
		if err == nil {
			defer f.Close()
			file = f
		}
		break
	}
	rep, err = l.VerifyCheckpoints(ctx, c.PublicKey(), file)
	return rep, true, err
}
