-- Customers erased on this device or by another one: a keyed hash of each of their ids
-- (wa_id, user_id; the key is the `privacy.erasure_key` setting) and when they were last
-- erased, in Unix milliseconds. Events about them dated before that which arrive later (a
-- teammate's queued reply, a late read receipt, Meta's retry of an older message) are not
-- applied, so that an erased customer does not come back (privacy::tombstones).
CREATE TABLE erased_contacts (
    id_hash    BLOB PRIMARY KEY,
    erased_at  INTEGER NOT NULL
) WITHOUT ROWID;
