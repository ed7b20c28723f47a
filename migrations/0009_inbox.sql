-- +goose Up
-- The shared inbox (internal/inbox). Times are INTEGER unix milliseconds, UTC.

-- A customer, known by phone number (wa_id), by business-scoped user id (user_id, Meta's 2026
-- username rollout) or both. phone_last4 lets members without contacts.view_pii find a customer
-- by the last four digits, the only part of the number they are shown.
CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    wa_id        TEXT UNIQUE,
    user_id      TEXT UNIQUE,
    profile_name TEXT NOT NULL DEFAULT '',
    username     TEXT NOT NULL DEFAULT '',
    phone_last4  TEXT GENERATED ALWAYS AS (substr(wa_id, -4)) VIRTUAL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CHECK (wa_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE INDEX contacts_last4_idx ON contacts(phone_last4) WHERE wa_id IS NOT NULL;
CREATE INDEX contacts_name_idx ON contacts(profile_name COLLATE NOCASE);

-- One conversation per contact and business phone number (phone_numbers.id, ours, not Meta's).
-- last_inbound_at drives the 24-hour customer service window. unread_count is the team's: a
-- shared inbox is read by whoever works the conversation, and one counter per conversation keeps
-- the unread figure a single indexed count even at 100k conversations.
CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY,
    contact_id        INTEGER NOT NULL REFERENCES contacts(id),
    phone_number_id   INTEGER NOT NULL REFERENCES phone_numbers(id),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    assignee_id       INTEGER REFERENCES members(id),
    escalated         INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
    escalation_reason TEXT NOT NULL DEFAULT '',
    escalated_by      INTEGER REFERENCES members(id),
    escalated_at      INTEGER,
    last_inbound_at   INTEGER,
    last_message_at   INTEGER NOT NULL,
    unread_count      INTEGER NOT NULL DEFAULT 0,
    closed_at         INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (contact_id, phone_number_id)
);
-- The boxes, newest first: "all" and "closed" (whole workspace, or one number in scope), "mine"
-- and "unassigned" (assignee, NULL for unassigned), "escalated"; and the unread count. The two
-- partial indexes hold only what they name (a few percent of rows), lead with the columns the
-- queries test for equality so the planner prefers them, and cover the count queries.
CREATE INDEX conversations_status_idx ON conversations(status, last_message_at, id);
CREATE INDEX conversations_number_idx ON conversations(phone_number_id, status, last_message_at, id);
CREATE INDEX conversations_assignee_idx ON conversations(assignee_id, status, last_message_at, id);
CREATE INDEX conversations_escalated_idx ON conversations(escalated, status, last_message_at, id)
    WHERE escalated = 1 AND status = 'open';
CREATE INDEX conversations_unread_idx ON conversations(status, unread_count, phone_number_id)
    WHERE unread_count > 0 AND status = 'open';

-- The members involved in a conversation besides its number scope: the current assignee
-- ('assigned', removed when it is reassigned), whoever escalated it and whoever replied. This is
-- the "involved" set of the visibility predicate for conversations.view_assigned.
CREATE TABLE conversation_participants (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    member_id       INTEGER NOT NULL REFERENCES members(id),
    why             TEXT NOT NULL CHECK (why IN ('assigned', 'escalated', 'replied')),
    at              INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, member_id, why)
) WITHOUT ROWID;
CREATE INDEX conversation_participants_member_idx ON conversation_participants(member_id, conversation_id);

-- Pre-approved replies for messages.send_canned.
CREATE TABLE canned_responses (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_by INTEGER REFERENCES members(id),
    updated_by INTEGER REFERENCES members(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX canned_responses_title_idx ON canned_responses(title COLLATE NOCASE);

-- Messages in both directions. wamid is Meta's id: the deduplication key of inbound webhooks,
-- and NULL on an outgoing message until Meta has accepted it (the row is written before the call
-- so a status webhook that overtakes the call's answer still finds it once the wamid is set).
-- raw keeps an inbound message exactly as received, so types Switchboard does not model are kept.
CREATE TABLE messages (
    -- AUTOINCREMENT: ids never come back, so the search index's high-water mark below (and a
    -- page cursor) can rely on them growing.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    wamid           TEXT UNIQUE,
    type            TEXT NOT NULL,
    text            TEXT NOT NULL DEFAULT '',
    raw             TEXT,
    reply_to        TEXT NOT NULL DEFAULT '',
    -- in: 'received'; out: 'pending' → 'accepted' → sent → delivered → read (or failed).
    status          TEXT NOT NULL,
    status_at       INTEGER,
    error_code      INTEGER,
    error_title     TEXT NOT NULL DEFAULT '',
    error_details   TEXT NOT NULL DEFAULT '',
    sent_by         INTEGER REFERENCES members(id),
    template_name   TEXT NOT NULL DEFAULT '',
    canned_id       INTEGER REFERENCES canned_responses(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages(conversation_id, created_at, id);

-- Every distinct (wamid, status) Meta reported, first delivery only: the primary key makes a
-- duplicated status webhook a no-op. A status whose message is not known yet (it overtook the
-- send call's answer) waits here and is applied when the message gets its wamid.
CREATE TABLE message_statuses (
    wamid            TEXT NOT NULL,
    status           TEXT NOT NULL,
    at               INTEGER NOT NULL,
    error_code       INTEGER,
    error_title      TEXT NOT NULL DEFAULT '',
    error_details    TEXT NOT NULL DEFAULT '',
    pricing_category TEXT NOT NULL DEFAULT '',
    billable         INTEGER NOT NULL DEFAULT 0,
    received_at      INTEGER NOT NULL,
    PRIMARY KEY (wamid, status)
) WITHOUT ROWID;

-- Every accepted webhook POST, stored in the same transaction as its effects before Meta gets
-- its 200. processed = 0 marks a body whose events could not be applied: it is kept for
-- reprocessing, since Meta offers no way to fetch a webhook again.
CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY,
    received_at  INTEGER NOT NULL,
    body         BLOB NOT NULL,
    processed    INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1)),
    error        TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX webhook_events_unprocessed_idx ON webhook_events(id) WHERE processed = 0;
CREATE INDEX webhook_events_received_idx ON webhook_events(received_at);

-- Search: FTS5 (compiled into the pinned modernc.org/sqlite; inbox tests assert ENABLE_FTS5, so
-- a driver without it fails there and not in production). Word-prefix matching ("nel" finds
-- Nelson, "ref" finds refund) with diacritics folded; prefix indexes keep short prefixes fast.
-- External content: the text lives once, in messages and contacts.
CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIRTUAL TABLE contacts_fts USING fts5(profile_name, username, content='contacts', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3');

-- Messages are indexed once per write transaction, not by a trigger: FTS5 flushes its pending
-- index to a new segment at every statement savepoint, and a trigger makes every INSERT open one,
-- which at webhook rates means a segment (and merge work) per message. messages_indexed_to is
-- the highest message id in messages_fts (inbox.Service.IndexSearch moves it).
CREATE TABLE inbox_search_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    messages_indexed_to INTEGER NOT NULL
);
INSERT INTO inbox_search_state (id, messages_indexed_to) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.text <> '' AND old.id <= (SELECT messages_indexed_to FROM inbox_search_state) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text AND old.id <= (SELECT messages_indexed_to FROM inbox_search_state) BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) SELECT 'delete', old.id, old.text WHERE old.text <> '';
    INSERT INTO messages_fts(rowid, text) SELECT new.id, new.text WHERE new.text <> '';
END;
-- +goose StatementEnd
-- Contacts change rarely (a new customer, a new profile name), so triggers are fine there.
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, profile_name, username) VALUES (new.id, new.profile_name, new.username);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, profile_name, username) VALUES ('delete', old.id, old.profile_name, old.username);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF profile_name, username ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, profile_name, username) VALUES ('delete', old.id, old.profile_name, old.username);
    INSERT INTO contacts_fts(rowid, profile_name, username) VALUES (new.id, new.profile_name, new.username);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER contacts_fts_update;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE inbox_search_state;
DROP TABLE contacts_fts;
DROP TABLE messages_fts;
DROP TABLE webhook_events;
DROP TABLE message_statuses;
DROP TABLE messages;
DROP TABLE canned_responses;
DROP TABLE conversation_participants;
DROP TABLE conversations;
DROP TABLE contacts;
