-- Analytics and integrations: the product event stream, calendar sync (integrations
-- and mirrored events) and marketing platforms that import leads.

-- -----------------------------------------------------------------------------
-- analytics_events (append-only, the largest table)
-- -----------------------------------------------------------------------------
CREATE TABLE analytics_events (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    event_type       text        NOT NULL,
    event_data       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    user_id          uuid,
    lead_id          uuid,
    session_id       text,
    occurred_at      timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_analytics_events PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_analytics_events_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Events outlive the lead: only lead_id is nulled.
    CONSTRAINT fk_analytics_events_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE SET NULL (lead_id),
    CONSTRAINT ck_analytics_events_event_type CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT ck_analytics_events_event_data CHECK (jsonb_typeof(event_data) = 'object')
);

COMMENT ON TABLE analytics_events IS
  'scope: tenant. Append-only product event stream for dashboards (no updated_at; only lead deletion touches a row, nulling lead_id).';
COMMENT ON COLUMN analytics_events.event_type IS 'Dotted lower-case event name, e.g. lead.created, message.sent.';
COMMENT ON COLUMN analytics_events.user_id IS
  'User who caused the event. Deliberately no foreign key: an event log keeps the historical actor, and nulling it on every member departure would rewrite the largest table.';
COMMENT ON COLUMN analytics_events.lead_id IS 'Lead the event is about; NULL once the lead is deleted.';
COMMENT ON COLUMN analytics_events.occurred_at IS 'When the event happened (client time may precede created_at, the ingestion time); reports group by it.';

CREATE INDEX idx_analytics_events_organization_id_lead_id
    ON analytics_events (organization_id, lead_id);

-- -----------------------------------------------------------------------------
-- calendar_integrations
-- -----------------------------------------------------------------------------
CREATE TABLE calendar_integrations (
    organization_id           uuid        NOT NULL,
    id                        uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id                   uuid        NOT NULL,
    provider                  text        NOT NULL,
    access_token_ciphertext   bytea,
    refresh_token_ciphertext  bytea,
    encryption_key_id         text,
    token_expires_at          timestamptz,
    calendar_id               text,
    sync_cursor               text,
    sync_status               text        NOT NULL DEFAULT 'not_synced',
    is_active                 boolean     NOT NULL DEFAULT true,
    last_sync_at              timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_calendar_integrations PRIMARY KEY (organization_id, id),
    -- Also serves fk_calendar_integrations_organization_members.
    CONSTRAINT uq_calendar_integrations_organization_id_user_id_provider
        UNIQUE (organization_id, user_id, provider),
    CONSTRAINT fk_calendar_integrations_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A member's calendar connection (and its tokens) goes with the membership.
    CONSTRAINT fk_calendar_integrations_organization_members
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE CASCADE,
    CONSTRAINT ck_calendar_integrations_provider CHECK (provider IN ('google', 'microsoft')),
    CONSTRAINT ck_calendar_integrations_encryption_key_id CHECK (
        (access_token_ciphertext IS NULL AND refresh_token_ciphertext IS NULL)
        OR encryption_key_id IS NOT NULL),
    CONSTRAINT ck_calendar_integrations_sync_status CHECK (sync_status IN (
        'not_synced', 'ongoing', 'active', 'failed_insufficient_permissions', 'failed_unknown'))
);

COMMENT ON TABLE calendar_integrations IS
  'scope: tenant. A member''s connected Google or Microsoft calendar, with AEAD-sealed OAuth tokens.';
COMMENT ON COLUMN calendar_integrations.access_token_ciphertext IS 'OAuth access token sealed with AEAD by the application.';
COMMENT ON COLUMN calendar_integrations.refresh_token_ciphertext IS 'OAuth refresh token sealed with AEAD by the application.';
COMMENT ON COLUMN calendar_integrations.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';
COMMENT ON COLUMN calendar_integrations.token_expires_at IS 'Expiry of the access token (a timestamp, not a secret).';
COMMENT ON COLUMN calendar_integrations.sync_cursor IS
  'The provider''s incremental-sync token (Google syncToken, Microsoft deltaLink): a cursor, not a credential.';

CREATE TRIGGER trg_calendar_integrations_updated_at
    BEFORE UPDATE ON calendar_integrations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- calendar_events
-- -----------------------------------------------------------------------------
CREATE TABLE calendar_events (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT uuid_generate_v7(),
    integration_id     uuid        NOT NULL,
    lead_id            uuid,
    external_event_id  text        NOT NULL,
    title              text        NOT NULL,
    description        text,
    location           text,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    status             text        NOT NULL DEFAULT 'confirmed',
    meeting_url        text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_calendar_events PRIMARY KEY (organization_id, id),
    -- Sync upserts by the provider's event id; also serves fk_calendar_events_calendar_integrations.
    CONSTRAINT uq_calendar_events_organization_id_integration_id_external_id
        UNIQUE (organization_id, integration_id, external_event_id),
    CONSTRAINT fk_calendar_events_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Mirrored events are owned by the integration they were synced from.
    CONSTRAINT fk_calendar_events_calendar_integrations
        FOREIGN KEY (organization_id, integration_id)
        REFERENCES calendar_integrations (organization_id, id)
        ON DELETE CASCADE,
    -- The meeting stays on the calendar after the lead is deleted.
    CONSTRAINT fk_calendar_events_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE SET NULL (lead_id),
    CONSTRAINT ck_calendar_events_external_event_id CHECK (btrim(external_event_id) <> ''),
    CONSTRAINT ck_calendar_events_title CHECK (btrim(title) <> ''),
    CONSTRAINT ck_calendar_events_ends_at CHECK (ends_at >= starts_at),
    CONSTRAINT ck_calendar_events_status CHECK (status IN ('confirmed', 'tentative', 'cancelled')),
    CONSTRAINT ck_calendar_events_meeting_url CHECK (meeting_url ~ '^https://')
);

COMMENT ON TABLE calendar_events IS
  'scope: tenant. Calendar events mirrored from a calendar integration, optionally linked to a lead (meetings).';
COMMENT ON COLUMN calendar_events.external_event_id IS 'Event id at the provider; unique per integration (upsert key of the sync).';
COMMENT ON COLUMN calendar_events.title IS 'Event title; the sync substitutes the provider''s placeholder for untitled events.';
COMMENT ON COLUMN calendar_events.lead_id IS 'Lead the meeting is with; NULL if none or once the lead is deleted.';

-- A lead's meetings in time order; serves fk_calendar_events_leads.
CREATE INDEX idx_calendar_events_organization_id_lead_id_starts_at
    ON calendar_events (organization_id, lead_id, starts_at);

CREATE TRIGGER trg_calendar_events_updated_at
    BEFORE UPDATE ON calendar_events
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- marketing_integrations
-- -----------------------------------------------------------------------------
CREATE TABLE marketing_integrations (
    organization_id           uuid        NOT NULL,
    id                        uuid        NOT NULL DEFAULT uuid_generate_v7(),
    platform                  text        NOT NULL,
    account_id                text        NOT NULL,
    access_token_ciphertext   bytea,
    refresh_token_ciphertext  bytea,
    encryption_key_id         text,
    token_expires_at          timestamptz,
    is_active                 boolean     NOT NULL DEFAULT true,
    last_import_at            timestamptz,
    total_leads_imported      integer     NOT NULL DEFAULT 0,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_marketing_integrations PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_marketing_integrations_organization_id_platform_account_id
        UNIQUE (organization_id, platform, account_id),
    CONSTRAINT fk_marketing_integrations_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_marketing_integrations_platform CHECK (platform IN ('facebook', 'google', 'linkedin')),
    CONSTRAINT ck_marketing_integrations_account_id CHECK (btrim(account_id) <> ''),
    CONSTRAINT ck_marketing_integrations_encryption_key_id CHECK (
        (access_token_ciphertext IS NULL AND refresh_token_ciphertext IS NULL)
        OR encryption_key_id IS NOT NULL),
    CONSTRAINT ck_marketing_integrations_total_leads_imported CHECK (total_leads_imported >= 0)
);

COMMENT ON TABLE marketing_integrations IS
  'scope: tenant. Ad platform accounts (Facebook, Google, LinkedIn) the organization imports leads from, with AEAD-sealed OAuth tokens.';
COMMENT ON COLUMN marketing_integrations.account_id IS 'Ad account id at the platform.';
COMMENT ON COLUMN marketing_integrations.access_token_ciphertext IS 'OAuth access token sealed with AEAD by the application.';
COMMENT ON COLUMN marketing_integrations.refresh_token_ciphertext IS 'OAuth refresh token sealed with AEAD by the application.';
COMMENT ON COLUMN marketing_integrations.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';
COMMENT ON COLUMN marketing_integrations.token_expires_at IS 'Expiry of the access token (a timestamp, not a secret).';
COMMENT ON COLUMN marketing_integrations.total_leads_imported IS 'Counter of leads imported through this account (ROI reports).';

CREATE TRIGGER trg_marketing_integrations_updated_at
    BEFORE UPDATE ON marketing_integrations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
