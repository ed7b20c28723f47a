package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The hash chain shows an edited, inserted or removed event anywhere before the newest one, but
// not the newest events cut off: what is left is a shorter chain that holds together. A signed
// checkpoint closes that, the way CloudTrail's digest files do. Every minute with new events,
// and at shutdown, the server signs "event N has hash H" with a key that is not in the database
// and keeps the statement in two places: the audit_signed_checkpoints table and a file in the
// data directory (and, through a CheckpointSink, anywhere else). `audit verify` then finds
// event N gone or changed, and says how many newer events no checkpoint vouches for yet.

// SignedCheckpoint is a signed statement about the chain's head at one moment.
type SignedCheckpoint struct {
	Seq       int64  `json:"seq"`        // 1, 2, 3… with no gaps
	EventID   int64  `json:"event_id"`   // the newest event when it was made
	EventHash string `json:"event_hash"` // that event's hash
	CreatedAt int64  `json:"created_at"` // unix milliseconds, UTC
	// PrevDigest is the Digest of the checkpoint before (GenesisHash for the first), so that the
	// newest signature vouches for every earlier checkpoint too.
	PrevDigest string `json:"prev_digest"`
	KeyID      string `json:"key_id"`    // KeyID of the signing key
	Signature  string `json:"signature"` // base64 Ed25519 signature of signedMessage
}

// Time is when the checkpoint was made.
func (cp SignedCheckpoint) Time() time.Time { return time.UnixMilli(cp.CreatedAt).UTC() }

// signedMessage is what the signature covers: a fixed text, so that any tool can rebuild it
// (docs/audit-verification.md shows how).
func (cp SignedCheckpoint) signedMessage() []byte {
	return fmt.Appendf(nil, "switchboard audit checkpoint v1\nseq %d\nevent_id %d\nevent_hash %s\ncreated_at %d\nprev_digest %s\n",
		cp.Seq, cp.EventID, cp.EventHash, cp.CreatedAt, cp.PrevDigest)
}

// Digest is the lower-hex SHA-256 of the signed message followed by the signature's text: what
// the next checkpoint's PrevDigest must be.
func (cp SignedCheckpoint) Digest() string {
	h := sha256.New()
	h.Write(cp.signedMessage())
	h.Write([]byte(cp.Signature))
	return hex.EncodeToString(h.Sum(nil))
}

// ErrSignature is a checkpoint whose signature does not hold under the given key.
var ErrSignature = errors.New("the checkpoint's signature does not verify")

// VerifySignature checks cp's signature under pub.
func (cp SignedCheckpoint) VerifySignature(pub ed25519.PublicKey) error {
	if cp.KeyID != KeyID(pub) {
		return fmt.Errorf("%w: signed with key %s, checked with key %s", ErrSignature, cp.KeyID, KeyID(pub))
	}
	sig, err := base64.StdEncoding.DecodeString(cp.Signature)
	if err != nil || !ed25519.Verify(pub, cp.signedMessage(), sig) {
		return fmt.Errorf("%w under key %s: it was altered or forged", ErrSignature, cp.KeyID)
	}
	return nil
}

// signingInfo separates this use of the secret key from every other.
const signingInfo = "switchboard audit checkpoint signing v1"

// SigningKey derives the checkpoint signing key from the workspace's secret key (DATA/secret.key
// or SWITCHBOARD_SECRET_KEY). Deriving it rather than keeping a second key file means it lives
// exactly where the secret key lives, never in the database, and needs no backup of its own.
func SigningKey(secret []byte) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, secret, nil, signingInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("audit: derive signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// KeyID is a short fingerprint of a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

const publicKeyPrefix = "ed25519:"

// FormatPublicKey is the text form of a public key, as DATA/audit-signing.pub holds it.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads FormatPublicKey's text (surrounding space and a trailing comment line
// are allowed, so the .pub file can say what it is).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, publicKeyPrefix))
		if err != nil || len(b) != ed25519.PublicKeySize || !strings.HasPrefix(line, publicKeyPrefix) {
			return nil, fmt.Errorf("not an audit signing public key (want %s<base64 of 32 bytes>)", publicKeyPrefix)
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, errors.New("no public key in the text")
}

// PublicKeyFile is the text of DATA/audit-signing.pub.
func PublicKeyFile(pub ed25519.PublicKey) string {
	return "# Switchboard activity log checkpoint key " + KeyID(pub) + ". Keep a copy off this machine;\n" +
		"# `switchboard audit verify --public-key FILE` and `audit verify-export --public-key FILE` check against it.\n" +
		FormatPublicKey(pub) + "\n"
}

const signedFields = `seq, event_id, event_hash, created_at, prev_digest, key_id, signature`

func scanSigned(row interface{ Scan(...any) error }) (SignedCheckpoint, error) {
	var cp SignedCheckpoint
	err := row.Scan(&cp.Seq, &cp.EventID, &cp.EventHash, &cp.CreatedAt, &cp.PrevDigest, &cp.KeyID, &cp.Signature)
	return cp, err
}

// LatestSignedCheckpoint returns the newest signed checkpoint in the database; ok is false when
// there is none.
func (l *Log) LatestSignedCheckpoint(ctx context.Context) (SignedCheckpoint, bool, error) {
	return latestSigned(ctx, l.db.R)
}

func latestSigned(ctx context.Context, q querier) (SignedCheckpoint, bool, error) {
	cp, err := scanSigned(q.QueryRowContext(ctx, `SELECT `+signedFields+` FROM audit_signed_checkpoints ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return SignedCheckpoint{}, false, nil
	}
	if err != nil {
		return SignedCheckpoint{}, false, fmt.Errorf("audit: read signed checkpoint: %w", err)
	}
	return cp, true, nil
}

// CheckpointSink receives every signed checkpoint, in seq order, after it is stored: the file in
// the data directory, and later an outgoing webhook or an object store. Keeping a copy where
// whoever controls the database host cannot rewrite it is what makes a cut-off provable.
type CheckpointSink interface {
	Name() string
	Publish(ctx context.Context, cp SignedCheckpoint) error
}

// ResumableSink is a sink that knows the last checkpoint it holds, so that after a restart or a
// failed delivery it is sent every checkpoint it missed. A sink that is not resumable gets the
// checkpoints made while the process runs.
type ResumableSink interface {
	CheckpointSink
	LastPublished(ctx context.Context) (int64, error)
}

// ErrAnchorBroken is returned by Checkpoint when the newest checkpoint no longer holds: its
// event is gone or changed. No new checkpoint is made, so a cut cannot be signed over.
var ErrAnchorBroken = errors.New("audit: the latest signed checkpoint no longer matches the log")

// Checkpointer signs the chain's head.
type Checkpointer struct {
	log    *Log
	key    ed25519.PrivateKey
	keyID  string
	logger *slog.Logger

	mu    sync.Mutex // one checkpoint at a time, and the sinks' positions
	sinks []*sinkState
}

type sinkState struct {
	sink  CheckpointSink
	last  int64 // the last seq it holds
	known bool  // last has been read from the sink, or set at start
}

// NewCheckpointer returns a Checkpointer that signs l's head with key and delivers each
// checkpoint to sinks.
func NewCheckpointer(l *Log, key ed25519.PrivateKey, logger *slog.Logger, sinks ...CheckpointSink) *Checkpointer {
	c := &Checkpointer{log: l, key: key, keyID: KeyID(key.Public().(ed25519.PublicKey)), logger: logger}
	for _, s := range sinks {
		c.sinks = append(c.sinks, &sinkState{sink: s})
	}
	return c
}

// PublicKey is the key that verifies this Checkpointer's signatures.
func (c *Checkpointer) PublicKey() ed25519.PublicKey { return c.key.Public().(ed25519.PublicKey) }

// Checkpoint signs the head of the chain when it moved since the newest checkpoint, stores the
// checkpoint and delivers it to the sinks. It returns the newest checkpoint (the one just made,
// or the standing one when nothing new was recorded) and whether it made one; ok is false for
// an empty log.
//
// Before signing it checks that the newest checkpoint still holds (its event is there with the
// same hash): otherwise someone who cuts the log while the server runs would have the cut
// signed a minute later. It then refuses with ErrAnchorBroken and signs nothing.
func (c *Checkpointer) Checkpoint(ctx context.Context) (cp SignedCheckpoint, created bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err = c.log.db.Tx(ctx, func(tx *sql.Tx) error {
		var headID int64
		var headHash string
		err := tx.QueryRowContext(ctx, `SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1`).Scan(&headID, &headHash)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("audit checkpoint: read head: %w", err)
		}
		latest, ok, err := latestSigned(ctx, tx)
		if err != nil {
			return err
		}
		if ok {
			var hash string
			err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE id = ?`, latest.EventID).Scan(&hash)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				if pruned, perr := prunedBefore(ctx, tx, latest.EventID); perr != nil || !pruned {
					return errors.Join(fmt.Errorf("%w: event %d, anchored by checkpoint %d, is missing", ErrAnchorBroken, latest.EventID, latest.Seq), perr)
				}
			case err != nil:
				return fmt.Errorf("audit checkpoint: %w", err)
			case hash != latest.EventHash:
				return fmt.Errorf("%w: event %d no longer has the hash checkpoint %d signed", ErrAnchorBroken, latest.EventID, latest.Seq)
			}
			if headID == latest.EventID {
				cp = latest
				return nil
			}
		}
		cp = SignedCheckpoint{
			Seq: latest.Seq + 1, EventID: headID, EventHash: headHash,
			CreatedAt: c.log.clk.Now().UTC().UnixMilli(), PrevDigest: GenesisHash, KeyID: c.keyID,
		}
		if ok {
			cp.PrevDigest = latest.Digest()
		}
		cp.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(c.key, cp.signedMessage()))
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_signed_checkpoints (`+signedFields+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			cp.Seq, cp.EventID, cp.EventHash, cp.CreatedAt, cp.PrevDigest, cp.KeyID, cp.Signature); err != nil {
			return fmt.Errorf("audit checkpoint: store: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return SignedCheckpoint{}, false, err
	}
	// A sink that fails is tried again, from where it stopped, at the next checkpoint; the
	// checkpoint itself is stored and counts.
	if perr := c.publish(ctx); perr != nil {
		c.logger.ErrorContext(ctx, "audit checkpoint not delivered", "error", perr)
	}
	return cp, created, nil
}

// prunedBefore reports whether event id lies before the start of the pruned chain, so its
// absence is retention at work and not a cut.
func prunedBefore(ctx context.Context, q querier, id int64) (bool, error) {
	cp, err := latestCheckpoint(ctx, q)
	if err != nil {
		return false, err
	}
	return cp.ID != 0 && id < cp.FirstID, nil
}

// publish delivers to each sink the checkpoints it does not hold yet.
func (c *Checkpointer) publish(ctx context.Context) error {
	var errs []error
	for _, s := range c.sinks {
		if !s.known {
			if r, ok := s.sink.(ResumableSink); ok {
				last, err := r.LastPublished(ctx)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", s.sink.Name(), err))
					continue
				}
				s.last = last
			} else {
				// A plain sink starts with the newest checkpoint: it missed nothing it could know.
				latest, _, err := latestSigned(ctx, c.log.db.R)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				s.last = max(0, latest.Seq-1)
			}
			s.known = true
		}
		if err := c.publishTo(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.sink.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (c *Checkpointer) publishTo(ctx context.Context, s *sinkState) error {
	for {
		rows, err := c.log.db.R.QueryContext(ctx, `SELECT `+signedFields+` FROM audit_signed_checkpoints WHERE seq > ? ORDER BY seq LIMIT 500`, s.last)
		if err != nil {
			return err
		}
		var batch []SignedCheckpoint
		for rows.Next() {
			cp, err := scanSigned(rows)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, cp)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, cp := range batch {
			if err := s.sink.Publish(ctx, cp); err != nil {
				return err
			}
			s.last = cp.Seq
		}
		if len(batch) < 500 {
			return nil
		}
	}
}

// Every makes a checkpoint now and then every interval until ctx ends. Errors are logged and
// the next tick tries again; a broken anchor is logged as an error every time, since it means
// the log was cut or changed.
func (c *Checkpointer) Every(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, _, err := c.Checkpoint(ctx); err != nil && ctx.Err() == nil {
			c.logger.ErrorContext(ctx, "audit checkpoint failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
