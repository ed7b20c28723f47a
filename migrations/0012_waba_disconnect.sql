-- +goose Up
-- A disconnected WhatsApp Business Account keeps its row, so its phone numbers and their
-- conversations (and everything the activity log says about them) stay; its secrets are wiped,
-- its numbers are no longer served and its webhooks are refused. Connecting the same account
-- again clears the mark.
ALTER TABLE wabas ADD COLUMN disconnected_at INTEGER;

-- +goose Down
ALTER TABLE wabas DROP COLUMN disconnected_at;
