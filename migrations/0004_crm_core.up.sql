-- CRM core: pipelines and their stages, leads and everything hanging off a lead
-- (favorites, stage history, communications, notes, tasks, tags), custom field
-- definitions and in-app notifications.

-- btree_gin (contrib) lets the lead-search GIN index (0009) lead with organization_id,
-- so a search only walks the posting lists of one organization.
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- -----------------------------------------------------------------------------
-- pipelines
-- -----------------------------------------------------------------------------
CREATE TABLE pipelines (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    name             text        NOT NULL,
    is_default       boolean     NOT NULL DEFAULT false,
    position         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_pipelines PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_pipelines_organization_id_name UNIQUE (organization_id, name),
    CONSTRAINT fk_pipelines_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_pipelines_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_pipelines_position CHECK (position >= 0)
);

COMMENT ON TABLE pipelines IS
  'scope: tenant. A sales pipeline (kanban board) of the organization; exactly one may be the default.';
COMMENT ON COLUMN pipelines.position IS 'Display order among the organization''s pipelines.';

-- One default pipeline per organization (the seed inserts "Funil de Vendas" with
-- ON CONFLICT (organization_id) WHERE is_default DO NOTHING).
CREATE UNIQUE INDEX uq_pipelines_organization_id_default
    ON pipelines (organization_id)
    WHERE is_default;

CREATE TRIGGER trg_pipelines_updated_at
    BEFORE UPDATE ON pipelines
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- pipeline_stages
-- -----------------------------------------------------------------------------
CREATE TABLE pipeline_stages (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    pipeline_id      uuid        NOT NULL,
    name             text        NOT NULL,
    stage_order      integer     NOT NULL,
    color            text        NOT NULL DEFAULT '#6b7280',
    stage_type       text        NOT NULL DEFAULT 'lead',
    win_probability  integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_pipeline_stages PRIMARY KEY (organization_id, id),
    -- Target of leads' (organization_id, pipeline_id, stage_id) foreign key: a lead's
    -- stage must belong to the lead's pipeline. Also serves fk_pipeline_stages_pipelines.
    CONSTRAINT uq_pipeline_stages_organization_id_pipeline_id_id UNIQUE (organization_id, pipeline_id, id),
    CONSTRAINT uq_pipeline_stages_organization_id_pipeline_id_name UNIQUE (organization_id, pipeline_id, name),
    -- Deferrable so a re-ordering can swap positions inside one transaction
    -- (SET CONSTRAINTS ... DEFERRED).
    CONSTRAINT uq_pipeline_stages_organization_id_pipeline_id_stage_order
        UNIQUE (organization_id, pipeline_id, stage_order) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT fk_pipeline_stages_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Stages are owned by their pipeline (leads still in it block the delete, see leads).
    CONSTRAINT fk_pipeline_stages_pipelines
        FOREIGN KEY (organization_id, pipeline_id)
        REFERENCES pipelines (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT ck_pipeline_stages_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_pipeline_stages_stage_order CHECK (stage_order >= 1),
    -- #RRGGBB, either case accepted (the seeds use lower case).
    CONSTRAINT ck_pipeline_stages_color CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
    CONSTRAINT ck_pipeline_stages_stage_type
        CHECK (stage_type IN ('lead', 'contact', 'proposal', 'negotiation', 'closed')),
    CONSTRAINT ck_pipeline_stages_win_probability CHECK (win_probability BETWEEN 0 AND 100)
);

COMMENT ON TABLE pipeline_stages IS
  'scope: tenant. The ordered columns of a pipeline (Lead, Contato, Proposta, Negociação, Fechado by default).';
COMMENT ON COLUMN pipeline_stages.stage_order IS '1-based position in the pipeline; unique per pipeline (deferrable for re-ordering).';
COMMENT ON COLUMN pipeline_stages.stage_type IS 'What the stage means for reports, independent of its display name.';
COMMENT ON COLUMN pipeline_stages.win_probability IS 'Percentage (0-100) used for the weighted pipeline value.';

CREATE TRIGGER trg_pipeline_stages_updated_at
    BEFORE UPDATE ON pipeline_stages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- leads
-- -----------------------------------------------------------------------------
CREATE TABLE leads (
    organization_id    uuid          NOT NULL,
    id                 uuid          NOT NULL DEFAULT uuid_generate_v7(),
    pipeline_id        uuid          NOT NULL,
    stage_id           uuid          NOT NULL,
    name               text          NOT NULL,
    email              text,
    phone              text,
    company            text,
    job_title          text,
    source             text          NOT NULL DEFAULT 'manual',
    lead_score         integer       NOT NULL DEFAULT 0,
    value              numeric(14,2) NOT NULL DEFAULT 0,
    currency           text          NOT NULL DEFAULT 'BRL',
    status             text          NOT NULL DEFAULT 'open',
    lost_reason        text,
    assigned_user_id   uuid,
    custom_fields      jsonb         NOT NULL DEFAULT '{}'::jsonb,
    last_contacted_at  timestamptz,
    next_follow_up_at  timestamptz,
    stage_changed_at   timestamptz   NOT NULL DEFAULT now(),
    deleted_at         timestamptz,
    created_at         timestamptz   NOT NULL DEFAULT now(),
    updated_at         timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT pk_leads PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_leads_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A pipeline or stage that still holds leads cannot be deleted: move the leads
    -- first. NO ACTION (end-of-statement check) so an organization cascade passes.
    CONSTRAINT fk_leads_pipelines
        FOREIGN KEY (organization_id, pipeline_id)
        REFERENCES pipelines (organization_id, id)
        ON DELETE NO ACTION,
    -- The stage belongs to the lead's pipeline.
    CONSTRAINT fk_leads_pipeline_stages
        FOREIGN KEY (organization_id, pipeline_id, stage_id)
        REFERENCES pipeline_stages (organization_id, pipeline_id, id)
        ON DELETE NO ACTION,
    -- The assignee is a member of this organization; when the member leaves, the lead
    -- becomes unassigned (only assigned_user_id is nulled).
    CONSTRAINT fk_leads_organization_members
        FOREIGN KEY (organization_id, assigned_user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (assigned_user_id),
    CONSTRAINT ck_leads_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_leads_email_lower CHECK (email = lower(email)),
    CONSTRAINT ck_leads_email_format CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT ck_leads_phone CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    CONSTRAINT ck_leads_source CHECK (source IN (
        'manual', 'whatsapp', 'website', 'facebook_ads', 'google_ads',
        'linkedin', 'import', 'api', 'referral', 'other')),
    CONSTRAINT ck_leads_lead_score CHECK (lead_score BETWEEN 0 AND 100),
    CONSTRAINT ck_leads_value CHECK (value >= 0),
    CONSTRAINT ck_leads_currency CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT ck_leads_status CHECK (status IN ('open', 'won', 'lost')),
    CONSTRAINT ck_leads_lost_reason CHECK (lost_reason IS NULL OR status = 'lost'),
    CONSTRAINT ck_leads_custom_fields CHECK (jsonb_typeof(custom_fields) = 'object')
);

COMMENT ON TABLE leads IS
  'scope: tenant. A sales lead (person or company) moving through the stages of one pipeline.';
COMMENT ON COLUMN leads.stage_id IS 'Current stage; must belong to pipeline_id (composite FK through pipeline_stages). Changes are recorded in lead_stage_history.';
COMMENT ON COLUMN leads.lead_score IS 'Qualification score 0-100 (manual or from the active lead_scoring_models row).';
COMMENT ON COLUMN leads.value IS 'Expected deal value in currency, >= 0.';
COMMENT ON COLUMN leads.assigned_user_id IS 'user_id of the member who owns the lead; NULL when unassigned or when that member left.';
COMMENT ON COLUMN leads.custom_fields IS 'Values of the organization''s custom_field_definitions (entity lead), keyed by definition key.';
COMMENT ON COLUMN leads.stage_changed_at IS 'When the lead entered its current stage (kept by trg_leads_stage_changed_at).';
COMMENT ON COLUMN leads.deleted_at IS 'Soft delete: hidden from kanban and search, kept for reports until purged.';

-- Serves fk_leads_pipelines (prefix), fk_leads_pipeline_stages and hot query 4
-- (kanban board summary: count and value per stage of one pipeline).
CREATE INDEX idx_leads_organization_id_pipeline_id_stage_id
    ON leads (organization_id, pipeline_id, stage_id);
-- Serves fk_leads_organization_members and hot query 2 (my leads, most recently
-- updated first).
CREATE INDEX idx_leads_organization_id_assigned_user_id_updated_at
    ON leads (organization_id, assigned_user_id, updated_at DESC);

CREATE TRIGGER trg_leads_updated_at
    BEFORE UPDATE ON leads
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- lead_favorites
-- -----------------------------------------------------------------------------
CREATE TABLE lead_favorites (
    organization_id  uuid        NOT NULL,
    lead_id          uuid        NOT NULL,
    user_id          uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_lead_favorites PRIMARY KEY (organization_id, lead_id, user_id),
    CONSTRAINT fk_lead_favorites_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_lead_favorites_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT fk_lead_favorites_organization_members
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE CASCADE
);

COMMENT ON TABLE lead_favorites IS
  'scope: tenant. Leads a member starred (link table, one row per lead and member).';

-- "My favorites", newest first; serves fk_lead_favorites_organization_members.
CREATE INDEX idx_lead_favorites_organization_id_user_id_created_at
    ON lead_favorites (organization_id, user_id, created_at DESC);

-- -----------------------------------------------------------------------------
-- lead_stage_history (append-only, written by a trigger on leads)
-- -----------------------------------------------------------------------------
CREATE TABLE lead_stage_history (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    lead_id          uuid        NOT NULL,
    from_stage_id    uuid,
    to_stage_id      uuid,
    changed_by       uuid,
    changed_at       timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_lead_stage_history PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_lead_stage_history_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_lead_stage_history_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    -- History outlives a deleted stage (e.g. its pipeline was removed): only the stage
    -- reference is nulled.
    CONSTRAINT fk_lead_stage_history_pipeline_stages_from_stage_id
        FOREIGN KEY (organization_id, from_stage_id)
        REFERENCES pipeline_stages (organization_id, id)
        ON DELETE SET NULL (from_stage_id),
    CONSTRAINT fk_lead_stage_history_pipeline_stages_to_stage_id
        FOREIGN KEY (organization_id, to_stage_id)
        REFERENCES pipeline_stages (organization_id, id)
        ON DELETE SET NULL (to_stage_id),
    CONSTRAINT fk_lead_stage_history_organization_members
        FOREIGN KEY (organization_id, changed_by)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (changed_by)
);

COMMENT ON TABLE lead_stage_history IS
  'scope: tenant. One row per stage change of a lead, written by trg_leads_stage_history (append-only by convention; no updated_at).';
COMMENT ON COLUMN lead_stage_history.from_stage_id IS 'Stage the lead left (NULL if that stage was deleted since).';
COMMENT ON COLUMN lead_stage_history.to_stage_id IS 'Stage the lead entered (NULL if that stage was deleted since).';
COMMENT ON COLUMN lead_stage_history.changed_by IS 'user_id from the transaction setting app.current_user_id (must be a member); NULL for system changes.';
COMMENT ON COLUMN lead_stage_history.changed_at IS 'When the move happened; equals created_at when written by the trigger, earlier for imported history.';

-- Lead timeline of stage moves; serves fk_lead_stage_history_leads.
CREATE INDEX idx_lead_stage_history_organization_id_lead_id_changed_at
    ON lead_stage_history (organization_id, lead_id, changed_at DESC);
CREATE INDEX idx_lead_stage_history_organization_id_from_stage_id
    ON lead_stage_history (organization_id, from_stage_id);
-- Conversion reports ("entered stage X this month"); serves the to_stage_id FK.
CREATE INDEX idx_lead_stage_history_organization_id_to_stage_id_changed_at
    ON lead_stage_history (organization_id, to_stage_id, changed_at);
CREATE INDEX idx_lead_stage_history_organization_id_changed_by
    ON lead_stage_history (organization_id, changed_by);

-- BEFORE: stamp the time the lead entered its new stage.
CREATE FUNCTION leads_set_stage_changed_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.stage_changed_at := now();
  RETURN NEW;
END
$$;

COMMENT ON FUNCTION leads_set_stage_changed_at() IS
  'BEFORE UPDATE OF stage_id trigger of leads: sets stage_changed_at.';

CREATE TRIGGER trg_leads_stage_changed_at
    BEFORE UPDATE OF stage_id ON leads
    FOR EACH ROW
    WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION leads_set_stage_changed_at();

-- AFTER: one history row per actual stage change. Runs as the caller, so under RLS the
-- row is checked against the same organization the lead update passed.
CREATE FUNCTION leads_record_stage_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO lead_stage_history
    (organization_id, lead_id, from_stage_id, to_stage_id, changed_by, changed_at)
  VALUES
    (NEW.organization_id, NEW.id, OLD.stage_id, NEW.stage_id,
     NULLIF(current_setting('app.current_user_id', true), '')::uuid, now());
  RETURN NULL;
END
$$;

COMMENT ON FUNCTION leads_record_stage_change() IS
  'AFTER UPDATE OF stage_id trigger of leads: inserts one lead_stage_history row (changed_by from app.current_user_id).';

CREATE TRIGGER trg_leads_stage_history
    AFTER UPDATE OF stage_id ON leads
    FOR EACH ROW
    WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id)
    EXECUTE FUNCTION leads_record_stage_change();

-- -----------------------------------------------------------------------------
-- communications
-- -----------------------------------------------------------------------------
CREATE TABLE communications (
    organization_id   uuid        NOT NULL,
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    lead_id           uuid        NOT NULL,
    user_id           uuid,
    channel           text        NOT NULL,
    direction         text        NOT NULL,
    content           text,
    status            text        NOT NULL DEFAULT 'queued',
    external_id       text,
    template_id       uuid,
    duration_seconds  integer,
    recording_url     text,
    metadata          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    occurred_at       timestamptz NOT NULL DEFAULT now(),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_communications PRIMARY KEY (organization_id, id),
    -- A provider's retried webhook is stored once (NULL external_id: not deduplicated).
    CONSTRAINT uq_communications_organization_id_channel_external_id
        UNIQUE (organization_id, channel, external_id),
    CONSTRAINT fk_communications_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A lead's messages and calls are erased with the lead.
    CONSTRAINT fk_communications_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT fk_communications_organization_members
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (user_id),
    -- fk_communications_message_templates is added by 0005 (message_templates is
    -- created there).
    CONSTRAINT ck_communications_channel CHECK (channel IN ('whatsapp', 'email', 'phone', 'sms', 'meeting')),
    CONSTRAINT ck_communications_direction CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT ck_communications_status
        CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed', 'received')),
    CONSTRAINT ck_communications_external_id CHECK (btrim(external_id) <> ''),
    CONSTRAINT ck_communications_duration_seconds CHECK (duration_seconds >= 0),
    CONSTRAINT ck_communications_recording_url CHECK (recording_url ~ '^https://'),
    CONSTRAINT ck_communications_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE communications IS
  'scope: tenant. Every message, call or meeting with a lead, on any channel, inbound or outbound.';
COMMENT ON COLUMN communications.user_id IS 'user_id of the member who sent/handled it; NULL for automatic or inbound-only traffic, or once the member left.';
COMMENT ON COLUMN communications.content IS 'Message text (NULL for calls and meetings without notes).';
COMMENT ON COLUMN communications.external_id IS 'Provider message/call id (WhatsApp wamid, Twilio CallSid...), unique per organization and channel.';
COMMENT ON COLUMN communications.template_id IS 'message_templates row used to compose it; NULL once the template is deleted.';
COMMENT ON COLUMN communications.occurred_at IS 'When the message was sent/received or the call happened (the timeline order), not when the row was written.';

-- Hot query 3 (lead timeline, newest first); serves fk_communications_leads.
CREATE INDEX idx_communications_organization_id_lead_id_occurred_at
    ON communications (organization_id, lead_id, occurred_at DESC);
CREATE INDEX idx_communications_organization_id_user_id
    ON communications (organization_id, user_id);

CREATE TRIGGER trg_communications_updated_at
    BEFORE UPDATE ON communications
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- lead_notes
-- -----------------------------------------------------------------------------
CREATE TABLE lead_notes (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    lead_id          uuid        NOT NULL,
    author_user_id   uuid,
    body             text        NOT NULL,
    is_pinned        boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_lead_notes PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_lead_notes_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_lead_notes_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    -- Notes stay on the lead after their author leaves the organization.
    CONSTRAINT fk_lead_notes_organization_members
        FOREIGN KEY (organization_id, author_user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (author_user_id),
    CONSTRAINT ck_lead_notes_body CHECK (btrim(body) <> '')
);

COMMENT ON TABLE lead_notes IS
  'scope: tenant. Free-text notes members write on a lead.';
COMMENT ON COLUMN lead_notes.author_user_id IS 'user_id of the member who wrote it; NULL once that member left.';

CREATE INDEX idx_lead_notes_organization_id_lead_id_created_at
    ON lead_notes (organization_id, lead_id, created_at DESC);
CREATE INDEX idx_lead_notes_organization_id_author_user_id
    ON lead_notes (organization_id, author_user_id);

CREATE TRIGGER trg_lead_notes_updated_at
    BEFORE UPDATE ON lead_notes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- tasks
-- -----------------------------------------------------------------------------
CREATE TABLE tasks (
    organization_id   uuid        NOT NULL,
    id                uuid        NOT NULL DEFAULT uuid_generate_v7(),
    lead_id           uuid,
    assigned_user_id  uuid,
    title             text        NOT NULL,
    description       text,
    type              text        NOT NULL DEFAULT 'follow_up',
    priority          text        NOT NULL DEFAULT 'normal',
    due_at            timestamptz,
    completed_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_tasks PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_tasks_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_tasks_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    -- The assignee is a member; a departing member's tasks become unassigned.
    CONSTRAINT fk_tasks_organization_members
        FOREIGN KEY (organization_id, assigned_user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE SET NULL (assigned_user_id),
    CONSTRAINT ck_tasks_title CHECK (btrim(title) <> ''),
    CONSTRAINT ck_tasks_type CHECK (type IN ('call', 'email', 'meeting', 'whatsapp', 'follow_up', 'other')),
    CONSTRAINT ck_tasks_priority CHECK (priority IN ('low', 'normal', 'high', 'urgent'))
);

COMMENT ON TABLE tasks IS
  'scope: tenant. To-dos of members, usually about a lead (calls, follow-ups, meetings).';
COMMENT ON COLUMN tasks.lead_id IS 'Lead the task is about (NULL for general tasks); deleted with the lead.';
COMMENT ON COLUMN tasks.completed_at IS 'NULL while the task is open.';

CREATE INDEX idx_tasks_organization_id_lead_id_due_at
    ON tasks (organization_id, lead_id, due_at);
-- Serves fk_tasks_organization_members (a foreign key needs a non-partial index).
CREATE INDEX idx_tasks_organization_id_assigned_user_id
    ON tasks (organization_id, assigned_user_id);
-- "My open tasks" by due date: only open tasks are ever listed this way.
CREATE INDEX idx_tasks_organization_id_assigned_user_id_due_at_open
    ON tasks (organization_id, assigned_user_id, due_at)
    WHERE completed_at IS NULL;

CREATE TRIGGER trg_tasks_updated_at
    BEFORE UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- tags
-- -----------------------------------------------------------------------------
CREATE TABLE tags (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    name             text        NOT NULL,
    color            text        NOT NULL DEFAULT '#6b7280',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_tags PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_tags_organization_id_name UNIQUE (organization_id, name),
    CONSTRAINT fk_tags_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_tags_name CHECK (btrim(name) <> ''),
    CONSTRAINT ck_tags_color CHECK (color ~ '^#[0-9a-fA-F]{6}$')
);

COMMENT ON TABLE tags IS
  'scope: tenant. Labels of the organization that can be put on leads.';

CREATE TRIGGER trg_tags_updated_at
    BEFORE UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- lead_tags
-- -----------------------------------------------------------------------------
CREATE TABLE lead_tags (
    organization_id  uuid        NOT NULL,
    lead_id          uuid        NOT NULL,
    tag_id           uuid        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_lead_tags PRIMARY KEY (organization_id, lead_id, tag_id),
    CONSTRAINT fk_lead_tags_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT fk_lead_tags_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT fk_lead_tags_tags
        FOREIGN KEY (organization_id, tag_id)
        REFERENCES tags (organization_id, id)
        ON DELETE CASCADE
);

COMMENT ON TABLE lead_tags IS
  'scope: tenant. Which tags are on which lead (link table).';

-- Leads with a given tag; serves fk_lead_tags_tags.
CREATE INDEX idx_lead_tags_organization_id_tag_id
    ON lead_tags (organization_id, tag_id);

-- -----------------------------------------------------------------------------
-- custom_field_definitions
-- -----------------------------------------------------------------------------
CREATE TABLE custom_field_definitions (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    entity           text        NOT NULL DEFAULT 'lead',
    key              text        NOT NULL,
    label            text        NOT NULL,
    field_type       text        NOT NULL,
    options          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    is_required      boolean     NOT NULL DEFAULT false,
    position         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_custom_field_definitions PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_custom_field_definitions_organization_id_entity_key UNIQUE (organization_id, entity, key),
    CONSTRAINT fk_custom_field_definitions_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_custom_field_definitions_entity CHECK (entity IN ('lead')),
    CONSTRAINT ck_custom_field_definitions_key CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT ck_custom_field_definitions_label CHECK (btrim(label) <> ''),
    CONSTRAINT ck_custom_field_definitions_field_type
        CHECK (field_type IN ('text', 'number', 'date', 'boolean', 'select', 'multiselect')),
    CONSTRAINT ck_custom_field_definitions_options CHECK (jsonb_typeof(options) = 'array'),
    -- Only choice fields carry options.
    CONSTRAINT ck_custom_field_definitions_options_field_type
        CHECK (field_type IN ('select', 'multiselect') OR options = '[]'::jsonb),
    CONSTRAINT ck_custom_field_definitions_position CHECK (position >= 0)
);

COMMENT ON TABLE custom_field_definitions IS
  'scope: tenant. Extra fields an organization defines for its leads; values live in leads.custom_fields.';
COMMENT ON COLUMN custom_field_definitions.key IS 'Property name in leads.custom_fields (snake_case); an identifier, not a secret.';
COMMENT ON COLUMN custom_field_definitions.options IS 'Array of choices for select/multiselect fields, empty otherwise.';

CREATE TRIGGER trg_custom_field_definitions_updated_at
    BEFORE UPDATE ON custom_field_definitions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- notifications
-- -----------------------------------------------------------------------------
CREATE TABLE notifications (
    organization_id  uuid        NOT NULL,
    id               uuid        NOT NULL DEFAULT uuid_generate_v7(),
    user_id          uuid        NOT NULL,
    type             text        NOT NULL,
    title            text        NOT NULL,
    body             text,
    payload          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    read_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_notifications PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_notifications_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A member's notifications go with the membership.
    CONSTRAINT fk_notifications_organization_members
        FOREIGN KEY (organization_id, user_id)
        REFERENCES organization_members (organization_id, user_id)
        ON DELETE CASCADE,
    CONSTRAINT ck_notifications_type CHECK (type ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT ck_notifications_title CHECK (btrim(title) <> ''),
    CONSTRAINT ck_notifications_payload CHECK (jsonb_typeof(payload) = 'object')
);

COMMENT ON TABLE notifications IS
  'scope: tenant. In-app notifications of a member (lead assigned, task due, message received...).';
COMMENT ON COLUMN notifications.type IS 'Dotted lower-case kind, e.g. lead.assigned, task.due.';
COMMENT ON COLUMN notifications.payload IS 'Object with the ids the notification links to, e.g. {"lead_id": "..."}.';
COMMENT ON COLUMN notifications.read_at IS 'NULL while unread.';

-- Serves the member foreign key (which needs a non-partial index).
CREATE INDEX idx_notifications_organization_id_user_id
    ON notifications (organization_id, user_id);
-- The unread badge and list: only unread rows.
CREATE INDEX idx_notifications_organization_id_user_id_created_at_unread
    ON notifications (organization_id, user_id, created_at DESC)
    WHERE read_at IS NULL;

CREATE TRIGGER trg_notifications_updated_at
    BEFORE UPDATE ON notifications
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- Lead search document (used by the trigram index of 0009 and search_leads of 0010)
-- -----------------------------------------------------------------------------
CREATE FUNCTION lead_search_document(p_name text, p_email text, p_phone text, p_company text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN p_name || ' ' || coalesce(p_email, '') || ' ' || coalesce(p_phone, '') || ' ' || coalesce(p_company, '');

COMMENT ON FUNCTION lead_search_document(text, text, text, text) IS
  'The text lead search matches (name, e-mail, phone, company). One definition shared by the index and the search function so they always agree.';
