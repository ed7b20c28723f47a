-- +goose Up
-- The Analytics label filter's figures, kept as they change (issue 13). The filter narrows the
-- conversation figures to conversations that carry the label now; it was computed per page view
-- by visiting each labelled conversation, which cost 120-200 ms at 100k conversations once any
-- write had emptied the readers' page caches. These tables hold the same figures as
-- analytics_conversations and analytics_durations, by label, at the same grains (1, 24 and 168
-- hours), and are kept by triggers on the few writes that change them:
--   - a label put on a conversation adds its opening, its closing and resolution (when closed)
--     and its first responses (analytics_first_responses); taking the label off subtracts them;
--   - closing, reopening and reassigning a closed conversation move its closing per label, as the
--     0014 trigger does for every conversation;
--   - a first response counted for a conversation is added per label by rollup.Delta.Flush, the
--     one place that counts them as they happen (a trigger on analytics_first_responses would also
--     fire for each of the rebuild's 250k inserts and made it take 14 s instead of 8).
-- rollup.Rebuild recomputes them with the rest; internal/inbox.TestIncrementalRollupsMatchRebuild
-- keeps the two ways equal. A conversation erased while labelled keeps its figures until the next
-- rebuild, like every other rollup.
CREATE TABLE analytics_label_conversations (
    label_id        INTEGER NOT NULL,
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL, -- the assignee of a closed conversation; 0 for openings
    opened          INTEGER NOT NULL DEFAULT 0,
    closed          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (label_id, grain, t, phone_number_id, member_id)
) WITHOUT ROWID;

CREATE TABLE analytics_label_durations (
    label_id        INTEGER NOT NULL,
    grain           INTEGER NOT NULL,
    t               INTEGER NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('first_response', 'resolution')),
    phone_number_id INTEGER NOT NULL,
    member_id       INTEGER NOT NULL,
    bucket          INTEGER NOT NULL,
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (label_id, grain, t, kind, phone_number_id, member_id, bucket)
) WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER analytics_label_added AFTER INSERT ON conversation_labels BEGIN
    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, opened)
    SELECT new.label_id, g.grain, c.created_at / (g.grain * 3600000), c.phone_number_id, 0, 1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g WHERE c.id = new.conversation_id
    ON CONFLICT DO UPDATE SET opened = opened + excluded.opened;

    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, closed)
    SELECT new.label_id, g.grain, c.closed_at / (g.grain * 3600000), c.phone_number_id, coalesce(c.assignee_id, 0), 1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = new.conversation_id AND c.status = 'closed' AND c.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + excluded.closed;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT new.label_id, g.grain, c.closed_at / (g.grain * 3600000), 'resolution', c.phone_number_id, coalesce(c.assignee_id, 0),
        CASE WHEN (c.closed_at - c.created_at) / 1000 < 30 THEN 0 WHEN (c.closed_at - c.created_at) / 1000 < 60 THEN 1 WHEN (c.closed_at - c.created_at) / 1000 < 120 THEN 2 WHEN (c.closed_at - c.created_at) / 1000 < 180 THEN 3 WHEN (c.closed_at - c.created_at) / 1000 < 300 THEN 4 WHEN (c.closed_at - c.created_at) / 1000 < 600 THEN 5 WHEN (c.closed_at - c.created_at) / 1000 < 900 THEN 6 WHEN (c.closed_at - c.created_at) / 1000 < 1200 THEN 7 WHEN (c.closed_at - c.created_at) / 1000 < 1800 THEN 8 WHEN (c.closed_at - c.created_at) / 1000 < 2700 THEN 9 WHEN (c.closed_at - c.created_at) / 1000 < 3600 THEN 10 WHEN (c.closed_at - c.created_at) / 1000 < 5400 THEN 11 WHEN (c.closed_at - c.created_at) / 1000 < 7200 THEN 12 WHEN (c.closed_at - c.created_at) / 1000 < 10800 THEN 13 WHEN (c.closed_at - c.created_at) / 1000 < 14400 THEN 14 WHEN (c.closed_at - c.created_at) / 1000 < 21600 THEN 15 WHEN (c.closed_at - c.created_at) / 1000 < 28800 THEN 16 WHEN (c.closed_at - c.created_at) / 1000 < 43200 THEN 17 WHEN (c.closed_at - c.created_at) / 1000 < 86400 THEN 18 WHEN (c.closed_at - c.created_at) / 1000 < 172800 THEN 19 WHEN (c.closed_at - c.created_at) / 1000 < 259200 THEN 20 WHEN (c.closed_at - c.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, 1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = new.conversation_id AND c.status = 'closed' AND c.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + excluded.n;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT new.label_id, g.grain, f.t / g.grain, 'first_response', f.phone_number_id, f.member_id, f.bucket, sum(f.n)
    FROM analytics_first_responses f, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE f.conversation_id = new.conversation_id
    GROUP BY 2, 3, 5, 6, 7
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER analytics_label_removed AFTER DELETE ON conversation_labels BEGIN
    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, opened)
    SELECT old.label_id, g.grain, c.created_at / (g.grain * 3600000), c.phone_number_id, 0, -1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g WHERE c.id = old.conversation_id
    ON CONFLICT DO UPDATE SET opened = opened + excluded.opened;

    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, closed)
    SELECT old.label_id, g.grain, c.closed_at / (g.grain * 3600000), c.phone_number_id, coalesce(c.assignee_id, 0), -1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = old.conversation_id AND c.status = 'closed' AND c.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + excluded.closed;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT old.label_id, g.grain, c.closed_at / (g.grain * 3600000), 'resolution', c.phone_number_id, coalesce(c.assignee_id, 0),
        CASE WHEN (c.closed_at - c.created_at) / 1000 < 30 THEN 0 WHEN (c.closed_at - c.created_at) / 1000 < 60 THEN 1 WHEN (c.closed_at - c.created_at) / 1000 < 120 THEN 2 WHEN (c.closed_at - c.created_at) / 1000 < 180 THEN 3 WHEN (c.closed_at - c.created_at) / 1000 < 300 THEN 4 WHEN (c.closed_at - c.created_at) / 1000 < 600 THEN 5 WHEN (c.closed_at - c.created_at) / 1000 < 900 THEN 6 WHEN (c.closed_at - c.created_at) / 1000 < 1200 THEN 7 WHEN (c.closed_at - c.created_at) / 1000 < 1800 THEN 8 WHEN (c.closed_at - c.created_at) / 1000 < 2700 THEN 9 WHEN (c.closed_at - c.created_at) / 1000 < 3600 THEN 10 WHEN (c.closed_at - c.created_at) / 1000 < 5400 THEN 11 WHEN (c.closed_at - c.created_at) / 1000 < 7200 THEN 12 WHEN (c.closed_at - c.created_at) / 1000 < 10800 THEN 13 WHEN (c.closed_at - c.created_at) / 1000 < 14400 THEN 14 WHEN (c.closed_at - c.created_at) / 1000 < 21600 THEN 15 WHEN (c.closed_at - c.created_at) / 1000 < 28800 THEN 16 WHEN (c.closed_at - c.created_at) / 1000 < 43200 THEN 17 WHEN (c.closed_at - c.created_at) / 1000 < 86400 THEN 18 WHEN (c.closed_at - c.created_at) / 1000 < 172800 THEN 19 WHEN (c.closed_at - c.created_at) / 1000 < 259200 THEN 20 WHEN (c.closed_at - c.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, -1
    FROM conversations c, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE c.id = old.conversation_id AND c.status = 'closed' AND c.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + excluded.n;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT old.label_id, g.grain, f.t / g.grain, 'first_response', f.phone_number_id, f.member_id, f.bucket, -sum(f.n)
    FROM analytics_first_responses f, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE f.conversation_id = old.conversation_id
    GROUP BY 2, 3, 5, 6, 7
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- The WHEN clause is 0014's analytics_conversation_update's: false for the update every message
-- makes, so ingest pays nothing for it.
-- +goose StatementBegin
CREATE TRIGGER analytics_label_conversation_update AFTER UPDATE OF status, closed_at, assignee_id ON conversations
WHEN old.status IS NOT new.status OR old.closed_at IS NOT new.closed_at
    OR (new.status = 'closed' AND old.assignee_id IS NOT new.assignee_id) BEGIN
    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, closed)
    SELECT cl.label_id, g.grain, old.closed_at / (g.grain * 3600000), old.phone_number_id, coalesce(old.assignee_id, 0), -1
    FROM conversation_labels cl, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE cl.conversation_id = old.id AND old.status = 'closed' AND old.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + excluded.closed;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT cl.label_id, g.grain, old.closed_at / (g.grain * 3600000), 'resolution', old.phone_number_id, coalesce(old.assignee_id, 0),
        CASE WHEN (old.closed_at - old.created_at) / 1000 < 30 THEN 0 WHEN (old.closed_at - old.created_at) / 1000 < 60 THEN 1 WHEN (old.closed_at - old.created_at) / 1000 < 120 THEN 2 WHEN (old.closed_at - old.created_at) / 1000 < 180 THEN 3 WHEN (old.closed_at - old.created_at) / 1000 < 300 THEN 4 WHEN (old.closed_at - old.created_at) / 1000 < 600 THEN 5 WHEN (old.closed_at - old.created_at) / 1000 < 900 THEN 6 WHEN (old.closed_at - old.created_at) / 1000 < 1200 THEN 7 WHEN (old.closed_at - old.created_at) / 1000 < 1800 THEN 8 WHEN (old.closed_at - old.created_at) / 1000 < 2700 THEN 9 WHEN (old.closed_at - old.created_at) / 1000 < 3600 THEN 10 WHEN (old.closed_at - old.created_at) / 1000 < 5400 THEN 11 WHEN (old.closed_at - old.created_at) / 1000 < 7200 THEN 12 WHEN (old.closed_at - old.created_at) / 1000 < 10800 THEN 13 WHEN (old.closed_at - old.created_at) / 1000 < 14400 THEN 14 WHEN (old.closed_at - old.created_at) / 1000 < 21600 THEN 15 WHEN (old.closed_at - old.created_at) / 1000 < 28800 THEN 16 WHEN (old.closed_at - old.created_at) / 1000 < 43200 THEN 17 WHEN (old.closed_at - old.created_at) / 1000 < 86400 THEN 18 WHEN (old.closed_at - old.created_at) / 1000 < 172800 THEN 19 WHEN (old.closed_at - old.created_at) / 1000 < 259200 THEN 20 WHEN (old.closed_at - old.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, -1
    FROM conversation_labels cl, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE cl.conversation_id = old.id AND old.status = 'closed' AND old.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + excluded.n;

    INSERT INTO analytics_label_conversations (label_id, grain, t, phone_number_id, member_id, closed)
    SELECT cl.label_id, g.grain, new.closed_at / (g.grain * 3600000), new.phone_number_id, coalesce(new.assignee_id, 0), 1
    FROM conversation_labels cl, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE cl.conversation_id = new.id AND new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET closed = closed + excluded.closed;

    INSERT INTO analytics_label_durations (label_id, grain, t, kind, phone_number_id, member_id, bucket, n)
    SELECT cl.label_id, g.grain, new.closed_at / (g.grain * 3600000), 'resolution', new.phone_number_id, coalesce(new.assignee_id, 0),
        CASE WHEN (new.closed_at - new.created_at) / 1000 < 30 THEN 0 WHEN (new.closed_at - new.created_at) / 1000 < 60 THEN 1 WHEN (new.closed_at - new.created_at) / 1000 < 120 THEN 2 WHEN (new.closed_at - new.created_at) / 1000 < 180 THEN 3 WHEN (new.closed_at - new.created_at) / 1000 < 300 THEN 4 WHEN (new.closed_at - new.created_at) / 1000 < 600 THEN 5 WHEN (new.closed_at - new.created_at) / 1000 < 900 THEN 6 WHEN (new.closed_at - new.created_at) / 1000 < 1200 THEN 7 WHEN (new.closed_at - new.created_at) / 1000 < 1800 THEN 8 WHEN (new.closed_at - new.created_at) / 1000 < 2700 THEN 9 WHEN (new.closed_at - new.created_at) / 1000 < 3600 THEN 10 WHEN (new.closed_at - new.created_at) / 1000 < 5400 THEN 11 WHEN (new.closed_at - new.created_at) / 1000 < 7200 THEN 12 WHEN (new.closed_at - new.created_at) / 1000 < 10800 THEN 13 WHEN (new.closed_at - new.created_at) / 1000 < 14400 THEN 14 WHEN (new.closed_at - new.created_at) / 1000 < 21600 THEN 15 WHEN (new.closed_at - new.created_at) / 1000 < 28800 THEN 16 WHEN (new.closed_at - new.created_at) / 1000 < 43200 THEN 17 WHEN (new.closed_at - new.created_at) / 1000 < 86400 THEN 18 WHEN (new.closed_at - new.created_at) / 1000 < 172800 THEN 19 WHEN (new.closed_at - new.created_at) / 1000 < 259200 THEN 20 WHEN (new.closed_at - new.created_at) / 1000 < 604800 THEN 21 ELSE 22 END, 1
    FROM conversation_labels cl, (SELECT 1 AS grain UNION ALL SELECT 24 UNION ALL SELECT 168) g
    WHERE cl.conversation_id = new.id AND new.status = 'closed' AND new.closed_at IS NOT NULL
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- A deleted label's figures go with it (its conversation_labels rows go by cascade first).
-- +goose StatementBegin
CREATE TRIGGER analytics_label_deleted AFTER DELETE ON labels BEGIN
    DELETE FROM analytics_label_conversations WHERE label_id = old.id;
    DELETE FROM analytics_label_durations WHERE label_id = old.id;
END;
-- +goose StatementEnd

-- Filled by the rebuild that rebuild_needed asks for at start.
UPDATE analytics_rollup_state SET rebuild_needed = 1;

-- +goose Down
DROP TRIGGER analytics_label_deleted;
DROP TRIGGER analytics_label_conversation_update;
DROP TRIGGER analytics_label_removed;
DROP TRIGGER analytics_label_added;
DROP TABLE analytics_label_durations;
DROP TABLE analytics_label_conversations;
