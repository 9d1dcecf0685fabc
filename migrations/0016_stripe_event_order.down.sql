-- Undoes 0016: the created time of the last Stripe event applied (the ordering guard is lost).
ALTER TABLE invoices DROP COLUMN IF EXISTS stripe_event_created_at;
ALTER TABLE subscriptions DROP COLUMN IF EXISTS stripe_event_created_at;
