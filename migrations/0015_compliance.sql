-- +goose Up
-- Compliance (issue 15): access reviews (internal/reviews), the sign-in IP allow-list
-- (internal/settings/allowlist.go) and marketing consent per contact (internal/consent).
-- Times are INTEGER unix milliseconds, UTC.

-- Access-review settings, one row: when a member counts as inactive, and the schedule that opens
-- a campaign by itself (every schedule_months months, 0 = off, at next_run_at).
CREATE TABLE access_review_settings (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    inactive_days    INTEGER NOT NULL DEFAULT 30 CHECK (inactive_days BETWEEN 1 AND 365),
    schedule_months  INTEGER NOT NULL DEFAULT 0 CHECK (schedule_months BETWEEN 0 AND 12),
    due_days         INTEGER NOT NULL DEFAULT 14 CHECK (due_days BETWEEN 1 AND 90),
    next_run_at      INTEGER NOT NULL DEFAULT 0,
    -- space-separated member ids; empty: every member holding access_reviews.manage
    reviewer_ids     TEXT NOT NULL DEFAULT '',
    updated_at       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO access_review_settings (id) VALUES (1);

-- A review campaign. Names are copied, not joined: the report must still say who opened and who
-- decided after a member is deleted.
CREATE TABLE access_review_campaigns (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    scope_all        INTEGER NOT NULL DEFAULT 1,
    scope_role_ids   TEXT NOT NULL DEFAULT '',
    scope_number_ids TEXT NOT NULL DEFAULT '',
    scope_label      TEXT NOT NULL DEFAULT '',
    due_at           INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by_name  TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    reminded_at      INTEGER,
    closed_at        INTEGER,
    closed_by_name   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX access_review_campaigns_status_idx ON access_review_campaigns(status, due_at);

CREATE TABLE access_review_reviewers (
    campaign_id INTEGER NOT NULL REFERENCES access_review_campaigns(id) ON DELETE CASCADE,
    member_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (campaign_id, member_id)
) WITHOUT ROWID;

-- One member under review, as they were when the campaign opened, and the decision on them.
CREATE TABLE access_review_items (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES access_review_campaigns(id) ON DELETE CASCADE,
    member_id       INTEGER NOT NULL,
    member_name     TEXT NOT NULL,
    member_email    TEXT NOT NULL,
    role_name       TEXT NOT NULL,
    numbers         TEXT NOT NULL,
    flags           TEXT NOT NULL DEFAULT '',
    decision        TEXT NOT NULL DEFAULT '' CHECK (decision IN ('', 'keep', 'change_role', 'revoke')),
    new_role_name   TEXT NOT NULL DEFAULT '',
    comment         TEXT NOT NULL DEFAULT '',
    change          TEXT NOT NULL DEFAULT '',
    decided_by      INTEGER,
    decided_by_name TEXT NOT NULL DEFAULT '',
    decided_at      INTEGER,
    UNIQUE (campaign_id, member_id)
);

-- A closed campaign is the report an auditor is shown: it no longer changes.
-- +goose StatementBegin
CREATE TRIGGER access_review_items_closed BEFORE UPDATE ON access_review_items
WHEN (SELECT status FROM access_review_campaigns WHERE id = OLD.campaign_id) = 'closed'
BEGIN
    SELECT RAISE(ABORT, 'the access review is closed');
END;
-- +goose StatementEnd

-- The sign-in IP allow-list: empty allows every address.
CREATE TABLE ip_allowlist (
    id              INTEGER PRIMARY KEY,
    cidr            TEXT NOT NULL UNIQUE,
    note            TEXT NOT NULL DEFAULT '',
    created_by_name TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);

-- Marketing consent per contact, append-only: the current status is a contact's newest row.
-- text is the wording the customer agreed to (or the message that opted them out).
CREATE TABLE contact_consents (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    status      TEXT NOT NULL CHECK (status IN ('opted_in', 'opted_out')),
    source      TEXT NOT NULL CHECK (source IN ('form', 'import', 'conversation', 'keyword')),
    text        TEXT NOT NULL DEFAULT '',
    actor_name  TEXT NOT NULL DEFAULT '',
    recorded_at INTEGER NOT NULL
);
CREATE INDEX contact_consents_contact_idx ON contact_consents(contact_id, id);

-- +goose StatementBegin
CREATE TRIGGER contact_consents_no_update BEFORE UPDATE ON contact_consents
BEGIN
    SELECT RAISE(ABORT, 'consent history is append-only');
END;
-- +goose StatementEnd

-- Consent settings, one row: the inbound words that opt a contact out (space-separated, matched
-- case-insensitively against the whole message).
CREATE TABLE consent_settings (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    opt_out_keywords  TEXT NOT NULL DEFAULT 'STOP UNSUBSCRIBE',
    updated_at        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO consent_settings (id) VALUES (1);

-- +goose Down
DROP TABLE consent_settings;
DROP TRIGGER contact_consents_no_update;
DROP TABLE contact_consents;
DROP TABLE ip_allowlist;
DROP TRIGGER access_review_items_closed;
DROP TABLE access_review_items;
DROP TABLE access_review_reviewers;
DROP TABLE access_review_campaigns;
DROP TABLE access_review_settings;
