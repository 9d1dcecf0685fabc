-- crmdb:no-transaction
-- Indexes for the catalog's hot queries that no foreign-key index already serves.
-- CREATE INDEX CONCURRENTLY cannot run in a transaction: the runner applies this file
-- statement by statement, outside a transaction (and rebuilds an INVALID leftover).
-- Hot queries 2, 3, 4 and 6 are served by the foreign-key indexes created with their
-- tables (leads, communications, template_usage_stats).

-- Hot query 1, kanban column: open, not deleted leads of one stage by score, 50 at a
-- time (id breaks ties for keyset pagination).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_organization_id_stage_id_lead_score_open
    ON leads (organization_id, stage_id, lead_score DESC, id)
    WHERE status = 'open' AND deleted_at IS NULL;

-- Hot query 5, lead search: trigram GIN over name, e-mail, phone and company, led by
-- organization_id (btree_gin) so one organization's search never walks the posting
-- lists of the others. Used through search_leads() (0010): ILIKE is not leakproof, so
-- under RLS it could not be an index condition.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_leads_organization_id_search_trgm
    ON leads USING gin (organization_id, lead_search_document(name, email, phone, company) gin_trgm_ops)
    WHERE deleted_at IS NULL;

-- Hot query 7a, AI conversation by session (latest first).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_conversations_organization_id_session_id_created_at
    ON ai_conversations (organization_id, session_id, created_at DESC);

-- Hot query 7b, analytics events of one type over the last days, by the time they
-- happened.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_analytics_events_organization_id_event_type_occurred_at
    ON analytics_events (organization_id, event_type, occurred_at DESC);

-- Hot query 8, dequeue: the next queued job of a queue by priority then run_at, across
-- organizations (FOR UPDATE SKIP LOCKED); finished jobs are not in the index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_background_jobs_queue_priority_run_at_queued
    ON background_jobs (queue, priority, run_at)
    WHERE status = 'queued';
