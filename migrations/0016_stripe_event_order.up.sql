-- Stripe does not deliver a subscription's events in order: an older event that arrives
-- after a newer one was applied would overwrite the newer state (a late past_due over
-- active, a late open invoice over a paid one). The Stripe event worker (crmdb-store,
-- ops/billing/events.rs) stores with each subscription and invoice the created time of the
-- last event it applied to the row, and applies an event only when it is not older. The
-- columns are nullable and have no default, so adding them rewrites nothing; rows no event
-- has touched yet keep NULL, which any event may overwrite.
ALTER TABLE subscriptions ADD COLUMN stripe_event_created_at timestamptz;
ALTER TABLE invoices ADD COLUMN stripe_event_created_at timestamptz;

COMMENT ON COLUMN subscriptions.stripe_event_created_at IS 'pii: none
Stripe''s created time of the last event applied to this row; an older event is not applied.';
COMMENT ON COLUMN invoices.stripe_event_created_at IS 'pii: none
Stripe''s created time of the last event applied to this row; an older event is not applied.';
