-- Removing a member keeps their row (marked, not deleted): what they did stays attributable
-- (events name their session, invitations their id) and the list can show them as removed.
-- A removed member's sessions are revoked in the same transaction and they cannot sign in.
ALTER TABLE users ADD COLUMN removed_at INTEGER;
