-- +goose Up
-- The box counts come from inbox_counts (0027); nothing reads conversations by this index any
-- more, and ingest wrote 2.3 of its pages a commit (1.6 KB per webhook event, measured by
-- internal/inbox.TestIngestDiskFigures).
DROP INDEX conversations_unread_idx;

-- +goose Down
CREATE INDEX conversations_unread_idx ON conversations(status, phone_number_id, assignee_id)
    WHERE unread_count > 0 AND status = 'open';
