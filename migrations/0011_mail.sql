-- +goose Up
-- E-mail (internal/mail) and password reset (internal/members). Times are INTEGER unix
-- milliseconds, UTC.

-- The outbox: a request writes its mail here in the transaction of the change it is about, and a
-- background worker delivers it, so a slow or absent mail server never holds a request. A row is
-- delivered when sent_at is set (written right after the server accepted DATA) and abandoned
-- when given_up_at is set. message_id is fixed when the row is written, so a delivery repeated
-- after a crash in the moment between the server's acceptance and sent_at carries the same
-- Message-ID and can be recognised. Bodies are sealed with the secret key (a reset link is a
-- credential) and erased once the row is settled.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            BLOB,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         INTEGER,
    given_up_at     INTEGER
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox(next_attempt_at, id) WHERE sent_at IS NULL AND given_up_at IS NULL;

-- Password reset links, self-service or issued by an administrator. Only the token's hash is
-- kept; a link works once and for 30 minutes.
CREATE TABLE password_resets (
    id         INTEGER PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    issued_by  INTEGER REFERENCES members(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_member_idx ON password_resets(member_id);

-- Members who hold alerts.view get security alerts by e-mail unless they turn it off.
ALTER TABLE members ADD COLUMN alert_mail INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE members DROP COLUMN alert_mail;
DROP TABLE password_resets;
DROP TABLE mail_outbox;
