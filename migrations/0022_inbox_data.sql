-- +goose Up
-- The inbox's data beyond messages (issue 11): labels, media files, what Meta's other webhook
-- messages change, and contacts with custom fields. Times are INTEGER unix milliseconds, UTC.
-- Member ids are plain integers, not foreign keys, so that deleting a member is never blocked
-- by a label they once added (their name stays in the activity log).

-- Labels are defined by members with labels.manage and put on conversations and contacts by
-- anyone who may work the conversation. The name is unique without regard to case, so "VIP" and
-- "vip" are one label.
CREATE TABLE labels (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    color       TEXT NOT NULL DEFAULT 'grey' CHECK (color IN ('grey', 'blue', 'green', 'yellow', 'red', 'purple')),
    description TEXT NOT NULL DEFAULT '',
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX labels_name_idx ON labels(name COLLATE NOCASE);

-- label_id first in the second index: the inbox's label filter is "conversations with this
-- label", intersected with the visibility predicate.
CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    label_id        INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    added_by        INTEGER,
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, label_id)
) WITHOUT ROWID;
CREATE INDEX conversation_labels_label_idx ON conversation_labels(label_id, conversation_id);

CREATE TABLE contact_labels (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    label_id   INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    added_by   INTEGER,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (contact_id, label_id)
) WITHOUT ROWID;
CREATE INDEX contact_labels_label_idx ON contact_labels(label_id, contact_id);

-- Media of a message, in either direction. An inbound media message is written with its row
-- here in state 'pending' in the webhook's own transaction: the row is the fetch job, so a crash
-- between the 200 and the download loses nothing, and the webhook never waits for Meta's CDN.
-- The file lives at DATA/media/<sha256[:2]>/<sha256> (content-addressed: the same sticker sent a
-- thousand times is stored once). It is served only through the conversation's visibility.
CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'document', 'sticker')),
    meta_media_id   TEXT NOT NULL DEFAULT '',
    mime_type       TEXT NOT NULL DEFAULT '',
    file_name       TEXT NOT NULL DEFAULT '',
    sha256          TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'stored', 'failed')),
    error           TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    stored_at       INTEGER
);
CREATE INDEX media_pending_idx ON media(next_attempt_at) WHERE state = 'pending';
CREATE INDEX media_sha_idx ON media(sha256) WHERE sha256 <> '';

-- What the page shows of a message beyond its text (a location's coordinates, a document's file
-- name, a list reply's description, a referral, an order, Meta's errors), as JSON without the
-- customer's number; NULL for plain text. An edit replaces the text and sets edited_at; a
-- revoke sets deleted_at and empties the text; reaction is the customer's emoji on this message.
ALTER TABLE messages ADD COLUMN detail TEXT;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
ALTER TABLE messages ADD COLUMN reaction TEXT NOT NULL DEFAULT '';

-- Meta's webhooks about numbers and accounts: a display name's review, the account's state.
ALTER TABLE phone_numbers ADD COLUMN name_status TEXT NOT NULL DEFAULT '';
ALTER TABLE phone_numbers ADD COLUMN requested_name TEXT NOT NULL DEFAULT '';
ALTER TABLE wabas ADD COLUMN account_status TEXT NOT NULL DEFAULT '';
ALTER TABLE wabas ADD COLUMN account_status_detail TEXT NOT NULL DEFAULT '';

-- Contacts as the team keeps them: a name of the team's choosing (profile_name is what the
-- customer shows on WhatsApp and follows their messages), notes, and the number they had before
-- a user_changed_number notice moved them.
ALTER TABLE contacts ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN previous_wa_id TEXT NOT NULL DEFAULT '';

-- Custom fields of contacts, defined by administrators. choices is a JSON array of strings
-- (kind 'choice' only); values are stored as text in a canonical form (numbers as Go formats
-- them, dates as YYYY-MM-DD) so that sorting and export need no conversion.
CREATE TABLE contact_fields (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,
    label      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'choice')),
    choices    TEXT NOT NULL DEFAULT '[]',
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE contact_field_values (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    field_id   INTEGER NOT NULL REFERENCES contact_fields(id) ON DELETE CASCADE,
    value      TEXT NOT NULL,
    PRIMARY KEY (contact_id, field_id)
) WITHOUT ROWID;
CREATE INDEX contact_field_values_field_idx ON contact_field_values(field_id);

-- +goose Down
DROP TABLE contact_field_values;
DROP TABLE contact_fields;
ALTER TABLE contacts DROP COLUMN previous_wa_id;
ALTER TABLE contacts DROP COLUMN notes;
ALTER TABLE contacts DROP COLUMN name;
ALTER TABLE wabas DROP COLUMN account_status_detail;
ALTER TABLE wabas DROP COLUMN account_status;
ALTER TABLE phone_numbers DROP COLUMN requested_name;
ALTER TABLE phone_numbers DROP COLUMN name_status;
ALTER TABLE messages DROP COLUMN reaction;
ALTER TABLE messages DROP COLUMN deleted_at;
ALTER TABLE messages DROP COLUMN edited_at;
ALTER TABLE messages DROP COLUMN detail;
DROP TABLE media;
DROP TABLE contact_labels;
DROP TABLE conversation_labels;
DROP TABLE labels;
