-- +goose Up
-- Privacy (issue 15, second part: internal/privacy) and alert rules with their routing
-- (internal/alerts). Times are INTEGER unix milliseconds, UTC.

-- Privacy settings, one row. Retention in days, 0 keeping forever; the activity log's own
-- retention stays in audit_settings (internal/audit) and is shown beside these.
-- erasure_four_eyes: an erasure asked for by one member is carried out only when a second
-- member holding contacts.erase confirms it.
CREATE TABLE privacy_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    erasure_four_eyes  INTEGER NOT NULL DEFAULT 0 CHECK (erasure_four_eyes IN (0, 1)),
    messages_days      INTEGER NOT NULL DEFAULT 0 CHECK (messages_days BETWEEN 0 AND 36500),
    media_days         INTEGER NOT NULL DEFAULT 0 CHECK (media_days BETWEEN 0 AND 36500),
    webhook_days       INTEGER NOT NULL DEFAULT 30 CHECK (webhook_days BETWEEN 1 AND 36500),
    updated_at         INTEGER NOT NULL DEFAULT 0
);
INSERT INTO privacy_settings (id) VALUES (1);

-- One row per run of a retention job: what it removed, or why it failed.
CREATE TABLE retention_runs (
    id          INTEGER PRIMARY KEY,
    job         TEXT NOT NULL CHECK (job IN ('messages', 'media', 'webhooks', 'activity')),
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    cutoff      INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX retention_runs_job_idx ON retention_runs(job, id);

-- Erasure requests. The contact is named by its id only, and deliberately not by a foreign key:
-- when the erasure is carried out the contact row goes, and what stays here (and in the activity
-- log) is a number that no longer leads to anyone. reference is the business's own case number
-- ("ticket 4711"), never the customer's name: the form says so.
CREATE TABLE erasure_requests (
    id                INTEGER PRIMARY KEY,
    contact_id        INTEGER NOT NULL,
    reference         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'cancelled')),
    requested_by      INTEGER NOT NULL,
    requested_by_name TEXT NOT NULL,
    requested_at      INTEGER NOT NULL,
    decided_by        INTEGER,
    decided_by_name   TEXT NOT NULL DEFAULT '',
    decided_at        INTEGER,
    -- JSON object: area → rows or files removed.
    removed           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX erasure_requests_status_idx ON erasure_requests(status, id);

-- One rule per alert kind (internal/alerts): whether it is raised, its threshold where it has
-- one, and where it goes besides the alerts page. email_to NULL means every member who may see
-- alerts and has not turned alert e-mail off (what a workspace had before rules existed);
-- otherwise space-separated member ids, '' for nobody.
CREATE TABLE alert_rules (
    kind           TEXT PRIMARY KEY,
    enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    threshold      INTEGER NOT NULL DEFAULT 0 CHECK (threshold >= 0),
    threshold2     INTEGER NOT NULL DEFAULT 0 CHECK (threshold2 >= 0),
    window_minutes INTEGER NOT NULL DEFAULT 0 CHECK (window_minutes >= 0),
    email_to       TEXT,
    webhook        INTEGER NOT NULL DEFAULT 1 CHECK (webhook IN (0, 1)),
    updated_at     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Where each new alert went: the page, each e-mail queued (its outbox row says whether it was
-- delivered), the outgoing webhook's answer. A webhook delivery is written 'queued' in the
-- alert's own transaction and claimed ('sending') by whoever publishes it, so an alert raised
-- inside any transaction is published once, after it committed, even across a restart.
CREATE TABLE alert_deliveries (
    id        INTEGER PRIMARY KEY,
    alert_id  INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    channel   TEXT NOT NULL CHECK (channel IN ('page', 'email', 'webhook')),
    recipient TEXT NOT NULL DEFAULT '',
    status    TEXT NOT NULL CHECK (status IN ('shown', 'queued', 'sending', 'sent', 'failed', 'skipped')),
    detail    TEXT NOT NULL DEFAULT '',
    mail_id   INTEGER,
    at        INTEGER NOT NULL
);
CREATE INDEX alert_deliveries_alert_idx ON alert_deliveries(alert_id, id);
CREATE INDEX alert_deliveries_queued_idx ON alert_deliveries(id) WHERE channel = 'webhook' AND status = 'queued';

-- How far the mass-export rule has read the activity log.
CREATE TABLE alert_watch_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL DEFAULT 0
);
INSERT INTO alert_watch_state (id, last_event_id) VALUES (1, 0);

-- +goose Down
DROP TABLE alert_watch_state;
DROP TABLE alert_deliveries;
DROP TABLE alert_rules;
DROP TABLE erasure_requests;
DROP TABLE retention_runs;
DROP TABLE privacy_settings;
