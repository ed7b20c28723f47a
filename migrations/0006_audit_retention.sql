-- +goose Up
-- Retention of the activity log (internal/audit). Times are INTEGER unix milliseconds, UTC.

-- One row: how many days events are kept; 0 keeps them forever (the default).
CREATE TABLE audit_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    retention_days INTEGER NOT NULL DEFAULT 0 CHECK (retention_days >= 0),
    updated_at     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_settings (id, retention_days, updated_at) VALUES (1, 0, 0);

-- A checkpoint is where the chain starts after pruning: the first event kept and its prev_hash
-- (the hash of the last event deleted), which Verify starts from instead of the genesis hash.
-- The same values are written into the chain itself by the audit.pruned event (event_id), and
-- Verify cross-checks the two, so editing this table is as visible as editing the events.
-- The newest checkpoint also pins the chain's head: its event must still be there.
CREATE TABLE audit_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    first_id    INTEGER NOT NULL,
    prev_hash   TEXT NOT NULL CHECK (length(prev_hash) = 64),
    pruned      INTEGER NOT NULL CHECK (pruned > 0),
    cutoff      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    actor_name  TEXT NOT NULL DEFAULT '',
    event_id    INTEGER NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_checkpoints_no_delete;
DROP TRIGGER audit_checkpoints_no_update;
DROP TABLE audit_checkpoints;
DROP TABLE audit_settings;
