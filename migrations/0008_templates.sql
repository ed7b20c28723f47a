-- +goose Up
-- Message templates (internal/templates). Times are INTEGER unix milliseconds, UTC.
--
-- A template is one name + language in one WhatsApp Business Account, as Meta identifies it.
-- Its wording lives in numbered revisions: the newest revision is the one being worked on, and
-- the one with status 'submitted' is the one Meta holds (and the one that is sent). Editing an
-- approved template adds a revision, so what Meta approved stays sendable while the edit is
-- reviewed. Every review decision and every Meta status change is a row in template_decisions.
CREATE TABLE templates (
    id               INTEGER PRIMARY KEY,
    -- Meta's WABA id. No foreign key: the WABA table belongs to the workspace area.
    waba_id          TEXT NOT NULL,
    name             TEXT NOT NULL,
    language         TEXT NOT NULL,
    -- Meta's side, '' until the template has been submitted or imported.
    meta_template_id TEXT NOT NULL DEFAULT '',
    meta_status      TEXT NOT NULL DEFAULT '' CHECK (meta_status IN ('', 'APPROVED', 'PENDING',
                         'REJECTED', 'PAUSED', 'DISABLED', 'IN_APPEAL', 'PENDING_DELETION', 'DELETED',
                         'LIMIT_EXCEEDED', 'ARCHIVED', 'LOCKED')),
    -- The category Meta assigned, which may differ from the one asked for.
    meta_category    TEXT NOT NULL DEFAULT '',
    -- FLAGGED is a quality warning on an approved template, not a status of its own.
    meta_flagged     INTEGER NOT NULL DEFAULT 0,
    rejected_reason  TEXT NOT NULL DEFAULT '',
    quality_score    TEXT NOT NULL DEFAULT '',
    -- The last status webhook applied and Meta's time for it, so that duplicates and late
    -- deliveries are recognised and never move the status backwards.
    meta_event       TEXT NOT NULL DEFAULT '',
    meta_event_at    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- Deleted templates are kept for their history and the activity log.
    deleted_at       INTEGER
);
-- Meta: a name is unique per language within a WABA.
CREATE UNIQUE INDEX templates_name_idx ON templates(waba_id, name, language) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX templates_meta_id_idx ON templates(waba_id, meta_template_id) WHERE meta_template_id <> '';

CREATE TABLE template_revisions (
    id                  INTEGER PRIMARY KEY,
    template_id         INTEGER NOT NULL REFERENCES templates(id),
    number              INTEGER NOT NULL CHECK (number > 0),
    status              TEXT NOT NULL CHECK (status IN ('draft', 'in_review', 'approved', 'submitted', 'superseded')),
    -- NULL for a revision imported from Meta (written outside Switchboard).
    author_id           INTEGER REFERENCES members(id),
    category            TEXT NOT NULL,
    parameter_format    TEXT NOT NULL CHECK (parameter_format IN ('positional', 'named')),
    header_format       TEXT NOT NULL DEFAULT 'NONE',
    header_text         TEXT NOT NULL DEFAULT '',
    header_example      TEXT NOT NULL DEFAULT '',
    header_media_handle TEXT NOT NULL DEFAULT '',
    body_text           TEXT NOT NULL DEFAULT '',
    -- JSON object: variable key ("1", "first_name") → example.
    body_examples       TEXT NOT NULL DEFAULT '{}',
    footer_text         TEXT NOT NULL DEFAULT '',
    -- JSON array of {type, text, url, phone_number, example}.
    buttons             TEXT NOT NULL DEFAULT '[]',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    submitted_at        INTEGER,
    -- How the revision reached Meta: a creation or an edit. Meta limits edits of approved
    -- templates (1 per 24 hours, 10 per 30 days), counted from these rows.
    submitted_as        TEXT NOT NULL DEFAULT '' CHECK (submitted_as IN ('', 'create', 'edit')),
    UNIQUE (template_id, number)
);
-- At most one revision is being worked on and at most one is held by Meta, per template.
CREATE UNIQUE INDEX template_revisions_open_idx ON template_revisions(template_id)
    WHERE status IN ('draft', 'in_review', 'approved');
CREATE UNIQUE INDEX template_revisions_live_idx ON template_revisions(template_id)
    WHERE status = 'submitted';
CREATE INDEX template_revisions_author_idx ON template_revisions(author_id);

-- Who decided what, when and why: review decisions by members and status changes from Meta.
CREATE TABLE template_decisions (
    id               INTEGER PRIMARY KEY,
    template_id      INTEGER NOT NULL REFERENCES templates(id),
    revision_id      INTEGER NOT NULL REFERENCES template_revisions(id),
    -- NULL when Switchboard or Meta decided (webhooks, sync).
    actor_id         INTEGER REFERENCES members(id),
    decision         TEXT NOT NULL CHECK (decision IN ('created', 'submitted_for_review', 'approved',
                         'sent_back', 'submitted_to_meta', 'revision_started', 'deleted', 'imported',
                         'synced', 'meta_status', 'quality_changed')),
    meta_event       TEXT NOT NULL DEFAULT '',
    -- The reviewer's comment, or Meta's reason or quality score.
    comment          TEXT NOT NULL DEFAULT '',
    from_status      TEXT NOT NULL DEFAULT '',
    to_status        TEXT NOT NULL DEFAULT '',
    from_meta_status TEXT NOT NULL DEFAULT '',
    to_meta_status   TEXT NOT NULL DEFAULT '',
    occurred_at      INTEGER NOT NULL
);
CREATE INDEX template_decisions_template_idx ON template_decisions(template_id, id);
CREATE INDEX template_decisions_revision_idx ON template_decisions(revision_id, occurred_at);

-- +goose Down
DROP TABLE template_decisions;
DROP TABLE template_revisions;
DROP TABLE templates;
