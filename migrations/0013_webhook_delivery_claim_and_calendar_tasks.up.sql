-- Two things the data layer's outbox and calendar sync need:
--
-- 1. claim_webhook_delivery(): workers deliver outgoing webhooks of every organization, but
--    webhook_delivery_logs is a tenant table under forced row-level security, so a worker
--    that has entered no organization sees none of it. Like claim_background_job (0010,
--    0011), this narrow function, owned by crm_owner (no BYPASSRLS: the definer_access
--    policy below gives it exactly these rows) and executable by crm_worker alone, does the
--    claim and nothing else: it picks the earliest due pending delivery, skipping those
--    other workers hold, and pushes its next_retry_at forward by a lease, so no other worker
--    takes it while it is being delivered. Recording the outcome then runs as crm_worker in
--    the delivery's organization, under row-level security. A worker that dies mid-delivery
--    loses the lease and the delivery is retried when it runs out (at-least-once: receivers
--    tell a repeat by the delivery id sent with it).
--
-- 2. calendar_events.task_id: a synced meeting linked to the task it fulfils, next to the
--    lead it is with. The column is nullable and new, so adding it rewrites nothing; the
--    foreign key is added NOT VALID here (no scan under a lock) and validated, with its
--    index built concurrently, by 0014.

-- -----------------------------------------------------------------------------
-- The webhook-delivery claim
-- -----------------------------------------------------------------------------
GRANT SELECT, UPDATE (next_retry_at) ON webhook_delivery_logs TO crm_owner;
CREATE POLICY definer_access ON webhook_delivery_logs TO crm_owner USING (true) WITH CHECK (true);

CREATE FUNCTION claim_webhook_delivery(p_lease interval)
RETURNS SETOF webhook_delivery_logs
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  UPDATE public.webhook_delivery_logs AS d
     SET next_retry_at = now() + least(greatest(p_lease, interval '1 second'), interval '1 hour')
    FROM (SELECT w.organization_id, w.id
            FROM public.webhook_delivery_logs AS w
           WHERE w.status = 'pending' AND w.next_retry_at <= now()
           ORDER BY w.next_retry_at
           LIMIT 1
             FOR UPDATE SKIP LOCKED) AS next
   WHERE d.organization_id = next.organization_id AND d.id = next.id
  RETURNING d.*
$$;

COMMENT ON FUNCTION claim_webhook_delivery(interval) IS
  'Claims the earliest due pending webhook delivery across organizations, skipping deliveries other workers hold, and leases it by moving next_retry_at forward by p_lease (1 second to 1 hour); no row when none is due.';

ALTER FUNCTION claim_webhook_delivery(interval) OWNER TO crm_owner;
REVOKE EXECUTE ON FUNCTION claim_webhook_delivery(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_webhook_delivery(interval) TO crm_worker;

-- -----------------------------------------------------------------------------
-- calendar_events.task_id
-- -----------------------------------------------------------------------------
ALTER TABLE calendar_events ADD COLUMN task_id uuid;

-- The meeting stays on the calendar after the task is deleted.
ALTER TABLE calendar_events
    ADD CONSTRAINT fk_calendar_events_tasks
    FOREIGN KEY (organization_id, task_id)
    REFERENCES tasks (organization_id, id)
    ON DELETE SET NULL (task_id)
    NOT VALID;

COMMENT ON COLUMN calendar_events.task_id IS 'pii: none
Task the meeting fulfils; NULL if none or once the task is deleted.';
