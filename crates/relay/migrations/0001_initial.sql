-- The relay's durable state. Times are Unix milliseconds (INTEGER); ids are UUID strings.
-- Nothing here holds message content in plaintext: events and held entries are sealed
-- envelopes, invalid bodies are AES-256-GCM ciphertext, passwords are Argon2id PHC strings,
-- session tokens are SHA-256 hashes.

CREATE TABLE workspaces (
    id             TEXT PRIMARY KEY NOT NULL,
    company        TEXT NOT NULL,
    public_key     BLOB NOT NULL,              -- X25519, 32 bytes: events are sealed to it
    created_at     INTEGER NOT NULL,
    next_seq       INTEGER NOT NULL DEFAULT 1, -- next event seq of this workspace's log
    pruned_through INTEGER NOT NULL DEFAULT 0  -- highest seq removed by retention
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email         TEXT NOT NULL UNIQUE,        -- stored lower-cased
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,               -- Argon2id PHC string
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_workspace ON users(workspace_id);

CREATE TABLE device_sessions (
    id           TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,         -- SHA-256 of the bearer token
    device_name  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX device_sessions_workspace ON device_sessions(workspace_id);

-- Per device session: everything up to acked_seq is stored on that device.
CREATE TABLE device_cursors (
    session_id   TEXT PRIMARY KEY NOT NULL REFERENCES device_sessions(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    acked_seq    INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE wabas (
    waba_id      TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    claimed_at   INTEGER NOT NULL
);
CREATE INDEX wabas_workspace ON wabas(workspace_id);

CREATE TABLE events (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    id              TEXT NOT NULL UNIQUE,      -- stable event id given to devices
    kind            TEXT NOT NULL,
    sealed          BLOB NOT NULL,             -- sealed envelope (protocol::sealed)
    created_at      INTEGER NOT NULL,
    origin_session  TEXT,
    client_event_id TEXT,
    PRIMARY KEY (workspace_id, seq)
);
CREATE INDEX events_created ON events(created_at);

-- What was already appended, kept apart from the events so that a delivery Meta retries
-- after its event was pruned (all devices acked it) is still recognised as a replay.
CREATE TABLE delivery_keys (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    dedupe_key   BLOB NOT NULL,                -- SHA-256 of the entry bytes / client event id
    seq          INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, dedupe_key)
);
CREATE INDEX delivery_keys_seen ON delivery_keys(seen_at);

-- Webhook entries of WABAs no workspace owns yet, sealed to the relay's own key and moved
-- to the owner's log when a workspace claims the WABA.
CREATE TABLE held_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    waba_id     TEXT NOT NULL,
    dedupe_key  BLOB NOT NULL UNIQUE,
    sealed      BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX held_events_waba ON held_events(waba_id);

-- Validly signed bodies that were not a webhook envelope, kept (encrypted) for inspection.
CREATE TABLE invalid_bodies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    encrypted   BLOB NOT NULL,                 -- v1 | nonce(12) | AES-256-GCM ciphertext+tag
    received_at INTEGER NOT NULL
);
