-- Event bytes move out of SQLite into append-only segment files (data_dir/events/*.seg, see
-- src/store/segments.rs): under load a 2.3 KB row per event, plus a random B-tree insert of its
-- dedupe key, capped the group commit near 10,000 events/s. What stays here is small and
-- written sequentially: per workspace and commit, where its run of events lies, and the run's
-- dedupe keys. Rows of the old `events` / `delivery_keys` tables are moved by the store when
-- it opens (SqliteStore::move_legacy_events), which leaves those tables empty.

-- One commit's events of one workspace: seqs first_seq..=last_seq (no gaps), `len` bytes at
-- `offset` in segment file `segment`.
CREATE TABLE event_chunks (
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    first_seq      INTEGER NOT NULL,
    last_seq       INTEGER NOT NULL,
    segment        INTEGER NOT NULL,
    offset         INTEGER NOT NULL,
    len            INTEGER NOT NULL,
    max_created_at INTEGER NOT NULL,   -- Unix ms of its newest event (retention)
    PRIMARY KEY (workspace_id, first_seq)
) WITHOUT ROWID;
CREATE INDEX event_chunks_segment ON event_chunks(segment, offset);
CREATE INDEX event_chunks_created ON event_chunks(max_created_at);

-- The dedupe keys of one commit's events of one workspace, kept apart from the chunks so that
-- a delivery Meta retries after its event was pruned is still recognised as a replay. Read
-- into memory when the store opens (src/store/dedupe.rs); never looked up by key here.
CREATE TABLE delivery_runs (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    first_seq    INTEGER NOT NULL,
    seen_at      INTEGER NOT NULL,
    keys         BLOB NOT NULL         -- n × (SHA-256 dedupe key (32) | event id (16)); seq first_seq + i
);
CREATE INDEX delivery_runs_seen ON delivery_runs(seen_at);
CREATE INDEX delivery_runs_workspace ON delivery_runs(workspace_id);

