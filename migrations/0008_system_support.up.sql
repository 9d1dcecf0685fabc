-- System support: outgoing webhooks and their delivery log, the global routing of
-- inbound provider webhooks, the organization's external API keys, and the job queue.

-- -----------------------------------------------------------------------------
-- webhook_subscriptions
-- -----------------------------------------------------------------------------
CREATE TABLE webhook_subscriptions (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT uuid_generate_v7(),
    url                text        NOT NULL,
    description        text,
    secret_ciphertext  bytea       NOT NULL,
    encryption_key_id  text        NOT NULL,
    events             text[]      NOT NULL,
    is_active          boolean     NOT NULL DEFAULT true,
    failure_count      integer     NOT NULL DEFAULT 0,
    last_ping_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_webhook_subscriptions PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_webhook_subscriptions_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_webhook_subscriptions_url CHECK (url ~ '^https://'),
    CONSTRAINT ck_webhook_subscriptions_encryption_key_id CHECK (btrim(encryption_key_id) <> ''),
    -- At least one event name, no NULL element; names are dotted lower-case or '*'.
    CONSTRAINT ck_webhook_subscriptions_events CHECK (
        cardinality(events) > 0
        AND array_position(events, NULL) IS NULL
        AND array_to_string(events, ',') ~ '^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*)(,(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*))*$'),
    CONSTRAINT ck_webhook_subscriptions_failure_count CHECK (failure_count >= 0)
);

COMMENT ON TABLE webhook_subscriptions IS
  'scope: tenant. Endpoints the organization registered to receive our events, signed with a per-subscription secret.';
COMMENT ON COLUMN webhook_subscriptions.secret_ciphertext IS 'HMAC signing secret sealed with AEAD (it must be read back to sign each delivery).';
COMMENT ON COLUMN webhook_subscriptions.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN webhook_subscriptions.events IS 'Event names delivered to this endpoint (e.g. lead.created), or * for all.';
COMMENT ON COLUMN webhook_subscriptions.failure_count IS 'Consecutive failed deliveries; reset on success, the subscription is disabled past a threshold.';

CREATE TRIGGER trg_webhook_subscriptions_updated_at
    BEFORE UPDATE ON webhook_subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- webhook_delivery_logs
-- -----------------------------------------------------------------------------
CREATE TABLE webhook_delivery_logs (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    subscription_id  uuid        NOT NULL,
    event_type       text        NOT NULL,
    payload          jsonb       NOT NULL,
    attempt          integer     NOT NULL DEFAULT 1,
    status           text        NOT NULL DEFAULT 'pending',
    response_status  integer,
    duration_ms      integer,
    last_error       text,
    next_retry_at    timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_webhook_delivery_logs PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_webhook_delivery_logs_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- The log of an endpoint goes with it.
    CONSTRAINT fk_webhook_delivery_logs_webhook_subscriptions
        FOREIGN KEY (organization_id, subscription_id)
        REFERENCES webhook_subscriptions (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT ck_webhook_delivery_logs_event_type CHECK (event_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT ck_webhook_delivery_logs_payload CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT ck_webhook_delivery_logs_attempt CHECK (attempt >= 1),
    CONSTRAINT ck_webhook_delivery_logs_status CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
    CONSTRAINT ck_webhook_delivery_logs_response_status CHECK (response_status BETWEEN 100 AND 599),
    CONSTRAINT ck_webhook_delivery_logs_duration_ms CHECK (duration_ms >= 0),
    -- A pending delivery is always scheduled (the retry worker reads next_retry_at).
    CONSTRAINT ck_webhook_delivery_logs_next_retry_at CHECK (status <> 'pending' OR next_retry_at IS NOT NULL)
);

COMMENT ON TABLE webhook_delivery_logs IS
  'scope: tenant. One row per event delivery to a webhook subscription, updated on each attempt until it succeeds or is dead.';
COMMENT ON COLUMN webhook_delivery_logs.attempt IS 'Number of the latest attempt (1 = first try).';
COMMENT ON COLUMN webhook_delivery_logs.status IS 'pending (scheduled at next_retry_at), succeeded, failed (last attempt failed, no retry scheduled) or dead (gave up).';
COMMENT ON COLUMN webhook_delivery_logs.response_status IS 'HTTP status of the latest attempt; NULL if no response (timeout, connection error).';

CREATE INDEX idx_webhook_delivery_logs_organization_id_subscription_id
    ON webhook_delivery_logs (organization_id, subscription_id);
-- Retry worker: due pending deliveries of all organizations, earliest first.
CREATE INDEX idx_webhook_delivery_logs_next_retry_at_pending
    ON webhook_delivery_logs (next_retry_at)
    WHERE status = 'pending';

CREATE TRIGGER trg_webhook_delivery_logs_updated_at
    BEFORE UPDATE ON webhook_delivery_logs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- provider_routes (global)
-- -----------------------------------------------------------------------------
CREATE TABLE provider_routes (
    provider             text        NOT NULL,
    external_account_id  text        NOT NULL,
    organization_id      uuid        NOT NULL,
    config_id            uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_provider_routes PRIMARY KEY (provider, external_account_id),
    -- The route disappears with the organization it points to.
    CONSTRAINT fk_provider_routes_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_provider_routes_provider
        CHECK (provider IN ('whatsapp', 'twilio', 'telnyx', 'stripe', 'google', 'facebook')),
    CONSTRAINT ck_provider_routes_external_account_id CHECK (btrim(external_account_id) <> '')
);

COMMENT ON TABLE provider_routes IS
  'scope: global. Routes an inbound provider webhook to its organization before any organization is known; the one place where a provider account id is unique across all organizations.';
COMMENT ON COLUMN provider_routes.external_account_id IS 'The provider''s account id in the webhook (WhatsApp phone_number_id, Stripe customer id, Twilio AccountSid...).';
COMMENT ON COLUMN provider_routes.organization_id IS 'Organization that owns the account (this table is global: it is read before the organization is known, so it has no RLS).';
COMMENT ON COLUMN provider_routes.config_id IS 'Id of the organization''s config row for this provider (whatsapp_configs, voip_configs, ...); polymorphic, so no foreign key.';

CREATE INDEX idx_provider_routes_organization_id
    ON provider_routes (organization_id);

CREATE TRIGGER trg_provider_routes_updated_at
    BEFORE UPDATE ON provider_routes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- api_keys
-- -----------------------------------------------------------------------------
CREATE TABLE api_keys (
    organization_id    uuid        NOT NULL,
    id                 uuid        NOT NULL DEFAULT uuid_generate_v7(),
    service_name       text        NOT NULL,
    key_name           text        NOT NULL,
    key_ciphertext     bytea       NOT NULL,
    encryption_key_id  text        NOT NULL,
    key_hint           text,
    is_active          boolean     NOT NULL DEFAULT true,
    expires_at         timestamptz,
    last_used_at       timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_api_keys PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_api_keys_organization_id_service_name_key_name UNIQUE (organization_id, service_name, key_name),
    CONSTRAINT fk_api_keys_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_api_keys_service_name CHECK (service_name ~ '^[a-z0-9][a-z0-9_-]*$'),
    CONSTRAINT ck_api_keys_key_name CHECK (btrim(key_name) <> ''),
    CONSTRAINT ck_api_keys_encryption_key_id CHECK (btrim(encryption_key_id) <> ''),
    -- A display hint only: at most the last 4 characters of the key.
    CONSTRAINT ck_api_keys_key_hint CHECK (char_length(key_hint) <= 4)
);

COMMENT ON TABLE api_keys IS
  'scope: tenant. The organization''s keys for external services (e.g. its own OpenAI key), AEAD-sealed.';
COMMENT ON COLUMN api_keys.service_name IS 'External service the key is for (openai, anthropic, ...): an identifier, not a secret.';
COMMENT ON COLUMN api_keys.key_name IS 'Label the organization gave the key (e.g. "production"): not a secret.';
COMMENT ON COLUMN api_keys.key_ciphertext IS 'The external API key sealed with AEAD by the application.';
COMMENT ON COLUMN api_keys.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN api_keys.key_hint IS 'Last characters of the key (at most 4), shown to identify it.';

CREATE TRIGGER trg_api_keys_updated_at
    BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- background_jobs
-- -----------------------------------------------------------------------------
CREATE TABLE background_jobs (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    queue            text        NOT NULL DEFAULT 'default',
    job_type         text        NOT NULL,
    payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status           text        NOT NULL DEFAULT 'queued',
    priority         integer     NOT NULL DEFAULT 100,
    attempts         integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL DEFAULT 5,
    run_at           timestamptz NOT NULL DEFAULT now(),
    locked_at        timestamptz,
    locked_by        text,
    last_error       text,
    finished_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_background_jobs PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_background_jobs_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_background_jobs_queue CHECK (queue ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT ck_background_jobs_job_type CHECK (job_type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT ck_background_jobs_payload CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT ck_background_jobs_status CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    CONSTRAINT ck_background_jobs_priority CHECK (priority BETWEEN 0 AND 1000),
    CONSTRAINT ck_background_jobs_attempts CHECK (attempts >= 0 AND attempts <= max_attempts),
    CONSTRAINT ck_background_jobs_max_attempts CHECK (max_attempts >= 1),
    -- A running job is always owned by a worker.
    CONSTRAINT ck_background_jobs_running CHECK (status <> 'running' OR (locked_at IS NOT NULL AND locked_by IS NOT NULL))
);

COMMENT ON TABLE background_jobs IS
  'scope: tenant. The job queue: workers claim queued jobs with FOR UPDATE SKIP LOCKED, lowest priority number first.';
COMMENT ON COLUMN background_jobs.priority IS '0 (most urgent) to 1000; the dequeue orders by priority, then run_at.';
COMMENT ON COLUMN background_jobs.run_at IS 'Not before this time (scheduling and retry back-off).';
COMMENT ON COLUMN background_jobs.locked_by IS 'Identifier of the worker running the job (host:pid), for stuck-job recovery.';

CREATE TRIGGER trg_background_jobs_updated_at
    BEFORE UPDATE ON background_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
