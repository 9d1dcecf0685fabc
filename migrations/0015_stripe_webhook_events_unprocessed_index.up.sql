-- crmdb:no-transaction
-- The Stripe event workers' claim (crmdb-store, ops/billing/events.rs) looks only at events
-- not yet processed, and for each one at the other unprocessed events of its subscription.
-- stripe_webhook_events keeps every event ever received, so without an index both reads
-- walk the whole history; this partial index holds only the unprocessed few. Built
-- concurrently: the webhook receiver keeps inserting meanwhile.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_stripe_webhook_events_received_at_unprocessed
    ON stripe_webhook_events (received_at)
    WHERE processed_at IS NULL;
