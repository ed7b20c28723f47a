-- +goose Up
-- Analytics rollups (internal/analytics). Every figure of the Analytics page is read from these
-- tables, never from messages, so a page view costs the same at 1M messages as at 1k. They are
-- kept up to date by the triggers below on the inbox's own tables, so every write path (webhook
-- ingestion, sending, the demo, generators) is counted exactly once without the inbox knowing
-- about analytics, and analytics.Store.Rebuild recomputes them from scratch with the same rules.
--
-- grain is the bucket size in hours: 1 (t = unix hour), 24 (t = unix day, UTC) or 168 (t = unix
-- week, counted from the epoch). Hourly rows let a viewer in any whole-hour time zone cut days
-- and ranges exactly; daily and weekly rows let long ranges be summed from few rows (whole weeks
-- in the middle, then days, then hours at the edges).

CREATE TABLE analytics_messages (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL, -- the sender of an outgoing message; 0 for incoming ones
    template_name   TEXT NOT NULL,
    inbound         INTEGER NOT NULL DEFAULT 0,
    outbound        INTEGER NOT NULL DEFAULT 0,
    -- outgoing messages by their current status (exclusive: they add up to outbound).
    pending         INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    read            INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    -- template messages the customer answered: their next message in the conversation, within
    -- 24 hours, with nothing sent in between.
    replies         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, member_id, template_name)
) WITHOUT ROWID;
CREATE INDEX analytics_messages_member_idx ON analytics_messages(grain, member_id, t) WHERE member_id <> 0;
CREATE INDEX analytics_messages_template_idx ON analytics_messages(grain, template_name, t) WHERE template_name <> '';

-- The same counts per hour and number only (all members and templates together): the chart over
-- time of an unfiltered page reads 2,160 of these for 90 days instead of every member's and
-- template's hourly rows.
CREATE TABLE analytics_number_hours (
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    inbound         INTEGER NOT NULL DEFAULT 0,
    outbound        INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    read            INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    replies         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (t, phone_number_id)
) WITHOUT ROWID;

CREATE TABLE analytics_failures (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    template_name   TEXT NOT NULL,
    error_code      INTEGER NOT NULL,
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, member_id, template_name, error_code)
) WITHOUT ROWID;

-- opened: conversations started (member 0); closed: conversations whose latest closing falls in
-- the bucket, by the assignee they were closed with.
CREATE TABLE analytics_conversations (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    opened          INTEGER NOT NULL DEFAULT 0,
    closed          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, member_id)
) WITHOUT ROWID;

-- Histograms of durations (bucket: see analytics.Buckets) so that medians and p90s of any range
-- come from a sum of counts. first_response: from the first customer message of a turn to the
-- next member reply, by the member and at the reply's time; resolution: from the conversation's
-- start to its latest closing, by the assignee and at the closing time.
CREATE TABLE analytics_durations (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('first_response', 'resolution')),
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, kind, phone_number_id, member_id, bucket)
) WITHOUT ROWID;

-- Billable messages (Meta's pricing on a delivered or read status), at the status's time, by
-- pricing category and the first three digits of the recipient's number (the calling code is
-- found from them in Go).
CREATE TABLE analytics_billable (
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    category        TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grain, t, phone_number_id, category, prefix)
) WITHOUT ROWID;

-- The rate card for estimated cost (billing.manage edits it; changes go to the activity log).
-- country is an ISO 3166 code or '*' for every other country; a rate applies from effective_from
-- (unix ms, UTC) until a later rate for the same category and country.
CREATE TABLE billing_rates (
    id             INTEGER PRIMARY KEY,
    category       TEXT NOT NULL,
    country        TEXT NOT NULL,
    currency       TEXT NOT NULL,
    rate_micros    INTEGER NOT NULL CHECK (rate_micros >= 0),
    effective_from INTEGER NOT NULL,
    created_by     INTEGER REFERENCES members(id),
    created_at     INTEGER NOT NULL,
    UNIQUE (category, country, effective_from)
);
-- The starting card: Meta's billable categories (shared/spec/whatsapp-cloud-api.md: per
-- delivered template message since 1 July 2025, by category and recipient country; service
-- messages and utility templates inside an open window are free and never marked billable).
-- Meta's amounts change and differ by country, so the card starts at zero for a billing.manage
-- holder to fill in from Meta's current rate card.
INSERT INTO billing_rates (category, country, currency, rate_micros, effective_from, created_at) VALUES
    ('marketing', '*', 'USD', 0, 0, 0),
    ('utility', '*', 'USD', 0, 0, 0),
    ('authentication', '*', 'USD', 0, 0, 0),
    ('authentication-international', '*', 'USD', 0, 0, 0);

-- +goose StatementBegin
CREATE TRIGGER analytics_message_insert AFTER INSERT ON messages BEGIN
    INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name,
        inbound, outbound, pending, sent, delivered, read, failed)
    SELECT g.grain, new.created_at / (g.grain * 3600000), c.phone_number_id,
        CASE WHEN new.direction = 'out' THEN coalesce(new.sent_by, 0) ELSE 0 END,
        CASE WHEN new.direction = 'out' THEN new.template_name ELSE '' END,
        new.direction = 'in', new.direction = 'out',
        new.direction = 'out' AND new.status IN ('pending', 'accepted'),
        new.direction = 'out' AND new.status = 'sent',
        new.direction = 'out' AND new.status = 'delivered',
        new.direction = 'out' AND new.status = 'read',
        new.direction = 'out' AND new.status = 'failed'
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g WHERE c.id = new.conversation_id
    ON CONFLICT DO UPDATE SET inbound = inbound + excluded.inbound, outbound = outbound + excluded.outbound,
        pending = pending + excluded.pending, sent = sent + excluded.sent,
        delivered = delivered + excluded.delivered, read = read + excluded.read, failed = failed + excluded.failed;

    INSERT INTO analytics_number_hours (t, phone_number_id, inbound, outbound, pending, sent, delivered, read, failed)
    SELECT new.created_at / 3600000, c.phone_number_id, new.direction = 'in', new.direction = 'out',
        new.direction = 'out' AND new.status IN ('pending', 'accepted'),
        new.direction = 'out' AND new.status = 'sent',
        new.direction = 'out' AND new.status = 'delivered',
        new.direction = 'out' AND new.status = 'read',
        new.direction = 'out' AND new.status = 'failed'
    FROM conversations c WHERE c.id = new.conversation_id
    ON CONFLICT DO UPDATE SET inbound = inbound + excluded.inbound, outbound = outbound + excluded.outbound,
        pending = pending + excluded.pending, sent = sent + excluded.sent,
        delivered = delivered + excluded.delivered, read = read + excluded.read, failed = failed + excluded.failed;

    INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
    SELECT g.grain, new.created_at / (g.grain * 3600000), c.phone_number_id, coalesce(new.sent_by, 0),
        new.template_name, coalesce(new.error_code, 0), 1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = new.conversation_id AND new.direction = 'out' AND new.status = 'failed'
    ON CONFLICT DO UPDATE SET n = n + 1;

    INSERT INTO analytics_messages (grain, t, phone_number_id, member_id, template_name, replies)
    SELECT g.grain, p.created_at / (g.grain * 3600000), c.phone_number_id, coalesce(p.sent_by, 0), p.template_name, 1
    FROM (SELECT m.direction, m.template_name, m.sent_by, m.created_at FROM messages m
            WHERE m.conversation_id = new.conversation_id AND (m.created_at, m.id) < (new.created_at, new.id)
            ORDER BY m.created_at DESC, m.id DESC LIMIT 1) p,
        conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.direction = 'in' AND c.id = new.conversation_id AND p.direction = 'out'
        AND p.template_name <> '' AND new.created_at - p.created_at < 86400000
    ON CONFLICT DO UPDATE SET replies = replies + 1;

    INSERT INTO analytics_number_hours (t, phone_number_id, replies)
    SELECT p.created_at / 3600000, c.phone_number_id, 1
    FROM (SELECT m.direction, m.template_name, m.created_at FROM messages m
            WHERE m.conversation_id = new.conversation_id AND (m.created_at, m.id) < (new.created_at, new.id)
            ORDER BY m.created_at DESC, m.id DESC LIMIT 1) p,
        conversations c
    WHERE new.direction = 'in' AND c.id = new.conversation_id AND p.direction = 'out'
        AND p.template_name <> '' AND new.created_at - p.created_at < 86400000
    ON CONFLICT DO UPDATE SET replies = replies + 1;

    INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
    SELECT g.grain, new.created_at / (g.grain * 3600000), c.phone_number_id, new.sent_by, 'first_response',
        CASE WHEN (new.created_at - s.start) / 1000 < 30 THEN 0 WHEN (new.created_at - s.start) / 1000 < 60 THEN 1 WHEN (new.created_at - s.start) / 1000 < 120 THEN 2 WHEN (new.created_at - s.start) / 1000 < 180 THEN 3 WHEN (new.created_at - s.start) / 1000 < 300 THEN 4 WHEN (new.created_at - s.start) / 1000 < 600 THEN 5 WHEN (new.created_at - s.start) / 1000 < 900 THEN 6 WHEN (new.created_at - s.start) / 1000 < 1200 THEN 7 WHEN (new.created_at - s.start) / 1000 < 1800 THEN 8 WHEN (new.created_at - s.start) / 1000 < 2700 THEN 9 WHEN (new.created_at - s.start) / 1000 < 3600 THEN 10 WHEN (new.created_at - s.start) / 1000 < 5400 THEN 11 WHEN (new.created_at - s.start) / 1000 < 7200 THEN 12 WHEN (new.created_at - s.start) / 1000 < 10800 THEN 13 WHEN (new.created_at - s.start) / 1000 < 14400 THEN 14 WHEN (new.created_at - s.start) / 1000 < 21600 THEN 15 WHEN (new.created_at - s.start) / 1000 < 28800 THEN 16 WHEN (new.created_at - s.start) / 1000 < 43200 THEN 17 WHEN (new.created_at - s.start) / 1000 < 86400 THEN 18 WHEN (new.created_at - s.start) / 1000 < 172800 THEN 19 WHEN (new.created_at - s.start) / 1000 < 259200 THEN 20 WHEN (new.created_at - s.start) / 1000 < 604800 THEN 21 ELSE 22 END, 1
    FROM (SELECT min(i.created_at) AS start FROM messages i
            WHERE i.conversation_id = new.conversation_id AND i.direction = 'in'
            AND (i.created_at, i.id) < (new.created_at, new.id)
            AND (i.created_at, i.id) > (
                coalesce((SELECT o.created_at FROM messages o WHERE o.conversation_id = new.conversation_id
                    AND o.direction = 'out' AND (o.created_at, o.id) < (new.created_at, new.id)
                    ORDER BY o.created_at DESC, o.id DESC LIMIT 1), -1),
                coalesce((SELECT o.id FROM messages o WHERE o.conversation_id = new.conversation_id
                    AND o.direction = 'out' AND (o.created_at, o.id) < (new.created_at, new.id)
                    ORDER BY o.created_at DESC, o.id DESC LIMIT 1), -1))) s,
        conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.direction = 'out' AND new.sent_by IS NOT NULL AND s.start IS NOT NULL AND c.id = new.conversation_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- A status moves an outgoing message from one column to another (and in or out of failures).
-- +goose StatementBegin
CREATE TRIGGER analytics_message_status AFTER UPDATE OF status, error_code ON messages
WHEN new.direction = 'out' AND (old.status IS NOT new.status OR old.error_code IS NOT new.error_code) BEGIN
    UPDATE analytics_messages SET
        pending = pending + (new.status IN ('pending', 'accepted')) - (old.status IN ('pending', 'accepted')),
        sent = sent + (new.status = 'sent') - (old.status = 'sent'),
        delivered = delivered + (new.status = 'delivered') - (old.status = 'delivered'),
        read = read + (new.status = 'read') - (old.status = 'read'),
        failed = failed + (new.status = 'failed') - (old.status = 'failed')
    WHERE grain IN (1, 24, 168) AND t = new.created_at / (grain * 3600000)
        AND phone_number_id = (SELECT phone_number_id FROM conversations WHERE id = new.conversation_id)
        AND member_id = coalesce(new.sent_by, 0) AND template_name = new.template_name;

    UPDATE analytics_number_hours SET
        pending = pending + (new.status IN ('pending', 'accepted')) - (old.status IN ('pending', 'accepted')),
        sent = sent + (new.status = 'sent') - (old.status = 'sent'),
        delivered = delivered + (new.status = 'delivered') - (old.status = 'delivered'),
        read = read + (new.status = 'read') - (old.status = 'read'),
        failed = failed + (new.status = 'failed') - (old.status = 'failed')
    WHERE t = new.created_at / 3600000
        AND phone_number_id = (SELECT phone_number_id FROM conversations WHERE id = new.conversation_id);

    UPDATE analytics_failures SET n = n - 1
    WHERE old.status = 'failed' AND grain IN (1, 24, 168) AND t = old.created_at / (grain * 3600000)
        AND phone_number_id = (SELECT phone_number_id FROM conversations WHERE id = old.conversation_id)
        AND member_id = coalesce(old.sent_by, 0) AND template_name = old.template_name
        AND error_code = coalesce(old.error_code, 0);

    INSERT INTO analytics_failures (grain, t, phone_number_id, member_id, template_name, error_code, n)
    SELECT g.grain, new.created_at / (g.grain * 3600000), c.phone_number_id, coalesce(new.sent_by, 0),
        new.template_name, coalesce(new.error_code, 0), 1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = new.conversation_id AND new.status = 'failed'
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- A status that overtook the send call's answer waits in message_statuses; it is billed when
-- the message gets its wamid.
-- +goose StatementBegin
CREATE TRIGGER analytics_message_wamid AFTER UPDATE OF wamid ON messages
WHEN old.wamid IS NULL AND new.wamid IS NOT NULL BEGIN
    INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
    SELECT g.grain, s.at / (g.grain * 3600000), c.phone_number_id, s.pricing_category,
        coalesce(substr(ct.wa_id, 1, 3), ''), 1
    FROM message_statuses s, conversations c, contacts ct, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE s.wamid = new.wamid AND s.billable = 1 AND s.status IN ('delivered', 'read')
        AND c.id = new.conversation_id AND ct.id = c.contact_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analytics_status_billable AFTER INSERT ON message_statuses
WHEN new.billable = 1 AND new.status IN ('delivered', 'read') BEGIN
    INSERT INTO analytics_billable (grain, t, phone_number_id, category, prefix, n)
    SELECT g.grain, new.at / (g.grain * 3600000), c.phone_number_id, new.pricing_category,
        coalesce(substr(ct.wa_id, 1, 3), ''), 1
    FROM messages m, conversations c, contacts ct, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE m.wamid = new.wamid AND c.id = m.conversation_id AND ct.id = c.contact_id
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analytics_conversation_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, opened)
    SELECT g.grain, new.created_at / (g.grain * 3600000), new.phone_number_id, 0, 1 FROM (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g WHERE true
    ON CONFLICT DO UPDATE SET opened = opened + 1;

    INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, closed)
    SELECT g.grain, new.closed_at / (g.grain * 3600000), new.phone_number_id, coalesce(new.assignee_id, 0), 1 FROM (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + 1;

    INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
    SELECT g.grain, new.closed_at / (g.grain * 3600000), new.phone_number_id, coalesce(new.assignee_id, 0),
        'resolution', CASE WHEN (new.closed_at - new.created_at) / 1000 < 30 THEN 0 WHEN (new.closed_at - new.created_at) / 1000 < 60 THEN 1 WHEN (new.closed_at - new.created_at) / 1000 < 120 THEN 2 WHEN (new.closed_at - new.created_at) / 1000 < 180 THEN 3 WHEN (new.closed_at - new.created_at) / 1000 < 300 THEN 4 WHEN (new.closed_at - new.created_at) / 1000 < 600 THEN 5 WHEN (new.closed_at - new.created_at) / 1000 < 900 THEN 6 WHEN (new.closed_at - new.created_at) / 1000 < 1200 THEN 7 WHEN (new.closed_at - new.created_at) / 1000 < 1800 THEN 8 WHEN (new.closed_at - new.created_at) / 1000 < 2700 THEN 9 WHEN (new.closed_at - new.created_at) / 1000 < 3600 THEN 10 WHEN (new.closed_at - new.created_at) / 1000 < 5400 THEN 11 WHEN (new.closed_at - new.created_at) / 1000 < 7200 THEN 12 WHEN (new.closed_at - new.created_at) / 1000 < 10800 THEN 13 WHEN (new.closed_at - new.created_at) / 1000 < 14400 THEN 14 WHEN (new.closed_at - new.created_at) / 1000 < 21600 THEN 15 WHEN (new.closed_at - new.created_at) / 1000 < 28800 THEN 16 WHEN (new.closed_at - new.created_at) / 1000 < 43200 THEN 17 WHEN (new.closed_at - new.created_at) / 1000 < 86400 THEN 18 WHEN (new.closed_at - new.created_at) / 1000 < 172800 THEN 19 WHEN (new.closed_at - new.created_at) / 1000 < 259200 THEN 20 WHEN (new.closed_at - new.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, 1 FROM (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- Closing, reopening or reassigning a closed conversation moves its closing: the old one is
-- taken out and the new one counted.
-- +goose StatementBegin
CREATE TRIGGER analytics_conversation_update AFTER UPDATE OF status, closed_at, assignee_id ON conversations
WHEN old.status IS NOT new.status OR old.closed_at IS NOT new.closed_at
    OR (new.status = 'closed' AND old.assignee_id IS NOT new.assignee_id) BEGIN
    UPDATE analytics_conversations SET closed = closed - 1
    WHERE old.status = 'closed' AND old.closed_at IS NOT NULL AND grain IN (1, 24, 168)
        AND t = old.closed_at / (grain * 3600000) AND phone_number_id = old.phone_number_id
        AND member_id = coalesce(old.assignee_id, 0);
    UPDATE analytics_durations SET n = n - 1
    WHERE old.status = 'closed' AND old.closed_at IS NOT NULL AND grain IN (1, 24, 168)
        AND t = old.closed_at / (grain * 3600000) AND kind = 'resolution'
        AND phone_number_id = old.phone_number_id AND member_id = coalesce(old.assignee_id, 0)
        AND bucket = CASE WHEN (old.closed_at - old.created_at) / 1000 < 30 THEN 0 WHEN (old.closed_at - old.created_at) / 1000 < 60 THEN 1 WHEN (old.closed_at - old.created_at) / 1000 < 120 THEN 2 WHEN (old.closed_at - old.created_at) / 1000 < 180 THEN 3 WHEN (old.closed_at - old.created_at) / 1000 < 300 THEN 4 WHEN (old.closed_at - old.created_at) / 1000 < 600 THEN 5 WHEN (old.closed_at - old.created_at) / 1000 < 900 THEN 6 WHEN (old.closed_at - old.created_at) / 1000 < 1200 THEN 7 WHEN (old.closed_at - old.created_at) / 1000 < 1800 THEN 8 WHEN (old.closed_at - old.created_at) / 1000 < 2700 THEN 9 WHEN (old.closed_at - old.created_at) / 1000 < 3600 THEN 10 WHEN (old.closed_at - old.created_at) / 1000 < 5400 THEN 11 WHEN (old.closed_at - old.created_at) / 1000 < 7200 THEN 12 WHEN (old.closed_at - old.created_at) / 1000 < 10800 THEN 13 WHEN (old.closed_at - old.created_at) / 1000 < 14400 THEN 14 WHEN (old.closed_at - old.created_at) / 1000 < 21600 THEN 15 WHEN (old.closed_at - old.created_at) / 1000 < 28800 THEN 16 WHEN (old.closed_at - old.created_at) / 1000 < 43200 THEN 17 WHEN (old.closed_at - old.created_at) / 1000 < 86400 THEN 18 WHEN (old.closed_at - old.created_at) / 1000 < 172800 THEN 19 WHEN (old.closed_at - old.created_at) / 1000 < 259200 THEN 20 WHEN (old.closed_at - old.created_at) / 1000 < 604800 THEN 21 ELSE 22 END;

    INSERT INTO analytics_conversations (grain, t, phone_number_id, member_id, closed)
    SELECT g.grain, new.closed_at / (g.grain * 3600000), new.phone_number_id, coalesce(new.assignee_id, 0), 1 FROM (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + 1;
    INSERT INTO analytics_durations (grain, t, phone_number_id, member_id, kind, bucket, n)
    SELECT g.grain, new.closed_at / (g.grain * 3600000), new.phone_number_id, coalesce(new.assignee_id, 0),
        'resolution', CASE WHEN (new.closed_at - new.created_at) / 1000 < 30 THEN 0 WHEN (new.closed_at - new.created_at) / 1000 < 60 THEN 1 WHEN (new.closed_at - new.created_at) / 1000 < 120 THEN 2 WHEN (new.closed_at - new.created_at) / 1000 < 180 THEN 3 WHEN (new.closed_at - new.created_at) / 1000 < 300 THEN 4 WHEN (new.closed_at - new.created_at) / 1000 < 600 THEN 5 WHEN (new.closed_at - new.created_at) / 1000 < 900 THEN 6 WHEN (new.closed_at - new.created_at) / 1000 < 1200 THEN 7 WHEN (new.closed_at - new.created_at) / 1000 < 1800 THEN 8 WHEN (new.closed_at - new.created_at) / 1000 < 2700 THEN 9 WHEN (new.closed_at - new.created_at) / 1000 < 3600 THEN 10 WHEN (new.closed_at - new.created_at) / 1000 < 5400 THEN 11 WHEN (new.closed_at - new.created_at) / 1000 < 7200 THEN 12 WHEN (new.closed_at - new.created_at) / 1000 < 10800 THEN 13 WHEN (new.closed_at - new.created_at) / 1000 < 14400 THEN 14 WHEN (new.closed_at - new.created_at) / 1000 < 21600 THEN 15 WHEN (new.closed_at - new.created_at) / 1000 < 28800 THEN 16 WHEN (new.closed_at - new.created_at) / 1000 < 43200 THEN 17 WHEN (new.closed_at - new.created_at) / 1000 < 86400 THEN 18 WHEN (new.closed_at - new.created_at) / 1000 < 172800 THEN 19 WHEN (new.closed_at - new.created_at) / 1000 < 259200 THEN 20 WHEN (new.closed_at - new.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, 1 FROM (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER analytics_conversation_update;
DROP TRIGGER analytics_conversation_insert;
DROP TRIGGER analytics_status_billable;
DROP TRIGGER analytics_message_wamid;
DROP TRIGGER analytics_message_status;
DROP TRIGGER analytics_message_insert;
DROP TABLE billing_rates;
DROP TABLE analytics_billable;
DROP TABLE analytics_durations;
DROP TABLE analytics_conversations;
DROP TABLE analytics_failures;
DROP TABLE analytics_number_hours;
DROP TABLE analytics_messages;
