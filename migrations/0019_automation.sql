-- +goose Up
-- Automation (internal/automation): business hours and away messages, keyword auto-replies,
-- button menus that route to teams, auto-assignment, customer ratings. Times are INTEGER unix
-- milliseconds, UTC.

-- Per phone number (ours): business hours in an IANA time zone, the away message, auto-assignment
-- and whether closed conversations are asked for a rating. hours is seven "HH:MM-HH:MM" ranges
-- (or "" for closed), Sunday first, separated by ";"; holidays are "YYYY-MM-DD" dates in that zone.
CREATE TABLE automation_numbers (
    phone_number_id INTEGER PRIMARY KEY REFERENCES phone_numbers(id) ON DELETE CASCADE,
    time_zone       TEXT NOT NULL DEFAULT 'UTC',
    hours           TEXT NOT NULL DEFAULT '',
    holidays        TEXT NOT NULL DEFAULT '',
    away_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (away_enabled IN (0, 1)),
    away_message    TEXT NOT NULL DEFAULT '',
    auto_assign     INTEGER NOT NULL DEFAULT 0 CHECK (auto_assign IN (0, 1)),
    assign_limit    INTEGER NOT NULL DEFAULT 10 CHECK (assign_limit BETWEEN 1 AND 1000),
    rating_enabled  INTEGER NOT NULL DEFAULT 0 CHECK (rating_enabled IN (0, 1)),
    updated_at      INTEGER NOT NULL
);

-- Keyword auto-replies. phone_number_id NULL: every number. Lower priority runs first; the first
-- matching rule answers. active_from/active_to ("HH:MM", the number's zone) bound when it answers.
CREATE TABLE automation_rules (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    phone_number_id INTEGER REFERENCES phone_numbers(id) ON DELETE CASCADE,
    match           TEXT NOT NULL CHECK (match IN ('contains', 'exact', 'regex')),
    pattern         TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 100,
    active_from     TEXT NOT NULL DEFAULT '',
    active_to       TEXT NOT NULL DEFAULT '',
    reply_kind      TEXT NOT NULL CHECK (reply_kind IN ('canned', 'buttons')),
    canned_id       INTEGER REFERENCES canned_responses(id) ON DELETE SET NULL,
    body            TEXT NOT NULL DEFAULT '',
    buttons         TEXT NOT NULL DEFAULT '',
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX automation_rules_order_idx ON automation_rules(priority, id);

-- Teams: named sets of members that menus route conversations to.
CREATE TABLE automation_teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE automation_team_members (
    team_id   INTEGER NOT NULL REFERENCES automation_teams(id) ON DELETE CASCADE,
    member_id INTEGER NOT NULL REFERENCES members(id),
    PRIMARY KEY (team_id, member_id)
);

-- Whether a member takes new conversations now (they set it themselves). No row: away.
CREATE TABLE member_availability (
    member_id  INTEGER PRIMARY KEY REFERENCES members(id),
    available  INTEGER NOT NULL CHECK (available IN (0, 1)),
    changed_at INTEGER NOT NULL
);

-- Round-robin position per pool ("number:3", "team:2"): the member who got the last conversation.
CREATE TABLE automation_round_robin (
    pool        TEXT PRIMARY KEY,
    last_member INTEGER NOT NULL
);

-- The welcome menu of a number, and its options as a small tree (parent_id NULL: first level).
CREATE TABLE automation_menus (
    phone_number_id INTEGER PRIMARY KEY REFERENCES phone_numbers(id) ON DELETE CASCADE,
    body            TEXT NOT NULL,
    list_button     TEXT NOT NULL DEFAULT 'Choose',
    enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    updated_at      INTEGER NOT NULL
);
CREATE TABLE automation_menu_options (
    id              INTEGER PRIMARY KEY,
    phone_number_id INTEGER NOT NULL REFERENCES automation_menus(phone_number_id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES automation_menu_options(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL DEFAULT 0,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    reply           TEXT NOT NULL DEFAULT '',
    team_id         INTEGER REFERENCES automation_teams(id) ON DELETE SET NULL,
    label           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX automation_menu_options_menu_idx ON automation_menu_options(phone_number_id, parent_id, position);

-- What automation did per conversation: the away message (once), the last welcome menu, the
-- team a menu choice routed it to, the label chosen.
CREATE TABLE automation_conversations (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id),
    away_sent_at    INTEGER,
    menu_sent_at    INTEGER,
    team_id         INTEGER REFERENCES automation_teams(id) ON DELETE SET NULL,
    label           TEXT NOT NULL DEFAULT ''
);

-- The durable queue between ingest and sending. A job is written, with the cursor below, in one
-- transaction after the webhook committed; dedupe makes writing it twice a no-op. A job moves
-- pending → sending (committed before Meta is called) → sent | failed | skipped. A job found in
-- 'sending' after a crash is not sent again (interrupted): no customer gets an automated
-- message twice.
CREATE TABLE automation_jobs (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    kind            TEXT NOT NULL,
    dedupe          TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'interrupted')),
    reason          TEXT NOT NULL DEFAULT '',
    message_id      INTEGER REFERENCES messages(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX automation_jobs_open_idx ON automation_jobs(state, id) WHERE state IN ('pending', 'sending');

-- Where automation has read up to: inbound messages by id (AUTOINCREMENT, so ids only grow) and
-- closings by (closed_at, conversation id). Starts at what exists, so history gets no replies.
CREATE TABLE automation_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    message_cursor INTEGER NOT NULL,
    closed_at      INTEGER NOT NULL,
    closed_id      INTEGER NOT NULL
);
INSERT INTO automation_state (id, message_cursor, closed_at, closed_id)
    SELECT 1, coalesce((SELECT max(id) FROM messages), 0),
           coalesce((SELECT max(closed_at) FROM conversations WHERE status = 'closed'), 0), 0;
-- Closings in order, for the cursor (a few percent of conversations, and only closed ones).
CREATE INDEX automation_closed_idx ON conversations(closed_at, id) WHERE status = 'closed';

-- Outgoing messages automation sent: the conversation shows them as sent by "Automation".
CREATE TABLE automation_messages (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id),
    job_id     INTEGER NOT NULL REFERENCES automation_jobs(id),
    kind       TEXT NOT NULL
);

-- Customer ratings, one per closing that was asked. assignee_id is the agent who had the
-- conversation when it closed (their supervisors see it).
CREATE TABLE conversation_ratings (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    phone_number_id INTEGER NOT NULL REFERENCES phone_numbers(id),
    assignee_id     INTEGER REFERENCES members(id),
    closed_at       INTEGER NOT NULL,
    asked_at        INTEGER NOT NULL,
    score           INTEGER CHECK (score BETWEEN 1 AND 5),
    comment         TEXT NOT NULL DEFAULT '',
    rated_at        INTEGER,
    UNIQUE (conversation_id, closed_at)
);
CREATE INDEX conversation_ratings_rated_idx ON conversation_ratings(rated_at) WHERE score IS NOT NULL;

-- +goose Down
DROP TABLE conversation_ratings;
DROP TABLE automation_messages;
DROP INDEX automation_closed_idx;
DROP TABLE automation_state;
DROP TABLE automation_jobs;
DROP TABLE automation_conversations;
DROP TABLE automation_menu_options;
DROP TABLE automation_menus;
DROP TABLE automation_round_robin;
DROP TABLE member_availability;
DROP TABLE automation_team_members;
DROP TABLE automation_teams;
DROP TABLE automation_rules;
DROP TABLE automation_numbers;
