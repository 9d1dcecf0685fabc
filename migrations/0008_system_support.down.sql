DROP TABLE IF EXISTS background_jobs;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS provider_routes;
DROP TABLE IF EXISTS webhook_delivery_logs;
DROP TABLE IF EXISTS webhook_subscriptions;
