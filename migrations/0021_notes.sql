-- +goose Up
-- Internal notes on conversations (issue 11): written by members for members, never sent to the
-- customer. A note belongs to its conversation, so whoever may see the conversation (the one
-- visibility predicate) may read its notes, and no one else. Times are unix milliseconds, UTC.
CREATE TABLE conversation_notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    author_id       INTEGER REFERENCES members(id),
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX conversation_notes_conversation_idx ON conversation_notes(conversation_id, created_at, id);

-- The members a note mentions who could see the conversation when it was written (a mention of
-- anyone else is not stored: it notifies nobody). seen_at is set when the member has been told.
CREATE TABLE note_mentions (
    note_id   INTEGER NOT NULL REFERENCES conversation_notes(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    seen_at   INTEGER,
    PRIMARY KEY (note_id, member_id)
) WITHOUT ROWID;
CREATE INDEX note_mentions_member_idx ON note_mentions(member_id, seen_at);

-- +goose Down
DROP TABLE note_mentions;
DROP TABLE conversation_notes;
