-- +goose Up
-- Signed checkpoints of the activity log's head (internal/audit/signed.go). Every minute with new
-- events, and at shutdown, the server signs "event N has hash H" with an Ed25519 key derived from
-- the secret key (outside the database) and stores it here and in DATA/audit-checkpoints.jsonl.
-- The hash chain alone cannot show that its newest events were cut off; a signed statement about
-- the head, kept in two places, can: `audit verify` finds event N gone or changed.
--
-- seq numbers the checkpoints 1, 2, 3… and prev_digest links each to the one before (SHA-256 of
-- its signed message and signature), so checking the newest signature vouches for them all and
-- a row missing from either copy is seen. The signature covers seq, event_id, event_hash,
-- created_at and prev_digest (see signedMessage); key_id names the key.
CREATE TABLE audit_signed_checkpoints (
    seq        INTEGER PRIMARY KEY CHECK (seq > 0),
    event_id   INTEGER NOT NULL CHECK (event_id > 0),
    event_hash TEXT NOT NULL CHECK (length(event_hash) = 64),
    created_at INTEGER NOT NULL,
    prev_digest TEXT NOT NULL CHECK (length(prev_digest) = 64),
    key_id     TEXT NOT NULL,
    signature  TEXT NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER audit_signed_checkpoints_no_update BEFORE UPDATE ON audit_signed_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_signed_checkpoints_no_delete BEFORE DELETE ON audit_signed_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- The target's name as it was when the event was recorded ("Grace Hopper" for member 6), so the
-- log reads in names and a later rename or deletion does not change what it says. It is part of
-- the hashed content when it is not empty (internal/audit/chain.go); events written before it
-- existed have '' and hash exactly as they did.
ALTER TABLE audit_events ADD COLUMN target_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN target_name;
DROP TRIGGER audit_signed_checkpoints_no_delete;
DROP TRIGGER audit_signed_checkpoints_no_update;
DROP TABLE audit_signed_checkpoints;
