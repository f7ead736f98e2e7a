-- Embedded Signup sessions. The session id is a bearer secret (it authenticates the public
-- page), so only its SHA-256 is stored. `result` is the OnboardingResult JSON (the business
-- token in it is sealed to the workspace key).
CREATE TABLE onboarding_sessions (
    id_hash      BLOB PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    status       TEXT NOT NULL,
    result       TEXT,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX onboarding_sessions_workspace ON onboarding_sessions(workspace_id);

-- The business token of each onboarded WABA, AES-256-GCM under a key derived from the relay's
-- encryption key (never stored here), for fetching media later.
CREATE TABLE business_tokens (
    waba_id      TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    encrypted    BLOB NOT NULL,
    stored_at    INTEGER NOT NULL
);
CREATE INDEX business_tokens_workspace ON business_tokens(workspace_id);
