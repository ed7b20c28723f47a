-- +goose Up
-- Two-factor authentication. Seeds are AES-GCM encrypted (internal/secrets) with a key kept
-- outside the database; totp_last_step is the last accepted 30-second step, so a code is
-- accepted once (RFC 6238 §5.2).
ALTER TABLE members ADD COLUMN totp_secret_enc BLOB;
ALTER TABLE members ADD COLUMN totp_pending_enc BLOB;
ALTER TABLE members ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE members ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Single-use recovery codes, stored as SHA-256 hashes (the codes carry 50 random bits).
CREATE TABLE recovery_codes (
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (member_id, code_hash)
) WITHOUT ROWID;

-- One row per signed-in session, so a member can see and end their sessions. The session's own
-- data stays in scs's sessions table; id is a random value kept in that data.
CREATE TABLE member_sessions (
    id           TEXT PRIMARY KEY,
    member_id    INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    user_agent   TEXT NOT NULL DEFAULT '',
    client_addr  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
);
CREATE INDEX member_sessions_member_idx ON member_sessions(member_id, last_seen_at);

-- Workspace-wide settings set on the Security settings page (and later ones), one row each.
CREATE TABLE workspace_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE workspace_settings;
DROP TABLE member_sessions;
DROP TABLE recovery_codes;
ALTER TABLE members DROP COLUMN totp_last_step;
ALTER TABLE members DROP COLUMN totp_enabled_at;
ALTER TABLE members DROP COLUMN totp_pending_enc;
ALTER TABLE members DROP COLUMN totp_secret_enc;
