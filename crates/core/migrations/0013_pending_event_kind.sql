-- What a queued device event is (its wire `type`), so that one the relay refuses for good (an
-- owner's or admin's change after the role was taken away) can be named in the activity log
-- when it is dropped. NULL for events queued before this migration.
ALTER TABLE pending_events ADD COLUMN kind TEXT;
