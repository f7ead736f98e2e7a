-- What sync received but could not (or does not yet) apply to typed tables: events whose sealed
-- envelope does not open, plaintexts that are not JSON, and webhook parts no applier handles
-- yet (template/account updates, unknown fields). Kept, never dropped; a page is never failed
-- for them. Keyed by (relay event id, part) so a redelivered page stores nothing twice.
CREATE TABLE sync_raw_events (
    event_id    TEXT NOT NULL,
    part        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    reason      TEXT NOT NULL,     -- unopenable, not_json, unapplied, unknown
    kind        TEXT NOT NULL,     -- the relay event kind, or the webhook change field
    payload     TEXT NOT NULL,     -- JSON when it parsed; otherwise base64 of the bytes
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (event_id, part)
);
CREATE INDEX sync_raw_events_seq ON sync_raw_events(seq);
