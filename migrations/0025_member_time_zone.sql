-- +goose Up
-- Each member's own time zone (an IANA name): the Analytics ranges, the campaign form's start time
-- and the times on the inbox and activity pages are read and shown in it. Empty means not chosen
-- yet: the pages then use UTC, as they did before.
ALTER TABLE members ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE members DROP COLUMN time_zone;
