-- +goose Up
-- Number scope: a member works in every phone number (all_numbers = 1) or only in the numbers
-- listed in member_numbers.
ALTER TABLE members ADD COLUMN all_numbers INTEGER NOT NULL DEFAULT 1;

CREATE TABLE member_numbers (
    member_id       INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    phone_number_id INTEGER NOT NULL REFERENCES phone_numbers(id) ON DELETE CASCADE,
    PRIMARY KEY (member_id, phone_number_id)
) WITHOUT ROWID;

-- Invitations: a single-use link valid for 72 hours. Only a hash of the token is kept.
CREATE TABLE invitations (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    role_id      INTEGER NOT NULL REFERENCES roles(id),
    all_numbers  INTEGER NOT NULL DEFAULT 1,
    number_ids   TEXT NOT NULL DEFAULT '',            -- space-separated phone_numbers ids
    token_hash   TEXT NOT NULL UNIQUE,
    invited_by   INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    revoked_at   INTEGER,
    member_id    INTEGER REFERENCES members(id) ON DELETE SET NULL
);
CREATE INDEX invitations_email_idx ON invitations(email COLLATE NOCASE);

-- +goose Down
DROP TABLE invitations;
DROP TABLE member_numbers;
ALTER TABLE members DROP COLUMN all_numbers;
