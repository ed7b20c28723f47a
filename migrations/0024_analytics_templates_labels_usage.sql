-- +goose Up
-- Analytics, issue 13 finished: templates by name AND language with button clicks, the label
-- filter for conversation figures, and Cloud API usage per endpoint.
--
-- An outgoing template message now keeps its language (a template is one name + language at
-- Meta). Messages sent before this migration get the language when their template name has only
-- one; otherwise it stays '' and the Analytics page says "unknown".
ALTER TABLE messages ADD COLUMN template_language TEXT NOT NULL DEFAULT '';
UPDATE messages SET template_language = coalesce((SELECT min(t.language) FROM templates t
    WHERE t.name = messages.template_name AND t.deleted_at IS NULL HAVING count(DISTINCT t.language) = 1), '')
WHERE template_name <> '';

-- analytics_messages gains the template's language in its key and a clicks column: inbound
-- quick-reply button presses (type 'button', or an interactive button reply) whose context is a
-- template message, counted at the template's hour for its sender, template and language. The
-- table is recreated empty and filled by the rebuild that rebuild_needed asks for at start.
DROP TABLE analytics_messages;
CREATE TABLE analytics_messages (
    grain             INTEGER NOT NULL,
    t                 INTEGER NOT NULL,
    phone_number_id   INTEGER NOT NULL,
    member_id         INTEGER NOT NULL, -- the sender of an outgoing message; 0 for incoming ones
    template_name     TEXT NOT NULL,
    template_language TEXT NOT NULL,
    inbound           INTEGER NOT NULL DEFAULT 0,
    outbound          INTEGER NOT NULL DEFAULT 0,
    -- outgoing messages by their current status (exclusive: they add up to outbound).
    pending           INTEGER NOT NULL DEFAULT 0,
    sent              INTEGER NOT NULL DEFAULT 0,
    delivered         INTEGER NOT NULL DEFAULT 0,
    read              INTEGER NOT NULL DEFAULT 0,
    failed            INTEGER NOT NULL DEFAULT 0,
    -- template messages the customer answered: their next message in the conversation, within
    -- 24 hours, with nothing sent in between.
    replies           INTEGER NOT NULL DEFAULT 0,
    clicks            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, member_id, template_name, template_language)
) WITHOUT ROWID;
CREATE INDEX analytics_messages_member_idx ON analytics_messages(grain, member_id, t) WHERE member_id <> 0;
CREATE INDEX analytics_messages_template_idx ON analytics_messages(grain, template_name, t) WHERE template_name <> '';

-- First responses per conversation (hourly only), so that a label filter, which picks
-- conversations by the labels they carry now, can narrow them: labels come and go after the
-- fact, so a rollup keyed by label would have to be rewritten on every label change.
CREATE TABLE analytics_first_responses (
    conversation_id INTEGER NOT NULL,
    t               INTEGER NOT NULL, -- unix hour of the reply
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, t, member_id, bucket)
) WITHOUT ROWID;

-- The label filter's opened and closed figures read conversations by label (the index of
-- 0022) and then these columns; resolution comes from created_at and closed_at.

ALTER TABLE analytics_rollup_state ADD COLUMN rebuild_needed INTEGER NOT NULL DEFAULT 0;
UPDATE analytics_rollup_state SET rebuild_needed = 1;

-- Cloud API calls per UTC day, phone number (0: calls about the account, templates, media by
-- id) and endpoint (the path with ids replaced, e.g. "POST /{phone-number-id}/messages"),
-- written with the call log (internal/apilog) and kept longer than its 30 days.
CREATE TABLE cloud_api_usage (
    day             INTEGER NOT NULL, -- unix day, UTC
    phone_number_id INTEGER NOT NULL,
    endpoint        TEXT NOT NULL,
    calls           INTEGER NOT NULL DEFAULT 0,
    errors          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, phone_number_id, endpoint)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE cloud_api_usage;
ALTER TABLE analytics_rollup_state DROP COLUMN rebuild_needed;
DROP TABLE analytics_first_responses;
DROP TABLE analytics_messages;
CREATE TABLE analytics_messages (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    template_name   TEXT NOT NULL,
    inbound         INTEGER NOT NULL DEFAULT 0,
    outbound        INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    read            INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    replies         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, member_id, template_name)
) WITHOUT ROWID;
CREATE INDEX analytics_messages_member_idx ON analytics_messages(grain, member_id, t) WHERE member_id <> 0;
CREATE INDEX analytics_messages_template_idx ON analytics_messages(grain, template_name, t) WHERE template_name <> '';
ALTER TABLE messages DROP COLUMN template_language;
