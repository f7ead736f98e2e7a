-- Inbound media downloads (crate::media): one row per media message, queued in the same
-- transaction as the message, fetched by the media worker.

-- One row per message: a redelivered page must not queue the same download twice.
CREATE UNIQUE INDEX media_one_per_message ON media(message_id);
-- media_status events name Meta's media id.
CREATE INDEX media_meta ON media(media_meta_id) WHERE media_meta_id IS NOT NULL;

-- When the worker may try again (unix seconds); 0 = now.
ALTER TABLE media ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
-- What the relay said about its copy: NULL (not yet), 'stored' or 'failed' (then relay_error).
ALTER TABLE media ADD COLUMN relay_status TEXT CHECK (relay_status IN ('stored', 'failed'));
ALTER TABLE media ADD COLUMN relay_error TEXT;
-- The SHA-256 the webhook announced (Meta's base64, sometimes hex), checked after download;
-- `sha256` holds the verified hash of the plaintext (lowercase hex) once done.
ALTER TABLE media ADD COLUMN expected_sha256 TEXT;
-- The message type carrying it (image, audio, video, document, sticker): its size limit.
ALTER TABLE media ADD COLUMN kind TEXT;
-- A recorded voice note (audio with voice: true) / an animated sticker.
ALTER TABLE media ADD COLUMN voice INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN animated INTEGER NOT NULL DEFAULT 0;
