-- Contacts corrected, restricted and erased on one device reach the team's other devices as
-- device events (`contact_field`, `contact_erased`).

-- The clock of each contact value set through the team: last writer wins by (at, device),
-- like conversation_fields. Erasing the contact deletes its rows (contact_id column).
CREATE TABLE contact_fields (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    at         INTEGER NOT NULL,
    device     TEXT NOT NULL,
    PRIMARY KEY (contact_id, field)
);

-- Media files whose rows an erasure from another device deleted inside a sync transaction:
-- removed from disk after the commit, and retried until they are.
CREATE TABLE pending_file_removals (
    path TEXT PRIMARY KEY
);
