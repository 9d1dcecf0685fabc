-- Identity and tenancy: the tenant root (organizations), the global identity tables
-- (users and their credentials) and the tenant tables that tie users to organizations.
--
-- Conventions used by every migration from here on (see docs: schema catalog):
--   * tenant tables: PRIMARY KEY (organization_id, id); every foreign key to another
--     tenant table is composite and includes organization_id, so a row can never point
--     at a row of another organization.
--   * "member" references ((organization_id, <x>_user_id) -> organization_members
--     (organization_id, user_id)) prove the user belongs to the same organization.
--   * secrets: *_ciphertext (AEAD-sealed by the application, the row's AEAD key named in
--     encryption_key_id) or *_hash when the value is only ever compared.
--   * closed sets are text + CHECK, never enums.

-- -----------------------------------------------------------------------------
-- organizations
-- -----------------------------------------------------------------------------
CREATE TABLE organizations (
    id          uuid        NOT NULL DEFAULT uuid_generate_v7(),
    name        text        NOT NULL,
    slug        text        NOT NULL,
    locale      text        NOT NULL DEFAULT 'pt-BR',
    timezone    text        NOT NULL DEFAULT 'America/Sao_Paulo',
    currency    text        NOT NULL DEFAULT 'BRL',
    settings    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    deleted_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_organizations PRIMARY KEY (id),
    CONSTRAINT uq_organizations_slug UNIQUE (slug),
    CONSTRAINT ck_organizations_name CHECK (btrim(name) <> ''),
    -- Usable as a DNS label (subdomains): lower-case letters, digits and inner hyphens.
    CONSTRAINT ck_organizations_slug CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT ck_organizations_locale CHECK (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
    -- An IANA zone name; that it exists is checked by the application (pg_timezone_names
    -- cannot be used in a CHECK).
    CONSTRAINT ck_organizations_timezone CHECK (timezone ~ '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$'),
    CONSTRAINT ck_organizations_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_organizations_settings CHECK (jsonb_typeof(settings) = 'object')
);

COMMENT ON TABLE organizations IS
  'scope: global. The tenant root: every tenant table references it with ON DELETE CASCADE, so deleting an organization offboards it completely.';
COMMENT ON COLUMN organizations.slug IS 'URL/subdomain identifier, lower-case [a-z0-9-], unique across the platform.';
COMMENT ON COLUMN organizations.currency IS 'ISO 4217 code; default currency of leads and templates of the organization.';
COMMENT ON COLUMN organizations.deleted_at IS 'Soft delete (grace period before the hard DELETE that cascades to all tenant rows).';

CREATE TRIGGER trg_organizations_updated_at
    BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- users
-- -----------------------------------------------------------------------------
CREATE TABLE users (
    id                 uuid        NOT NULL DEFAULT uuid_generate_v7(),
    email              text        NOT NULL,
    password_hash      text,
    full_name          text        NOT NULL,
    phone              text,
    locale             text        NOT NULL DEFAULT 'pt-BR',
    is_active          boolean     NOT NULL DEFAULT true,
    email_verified_at  timestamptz,
    last_login_at      timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email),
    -- Lower-case text instead of citext: text equality is leakproof, so it stays an
    -- index condition under row-level security.
    CONSTRAINT ck_users_email_lower CHECK (email = lower(email)),
    CONSTRAINT ck_users_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT ck_users_password_hash CHECK (password_hash ~ '^\$argon2(id|i|d)\$'),
    CONSTRAINT ck_users_full_name CHECK (btrim(full_name) <> ''),
    CONSTRAINT ck_users_phone CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck_users_locale CHECK (locale ~ '^[a-z]{2,3}(-[A-Z]{2})?$')
);

COMMENT ON TABLE users IS
  'scope: global. A person who can sign in; belongs to organizations through organization_members.';
COMMENT ON COLUMN users.email IS 'Lower-case login e-mail, unique across the platform.';
COMMENT ON COLUMN users.password_hash IS 'Argon2 PHC string ($argon2id$...); NULL for users who have not set a password (invited, magic link only).';
COMMENT ON COLUMN users.phone IS 'E.164 phone number (+5511999999999).';

CREATE TRIGGER trg_users_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- organization_members
-- -----------------------------------------------------------------------------
CREATE TABLE organization_members (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id          uuid        NOT NULL,
    role             text        NOT NULL DEFAULT 'agent',
    status           text        NOT NULL DEFAULT 'active',
    invited_by       uuid,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_organization_members PRIMARY KEY (organization_id, id),
    -- Target of every "member" foreign key: (organization_id, user_id) proves the user
    -- belongs to that organization.
    CONSTRAINT uq_organization_members_organization_id_user_id UNIQUE (organization_id, user_id),
    CONSTRAINT fk_organization_members_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Membership ends with the user account.
    CONSTRAINT fk_organization_members_users
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    -- The inviter was a member of the same organization; the membership outlives the
    -- inviter's.
    CONSTRAINT fk_organization_members_organization_members
        FOREIGN KEY (organization_id, invited_by)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (invited_by),
    CONSTRAINT ck_organization_members_role CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
    CONSTRAINT ck_organization_members_status CHECK (status IN ('active', 'suspended'))
);

COMMENT ON TABLE organization_members IS
  'scope: tenant. Membership of a user in an organization, with the role that decides what the user may do there.';
COMMENT ON COLUMN organization_members.invited_by IS 'user_id of the member who invited this one (NULL once that member leaves).';

-- "My organizations" (organization picker after login) and the users foreign key.
CREATE INDEX idx_organization_members_user_id
    ON organization_members (user_id);
CREATE INDEX idx_organization_members_organization_id_invited_by
    ON organization_members (organization_id, invited_by);

CREATE TRIGGER trg_organization_members_updated_at
    BEFORE UPDATE ON organization_members
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- organization_invitations
-- -----------------------------------------------------------------------------
CREATE TABLE organization_invitations (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    email            text        NOT NULL,
    role             text        NOT NULL DEFAULT 'agent',
    token_hash       bytea       NOT NULL,
    invited_by       uuid,
    expires_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    revoked_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_organization_invitations PRIMARY KEY (organization_id, id),
    -- Scoped by organization (distribution column in every unique key): the invitation
    -- link carries the organization id, which the application must set for RLS anyway.
    CONSTRAINT uq_organization_invitations_organization_id_token_hash UNIQUE (organization_id, token_hash),
    CONSTRAINT fk_organization_invitations_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_organization_invitations_organization_members
        FOREIGN KEY (organization_id, invited_by)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (invited_by),
    CONSTRAINT ck_organization_invitations_email_lower CHECK (email = lower(email)),
    CONSTRAINT ck_organization_invitations_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT ck_organization_invitations_role CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
    -- SHA-256 of the random token sent by e-mail.
    CONSTRAINT ck_organization_invitations_token_hash CHECK (octet_length(token_hash) = 32),
    CONSTRAINT ck_organization_invitations_expires_at CHECK (expires_at > created_at),
    CONSTRAINT ck_organization_invitations_accepted_or_revoked CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);

COMMENT ON TABLE organization_invitations IS
  'scope: tenant. Pending, accepted or revoked invitations to join an organization; only the hash of the invitation token is stored.';
COMMENT ON COLUMN organization_invitations.token_hash IS 'SHA-256 (32 bytes) of the invitation token; the token itself is only in the e-mail.';
COMMENT ON COLUMN organization_invitations.invited_by IS 'user_id of the inviting member (NULL once that member leaves).';

-- One pending invitation per (organization, e-mail). Expiry cannot be part of the
-- predicate (now() is not immutable): re-inviting renews or revokes the pending row.
CREATE UNIQUE INDEX uq_organization_invitations_organization_id_email
    ON organization_invitations (organization_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX idx_organization_invitations_organization_id_invited_by
    ON organization_invitations (organization_id, invited_by);

CREATE TRIGGER trg_organization_invitations_updated_at
    BEFORE UPDATE ON organization_invitations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- user_two_factor
-- -----------------------------------------------------------------------------
CREATE TABLE user_two_factor (
    id                  uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id             uuid        NOT NULL,
    secret_ciphertext   bytea       NOT NULL,
    encryption_key_id   text        NOT NULL,
    backup_code_hashes  text[]      NOT NULL DEFAULT '{}',
    enabled_at          timestamptz,
    last_used_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_user_two_factor PRIMARY KEY (id),
    CONSTRAINT uq_user_two_factor_user_id UNIQUE (user_id),
    CONSTRAINT fk_user_two_factor_users
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_user_two_factor_encryption_key_id CHECK (btrim(encryption_key_id) <> ''),
    CONSTRAINT ck_user_two_factor_backup_code_hashes
        CHECK (cardinality(backup_code_hashes) <= 20 AND array_position(backup_code_hashes, NULL) IS NULL)
);

COMMENT ON TABLE user_two_factor IS
  'scope: global. TOTP second factor of a user (one row per user); the TOTP secret is AEAD-sealed, backup codes are hashed.';
COMMENT ON COLUMN user_two_factor.secret_ciphertext IS 'TOTP secret sealed with AEAD by the application (must be read back to verify codes).';
COMMENT ON COLUMN user_two_factor.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN user_two_factor.backup_code_hashes IS 'Argon2 PHC hashes of the unused backup codes (a used code is removed).';
COMMENT ON COLUMN user_two_factor.enabled_at IS 'NULL while enrolling; set when the first code is verified.';

CREATE TRIGGER trg_user_two_factor_updated_at
    BEFORE UPDATE ON user_two_factor
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- user_sessions
-- -----------------------------------------------------------------------------
CREATE TABLE user_sessions (
    id                  uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id             uuid        NOT NULL,
    refresh_token_hash  bytea       NOT NULL,
    ip                  inet,
    user_agent          text,
    expires_at          timestamptz NOT NULL,
    revoked_at          timestamptz,
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_user_sessions PRIMARY KEY (id),
    CONSTRAINT uq_user_sessions_refresh_token_hash UNIQUE (refresh_token_hash),
    CONSTRAINT fk_user_sessions_users
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_user_sessions_refresh_token_hash CHECK (octet_length(refresh_token_hash) = 32),
    CONSTRAINT ck_user_sessions_expires_at CHECK (expires_at > created_at)
);

COMMENT ON TABLE user_sessions IS
  'scope: global. A signed-in session (device) of a user, identified by the hash of its refresh token.';
COMMENT ON COLUMN user_sessions.refresh_token_hash IS 'SHA-256 (32 bytes) of the refresh token; the token is only on the client.';

CREATE INDEX idx_user_sessions_user_id
    ON user_sessions (user_id);

CREATE TRIGGER trg_user_sessions_updated_at
    BEFORE UPDATE ON user_sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- auth_tokens
-- -----------------------------------------------------------------------------
CREATE TABLE auth_tokens (
    id          uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id     uuid        NOT NULL,
    purpose     text        NOT NULL,
    token_hash  bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_auth_tokens PRIMARY KEY (id),
    CONSTRAINT uq_auth_tokens_token_hash UNIQUE (token_hash),
    CONSTRAINT fk_auth_tokens_users
        FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT ck_auth_tokens_purpose CHECK (purpose IN ('password_reset', 'email_verification', 'magic_link')),
    CONSTRAINT ck_auth_tokens_token_hash CHECK (octet_length(token_hash) = 32),
    CONSTRAINT ck_auth_tokens_expires_at CHECK (expires_at > created_at)
);

COMMENT ON TABLE auth_tokens IS
  'scope: global. Single-use e-mailed tokens (password reset, e-mail verification, magic link); only their hash is stored.';
COMMENT ON COLUMN auth_tokens.token_hash IS 'SHA-256 (32 bytes) of the token sent by e-mail.';
COMMENT ON COLUMN auth_tokens.used_at IS 'Set when the token is consumed; a used token is never accepted again.';

CREATE INDEX idx_auth_tokens_user_id
    ON auth_tokens (user_id);

CREATE TRIGGER trg_auth_tokens_updated_at
    BEFORE UPDATE ON auth_tokens
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- audit_logs (append-only)
-- -----------------------------------------------------------------------------
CREATE TABLE audit_logs (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    actor_user_id    uuid,
    action           text        NOT NULL,
    entity_type      text        NOT NULL,
    entity_id        uuid,
    changes          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    ip               inet,
    user_agent       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_audit_logs PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_audit_logs_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_audit_logs_action CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT ck_audit_logs_entity_type CHECK (entity_type ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT ck_audit_logs_changes CHECK (jsonb_typeof(changes) = 'object')
);

COMMENT ON TABLE audit_logs IS
  'scope: tenant. Append-only record of who did what in an organization: UPDATE is refused, DELETE only happens when the organization itself is deleted.';
COMMENT ON COLUMN audit_logs.actor_user_id IS
  'User who acted (NULL for the system). Deliberately no foreign key: the log must outlive users and is never updated (an ON DELETE SET NULL would be an UPDATE).';
COMMENT ON COLUMN audit_logs.action IS 'Dotted lower-case verb, e.g. lead.updated, member.role_changed.';
COMMENT ON COLUMN audit_logs.changes IS 'Object of changed fields: {"field": {"old": ..., "new": ...}}.';

CREATE INDEX idx_audit_logs_organization_id_created_at
    ON audit_logs (organization_id, created_at DESC);

-- UPDATE is always refused. DELETE is refused unless the organization row is already
-- gone: the ON DELETE CASCADE from organizations runs after the parent row was deleted
-- (in the same statement), so offboarding still removes the log.
CREATE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

COMMENT ON FUNCTION audit_logs_append_only() IS
  'BEFORE UPDATE OR DELETE trigger of audit_logs: refuses both, except deletes cascaded from a deleted organization.';

CREATE TRIGGER trg_audit_logs_append_only
    BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only();
