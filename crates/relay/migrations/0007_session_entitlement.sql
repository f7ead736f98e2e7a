-- Where a device session's view of the log begins: the workspace's pruned_through when the
-- session was created. Events pruned before a device existed were never owed to it, so a new
-- sign-in or a member joining by invitation reads from the oldest retained event instead of
-- being told to resync; a session that later falls behind retention (pruned_through rises
-- above this) still gets resync_required. Sessions from before this migration keep 0: the
-- old, stricter behaviour.
ALTER TABLE device_sessions ADD COLUMN entitled_after INTEGER NOT NULL DEFAULT 0;
