-- Broadcasts: one approved template sent to many contacts, each through the durable outbox.

CREATE TABLE broadcasts (
    id               INTEGER PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    phone_number_id  TEXT NOT NULL,
    name             TEXT NOT NULL,
    template_name    TEXT NOT NULL,
    language         TEXT NOT NULL,
    -- How the parameters were chosen (fixed / CSV column / contact name), for `show`.
    params_json      TEXT NOT NULL,
    -- What the user asked for; 'completed' is derived (running with nothing left to send).
    state            TEXT NOT NULL CHECK (state IN ('running', 'paused', 'cancelled')),
    -- CSV rows that were refused or collapsed, with their line numbers.
    import_issues_json TEXT NOT NULL DEFAULT '[]',
    author_name      TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX broadcasts_workspace ON broadcasts(workspace_id, created_at DESC, id DESC);

-- One row per distinct recipient. The sending state is NOT copied here: it is read from the
-- outbox item and the message row (whose status sync keeps up to date), so it follows Meta's
-- statuses without a second writer. Only what the outbox cannot know is kept: a skip reason,
-- and whether the user cancelled before the item went out.
CREATE TABLE broadcast_recipients (
    id             INTEGER PRIMARY KEY,
    broadcast_id   INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    contact_id     INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
    phone          TEXT NOT NULL,          -- normalised digits (E.164 without '+')
    name           TEXT,
    body_params_json    TEXT NOT NULL DEFAULT '[]',
    header_params_json  TEXT NOT NULL DEFAULT '[]',
    skip_reason    TEXT,                   -- excluded (opted out, restricted, missing value)
    cancelled      INTEGER NOT NULL DEFAULT 0,
    outbox_id      INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
    UNIQUE (broadcast_id, phone)
);
-- Recipients still to hand to the outbox (after a restart): skip_reason and outbox_id NULL.
CREATE INDEX broadcast_recipients_pending ON broadcast_recipients(broadcast_id, outbox_id);

-- A paused broadcast's items stay queued but held: the worker passes them over.
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
