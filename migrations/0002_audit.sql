-- +goose Up
-- The activity log (internal/audit). Each row chains to the one before it:
--   hash = hex(SHA-256(prev_hash || canonical(row without hash)))
-- so an edit made with file access, bypassing the triggers below, shows up in `audit verify`.
--
-- Every column is NOT NULL with '' for "none" so that the stored bytes are exactly what was
-- hashed: a nullable column would let NULL and '' hash alike or force a second encoding.
-- Times are INTEGER unix milliseconds, UTC.
CREATE TABLE audit_events (
    -- AUTOINCREMENT, not a plain rowid: ids are never reused, so deleting the newest event and
    -- appending another leaves a gap that Verify reports.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('member', 'api_key', 'system', 'anonymous')),
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL CHECK (action <> ''),
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    -- JSON array of {"field","before","after"}; secret fields are already redacted.
    changes     TEXT NOT NULL DEFAULT '[]',
    client_addr TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    prev_hash   TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash        TEXT NOT NULL CHECK (length(hash) = 64)
);

-- The auditor view pages newest first by id (keyset: WHERE … AND id < ? ORDER BY id DESC), so
-- each filter index ends in id and serves both the filter and the order without a sort.
CREATE INDEX audit_events_actor_idx   ON audit_events(actor_type, actor_id, id);
CREATE INDEX audit_events_action_idx  ON audit_events(action, id);
CREATE INDEX audit_events_target_idx  ON audit_events(target_type, target_id, id);
CREATE INDEX audit_events_outcome_idx ON audit_events(outcome, id);
-- Time ranges are turned into an id range through this index (time grows with id).
CREATE INDEX audit_events_occurred_at_idx ON audit_events(occurred_at);

-- Append-only in normal operation. Retention pruning must run, inside one transaction:
--   DROP TRIGGER audit_events_no_delete; DELETE … ; CREATE TRIGGER audit_events_no_delete …
-- (SQLite DDL is transactional, so the guard is never off for anyone else). Anyone who can
-- drop a trigger can edit the file directly anyway; that is what the hash chain is for.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_events;
