-- The sessions of a workspace its owner deleted, by their token's hash only (no name, email or
-- workspace): a device still holding such a token is told 410 "workspace_deleted" instead of a
-- bare 401, so it can tell its person and offer to erase its copy, rather than ask for a
-- sign-in that can never work. Pruned after 180 days.
CREATE TABLE deleted_sessions (
    token_hash  BLOB PRIMARY KEY,
    deleted_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX deleted_sessions_at ON deleted_sessions(deleted_at);
