-- Roles, grants, row-level security on every tenant table, the lead search function
-- and the job claim function.
--
-- Roles are cluster-wide while this migration runs once per database, possibly in
-- many databases of one cluster at the same time (tests do): each role is created only
-- if missing, and a concurrent creator's duplicate_object / unique_violation is
-- swallowed. The down migration leaves the roles in place (other databases use them).
--
--   crm_owner    NOLOGIN BYPASSRLS  owns SECURITY DEFINER functions (search_leads,
--                                   claim_background_job).
--   crm_app      NOLOGIN            the application: DML, RLS enforced (neither owner
--                                   nor BYPASSRLS). Per transaction the data layer does
--                                   SET LOCAL ROLE crm_app and
--                                   set_config('app.current_organization_id', org, true).
--   crm_readonly NOLOGIN            reporting: SELECT only, RLS enforced as well.
--
-- Secret-looking column names (token/secret/password/credential/key) that are NOT
-- secrets, and therefore do not end in _hash/_ciphertext/_hint/_prefix/_key_id:
--   custom_field_definitions.key      property name of a custom field in leads.custom_fields
--   api_keys.key_name                 the label the organization gave the key
--   ai_conversations.token_usage      count of LLM tokens consumed (a cost counter)
--   calendar_integrations.token_expires_at   expiry timestamp of the sealed access token
--   marketing_integrations.token_expires_at  expiry timestamp of the sealed access token
-- (calendar_integrations.sync_cursor is a provider sync cursor, and its name does not
-- match.) Every *_key_id column (encryption_key_id) names the AEAD key that sealed the
-- row's *_ciphertext columns; it is an identifier, not key material.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crm_owner') THEN
    CREATE ROLE crm_owner NOLOGIN BYPASSRLS;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN
    NULL; -- created concurrently by another database's migration
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crm_app') THEN
    CREATE ROLE crm_app NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crm_readonly') THEN
    CREATE ROLE crm_readonly NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- Fail loudly rather than silently run the application without row security.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
             WHERE rolname IN ('crm_app', 'crm_readonly') AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'crm_app and crm_readonly must be neither superuser nor BYPASSRLS';
  END IF;
END
$$;

-- -----------------------------------------------------------------------------
-- Grants (per database)
-- -----------------------------------------------------------------------------
GRANT USAGE ON SCHEMA public TO crm_owner, crm_app, crm_readonly;

-- The application: DML everywhere, RLS decides which rows.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO crm_app;
-- The audit log is append-only for the application.
REVOKE UPDATE, DELETE ON audit_logs FROM crm_app;
-- The plan catalogue is maintained by the seed step, not by the application.
REVOKE INSERT, UPDATE, DELETE ON plans FROM crm_app;

-- Reporting: read everything except credentials.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO crm_readonly;
REVOKE SELECT ON user_two_factor, user_sessions, auth_tokens FROM crm_readonly;
REVOKE SELECT ON users FROM crm_readonly;
GRANT SELECT (id, email, full_name, phone, locale, is_active, email_verified_at,
              last_login_at, created_at, updated_at)
    ON users TO crm_readonly;

-- The owner of search_leads reads leads with its explicit organization filter.
GRANT SELECT ON leads TO crm_owner;
-- The owner of claim_background_job locks and claims the next due job of any
-- organization.
GRANT SELECT, UPDATE ON background_jobs TO crm_owner;

-- Functions: uuid_generate_v7, set_updated_at, template_placeholders and
-- lead_search_document keep PostgreSQL's default EXECUTE for PUBLIC; only
-- search_leads and claim_background_job are restricted (below).

-- -----------------------------------------------------------------------------
-- Row-level security: enabled and forced on every tenant table. NULLIF makes an unset
-- or reset ('') organization mean "no rows" instead of a cast error.
-- -----------------------------------------------------------------------------

ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_members
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE organization_invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_invitations
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_logs
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON subscriptions
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipelines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipelines
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE pipeline_stages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipeline_stages
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON leads
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE lead_favorites ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_favorites FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_favorites
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE lead_stage_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_stage_history FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_stage_history
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE communications ENABLE ROW LEVEL SECURITY;
ALTER TABLE communications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON communications
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE lead_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_notes
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tags
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE lead_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_tags
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE custom_field_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_field_definitions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_field_definitions
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_templates
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE template_usage_stats ENABLE ROW LEVEL SECURITY;
ALTER TABLE template_usage_stats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON template_usage_stats
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE whatsapp_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_configs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_configs
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE voip_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE voip_configs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON voip_configs
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE ai_conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_conversations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_conversations
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE ai_training_data ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_training_data FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_training_data
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE lead_scoring_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_scoring_models FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lead_scoring_models
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE analytics_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analytics_events
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE calendar_integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calendar_integrations
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE calendar_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calendar_events
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE marketing_integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE marketing_integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON marketing_integrations
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE webhook_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_subscriptions
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE webhook_delivery_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_delivery_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_delivery_logs
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

ALTER TABLE background_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE background_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON background_jobs
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

-- The organization picker after login: with no organization chosen yet, a user may
-- read (only read) their own memberships, identified by app.current_user_id. Once an
-- organization is set, only tenant_isolation applies.
CREATE POLICY own_memberships ON organization_members
    FOR SELECT
    USING (NULLIF(current_setting('app.current_organization_id', true), '') IS NULL
           AND user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);

-- -----------------------------------------------------------------------------
-- Lead search (hot query 5)
-- -----------------------------------------------------------------------------
-- Under RLS only leakproof operators can be index conditions, and ILIKE is not, so a
-- search through the policy would scan every lead of the table. This narrow function
-- runs as crm_owner (BYPASSRLS) with a fixed search_path and filters explicitly: the
-- caller may only search the organization set in app.current_organization_id.
CREATE FUNCTION search_leads(p_organization_id uuid, p_query text, p_limit integer DEFAULT 20)
RETURNS TABLE (
    id           uuid,
    name         text,
    email        text,
    phone        text,
    company      text,
    pipeline_id  uuid,
    stage_id     uuid,
    lead_score   integer,
    status       text
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT l.id, l.name, l.email, l.phone, l.company, l.pipeline_id, l.stage_id, l.lead_score, l.status
  FROM public.leads AS l
  WHERE l.organization_id = p_organization_id
    AND p_organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid
    AND l.deleted_at IS NULL
    -- Trigram search needs at least one trigram: shorter queries would walk the
    -- whole index, so they return nothing.
    AND char_length(btrim(p_query)) >= 3
    -- The query is a literal substring: LIKE wildcards in it are escaped (with '!',
    -- which keeps backslashes out of this file).
    AND public.lead_search_document(l.name, l.email, l.phone, l.company)
        ILIKE '%' || replace(replace(replace(btrim(p_query), '!', '!!'), '%', '!%'), '_', '!_') || '%' ESCAPE '!'
  ORDER BY public.word_similarity(btrim(p_query), public.lead_search_document(l.name, l.email, l.phone, l.company)) DESC,
           l.lead_score DESC,
           l.id
  LIMIT least(greatest(coalesce(p_limit, 20), 1), 100)
$$;

COMMENT ON FUNCTION search_leads(uuid, text, integer) IS
  'Lead search by part (3+ characters) of name, e-mail, phone or company within the caller''s organization (must equal app.current_organization_id); uses the trigram index. At most 100 rows, best word match first.';

ALTER FUNCTION search_leads(uuid, text, integer) OWNER TO crm_owner;
REVOKE EXECUTE ON FUNCTION search_leads(uuid, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_leads(uuid, text, integer) TO crm_app;

-- -----------------------------------------------------------------------------
-- Job claim (hot query 8)
-- -----------------------------------------------------------------------------
-- Workers claim the next due job of a queue across organizations, which the
-- tenant_isolation policy of background_jobs (forced) hides from crm_app. This narrow
-- function runs as crm_owner (BYPASSRLS) with a fixed search_path and does exactly the
-- claim: it locks the next due queued job of p_queue (lowest priority number, then
-- earliest run_at; the partial index idx_background_jobs_queue_priority_run_at_queued),
-- skipping jobs other workers hold, and marks it running for p_worker. Completing or
-- failing the job then runs as crm_app in the job's organization, under RLS.
CREATE FUNCTION claim_background_job(p_queue text, p_worker text)
RETURNS SETOF background_jobs
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  UPDATE public.background_jobs AS j
     SET status = 'running', locked_at = now(), locked_by = p_worker, attempts = j.attempts + 1
    FROM (SELECT b.organization_id, b.id
            FROM public.background_jobs AS b
           WHERE b.queue = p_queue AND b.status = 'queued' AND b.run_at <= now()
           ORDER BY b.priority, b.run_at
           LIMIT 1
             FOR UPDATE SKIP LOCKED) AS next
   WHERE j.organization_id = next.organization_id AND j.id = next.id
  RETURNING j.*
$$;

COMMENT ON FUNCTION claim_background_job(text, text) IS
  'Claims the next due queued job of the queue across organizations for the worker (status running, attempts + 1, locked_by), lowest priority number then earliest run_at, skipping jobs other workers hold; no row when none is free.';

ALTER FUNCTION claim_background_job(text, text) OWNER TO crm_owner;
REVOKE EXECUTE ON FUNCTION claim_background_job(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION claim_background_job(text, text) TO crm_app;
