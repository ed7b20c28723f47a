-- +goose Up
-- Times are INTEGER unix milliseconds, UTC.

-- scs session store (github.com/alexedwards/scs/sqlite3store).
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions(expiry);

-- Roles: built-in ones are kept in step with internal/authz at every start; custom ones are the
-- business's own. A role's grants are rows in role_permissions, one permission id each.
CREATE TABLE roles (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    builtin      INTEGER NOT NULL DEFAULT 0,
    requires_2fa INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX roles_name_idx ON roles(name COLLATE NOCASE);

CREATE TABLE role_permissions (
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
) WITHOUT ROWID;

CREATE TABLE members (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role_id         INTEGER NOT NULL REFERENCES roles(id),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    -- Raised to end every session of the member at once (deactivation, password or 2FA change).
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_sign_in_at INTEGER
);
CREATE UNIQUE INDEX members_email_idx ON members(email COLLATE NOCASE);
CREATE INDEX members_role_idx ON members(role_id);

-- The one-time link that lets the first owner claim a fresh instance. Only a hash is kept.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE setup_tokens;
DROP TABLE members;
DROP TABLE role_permissions;
DROP TABLE roles;
DROP TABLE sessions;
