-- Templates, account events and privacy operations.

-- Webhooks arrive at least once and a relay page may be redelivered: the same template or
-- account event must land once. (A status seen again later, at another time, is a new row.)
CREATE UNIQUE INDEX template_status_history_once
    ON template_status_history(template_id, event, value, ts);
CREATE UNIQUE INDEX account_events_once
    ON account_events(workspace_id, kind, ts, payload_json);

-- Meta's time (entry.time) of the status a webhook last set. Webhooks may arrive out of order:
-- an older status update is recorded in the history but does not overwrite a newer one. NULL
-- after a Graph sync, create or edit (their status is current as of that moment).
ALTER TABLE templates ADD COLUMN status_at INTEGER;

-- Finds a template from a webhook, which names it by Meta's id.
CREATE INDEX templates_meta_id ON templates(meta_id) WHERE meta_id IS NOT NULL;

-- Retention deletes the oldest rows first, in batches.
CREATE INDEX messages_ts ON messages(ts);
CREATE INDEX sync_raw_events_created ON sync_raw_events(created_at);

-- The activity log is append-only: no update (0001) and no delete either. Retention never
-- touches it, and erasing a contact logs the erasure without its content.
CREATE TRIGGER activity_log_no_delete BEFORE DELETE ON activity_log
BEGIN SELECT RAISE(ABORT, 'activity_log is append-only'); END;
