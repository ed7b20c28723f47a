-- +goose Up
-- API keys (internal/apikeys) and the Idempotency-Key record of the JSON API.
-- Times are INTEGER unix milliseconds, UTC.

-- Only SHA-256 of the secret is kept: the secret has 256 bits of entropy, so a fast hash is
-- enough (no password-style stretching), and a stolen database yields no usable key. A key acts
-- for its creator: it is deleted with them, and stops when they are deactivated (checked on
-- every request). scopes are permission ids separated by spaces; number_ids likewise.
CREATE TABLE api_keys (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    secret_hash     BLOB NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    last4           TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    all_numbers     INTEGER NOT NULL CHECK (all_numbers IN (0, 1)),
    number_ids      TEXT NOT NULL DEFAULT '',
    created_by      INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_by_name TEXT NOT NULL,
    -- The creator's session epoch when the key was made: a password or 2FA change, or "sign out
    -- everywhere", raises it and so ends the creator's keys with their sessions.
    creator_epoch   INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER, -- NULL: never (only where the workspace allows it)
    revoked_at      INTEGER,
    revoked_by_name TEXT NOT NULL DEFAULT '',
    last_used_at    INTEGER,
    last_used_addr  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_keys_created_by_idx ON api_keys(created_by);

-- The answer given to a write made with an Idempotency-Key, replayed for 24 hours to a retry of
-- the same request. status 0 marks a request still in progress.
CREATE TABLE api_idempotency (
    key_id       INTEGER NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    idem_key     TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BLOB NOT NULL DEFAULT x'',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (key_id, idem_key)
) WITHOUT ROWID;
CREATE INDEX api_idempotency_created_idx ON api_idempotency(created_at);

-- +goose Down
DROP TABLE api_idempotency;
DROP TABLE api_keys;
