-- The outbox worker picks the next due item with `state = 'queued' AND held = 0 ... ORDER BY
-- due_ms, id`, and checks that no earlier item of the same conversation is still unsent.
-- SQLite does not infer that `state = 'queued'` implies the older partial indexes'
-- `state IN ('queued', 'sending')`, so with thousands of queued broadcast items it scanned and
-- sorted the whole table for every send (22 ms per item, which capped a broadcast near
-- 40 msg/s). These partial indexes match the worker's terms exactly.
CREATE INDEX outbox_next_due ON outbox(due_ms) WHERE state = 'queued' AND held = 0;
CREATE INDEX outbox_unsent_by_conversation ON outbox(conversation_id, id)
    WHERE state IN ('queued', 'sending');
