-- crmdb:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS idx_stripe_webhook_events_received_at_unprocessed;
