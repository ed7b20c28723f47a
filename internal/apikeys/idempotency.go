package apikeys

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// IdempotencyWindow is how long the answer to a write made with an Idempotency-Key is replayed.
const IdempotencyWindow = 24 * time.Hour

// Idempotency errors.
var (
	// ErrIdempotencyMismatch: the key was used before for a different request.
	ErrIdempotencyMismatch = errors.New("this Idempotency-Key was used for a different request")
	// ErrIdempotencyInProgress: the first request with the key has not finished yet.
	ErrIdempotencyInProgress = errors.New("a request with this Idempotency-Key is still being processed")
)

// Replay is a stored answer.
type Replay struct {
	Status int
	Body   []byte
}

// BeginIdempotent claims idemKey for the API key's request with hash reqHash. It returns the
// stored answer when the same request was answered within IdempotencyWindow, and nil when the
// caller should go ahead (and then call Finish or Abandon).
func (s *Service) BeginIdempotent(ctx context.Context, keyID int64, idemKey string, reqHash [32]byte) (*Replay, error) {
	var out *Replay
	now := s.now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		// Expired answers are forgotten as new ones are written (through the created_at index).
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_idempotency WHERE created_at < ?`,
			now.Add(-IdempotencyWindow).UnixMilli()); err != nil {
			return fmt.Errorf("expire idempotency keys: %w", err)
		}
		var (
			hash   []byte
			status int
			body   []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT request_hash, status, body FROM api_idempotency WHERE key_id = ? AND idem_key = ?`,
			keyID, idemKey).Scan(&hash, &status, &body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO api_idempotency (key_id, idem_key, request_hash, created_at) VALUES (?, ?, ?, ?)`,
				keyID, idemKey, reqHash[:], now.UnixMilli())
			if err != nil {
				return fmt.Errorf("claim idempotency key: %w", err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("read idempotency key: %w", err)
		case !bytes.Equal(hash, reqHash[:]):
			return ErrIdempotencyMismatch
		case status == 0:
			return ErrIdempotencyInProgress
		}
		out = &Replay{Status: status, Body: body}
		return nil
	})
	return out, err
}

// FinishIdempotent stores the answer to replay.
func (s *Service) FinishIdempotent(ctx context.Context, keyID int64, idemKey string, status int, body []byte) error {
	_, err := s.db.W.ExecContext(ctx, `UPDATE api_idempotency SET status = ?, body = ? WHERE key_id = ? AND idem_key = ?`,
		status, body, keyID, idemKey)
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	return nil
}

// AbandonIdempotent forgets a claim whose request failed on our side, so a retry runs again.
func (s *Service) AbandonIdempotent(ctx context.Context, keyID int64, idemKey string) error {
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM api_idempotency WHERE key_id = ? AND idem_key = ? AND status = 0`, keyID, idemKey)
	if err != nil {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	return nil
}
