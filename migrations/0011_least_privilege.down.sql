-- Undoes 0011 in this database: the grants, policies and functions of 0010 come back.
-- The roles are cluster-wide and shared with the other databases of the cluster, so they
-- are left as they are: crm_worker stays, and crm_owner does not get BYPASSRLS back (a
-- CREATEROLE login could not give it, and the other databases do not want it). Without
-- BYPASSRLS, 0010's claim_background_job sees only the jobs of the entered organization.

DROP FUNCTION IF EXISTS invitation_by_token(bytea);
DROP FUNCTION IF EXISTS route_inbound(text, text);
DROP FUNCTION IF EXISTS reset_password(bytea, text);
DROP FUNCTION IF EXISTS consume_auth_token(text, bytea);
DROP FUNCTION IF EXISTS issue_password_reset(text, bytea, timestamptz);
DROP FUNCTION IF EXISTS session_by_token(bytea);
DROP FUNCTION IF EXISTS two_factor_secret();
DROP FUNCTION IF EXISTS login_verify(text, text);
DROP FUNCTION IF EXISTS login_parameters(text);

REVOKE EXECUTE ON FUNCTION claim_background_job(text, text) FROM crm_worker;
GRANT EXECUTE ON FUNCTION claim_background_job(text, text) TO crm_app;

CREATE OR REPLACE FUNCTION search_leads(p_organization_id uuid, p_query text, p_limit integer DEFAULT 20)
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

DROP POLICY IF EXISTS definer_access ON provider_routes;
DROP POLICY IF EXISTS definer_access ON auth_tokens;
DROP POLICY IF EXISTS definer_access ON user_sessions;
DROP POLICY IF EXISTS definer_access ON user_two_factor;
DROP POLICY IF EXISTS definer_access ON users;
DROP POLICY IF EXISTS definer_access ON background_jobs;
DROP POLICY IF EXISTS definer_access ON leads;

REVOKE ALL ON users, user_two_factor, user_sessions, auth_tokens, provider_routes,
              organization_invitations
    FROM crm_owner;

REVOKE SELECT ON organization_invitations FROM crm_app;
GRANT SELECT ON organization_invitations TO crm_app;

DO $$
BEGIN
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END
$$;

DROP POLICY IF EXISTS tenant_isolation ON provider_routes;
ALTER TABLE provider_routes DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON auth_tokens;
ALTER TABLE auth_tokens DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON user_sessions;
ALTER TABLE user_sessions DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON user_two_factor;
ALTER TABLE user_two_factor DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS organization_users ON users;
DROP POLICY IF EXISTS own_account ON users;
ALTER TABLE users DISABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_organizations ON organizations;
DROP POLICY IF EXISTS tenant_isolation ON organizations;
ALTER TABLE organizations DISABLE ROW LEVEL SECURITY;

-- 0010's grants, as it gave them, but for the migration history, which stays closed.
REVOKE ALL ON organizations, users, user_two_factor, user_sessions, auth_tokens,
              provider_routes, stripe_webhook_events, plans
    FROM crm_app, crm_worker, crm_readonly;
REVOKE ALL ON organization_invitations, whatsapp_configs, voip_configs, calendar_integrations,
              marketing_integrations, webhook_subscriptions, api_keys
    FROM crm_readonly;
GRANT SELECT, INSERT, UPDATE, DELETE ON organizations, users, user_two_factor, user_sessions,
    auth_tokens, provider_routes, stripe_webhook_events
    TO crm_app;
GRANT SELECT ON plans TO crm_app;
GRANT SELECT ON organizations, provider_routes, stripe_webhook_events, plans,
    organization_invitations, whatsapp_configs, voip_configs, calendar_integrations,
    marketing_integrations, webhook_subscriptions, api_keys
    TO crm_readonly;
GRANT SELECT (id, email, full_name, phone, locale, is_active, email_verified_at,
              last_login_at, created_at, updated_at)
    ON users TO crm_readonly;

REVOKE USAGE ON SCHEMA public FROM crm_worker;
