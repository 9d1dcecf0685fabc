-- crmdb:no-transaction
-- The index of calendar_events.task_id (0013), built without blocking the calendar sync's
-- writes, and then the validation of its foreign key, which scans the table under a lock
-- that lets reads and writes go on. Outside a transaction: CREATE INDEX CONCURRENTLY cannot
-- run in one, and the runner rebuilds an INVALID leftover.

-- A task's meetings; serves fk_calendar_events_tasks (ON DELETE SET NULL of a task).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_calendar_events_organization_id_task_id
    ON calendar_events (organization_id, task_id);

ALTER TABLE calendar_events VALIDATE CONSTRAINT fk_calendar_events_tasks;
