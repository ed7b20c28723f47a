-- +goose Up
-- Sign-in throttling (internal/auth) and suspicious-activity alerts (internal/alerts).
-- Times are INTEGER unix milliseconds, UTC.

-- One row per throttled key: an account (the e-mail typed, whether or not a member has it) or a
-- client address. key_hash is SHA-256 of a kind prefix and the key, never the key itself: a typed
-- e-mail of a non-member is personal data and is sometimes a password typed in the wrong field.
-- For an account, failures counts consecutive failures (a success resets it); for an address,
-- failures in the last hour (a success does not reset it). recent is the failures of the last
-- hour as of the last one, an upper bound that the hourly cap is checked against. Rows with no
-- lock left and no failure in the last hour are deleted on the next write.
CREATE TABLE sign_in_throttle (
    key_hash        BLOB PRIMARY KEY CHECK (length(key_hash) = 32),
    kind            TEXT NOT NULL CHECK (kind IN ('account', 'address')),
    failures        INTEGER NOT NULL DEFAULT 0,
    recent          INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    last_failure_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sign_in_throttle_last_failure_idx ON sign_in_throttle(last_failure_at);

-- The failures of the last hour, one row each, for the hourly cap and an address's count.
-- Pruned on every write, and never more than the cap per key, so it stays small.
CREATE TABLE sign_in_failures (
    key_hash  BLOB NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_key_idx ON sign_in_failures(key_hash, failed_at);
CREATE INDEX sign_in_failures_at_idx ON sign_in_failures(failed_at);

-- Alerts for administrators. Repeats of an open alert (same kind and subject within the
-- deduplication window) raise count and last_seen_at instead of adding rows.
CREATE TABLE alerts (
    id                   INTEGER PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind <> ''),
    severity             TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    title                TEXT NOT NULL,
    subject_type         TEXT NOT NULL DEFAULT '',
    subject_id           TEXT NOT NULL DEFAULT '',
    details              TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
    count                INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),
    created_at           INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    acknowledged_at      INTEGER,
    -- No foreign key: the name is kept as it was, like an activity event's actor.
    acknowledged_by      INTEGER,
    acknowledged_by_name TEXT NOT NULL DEFAULT ''
);
-- The navigation badge counts this index alone and the "open" list pages through it.
CREATE INDEX alerts_open_idx ON alerts(id) WHERE acknowledged_at IS NULL;
-- Finds the open alert a repeat belongs to.
CREATE INDEX alerts_dedup_idx ON alerts(kind, subject_type, subject_id, last_seen_at)
    WHERE acknowledged_at IS NULL;

-- Where each member has signed in from, so that a sign-in from a new network can be alerted.
-- network is the address for IPv4 and its /64 for IPv6 (privacy addresses change daily inside
-- one /64); address is the last address seen in it, as given.
CREATE TABLE member_sign_in_addresses (
    member_id     INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    network       TEXT NOT NULL,
    address       TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    PRIMARY KEY (member_id, network)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE member_sign_in_addresses;
DROP TABLE alerts;
DROP TABLE sign_in_failures;
DROP TABLE sign_in_throttle;
