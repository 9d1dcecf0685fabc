DROP TABLE IF EXISTS marketing_integrations;
DROP TABLE IF EXISTS calendar_events;
DROP TABLE IF EXISTS calendar_integrations;
DROP TABLE IF EXISTS analytics_events;
