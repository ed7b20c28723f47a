-- +goose Up
-- Outgoing webhooks (internal/webhooks) and the Cloud API call log (internal/apilog).
-- Times are INTEGER unix milliseconds, UTC.

-- An endpoint acts for its creator, like an API key: what it receives is narrowed by the
-- creator's permissions and numbers at the time of each event, and it is deleted with them.
-- The signing secret must be usable to sign, so it is sealed with the secrets key (outside the
-- database) rather than hashed; it is shown once and never again. events are event types
-- separated by spaces; number_ids likewise.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL CHECK (url <> ''),
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL,
    format          TEXT NOT NULL DEFAULT 'standard' CHECK (format IN ('standard', 'slack')),
    all_numbers     INTEGER NOT NULL CHECK (all_numbers IN (0, 1)),
    number_ids      TEXT NOT NULL DEFAULT '',
    secret          BLOB NOT NULL,
    created_by      INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    created_by_name TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER,
    disabled_reason TEXT NOT NULL DEFAULT '',
    -- The first failure since the last success: five days of nothing but failures disable it.
    failing_since   INTEGER
);

-- The outbox: one row per event and endpoint, written in the transaction of the change the
-- event describes, so an event is never lost to a crash between the change and its sending.
-- dedupe_key keeps Meta's repeated webhooks (and replays) from queueing an event twice.
-- A delivery stays pending until its outcome is recorded, so one in flight when the process
-- dies is sent again at the next start: at least once.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    msg_id           TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    dedupe_key       TEXT NOT NULL,
    payload          BLOB NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    retry_until      INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_status      INTEGER NOT NULL DEFAULT 0,
    delivered_at     INTEGER,
    UNIQUE (endpoint_id, dedupe_key)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries(endpoint_id, id);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries(created_at);

-- Every attempt, for the delivery log: status 0 is no HTTP answer (error says why).
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    endpoint_id INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    duration_ms INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts(endpoint_id, id);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts(delivery_id);

-- Every call made to the Cloud API, kept 30 days: no token, no request body, no customer
-- content (see internal/whatsapp/calllog.go for what is kept).
CREATE TABLE cloud_api_calls (
    id            INTEGER PRIMARY KEY,
    at            INTEGER NOT NULL,
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,
    status        INTEGER NOT NULL DEFAULT 0,
    duration_ms   INTEGER NOT NULL,
    error_code    INTEGER,
    error_message TEXT NOT NULL DEFAULT '',
    actor_type    TEXT NOT NULL DEFAULT '',
    actor_id      TEXT NOT NULL DEFAULT '',
    actor_name    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cloud_api_calls_at_idx ON cloud_api_calls(at);

-- +goose Down
DROP TABLE cloud_api_calls;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
