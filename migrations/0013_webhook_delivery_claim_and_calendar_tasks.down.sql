-- Undoes 0013: the calendar link to tasks (its data is lost) and the delivery claim.
ALTER TABLE calendar_events DROP COLUMN IF EXISTS task_id;

DROP FUNCTION IF EXISTS claim_webhook_delivery(interval);
DROP POLICY IF EXISTS definer_access ON webhook_delivery_logs;
REVOKE SELECT, UPDATE (next_retry_at) ON webhook_delivery_logs FROM crm_owner;
