-- A device event only owners and admins may send (a customer erased on every device) is
-- appended with `manager: true`: the relay refuses it to agents and marks it, and the other
-- devices apply such changes from marked events only.
ALTER TABLE pending_events ADD COLUMN manager INTEGER NOT NULL DEFAULT 0;
