-- +goose Up
-- The WhatsApp Business Accounts this workspace is connected to, and their phone numbers.
-- Secrets are stored encrypted (AES-GCM, key outside the database); only the last four
-- characters are kept in clear, to show which token is set.
CREATE TABLE wabas (
    id                 INTEGER PRIMARY KEY,
    waba_id            TEXT NOT NULL UNIQUE,          -- Meta's id
    name               TEXT NOT NULL DEFAULT '',
    access_token_enc   BLOB,
    access_token_last4 TEXT NOT NULL DEFAULT '',
    app_secret_enc     BLOB,
    app_secret_last4   TEXT NOT NULL DEFAULT '',
    verify_token_enc   BLOB,
    verify_token_last4 TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE phone_numbers (
    id                   INTEGER PRIMARY KEY,
    waba_ref             INTEGER NOT NULL REFERENCES wabas(id) ON DELETE CASCADE,
    phone_number_id      TEXT NOT NULL UNIQUE,        -- Meta's id
    display_phone_number TEXT NOT NULL DEFAULT '',
    verified_name        TEXT NOT NULL DEFAULT '',
    quality_rating       TEXT NOT NULL DEFAULT 'UNKNOWN',
    messaging_limit      TEXT NOT NULL DEFAULT '',
    label                TEXT NOT NULL DEFAULT '',
    enabled              INTEGER NOT NULL DEFAULT 1,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX phone_numbers_waba_idx ON phone_numbers(waba_ref);

-- +goose Down
DROP TABLE phone_numbers;
DROP TABLE wabas;
