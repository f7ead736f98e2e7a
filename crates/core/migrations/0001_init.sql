-- DataOptix local store, first schema.
-- Times are Unix seconds (INTEGER) as Meta sends them. Every list is read by keyset pagination
-- over (time, id) with an index matching that order; there is no OFFSET anywhere.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    relay_url   TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE phone_numbers (
    id                    TEXT PRIMARY KEY,            -- Meta's phone_number_id
    workspace_id          TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    waba_id               TEXT NOT NULL,
    display_phone_number  TEXT,
    verified_name         TEXT,
    quality_rating        TEXT,
    messaging_limit       TEXT,
    name_status           TEXT,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX phone_numbers_workspace ON phone_numbers(workspace_id);

-- A contact is keyed by wa_id or by the business-scoped user_id (contacts may arrive without a
-- phone number), never by the phone alone. phone_normalized merges variants of one number
-- (e.g. Brazil's 9th digit) and is not unique.
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    wa_id             TEXT,
    user_id           TEXT,
    phone_normalized  TEXT,
    profile_name      TEXT,
    display_name      TEXT,
    restricted        INTEGER NOT NULL DEFAULT 0,
    opted_out         INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CHECK (wa_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE UNIQUE INDEX contacts_wa_id ON contacts(workspace_id, wa_id) WHERE wa_id IS NOT NULL;
CREATE UNIQUE INDEX contacts_user_id ON contacts(workspace_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX contacts_phone ON contacts(workspace_id, phone_normalized);

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    phone_number_id  TEXT NOT NULL REFERENCES phone_numbers(id) ON DELETE CASCADE,
    contact_id       INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    last_message_at  INTEGER NOT NULL DEFAULT 0,
    last_message_id  INTEGER,
    last_inbound_at  INTEGER,          -- starts the 24-hour customer service window
    unread_count     INTEGER NOT NULL DEFAULT 0,
    archived         INTEGER NOT NULL DEFAULT 0,
    assigned_to      TEXT,
    UNIQUE (phone_number_id, contact_id)
);
-- The inbox: newest conversation first, keyset (last_message_at, id).
CREATE INDEX conversations_inbox ON conversations(workspace_id, last_message_at DESC, id DESC);

-- One row per message of any type. Typed columns for what the app shows and searches; the
-- webhook (or send) JSON kept whole in raw_json so nothing Meta sent is lost.
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY,
    conversation_id    INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    wamid              TEXT NOT NULL UNIQUE,
    direction          TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    origin             TEXT NOT NULL DEFAULT 'cloud' CHECK (origin IN ('cloud', 'echo', 'device')),
    kind               TEXT NOT NULL,  -- text, image, video, audio, document, sticker, location,
                                       -- contacts, interactive, button, order, system,
                                       -- reaction, unsupported, template, ...
    ts                 INTEGER NOT NULL,
    from_id            TEXT,           -- wa_id or user_id of the sender (inbound)
    text_body          TEXT,
    caption            TEXT,
    document_filename  TEXT,
    media_meta_id      TEXT,           -- Meta's media id
    mime_type          TEXT,
    latitude           REAL,
    longitude          REAL,
    location_name      TEXT,
    location_address   TEXT,
    reply_id           TEXT,           -- button / list reply id
    reply_title        TEXT,
    context_wamid      TEXT,           -- quoted message
    status             TEXT,           -- outbound: sent, delivered, read, played, failed
    status_rank        INTEGER NOT NULL DEFAULT 0,
    status_at          INTEGER,
    error_code         INTEGER,
    error_title        TEXT,
    edited_at          INTEGER,
    deleted_at         INTEGER,
    raw_json           TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);
-- A thread: newest first, keyset (ts, id).
CREATE INDEX messages_thread ON messages(conversation_id, ts DESC, id DESC);

-- Every status event seen, deduplicated by (status id, status). Kept even when the message is
-- not (yet) known, so a status arriving before its message is applied when the message comes.
CREATE TABLE message_statuses (
    id           INTEGER PRIMARY KEY,
    wamid        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'played', 'failed')),
    rank         INTEGER NOT NULL,
    ts           INTEGER NOT NULL,
    error_code   INTEGER,
    error_title  TEXT,
    raw_json     TEXT NOT NULL,
    UNIQUE (wamid, status)
);

CREATE TABLE reactions (
    id             INTEGER PRIMARY KEY,
    message_wamid  TEXT NOT NULL,      -- the message reacted to
    reactor        TEXT NOT NULL,      -- wa_id / user_id, or 'me'
    emoji          TEXT,               -- NULL: reaction removed
    ts             INTEGER NOT NULL,
    raw_json       TEXT NOT NULL,
    UNIQUE (message_wamid, reactor)
);

CREATE TABLE message_revisions (
    id        INTEGER PRIMARY KEY,
    wamid     TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('edit', 'delete')),
    new_text  TEXT,
    ts        INTEGER NOT NULL,
    raw_json  TEXT NOT NULL,
    UNIQUE (wamid, kind, ts)
);

CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    media_meta_id   TEXT,
    path            TEXT,               -- encrypted file, relative to the data directory
    sha256          TEXT,
    mime_type       TEXT,
    size_bytes      INTEGER,
    download_state  TEXT NOT NULL DEFAULT 'pending'
                    CHECK (download_state IN ('pending', 'downloading', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX media_message ON media(message_id);
CREATE INDEX media_pending ON media(download_state, updated_at) WHERE download_state != 'done';

CREATE TABLE templates (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    waba_id          TEXT NOT NULL,
    meta_id          TEXT,
    name             TEXT NOT NULL,
    language         TEXT NOT NULL,
    category         TEXT,
    status           TEXT,
    quality          TEXT,
    rejected_reason  TEXT,
    components_json  TEXT NOT NULL DEFAULT '[]',
    updated_at       INTEGER NOT NULL,
    UNIQUE (waba_id, name, language)
);

CREATE TABLE template_status_history (
    id           INTEGER PRIMARY KEY,
    template_id  INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    event        TEXT NOT NULL,        -- status, quality or category update
    value        TEXT NOT NULL,
    reason       TEXT,
    ts           INTEGER NOT NULL,
    raw_json     TEXT NOT NULL
);
CREATE INDEX template_status_history_template ON template_status_history(template_id, ts);

-- Quality, limit, name, review, capability and account updates.
CREATE TABLE account_events (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    phone_number_id  TEXT,
    kind             TEXT NOT NULL,
    ts               INTEGER NOT NULL,
    payload_json     TEXT NOT NULL
);
CREATE INDEX account_events_recent ON account_events(workspace_id, ts DESC, id DESC);

-- Append-only, hash-chained: hash = sha256(prev_hash || canonical row).
CREATE TABLE activity_log (
    id            INTEGER PRIMARY KEY,
    ts            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    subject       TEXT,
    details_json  TEXT NOT NULL DEFAULT '{}',
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE
);
CREATE TRIGGER activity_log_no_update BEFORE UPDATE ON activity_log
BEGIN SELECT RAISE(ABORT, 'activity_log is append-only'); END;

CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY,
    idempotency_key   TEXT NOT NULL UNIQUE,
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    payload_json      TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    wamid             TEXT,
    error_code        INTEGER,
    error_message     TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at) WHERE state IN ('queued', 'sending');

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value_json  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Where each relay stream was acknowledged up to.
CREATE TABLE sync_cursor (
    stream      TEXT PRIMARY KEY,
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Full-text search. remove_diacritics 2 lets "sao" find "São".
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text_body, caption, document_filename,
    content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text_body, caption, document_filename)
    VALUES (new.id, new.text_body, new.caption, new.document_filename);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text_body, caption, document_filename)
    VALUES ('delete', old.id, old.text_body, old.caption, old.document_filename);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text_body, caption, document_filename ON messages
BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text_body, caption, document_filename)
    VALUES ('delete', old.id, old.text_body, old.caption, old.document_filename);
    INSERT INTO messages_fts(rowid, text_body, caption, document_filename)
    VALUES (new.id, new.text_body, new.caption, new.document_filename);
END;

CREATE VIRTUAL TABLE contacts_fts USING fts5(
    profile_name, display_name, wa_id,
    content = 'contacts', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, profile_name, display_name, wa_id)
    VALUES (new.id, new.profile_name, new.display_name, new.wa_id);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, profile_name, display_name, wa_id)
    VALUES ('delete', old.id, old.profile_name, old.display_name, old.wa_id);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF profile_name, display_name, wa_id ON contacts
BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, profile_name, display_name, wa_id)
    VALUES ('delete', old.id, old.profile_name, old.display_name, old.wa_id);
    INSERT INTO contacts_fts(rowid, profile_name, display_name, wa_id)
    VALUES (new.id, new.profile_name, new.display_name, new.wa_id);
END;
