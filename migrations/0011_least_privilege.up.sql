-- Least privilege: no role of the model is SUPERUSER or BYPASSRLS; the global tables are
-- scoped like the tenant tables; secrets of the sign-in tables are never readable through
-- plain SQL; a worker role, apart from the application role, is the only one that claims
-- jobs across organizations; the migration history is invisible to every crm_* role.
--
-- The roles (ARCHITECTURE.md, "Roles and privileges", is the table of record):
--   crm_owner     NOLOGIN  owns the SECURITY DEFINER functions. No BYPASSRLS: the
--                          definer_access policies below give it the rows its functions
--                          read, and nothing else logs in as it.
--   crm_app       NOLOGIN  the web application: DML on tenant tables, its own
--                          organization's row, its users, the acting user's secrets
--                          through narrow functions.
--   crm_worker    NOLOGIN  background workers: everything crm_app may (it is a member),
--                          plus the cross-organization job claim and Stripe events.
--   crm_readonly  NOLOGIN  reporting, one organization at a time (the same policies),
--                          never a credential column.
-- Logins (created by `crmdb up` or `crmdb roles login`) are NOINHERIT members of one of
-- crm_app, crm_worker, crm_readonly: until a transaction enters the role with
-- set_config('role', ..., true) they can read nothing.
--
-- A CREATEROLE login cannot create a BYPASSRLS role, so 0010's CREATE ROLE crm_owner
-- BYPASSRLS only runs where nobody prepared the roles first; crmdb prepares them before
-- migrating (crates/schema/src/roles.rs) and this file removes the attribute where an
-- earlier superuser-run 0010 set it.
--
-- The expression NULLIF(current_setting(...), '')::uuid is the one of 0010: an unset or
-- reset setting means "no rows", not a cast error.

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crm_owner' AND rolbypassrls) THEN
    ALTER ROLE crm_owner NOBYPASSRLS;
  END IF;
EXCEPTION
  WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'crm_owner has the BYPASSRLS attribute, which this login may not remove'
      USING HINT = 'Ask a superuser to run: ALTER ROLE crm_owner NOBYPASSRLS';
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'crm_worker') THEN
    CREATE ROLE crm_worker NOLOGIN NOBYPASSRLS INHERIT;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN
    NULL; -- created concurrently by another database's migration
END
$$;

DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role('crm_worker', 'crm_app', 'USAGE') THEN
    GRANT crm_app TO crm_worker;
  END IF;
EXCEPTION
  WHEN unique_violation THEN
    NULL; -- granted concurrently by another database's migration
END
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
             WHERE rolname IN ('crm_owner', 'crm_app', 'crm_worker', 'crm_readonly')
               AND (rolsuper OR rolbypassrls OR rolcanlogin)) THEN
    RAISE EXCEPTION 'the crm_* roles must be NOLOGIN and neither SUPERUSER nor BYPASSRLS';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO crm_worker;

-- -----------------------------------------------------------------------------
-- The migration history belongs to the migrating login alone.
-- -----------------------------------------------------------------------------
REVOKE ALL ON crmdb_schema_history FROM PUBLIC, crm_owner, crm_app, crm_worker, crm_readonly;

-- -----------------------------------------------------------------------------
-- Global tables: privileges by column, then policies. Row-level security is enabled
-- but not forced: the owner (the migrating login) keeps seeing every row, for seeds,
-- key rotation and maintenance; every crm_* role is confined.
-- -----------------------------------------------------------------------------
REVOKE ALL ON organizations, users, user_two_factor, user_sessions, auth_tokens,
              provider_routes, stripe_webhook_events, plans
    FROM crm_app, crm_readonly;

GRANT SELECT ON plans TO crm_app, crm_readonly;

-- Organizations: the entered one is read and updated; an organization is created by
-- entering its new id first; none is deleted by the application (offboarding is an
-- operator's task).
GRANT SELECT, INSERT, UPDATE ON organizations TO crm_app;
GRANT SELECT ON organizations TO crm_readonly;

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);
-- The organization picker: before an organization is entered, the acting user sees the
-- organizations they are a member of (organization_members' own_memberships policy).
CREATE POLICY own_organizations ON organizations
    FOR SELECT
    USING (NULLIF(current_setting('app.current_organization_id', true), '') IS NULL
           AND id IN (SELECT m.organization_id FROM organization_members AS m
                      WHERE m.user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid));

-- Users: every column but the password hash is readable for the acting user and the
-- members of the entered organization; the acting user creates (signs up) and updates
-- only their own account.
GRANT SELECT (id, email, full_name, phone, locale, is_active, email_verified_at,
              last_login_at, created_at, updated_at)
    ON users TO crm_app, crm_readonly;
GRANT INSERT (id, email, full_name, phone, locale, password_hash) ON users TO crm_app;
GRANT UPDATE (full_name, phone, locale, password_hash) ON users TO crm_app;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_account ON users
    USING (id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);
CREATE POLICY organization_users ON users
    FOR SELECT
    USING (EXISTS (SELECT 1 FROM organization_members AS m
                   WHERE m.organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid
                     AND m.user_id = users.id));

-- The acting user's second factor, sessions and e-mailed tokens: written by the
-- application, their secrets (TOTP secret, backup codes, token hashes) never read back
-- through plain SQL.
GRANT SELECT (id, user_id, encryption_key_id, enabled_at, last_used_at, created_at, updated_at)
    ON user_two_factor TO crm_app;
GRANT INSERT (user_id, secret_ciphertext, encryption_key_id, backup_code_hashes)
    ON user_two_factor TO crm_app;
GRANT UPDATE (secret_ciphertext, encryption_key_id, backup_code_hashes, enabled_at, last_used_at)
    ON user_two_factor TO crm_app;
GRANT DELETE ON user_two_factor TO crm_app;

GRANT SELECT (id, user_id, ip, user_agent, expires_at, revoked_at, last_seen_at, created_at, updated_at)
    ON user_sessions TO crm_app;
GRANT INSERT (user_id, refresh_token_hash, ip, user_agent, expires_at) ON user_sessions TO crm_app;
GRANT UPDATE (revoked_at, last_seen_at) ON user_sessions TO crm_app;
GRANT DELETE ON user_sessions TO crm_app;

GRANT SELECT (id, user_id, purpose, expires_at, used_at, created_at, updated_at)
    ON auth_tokens TO crm_app;
GRANT INSERT (user_id, purpose, token_hash, expires_at) ON auth_tokens TO crm_app;
GRANT DELETE ON auth_tokens TO crm_app;

ALTER TABLE user_two_factor ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON user_two_factor
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);

ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON user_sessions
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);

ALTER TABLE auth_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON auth_tokens
    USING (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid)
    WITH CHECK (user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid);

-- Provider routes: the entered organization adds, repoints and removes its own; the
-- webhook receiver resolves an inbound account through route_inbound() below.
GRANT SELECT, INSERT, DELETE ON provider_routes TO crm_app;
GRANT UPDATE (config_id) ON provider_routes TO crm_app;
GRANT SELECT ON provider_routes TO crm_readonly;

ALTER TABLE provider_routes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON provider_routes
    USING (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
    WITH CHECK (organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

-- Stripe events: the web receiver stores them (once, by event id); workers process them.
GRANT INSERT (stripe_event_id, type, payload, received_at) ON stripe_webhook_events TO crm_app;
GRANT SELECT, UPDATE (processed_at, processing_error) ON stripe_webhook_events TO crm_worker;

-- Invitations: the token hash is written, and matched by invitation_by_token(), never
-- read back.
REVOKE SELECT ON organization_invitations FROM crm_app;
GRANT SELECT (organization_id, id, email, role, invited_by, expires_at, accepted_at, revoked_at,
              created_at, updated_at)
    ON organization_invitations TO crm_app;

-- No temporary objects: a temporary view or table named like a CRM table would come first
-- on the search path of every later transaction of a pooled connection, and could read or
-- rewrite the next organization's statements. The database's owner keeps the right.
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

-- -----------------------------------------------------------------------------
-- Reporting never reads a credential column of a tenant table either.
-- -----------------------------------------------------------------------------
REVOKE SELECT ON organization_invitations, whatsapp_configs, voip_configs, calendar_integrations,
                 marketing_integrations, webhook_subscriptions, api_keys
    FROM crm_readonly;
GRANT SELECT (organization_id, id, email, role, invited_by, expires_at, accepted_at, revoked_at,
              created_at, updated_at)
    ON organization_invitations TO crm_readonly;
GRANT SELECT (organization_id, id, provider, phone_number, phone_number_id, business_account_id,
              encryption_key_id, is_active, setup_completed, last_sync_at, created_at, updated_at)
    ON whatsapp_configs TO crm_readonly;
GRANT SELECT (organization_id, id, provider, phone_number, encryption_key_id, cost_per_minute,
              currency, is_active, setup_completed, created_at, updated_at)
    ON voip_configs TO crm_readonly;
GRANT SELECT (organization_id, id, user_id, provider, encryption_key_id, token_expires_at,
              calendar_id, sync_cursor, sync_status, is_active, last_sync_at, created_at, updated_at)
    ON calendar_integrations TO crm_readonly;
GRANT SELECT (organization_id, id, platform, account_id, encryption_key_id, token_expires_at,
              is_active, last_import_at, total_leads_imported, created_at, updated_at)
    ON marketing_integrations TO crm_readonly;
GRANT SELECT (organization_id, id, url, description, encryption_key_id, events, is_active,
              failure_count, last_ping_at, created_at, updated_at)
    ON webhook_subscriptions TO crm_readonly;
GRANT SELECT (organization_id, id, service_name, key_name, encryption_key_id, key_hint, is_active,
              expires_at, last_used_at, created_at, updated_at)
    ON api_keys TO crm_readonly;

-- -----------------------------------------------------------------------------
-- What the definer functions (owned by crm_owner) may touch: a policy for their owner
-- alone. Each function filters explicitly; these policies only replace BYPASSRLS.
-- -----------------------------------------------------------------------------
REVOKE ALL ON leads, background_jobs FROM crm_owner;
GRANT SELECT ON leads TO crm_owner;
GRANT SELECT, UPDATE ON background_jobs TO crm_owner;
GRANT SELECT, UPDATE (password_hash, last_login_at, email_verified_at) ON users TO crm_owner;
GRANT SELECT ON user_two_factor TO crm_owner;
GRANT SELECT, UPDATE (revoked_at) ON user_sessions TO crm_owner;
GRANT SELECT, INSERT (user_id, purpose, token_hash, expires_at), UPDATE (used_at) ON auth_tokens TO crm_owner;
GRANT SELECT ON provider_routes TO crm_owner;
-- invitation_by_token reads and locks through tenant_isolation, in the entered organization.
GRANT SELECT, UPDATE (accepted_at) ON organization_invitations TO crm_owner;

CREATE POLICY definer_access ON leads FOR SELECT TO crm_owner USING (true);
CREATE POLICY definer_access ON background_jobs TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY definer_access ON users TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY definer_access ON user_two_factor FOR SELECT TO crm_owner USING (true);
CREATE POLICY definer_access ON user_sessions TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY definer_access ON auth_tokens TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY definer_access ON provider_routes FOR SELECT TO crm_owner USING (true);

-- -----------------------------------------------------------------------------
-- Lead search: the same query as 0010, refusing an oversized search text first.
-- octet_length reads the length word of the value, so a 10 MB text is refused in
-- microseconds, before any trimming, escaping or matching. PL/pgSQL for the clear error;
-- force_custom_plan plans each call with its values, as the SQL function of 0010 was,
-- so the trigram index keeps serving the pattern.
-- -----------------------------------------------------------------------------
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
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
#variable_conflict use_column
BEGIN
  IF octet_length(p_query) > 400 THEN
    RAISE EXCEPTION 'the search text is % bytes long; at most 400 are accepted', octet_length(p_query)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN QUERY
  SELECT l.id, l.name, l.email, l.phone, l.company, l.pipeline_id, l.stage_id, l.lead_score, l.status
  FROM public.leads AS l
  WHERE l.organization_id = p_organization_id
    AND p_organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid
    AND l.deleted_at IS NULL
    AND char_length(btrim(p_query)) >= 3
    AND public.lead_search_document(l.name, l.email, l.phone, l.company)
        ILIKE '%' || replace(replace(replace(btrim(p_query), '!', '!!'), '%', '!%'), '_', '!_') || '%' ESCAPE '!'
  ORDER BY public.word_similarity(btrim(p_query), public.lead_search_document(l.name, l.email, l.phone, l.company)) DESC,
           l.lead_score DESC,
           l.id
  LIMIT least(greatest(coalesce(p_limit, 20), 1), 100);
END
$$;

COMMENT ON FUNCTION search_leads(uuid, text, integer) IS
  'Lead search by part (3 to 400 bytes) of name, e-mail, phone or company within the caller''s organization (must equal app.current_organization_id); uses the trigram index. At most 100 rows, best word match first.';

-- -----------------------------------------------------------------------------
-- The job claim is the workers' alone.
-- -----------------------------------------------------------------------------
REVOKE EXECUTE ON FUNCTION claim_background_job(text, text) FROM PUBLIC, crm_app;
GRANT EXECUTE ON FUNCTION claim_background_job(text, text) TO crm_worker;

-- -----------------------------------------------------------------------------
-- Sign-in functions: each takes the secret (or what the application derived from it)
-- as input and returns a verdict or a row without secrets.
-- -----------------------------------------------------------------------------

-- Passwords are argon2id PHC strings ($argon2id$v=19$m=..,t=..,p=..$salt$hash). The
-- application asks for the parameters and salt (no secret), hashes the candidate
-- password with them, and login_verify compares the whole string inside the database.
CREATE FUNCTION login_parameters(p_email text)
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT substring(u.password_hash FROM '^(.*)\$[^$]*$')
    FROM public.users AS u
   WHERE u.email = lower(p_email) AND u.is_active AND u.password_hash IS NOT NULL
$$;

COMMENT ON FUNCTION login_parameters(text) IS
  'The argon2 parameters and salt of an active user''s password (the PHC string without its hash), so the application can hash a candidate password for login_verify; NULL for an unknown e-mail.';

CREATE FUNCTION login_verify(p_email text, p_candidate_hash text)
RETURNS uuid
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  UPDATE public.users AS u
     SET last_login_at = now()
   WHERE u.email = lower(p_email) AND u.is_active
     AND u.password_hash IS NOT NULL AND u.password_hash = p_candidate_hash
  RETURNING u.id
$$;

COMMENT ON FUNCTION login_verify(text, text) IS
  'The id of the active user whose password hash equals the candidate (hashed by the application with login_parameters), recording the login; NULL otherwise.';

CREATE FUNCTION two_factor_secret()
RETURNS TABLE (encryption_key_id text, secret_ciphertext bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT f.encryption_key_id, f.secret_ciphertext
    FROM public.user_two_factor AS f
   WHERE f.user_id = NULLIF(current_setting('app.current_user_id', true), '')::uuid
$$;

COMMENT ON FUNCTION two_factor_secret() IS
  'The sealed TOTP secret of the acting user (app.current_user_id), to verify a code; no other user''s.';

CREATE FUNCTION session_by_token(p_refresh_token_hash bytea)
RETURNS TABLE (session_id uuid, user_id uuid, expires_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT s.id, s.user_id, s.expires_at
    FROM public.user_sessions AS s
    JOIN public.users AS u ON u.id = s.user_id
   WHERE s.refresh_token_hash = p_refresh_token_hash
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
$$;

COMMENT ON FUNCTION session_by_token(bytea) IS
  'The live session (not revoked, not expired, active user) whose refresh token hashes to the argument; no row otherwise.';

CREATE FUNCTION issue_password_reset(p_email text, p_token_hash bytea, p_expires_at timestamptz)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH issued AS (
    INSERT INTO public.auth_tokens (user_id, purpose, token_hash, expires_at)
    SELECT u.id, 'password_reset', p_token_hash, p_expires_at
      FROM public.users AS u
     WHERE u.email = lower(p_email) AND u.is_active
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM issued)
$$;

COMMENT ON FUNCTION issue_password_reset(text, bytea, timestamptz) IS
  'Stores the hash of a password-reset token for the active user with this e-mail (the caller e-mails the token); false when there is none, which the caller must not reveal.';

CREATE FUNCTION consume_auth_token(p_purpose text, p_token_hash bytea)
RETURNS uuid
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH used AS (
    UPDATE public.auth_tokens AS t
       SET used_at = now()
     WHERE t.token_hash = p_token_hash AND t.purpose = p_purpose
       AND t.used_at IS NULL AND t.expires_at > now()
    RETURNING t.user_id
  ), verified AS (
    UPDATE public.users AS u
       SET email_verified_at = coalesce(u.email_verified_at, now())
      FROM used
     WHERE u.id = used.user_id AND p_purpose = 'email_verification'
  )
  SELECT user_id FROM used
$$;

COMMENT ON FUNCTION consume_auth_token(text, bytea) IS
  'Consumes an unused, unexpired token of the purpose (single use) and returns its user; e-mail verification also marks the e-mail verified. NULL for an unknown, used or expired token.';

CREATE FUNCTION reset_password(p_token_hash bytea, p_password_hash text)
RETURNS uuid
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  WITH used AS (
    UPDATE public.auth_tokens AS t
       SET used_at = now()
     WHERE t.token_hash = p_token_hash AND t.purpose = 'password_reset'
       AND t.used_at IS NULL AND t.expires_at > now()
    RETURNING t.user_id
  ), changed AS (
    UPDATE public.users AS u
       SET password_hash = p_password_hash
      FROM used
     WHERE u.id = used.user_id
  ), signed_out AS (
    UPDATE public.user_sessions AS s
       SET revoked_at = now()
      FROM used
     WHERE s.user_id = used.user_id AND s.revoked_at IS NULL
  )
  SELECT user_id FROM used
$$;

COMMENT ON FUNCTION reset_password(bytea, text) IS
  'Consumes a password-reset token, sets the user''s new password hash and revokes every session of that user; returns the user, or NULL for an unknown, used or expired token.';

CREATE FUNCTION invitation_by_token(p_token_hash bytea)
RETURNS TABLE (id uuid, email text, role text, invited_by uuid, expires_at timestamptz)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT i.id, i.email, i.role, i.invited_by, i.expires_at
    FROM public.organization_invitations AS i
   WHERE i.organization_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid
     AND i.token_hash = p_token_hash
     AND i.accepted_at IS NULL AND i.revoked_at IS NULL
     FOR UPDATE
$$;

COMMENT ON FUNCTION invitation_by_token(bytea) IS
  'The pending invitation of the entered organization whose token hashes to the argument, locked for its acceptance in the caller''s transaction; no row otherwise.';

CREATE FUNCTION route_inbound(p_provider text, p_external_account_id text)
RETURNS TABLE (organization_id uuid, config_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT r.organization_id, r.config_id
    FROM public.provider_routes AS r
   WHERE r.provider = p_provider AND r.external_account_id = p_external_account_id
$$;

COMMENT ON FUNCTION route_inbound(text, text) IS
  'The organization (and its config row) that owns an inbound provider account, for a webhook that arrives before any organization is known.';

ALTER FUNCTION login_parameters(text) OWNER TO crm_owner;
ALTER FUNCTION login_verify(text, text) OWNER TO crm_owner;
ALTER FUNCTION two_factor_secret() OWNER TO crm_owner;
ALTER FUNCTION session_by_token(bytea) OWNER TO crm_owner;
ALTER FUNCTION issue_password_reset(text, bytea, timestamptz) OWNER TO crm_owner;
ALTER FUNCTION consume_auth_token(text, bytea) OWNER TO crm_owner;
ALTER FUNCTION reset_password(bytea, text) OWNER TO crm_owner;
ALTER FUNCTION route_inbound(text, text) OWNER TO crm_owner;
ALTER FUNCTION invitation_by_token(bytea) OWNER TO crm_owner;

REVOKE EXECUTE ON FUNCTION login_parameters(text), login_verify(text, text), two_factor_secret(),
    session_by_token(bytea), issue_password_reset(text, bytea, timestamptz),
    consume_auth_token(text, bytea), reset_password(bytea, text), route_inbound(text, text),
    invitation_by_token(bytea)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_parameters(text), login_verify(text, text), two_factor_secret(),
    session_by_token(bytea), issue_password_reset(text, bytea, timestamptz),
    consume_auth_token(text, bytea), reset_password(bytea, text), route_inbound(text, text),
    invitation_by_token(bytea)
    TO crm_app;
