-- Sending (outbox worker) and the team inbox (device events).

-- Who wrote an outbound message (a device of the workspace; NULL for Cloud/echo messages).
ALTER TABLE messages ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN author_name TEXT;

-- The outbox item's context. Times in due_ms are Unix MILLISECONDS: pacing works below the
-- second. next_attempt_at (seconds, 0001) is kept in step for readers of the old column.
ALTER TABLE outbox ADD COLUMN phone_number_id TEXT;
ALTER TABLE outbox ADD COLUMN recipient TEXT;          -- the `to` sent to Meta
ALTER TABLE outbox ADD COLUMN message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL;
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'; -- message | reaction | mark_read
ALTER TABLE outbox ADD COLUMN due_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN error_class TEXT;        -- cloud_api ErrorClass name
-- Set when the item was 'sending' at a crash or a send timed out: Meta may have accepted it.
ALTER TABLE outbox ADD COLUMN in_doubt_since_ms INTEGER;
ALTER TABLE outbox ADD COLUMN author_id TEXT;
ALTER TABLE outbox ADD COLUMN author_name TEXT;
CREATE INDEX outbox_due_ms ON outbox(state, due_ms) WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_conversation ON outbox(conversation_id, id);

-- Per number: must the user reconnect (token invalid)? And the clock of the token in the vault
-- (number_connected events: the newest connection wins). The token itself is only in the vault.
CREATE TABLE number_state (
    phone_number_id     TEXT PRIMARY KEY,
    reconnect_required  INTEGER NOT NULL DEFAULT 0,
    reconnect_reason    TEXT,
    token_at            INTEGER,           -- ms clock of the token in the vault
    updated_at          INTEGER NOT NULL
);

-- Last-writer-wins clocks per (conversation, field): the value applied and who wrote it.
CREATE TABLE conversation_fields (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    field            TEXT NOT NULL,        -- labels, assigned_to, archived, read_up_to
    value_json       TEXT NOT NULL,
    at               INTEGER NOT NULL,     -- ms
    device           TEXT NOT NULL,
    author_id        TEXT,
    author_name      TEXT,
    PRIMARY KEY (conversation_id, field)
);

-- The labels of a conversation, materialised from its 'labels' field.
CREATE TABLE conversation_labels (
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    label            TEXT NOT NULL,
    PRIMARY KEY (conversation_id, label)
);
CREATE INDEX conversation_labels_label ON conversation_labels(label);

CREATE TABLE notes (
    id               TEXT PRIMARY KEY,     -- note_id (UUID): idempotent
    conversation_id  INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    text             TEXT NOT NULL,
    at               INTEGER NOT NULL,     -- ms
    author_id        TEXT,
    author_name      TEXT
);
CREATE INDEX notes_conversation ON notes(conversation_id, at, id);

-- Quick replies, last writer wins per id; a deletion is a tombstone so an older edit cannot
-- bring it back.
CREATE TABLE quick_replies (
    id           TEXT PRIMARY KEY,
    shortcut     TEXT NOT NULL,
    text         TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    at           INTEGER NOT NULL,         -- ms
    device       TEXT NOT NULL,
    author_id    TEXT,
    author_name  TEXT
);

-- Device events waiting to be appended to the relay (offline, relay down). Stored SEALED to
-- the workspace key: a number_connected event carries a token, and nothing secret sits here
-- in a readable form.
CREATE TABLE pending_events (
    id               INTEGER PRIMARY KEY,
    client_event_id  TEXT NOT NULL UNIQUE,
    sealed           TEXT NOT NULL,        -- base64 envelope
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       INTEGER NOT NULL
);
