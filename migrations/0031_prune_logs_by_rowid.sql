-- +goose Up
-- Webhook bodies and outgoing deliveries are pruned by age through their rowids, which grow
-- with the time (db.FirstRowFrom), instead of through an index on the time that every insert
-- wrote: 1.4 and 1.2 pages a commit under webhook load, 1.5 KB a webhook event together
-- (cmd/switchboard TestWebhookDiskFigures).
DROP INDEX webhook_events_received_idx;
DROP INDEX webhook_deliveries_created_idx;

-- +goose Down
CREATE INDEX webhook_events_received_idx ON webhook_events(received_at);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries(created_at);
