-- +goose Up
-- The outbox tells a message's events apart by our message id instead of Meta's wamid
-- (internal/webhooks/publish.go says why). Keys already queued are rewritten, so that Meta
-- repeating a webhook from before this version is still recognised and not delivered twice.
-- A key whose message is gone (erased) stays as it was: nothing can repeat it any more.
UPDATE webhook_deliveries
SET dedupe_key = 'message.received:' || (SELECT m.id FROM messages m WHERE m.wamid = substr(webhook_deliveries.dedupe_key, 18))
WHERE dedupe_key LIKE 'message.received:%'
  AND EXISTS (SELECT 1 FROM messages m WHERE m.wamid = substr(webhook_deliveries.dedupe_key, 18));

-- 'message.status:' || wamid || ':' || status, the status being lower-case letters: rtrim
-- takes the status off and leaves the prefix up to the last colon.
UPDATE webhook_deliveries
SET dedupe_key = 'message.status:'
    || (SELECT m.id FROM messages m
        WHERE m.wamid = substr(webhook_deliveries.dedupe_key, 16, length(rtrim(webhook_deliveries.dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) - 16))
    || ':' || substr(dedupe_key, length(rtrim(dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) + 1)
WHERE dedupe_key LIKE 'message.status:%'
  AND EXISTS (SELECT 1 FROM messages m
      WHERE m.wamid = substr(webhook_deliveries.dedupe_key, 16, length(rtrim(webhook_deliveries.dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) - 16));

-- +goose Down
UPDATE webhook_deliveries
SET dedupe_key = 'message.received:' || (SELECT m.wamid FROM messages m WHERE m.id = CAST(substr(webhook_deliveries.dedupe_key, 18) AS INTEGER))
WHERE dedupe_key LIKE 'message.received:%'
  AND EXISTS (SELECT 1 FROM messages m WHERE m.id = CAST(substr(webhook_deliveries.dedupe_key, 18) AS INTEGER) AND m.wamid IS NOT NULL);

UPDATE webhook_deliveries
SET dedupe_key = 'message.status:'
    || (SELECT m.wamid FROM messages m
        WHERE m.id = CAST(substr(webhook_deliveries.dedupe_key, 16, length(rtrim(webhook_deliveries.dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) - 16) AS INTEGER))
    || ':' || substr(dedupe_key, length(rtrim(dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) + 1)
WHERE dedupe_key LIKE 'message.status:%'
  AND EXISTS (SELECT 1 FROM messages m
      WHERE m.id = CAST(substr(webhook_deliveries.dedupe_key, 16, length(rtrim(webhook_deliveries.dedupe_key, 'abcdefghijklmnopqrstuvwxyz_')) - 16) AS INTEGER)
        AND m.wamid IS NOT NULL);
