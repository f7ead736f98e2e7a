-- Outbound media (crate::send::upload): the file is copied into the encrypted media store when
-- the message is queued (a `media` row already 'done', so the thread shows it at once and it
-- survives a restart), and the outbox uploads it before sending.

-- The media row of an attachment to upload before the send.
ALTER TABLE outbox ADD COLUMN attachment_media_row INTEGER REFERENCES media(id) ON DELETE SET NULL;
-- Meta's id once uploaded (valid about 30 days): a retry sends with it instead of uploading again.
ALTER TABLE outbox ADD COLUMN uploaded_media_id TEXT;
-- When it was uploaded (unix seconds): an id older than its lifetime is uploaded again.
ALTER TABLE outbox ADD COLUMN uploaded_at INTEGER;
