-- +goose Up
-- The inbox's box counts, kept as conversations change (issue 11). Counting them per page view
-- walked every open conversation the member's numbers hold: an Agent's count never reaches the
-- cap, and once any write has emptied the readers' page caches each view paid for reading those
-- index pages again. Under webhook ingest at 1,000 events/s that was a third of a page view's CPU.
--
-- A row counts the open conversations with one key (number, assignee, escalated, unread) that
-- one member is involved in: member_id 0 stands for everyone who sees all of the number, any
-- other member_id for that member's involved set (conversation_participants plus the assignee,
-- exactly visibilityClause's). The box counts of any member are then sums over a few rows. The
-- triggers keep the rows on every write that changes a key or the involved set, whoever writes
-- it; internal/inbox.TestBoxCountersMatchScans checks them against counting the conversations.
CREATE TABLE inbox_counts (
    member_id       INTEGER NOT NULL,
    phone_number_id INTEGER NOT NULL,
    assignee_id     INTEGER NOT NULL, -- 0: unassigned
    escalated       INTEGER NOT NULL,
    unread          INTEGER NOT NULL, -- 1: unread_count > 0
    n               INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (member_id, phone_number_id, assignee_id, escalated, unread)
) WITHOUT ROWID;

INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
SELECT m.member_id, c.phone_number_id, coalesce(c.assignee_id, 0), c.escalated, c.unread_count > 0, count(*)
FROM conversations c JOIN (
    SELECT id AS conversation_id, 0 AS member_id FROM conversations WHERE status = 'open'
    UNION SELECT conversation_id, member_id FROM conversation_participants
    UNION SELECT id, assignee_id FROM conversations WHERE assignee_id IS NOT NULL
) m ON m.conversation_id = c.id
WHERE c.status = 'open'
GROUP BY 1, 2, 3, 4, 5;

-- +goose StatementBegin
CREATE TRIGGER inbox_counts_conversation_insert AFTER INSERT ON conversations WHEN new.status = 'open' BEGIN
    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT m.member_id, new.phone_number_id, coalesce(new.assignee_id, 0), new.escalated, new.unread_count > 0, 1
    FROM (SELECT 0 AS member_id UNION SELECT new.assignee_id WHERE new.assignee_id IS NOT NULL) m WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- The update every inbound message makes (last_message_at, unread_count going up) changes no
-- key once the conversation is unread, so the WHEN clause keeps ingest's cost to the first
-- message after a read.
-- +goose StatementBegin
CREATE TRIGGER inbox_counts_conversation_update AFTER UPDATE OF status, assignee_id, escalated, unread_count, phone_number_id ON conversations
WHEN (old.status = 'open') IS NOT (new.status = 'open') OR old.assignee_id IS NOT new.assignee_id
    OR old.escalated IS NOT new.escalated OR (old.unread_count > 0) IS NOT (new.unread_count > 0)
    OR old.phone_number_id IS NOT new.phone_number_id BEGIN
    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT m.member_id, old.phone_number_id, coalesce(old.assignee_id, 0), old.escalated, old.unread_count > 0, -1
    FROM (SELECT 0 AS member_id UNION SELECT member_id FROM conversation_participants WHERE conversation_id = old.id
        UNION SELECT old.assignee_id WHERE old.assignee_id IS NOT NULL) m
    WHERE old.status = 'open'
    ON CONFLICT DO UPDATE SET n = n + excluded.n;

    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT m.member_id, new.phone_number_id, coalesce(new.assignee_id, 0), new.escalated, new.unread_count > 0, 1
    FROM (SELECT 0 AS member_id UNION SELECT member_id FROM conversation_participants WHERE conversation_id = new.id
        UNION SELECT new.assignee_id WHERE new.assignee_id IS NOT NULL) m
    WHERE new.status = 'open'
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER inbox_counts_conversation_delete AFTER DELETE ON conversations WHEN old.status = 'open' BEGIN
    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT m.member_id, old.phone_number_id, coalesce(old.assignee_id, 0), old.escalated, old.unread_count > 0, -1
    FROM (SELECT 0 AS member_id UNION SELECT member_id FROM conversation_participants WHERE conversation_id = old.id
        UNION SELECT old.assignee_id WHERE old.assignee_id IS NOT NULL) m
    WHERE true
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- A member joins a conversation's involved set with their first participant row, unless they
-- are its assignee already, and leaves it with their last one, unless they are its assignee.
-- +goose StatementBegin
CREATE TRIGGER inbox_counts_participant_insert AFTER INSERT ON conversation_participants BEGIN
    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT new.member_id, c.phone_number_id, coalesce(c.assignee_id, 0), c.escalated, c.unread_count > 0, 1
    FROM conversations c
    WHERE c.id = new.conversation_id AND c.status = 'open' AND c.assignee_id IS NOT new.member_id
        AND NOT EXISTS (SELECT 1 FROM conversation_participants p
            WHERE p.conversation_id = new.conversation_id AND p.member_id = new.member_id AND p.why <> new.why)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER inbox_counts_participant_delete AFTER DELETE ON conversation_participants BEGIN
    INSERT INTO inbox_counts (member_id, phone_number_id, assignee_id, escalated, unread, n)
    SELECT old.member_id, c.phone_number_id, coalesce(c.assignee_id, 0), c.escalated, c.unread_count > 0, -1
    FROM conversations c
    WHERE c.id = old.conversation_id AND c.status = 'open' AND c.assignee_id IS NOT old.member_id
        AND NOT EXISTS (SELECT 1 FROM conversation_participants p
            WHERE p.conversation_id = old.conversation_id AND p.member_id = old.member_id)
    ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER inbox_counts_participant_delete;
DROP TRIGGER inbox_counts_participant_insert;
DROP TRIGGER inbox_counts_conversation_delete;
DROP TRIGGER inbox_counts_conversation_update;
DROP TRIGGER inbox_counts_conversation_insert;
DROP TABLE inbox_counts;
