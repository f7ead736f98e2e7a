-- Meta's data-deletion callback requests. The app-scoped user id is kept only as a SHA-256:
-- enough to recognise a repeated request, not to identify the person.
CREATE TABLE data_deletions (
    confirmation_code TEXT PRIMARY KEY NOT NULL,
    user_hash         BLOB NOT NULL,
    requested_at      INTEGER NOT NULL,
    completed_at      INTEGER,
    status            TEXT NOT NULL,
    detail            TEXT NOT NULL
);
