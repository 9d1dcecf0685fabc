-- Communication enhancement: message templates and their usage statistics, and the
-- WhatsApp and VoIP provider configurations of each organization.

-- The {{placeholders}} of a template body, distinct and sorted, as a jsonb array of
-- strings. IMMUTABLE so a CHECK can compare it with message_templates.variables.
CREATE FUNCTION template_placeholders(p_content text) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT coalesce(jsonb_agg(DISTINCT m[1] ORDER BY m[1]), '[]'::jsonb)
  FROM regexp_matches(p_content, '\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}', 'g') AS m
$$;

COMMENT ON FUNCTION template_placeholders(text) IS
  'Distinct sorted names of the {{variable}} placeholders in a template body, as a jsonb array.';

-- -----------------------------------------------------------------------------
-- message_templates
-- -----------------------------------------------------------------------------
CREATE TABLE message_templates (
    organization_id   uuid        NOT NULL,
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    name              text        NOT NULL,
    category          text        NOT NULL DEFAULT 'other',
    channel           text        NOT NULL DEFAULT 'any',
    content           text        NOT NULL,
    variables         jsonb       NOT NULL DEFAULT '[]'::jsonb,
    language          text        NOT NULL DEFAULT 'pt-BR',
    wa_template_name  text,
    wa_category       text,
    parameter_format  text        NOT NULL DEFAULT 'named',
    components        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    wa_status         text,
    is_active         boolean     NOT NULL DEFAULT true,
    usage_count       integer     NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_message_templates PRIMARY KEY (organization_id, id),
    -- The seed inserts the default templates with ON CONFLICT (organization_id, name).
    CONSTRAINT uq_message_templates_organization_id_name UNIQUE (organization_id, name),
    CONSTRAINT fk_message_templates_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_message_templates_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_message_templates_category CHECK (category IN (
        'greeting', 'follow_up', 'proposal', 'objection', 'closing', 'reminder', 'other')),
    CONSTRAINT ck_message_templates_channel CHECK (channel IN ('whatsapp', 'email', 'sms', 'any')),
    CONSTRAINT ck_message_templates_content CHECK (btrim(content) <> ''),
    CONSTRAINT ck_message_templates_variables_array CHECK (jsonb_typeof(variables) = 'array'),
    -- variables lists exactly the placeholders used in content: the two containments
    -- compare them as sets (order and repetition do not matter).
    CONSTRAINT ck_message_templates_variables
        CHECK (variables @> template_placeholders(content) AND variables <@ template_placeholders(content)),
    CONSTRAINT ck_message_templates_language CHECK (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
    -- WhatsApp template names: lower-case letters, digits and underscores.
    -- PostgreSQL regexes cap a repetition count at 255, so the length is checked apart.
    CONSTRAINT ck_message_templates_wa_template_name CHECK (wa_template_name ~ '^[a-z0-9_]+$' AND char_length(wa_template_name) <= 512),
    CONSTRAINT ck_message_templates_wa_category CHECK (wa_category IN ('MARKETING', 'UTILITY', 'AUTHENTICATION')),
    CONSTRAINT ck_message_templates_parameter_format CHECK (parameter_format IN ('positional', 'named')),
    CONSTRAINT ck_message_templates_components CHECK (jsonb_typeof(components) = 'array'),
    CONSTRAINT ck_message_templates_wa_status CHECK (wa_status IN (
        'draft', 'pending', 'approved', 'rejected', 'paused', 'disabled',
        'in_appeal', 'pending_deletion', 'archived')),
    CONSTRAINT ck_message_templates_usage_count CHECK (usage_count >= 0)
);

COMMENT ON TABLE message_templates IS
  'scope: tenant. Reusable message bodies with {{variable}} placeholders; optionally mirrored as an approved WhatsApp template.';
COMMENT ON COLUMN message_templates.content IS 'Body with {{variable}} placeholders (e.g. {{lead_name}}), filled in by the application.';
COMMENT ON COLUMN message_templates.variables IS 'jsonb array of the placeholder names used in content; must equal template_placeholders(content) as a set.';
COMMENT ON COLUMN message_templates.language IS 'BCP 47 tag (pt-BR); the WhatsApp API form (pt_BR) is derived by the application.';
COMMENT ON COLUMN message_templates.wa_template_name IS 'Name of the WhatsApp Business template this one is submitted as; NULL if not submitted.';
COMMENT ON COLUMN message_templates.parameter_format IS 'WhatsApp parameter style of components: positional ({{1}}) or named ({{name}}).';
COMMENT ON COLUMN message_templates.components IS 'WhatsApp template components (header, body, footer, buttons) as sent to the Graph API.';
COMMENT ON COLUMN message_templates.wa_status IS 'Review status reported by WhatsApp; NULL if never submitted.';
COMMENT ON COLUMN message_templates.usage_count IS 'Denormalized number of uses (template_usage_stats holds the detail).';

CREATE TRIGGER trg_message_templates_updated_at
    BEFORE UPDATE ON message_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- communications.template_id (table of 0004) can only reference templates now.
ALTER TABLE communications
    -- squawk-ignore constraint-missing-not-valid, adding-foreign-key-constraint -- communications is still empty here: 0004 and 0005 shipped in one release and run together
    ADD CONSTRAINT fk_communications_message_templates
        FOREIGN KEY (organization_id, template_id)
        REFERENCES message_templates (organization_id, id)
        ON DELETE SET NULL (template_id);

-- squawk-ignore require-concurrent-index-creation -- communications is still empty here, as above
CREATE INDEX idx_communications_organization_id_template_id
    ON communications (organization_id, template_id);

-- -----------------------------------------------------------------------------
-- template_usage_stats
-- -----------------------------------------------------------------------------
CREATE TABLE template_usage_stats (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    template_id      uuid        NOT NULL,
    lead_id          uuid,
    user_id          uuid,
    used_at          timestamptz NOT NULL DEFAULT now(),
    success_metric   text,
    success_value    boolean,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_template_usage_stats PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_template_usage_stats_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Statistics belong to their template.
    CONSTRAINT fk_template_usage_stats_message_templates
        FOREIGN KEY (organization_id, template_id)
        REFERENCES message_templates (organization_id, id)
        ON DELETE CASCADE,
    -- The statistic outlives the lead it was used on.
    CONSTRAINT fk_template_usage_stats_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE SET NULL (lead_id),
    CONSTRAINT fk_template_usage_stats_organization_members
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (user_id),
    CONSTRAINT ck_template_usage_stats_success_metric CHECK (success_metric IN (
        'response_received', 'lead_advanced', 'meeting_booked', 'deal_won')),
    -- A success value only means something for a named metric.
    CONSTRAINT ck_template_usage_stats_success_value CHECK (success_value IS NULL OR success_metric IS NOT NULL)
);

COMMENT ON TABLE template_usage_stats IS
  'scope: tenant. One row per use of a template, later marked with the outcome it led to.';
COMMENT ON COLUMN template_usage_stats.lead_id IS 'Lead the template was used on; NULL once the lead is deleted (the statistic stays).';
COMMENT ON COLUMN template_usage_stats.success_metric IS 'Outcome measured for this use; NULL until one is recorded.';
COMMENT ON COLUMN template_usage_stats.success_value IS 'Whether the outcome was reached (true counts as a success in template performance).';

-- Hot query 6 (uses and successes per template over the last 30 days, index-only
-- thanks to INCLUDE); serves fk_template_usage_stats_message_templates.
CREATE INDEX idx_template_usage_stats_organization_id_template_id_used_at
    ON template_usage_stats (organization_id, template_id, used_at)
    INCLUDE (success_value);
CREATE INDEX idx_template_usage_stats_organization_id_lead_id
    ON template_usage_stats (organization_id, lead_id);
CREATE INDEX idx_template_usage_stats_organization_id_user_id
    ON template_usage_stats (organization_id, user_id);

CREATE TRIGGER trg_template_usage_stats_updated_at
    BEFORE UPDATE ON template_usage_stats
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- whatsapp_configs
-- -----------------------------------------------------------------------------
CREATE TABLE whatsapp_configs (
    organization_id            uuid        NOT NULL,
    id                         uuid        NOT NULL DEFAULT uuid_generate_v7(),
    provider                   text        NOT NULL,
    phone_number               text,
    phone_number_id            text,
    business_account_id        text,
    webhook_verify_token_hash  bytea,
    credentials_ciphertext     bytea,
    encryption_key_id          text,
    is_active                  boolean     NOT NULL DEFAULT false,
    setup_completed            boolean     NOT NULL DEFAULT false,
    last_sync_at               timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_whatsapp_configs PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_whatsapp_configs_organization_id_phone_number UNIQUE (organization_id, phone_number),
    CONSTRAINT fk_whatsapp_configs_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_whatsapp_configs_provider CHECK (provider IN ('business_api', 'web_api')),
    CONSTRAINT ck_whatsapp_configs_phone_number CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck_whatsapp_configs_webhook_verify_token_hash CHECK (octet_length(webhook_verify_token_hash) = 32),
    -- A ciphertext is useless without the id of the key that sealed it.
    CONSTRAINT ck_whatsapp_configs_encryption_key_id
        CHECK (credentials_ciphertext IS NULL OR encryption_key_id IS NOT NULL),
    CONSTRAINT ck_whatsapp_configs_setup_completed
        CHECK (NOT setup_completed OR credentials_ciphertext IS NOT NULL),
    CONSTRAINT ck_whatsapp_configs_is_active CHECK (NOT is_active OR setup_completed)
);

COMMENT ON TABLE whatsapp_configs IS
  'scope: tenant. A WhatsApp number connected by the organization (Business API or web session), with its sealed credentials.';
COMMENT ON COLUMN whatsapp_configs.phone_number IS 'E.164 number; NULL until known (web_api before pairing).';
COMMENT ON COLUMN whatsapp_configs.phone_number_id IS 'Meta phone number id; inbound webhooks are routed by it through provider_routes.';
COMMENT ON COLUMN whatsapp_configs.webhook_verify_token_hash IS 'SHA-256 of the verify token Meta echoes when (re)subscribing the webhook; only compared.';
COMMENT ON COLUMN whatsapp_configs.credentials_ciphertext IS 'AEAD-sealed provider credentials (access token, app secret...) as a JSON document.';
COMMENT ON COLUMN whatsapp_configs.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';

CREATE TRIGGER trg_whatsapp_configs_updated_at
    BEFORE UPDATE ON whatsapp_configs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- voip_configs
-- -----------------------------------------------------------------------------
CREATE TABLE voip_configs (
    organization_id         uuid         NOT NULL,
    id                      uuid         NOT NULL DEFAULT uuid_generate_v7(),
    provider                text         NOT NULL,
    phone_number            text,
    credentials_ciphertext  bytea,
    encryption_key_id       text,
    cost_per_minute         numeric(8,4) NOT NULL DEFAULT 0,
    currency                text         NOT NULL DEFAULT 'USD',
    is_active               boolean      NOT NULL DEFAULT false,
    setup_completed         boolean      NOT NULL DEFAULT false,
    created_at              timestamptz  NOT NULL DEFAULT now(),
    updated_at              timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_voip_configs PRIMARY KEY (organization_id, id),
    -- NULLS NOT DISTINCT: the seed's "awaiting setup" configs have no phone number yet
    -- and must still conflict on re-run (one pending config per provider).
    CONSTRAINT uq_voip_configs_organization_id_provider_phone_number
        UNIQUE NULLS NOT DISTINCT (organization_id, provider, phone_number),
    CONSTRAINT fk_voip_configs_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_voip_configs_provider CHECK (provider IN ('twilio', 'telnyx')),
    CONSTRAINT ck_voip_configs_phone_number CHECK (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck_voip_configs_encryption_key_id
        CHECK (credentials_ciphertext IS NULL OR encryption_key_id IS NOT NULL),
    CONSTRAINT ck_voip_configs_cost_per_minute CHECK (cost_per_minute >= 0),
    CONSTRAINT ck_voip_configs_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_voip_configs_setup_completed
        CHECK (NOT setup_completed OR (credentials_ciphertext IS NOT NULL AND phone_number IS NOT NULL)),
    CONSTRAINT ck_voip_configs_is_active CHECK (NOT is_active OR setup_completed)
);

COMMENT ON TABLE voip_configs IS
  'scope: tenant. VoIP provider accounts (Twilio, Telnyx) of the organization; new organizations get inactive ones awaiting setup.';
COMMENT ON COLUMN voip_configs.phone_number IS 'E.164 caller number; NULL while awaiting setup.';
COMMENT ON COLUMN voip_configs.credentials_ciphertext IS 'AEAD-sealed provider credentials (account SID/auth token, API key) as a JSON document.';
COMMENT ON COLUMN voip_configs.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN voip_configs.cost_per_minute IS 'Provider price per minute in currency, used to pick the cheaper route.';

CREATE TRIGGER trg_voip_configs_updated_at
    BEFORE UPDATE ON voip_configs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
