-- +goose Up
-- Campaigns (internal/campaigns): an approved template sent to a segment of contacts, paced under
-- Meta's limits, through the inbox's one send path. Times are INTEGER unix milliseconds, UTC.

-- Who sent an outgoing message when no member did: "Campaign “Spring sale”", "Automation". The
-- conversation shows it in place of a member's name.
ALTER TABLE messages ADD COLUMN automated_by TEXT NOT NULL DEFAULT '';

-- A campaign. Names of members are copied, not joined: the results must still say who created
-- and who approved after a member is deleted. segment and bindings are JSON (campaigns.Segment,
-- campaigns.Binding), kept as they were chosen.
CREATE TABLE campaigns (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    template_id       INTEGER NOT NULL REFERENCES templates(id),
    template_name     TEXT NOT NULL,
    template_language TEXT NOT NULL,
    template_category TEXT NOT NULL,
    phone_number_id   INTEGER NOT NULL REFERENCES phone_numbers(id),
    segment           TEXT NOT NULL DEFAULT '{}',
    bindings          TEXT NOT NULL DEFAULT '{}',
    status            TEXT NOT NULL CHECK (status IN ('awaiting_approval', 'scheduled', 'running', 'paused',
                          'completed', 'cancelled')),
    time_zone         TEXT NOT NULL DEFAULT 'UTC',
    start_at          INTEGER,              -- NULL: as soon as approved
    pause_reason      TEXT NOT NULL DEFAULT '',
    wait_until        INTEGER,              -- the messaging limit is used up until then
    created_by        INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_by_name   TEXT NOT NULL,
    approved_by       INTEGER REFERENCES members(id) ON DELETE SET NULL,
    approved_by_name  TEXT NOT NULL DEFAULT '',
    approved_at       INTEGER,
    started_at        INTEGER,
    finished_at       INTEGER,
    recipients        INTEGER NOT NULL DEFAULT 0,
    left_out_consent  INTEGER NOT NULL DEFAULT 0,
    left_out_opted_out INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX campaigns_status_idx ON campaigns(status, start_at);

-- One recipient of a campaign: the durable outbox. state moves queued → sending → sent | failed |
-- skipped; 'sending' is written in the same transaction as the pending message row, before Meta is
-- called (see campaigns/runner.go for the crash window). wamid is Meta's id once known, from the
-- answer or from a status webhook carrying the recipient's callback key.
CREATE TABLE campaign_recipients (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    state         TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    INTEGER NOT NULL DEFAULT 0,
    message_id    INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    wamid         TEXT,
    sending_at    INTEGER,
    sent_at       INTEGER,
    error_code    INTEGER,
    error_title   TEXT NOT NULL DEFAULT '',
    UNIQUE (campaign_id, contact_id)
);
CREATE INDEX campaign_recipients_state_idx ON campaign_recipients(campaign_id, state, id);
CREATE INDEX campaign_recipients_sent_idx ON campaign_recipients(sent_at) WHERE sent_at IS NOT NULL;

-- +goose Down
DROP TABLE campaign_recipients;
DROP TABLE campaigns;
ALTER TABLE messages DROP COLUMN automated_by;
