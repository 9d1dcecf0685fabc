-- Billing (Stripe): the global plan catalogue, each organization's subscription and
-- invoices, and the idempotency log of Stripe webhook events.

-- -----------------------------------------------------------------------------
-- plans
-- -----------------------------------------------------------------------------
CREATE TABLE plans (
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    code              text        NOT NULL,
    name              text        NOT NULL,
    price_cents       bigint      NOT NULL DEFAULT 0,
    currency          text        NOT NULL DEFAULT 'BRL',
    billing_interval  text        NOT NULL DEFAULT 'month',
    limits            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    stripe_price_id   text,
    is_active         boolean     NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_plans PRIMARY KEY (id),
    -- The seed upserts the catalogue by code.
    CONSTRAINT uq_plans_code UNIQUE (code),
    -- Stripe webhooks name the price; it maps back to exactly one plan.
    CONSTRAINT uq_plans_stripe_price_id UNIQUE (stripe_price_id),
    CONSTRAINT ck_plans_code CHECK (code ~ '^[a-z0-9_-]+$'),
    CONSTRAINT ck_plans_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_plans_price_cents CHECK (price_cents >= 0),
    CONSTRAINT ck_plans_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_plans_billing_interval CHECK (billing_interval IN ('month', 'year')),
    CONSTRAINT ck_plans_limits CHECK (jsonb_typeof(limits) = 'object'),
    CONSTRAINT ck_plans_stripe_price_id CHECK (stripe_price_id ~ '^price_[A-Za-z0-9]+$')
);

COMMENT ON TABLE plans IS
  'scope: global. The plan catalogue (free, starter, pro, enterprise), seeded idempotently by code.';
COMMENT ON COLUMN plans.price_cents IS 'Price per billing_interval in the smallest currency unit.';
COMMENT ON COLUMN plans.limits IS 'Plan limits, e.g. {"users": 5, "leads": 10000}; absent key = unlimited.';
COMMENT ON COLUMN plans.stripe_price_id IS 'Stripe Price id (price_...); NULL for plans not sold through Stripe (free).';

CREATE TRIGGER trg_plans_updated_at
    BEFORE UPDATE ON plans
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- subscriptions
-- -----------------------------------------------------------------------------
CREATE TABLE subscriptions (
    organization_id         uuid        NOT NULL,
    id                      uuid        NOT NULL DEFAULT uuid_generate_v7(),
    plan_id                 uuid        NOT NULL,
    stripe_customer_id      text,
    stripe_subscription_id  text,
    status                  text        NOT NULL DEFAULT 'trialing',
    current_period_start    timestamptz,
    current_period_end      timestamptz,
    cancel_at_period_end    boolean     NOT NULL DEFAULT false,
    trial_ends_at           timestamptz,
    canceled_at             timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_subscriptions PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_subscriptions_organization_id_stripe_subscription_id
        UNIQUE (organization_id, stripe_subscription_id),
    CONSTRAINT fk_subscriptions_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A plan still subscribed to cannot be deleted (retire it with is_active = false).
    CONSTRAINT fk_subscriptions_plans
        FOREIGN KEY (plan_id) REFERENCES plans (id) ON DELETE RESTRICT,
    CONSTRAINT ck_subscriptions_status CHECK (status IN (
        'trialing', 'active', 'past_due', 'canceled', 'unpaid',
        'incomplete', 'incomplete_expired', 'paused')),
    CONSTRAINT ck_subscriptions_stripe_customer_id CHECK (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
    CONSTRAINT ck_subscriptions_stripe_subscription_id CHECK (stripe_subscription_id ~ '^sub_[A-Za-z0-9]+$'),
    CONSTRAINT ck_subscriptions_current_period CHECK (current_period_end >= current_period_start)
);

COMMENT ON TABLE subscriptions IS
  'scope: tenant. The organization''s subscription to a plan, mirrored from Stripe; at most one is live at a time.';
COMMENT ON COLUMN subscriptions.stripe_customer_id IS 'Stripe Customer id (cus_...); inbound Stripe webhooks are routed to the organization through provider_routes.';
COMMENT ON COLUMN subscriptions.cancel_at_period_end IS 'Canceled by the customer but still live until current_period_end.';

-- At most one live subscription per organization: every status except the terminal
-- ones (canceled, incomplete_expired).
CREATE UNIQUE INDEX uq_subscriptions_organization_id_live
    ON subscriptions (organization_id)
    WHERE status NOT IN ('canceled', 'incomplete_expired');
CREATE INDEX idx_subscriptions_plan_id
    ON subscriptions (plan_id);

CREATE TRIGGER trg_subscriptions_updated_at
    BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- invoices
-- -----------------------------------------------------------------------------
CREATE TABLE invoices (
    organization_id     uuid        NOT NULL,
    id                  uuid        NOT NULL DEFAULT uuid_generate_v7(),
    subscription_id     uuid,
    stripe_invoice_id   text        NOT NULL,
    amount_due_cents    bigint      NOT NULL DEFAULT 0,
    amount_paid_cents   bigint      NOT NULL DEFAULT 0,
    currency            text        NOT NULL DEFAULT 'BRL',
    status              text        NOT NULL DEFAULT 'draft',
    hosted_invoice_url  text,
    issued_at           timestamptz,
    paid_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_invoices PRIMARY KEY (organization_id, id),
    -- Webhook retries upsert by the Stripe id.
    CONSTRAINT uq_invoices_organization_id_stripe_invoice_id UNIQUE (organization_id, stripe_invoice_id),
    CONSTRAINT fk_invoices_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Invoices are financial records: a subscription with invoices is not deleted by
    -- accident. NO ACTION rather than RESTRICT: the check runs at the end of the
    -- statement, so an organization cascade (which deletes both) still succeeds.
    CONSTRAINT fk_invoices_subscriptions
        FOREIGN KEY (organization_id, subscription_id)
        REFERENCES subscriptions (organization_id, id)
        ON DELETE NO ACTION,
    CONSTRAINT ck_invoices_stripe_invoice_id CHECK (stripe_invoice_id ~ '^in_[A-Za-z0-9]+$'),
    CONSTRAINT ck_invoices_amount_due_cents CHECK (amount_due_cents >= 0),
    CONSTRAINT ck_invoices_amount_paid_cents CHECK (amount_paid_cents >= 0),
    CONSTRAINT ck_invoices_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_invoices_status CHECK (status IN ('draft', 'open', 'paid', 'uncollectible', 'void')),
    CONSTRAINT ck_invoices_hosted_invoice_url CHECK (hosted_invoice_url ~ '^https://')
);

COMMENT ON TABLE invoices IS
  'scope: tenant. Invoices of the organization, mirrored from Stripe.';
COMMENT ON COLUMN invoices.subscription_id IS 'NULL for one-off invoices not tied to a subscription.';
COMMENT ON COLUMN invoices.amount_due_cents IS 'Smallest currency unit, as Stripe reports it.';

CREATE INDEX idx_invoices_organization_id_subscription_id
    ON invoices (organization_id, subscription_id);

CREATE TRIGGER trg_invoices_updated_at
    BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- stripe_webhook_events
-- -----------------------------------------------------------------------------
CREATE TABLE stripe_webhook_events (
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    stripe_event_id   text        NOT NULL,
    type              text        NOT NULL,
    payload           jsonb       NOT NULL,
    received_at       timestamptz NOT NULL DEFAULT now(),
    processed_at      timestamptz,
    processing_error  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_stripe_webhook_events PRIMARY KEY (id),
    -- Idempotent webhook handling: INSERT ... ON CONFLICT (stripe_event_id) DO NOTHING.
    CONSTRAINT uq_stripe_webhook_events_stripe_event_id UNIQUE (stripe_event_id),
    CONSTRAINT ck_stripe_webhook_events_stripe_event_id CHECK (stripe_event_id ~ '^evt_[A-Za-z0-9]+$'),
    CONSTRAINT ck_stripe_webhook_events_type CHECK (type ~ '^[a-z_]+(\.[a-z_]+)+$'),
    CONSTRAINT ck_stripe_webhook_events_payload CHECK (jsonb_typeof(payload) = 'object')
);

COMMENT ON TABLE stripe_webhook_events IS
  'scope: global. Every Stripe webhook event received, stored once by its Stripe id so retries are processed once.';
COMMENT ON COLUMN stripe_webhook_events.type IS 'Stripe event type, e.g. invoice.paid, customer.subscription.updated.';
COMMENT ON COLUMN stripe_webhook_events.received_at IS 'When Stripe delivered the event (equals created_at unless replayed from Stripe''s event list).';
COMMENT ON COLUMN stripe_webhook_events.processed_at IS 'NULL until the event was applied successfully.';

CREATE TRIGGER trg_stripe_webhook_events_updated_at
    BEFORE UPDATE ON stripe_webhook_events
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
