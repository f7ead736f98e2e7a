-- Inbound media: the durable fetch queue and, once fetched, the stored file's metadata. The
-- file itself lives under data_dir/media/<workspace>/ sealed to the workspace key (only
-- ciphertext on disk). `status`: pending (fetch due at next_attempt_at), stored, failed.
CREATE TABLE media (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    media_id        TEXT NOT NULL,
    waba_id         TEXT NOT NULL,
    phone_number_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    mime_type       TEXT,
    size            INTEGER,
    sha256          TEXT,          -- hex SHA-256 of the plaintext
    fetched_at      INTEGER,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, media_id)
);
CREATE INDEX media_due ON media(status, next_attempt_at);
CREATE INDEX media_created ON media(created_at);
