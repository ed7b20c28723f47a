-- +goose Up
-- The newest message's text, kept on its conversation (issue 11). The inbox list showed it by
-- looking up each listed conversation's newest message: with the readers' page caches emptied by
-- every commit under webhook ingest, those 51 look-ups into the messages table were half of a
-- list's cost (10 ms of 19 ms measured cold at 1M messages). Triggers keep it for every writer:
-- a message inserted as the newest of its conversation sets it, an edited text or the newest
-- message deleted (erasure, retention) recomputes it.
ALTER TABLE conversations ADD COLUMN preview TEXT NOT NULL DEFAULT '';

UPDATE conversations SET preview = coalesce((SELECT substr(m.text, 1, 200) FROM messages m
    WHERE m.conversation_id = conversations.id ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '');

-- +goose StatementBegin
CREATE TRIGGER conversations_preview_insert AFTER INSERT ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = new.conversation_id
    AND (m.created_at, m.id) > (new.created_at, new.id)) BEGIN
    UPDATE conversations SET preview = substr(new.text, 1, 200) WHERE id = new.conversation_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER conversations_preview_text AFTER UPDATE OF text ON messages
WHEN old.text IS NOT new.text BEGIN
    UPDATE conversations SET preview = coalesce((SELECT substr(m.text, 1, 200) FROM messages m
        WHERE m.conversation_id = new.conversation_id ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')
    WHERE id = new.conversation_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER conversations_preview_delete AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = old.conversation_id
    AND (m.created_at, m.id) > (old.created_at, old.id)) BEGIN
    UPDATE conversations SET preview = coalesce((SELECT substr(m.text, 1, 200) FROM messages m
        WHERE m.conversation_id = old.conversation_id ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')
    WHERE id = old.conversation_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER conversations_preview_delete;
DROP TRIGGER conversations_preview_text;
DROP TRIGGER conversations_preview_insert;
ALTER TABLE conversations DROP COLUMN preview;
