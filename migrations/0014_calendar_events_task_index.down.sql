-- crmdb:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_calendar_events_organization_id_task_id;
