-- A live interview can be paused: no suggestions or AI turns while paused,
-- and paused time does not count against an AI-led interview's duration.
ALTER TABLE interviews ADD COLUMN paused_at BIGINT;
ALTER TABLE interviews ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0;
