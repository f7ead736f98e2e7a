-- Invitations by an owner or admin. The relay keeps the hash of the accept token and the
-- workspace key sealed to a key derived from the link's secret, which it never sees.
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email        TEXT NOT NULL,                -- lower-cased
    role         TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    accept_hash  BLOB NOT NULL,                -- SHA-256 of the accept token
    wrapped_key  BLOB NOT NULL,                -- sealed envelope, opaque to the relay
    invited_by   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX invitations_workspace ON invitations(workspace_id);
