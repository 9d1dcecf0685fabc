-- AI / ML pipeline: chatbot conversations, the organization's training data set and
-- its lead-scoring models.

-- -----------------------------------------------------------------------------
-- ai_conversations
-- -----------------------------------------------------------------------------
CREATE TABLE ai_conversations (
    organization_id      uuid        NOT NULL,
    id                   uuid        NOT NULL DEFAULT uuid_generate_v7(),
    lead_id              uuid,
    session_id           text        NOT NULL,
    channel              text        NOT NULL,
    messages             jsonb       NOT NULL DEFAULT '[]'::jsonb,
    model                text,
    qualification_score  integer,
    handoff_triggered    boolean     NOT NULL DEFAULT false,
    handoff_reason       text,
    token_usage          integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_ai_conversations PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_ai_conversations_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- Conversations hold the lead's personal data: erased with the lead.
    CONSTRAINT fk_ai_conversations_leads
        FOREIGN KEY (organization_id, lead_id)
        REFERENCES leads (organization_id, id)
        ON DELETE CASCADE,
    CONSTRAINT ck_ai_conversations_session_id CHECK (btrim(session_id) <> ''),
    CONSTRAINT ck_ai_conversations_channel
        CHECK (channel IN ('whatsapp', 'web_chat', 'email', 'sms', 'phone', 'other')),
    CONSTRAINT ck_ai_conversations_messages CHECK (jsonb_typeof(messages) = 'array'),
    CONSTRAINT ck_ai_conversations_qualification_score CHECK (qualification_score BETWEEN 0 AND 100),
    CONSTRAINT ck_ai_conversations_handoff_reason CHECK (handoff_reason IS NULL OR handoff_triggered),
    CONSTRAINT ck_ai_conversations_token_usage CHECK (token_usage >= 0)
);

COMMENT ON TABLE ai_conversations IS
  'scope: tenant. A chatbot conversation (LLM) with a visitor or lead, with its qualification result and hand-off to a human.';
COMMENT ON COLUMN ai_conversations.lead_id IS 'Lead the conversation is with; NULL while the visitor is anonymous. Deleted with the lead.';
COMMENT ON COLUMN ai_conversations.session_id IS 'Channel session identifier (web chat session, WhatsApp wa_id...), the lookup key of the bot.';
COMMENT ON COLUMN ai_conversations.messages IS 'Chat-format array: [{"role": "user"|"assistant"|"system", "content": "..."}].';
COMMENT ON COLUMN ai_conversations.qualification_score IS '0-100 score the model gave the lead; NULL until qualified.';
COMMENT ON COLUMN ai_conversations.token_usage IS 'Number of LLM tokens (prompt + completion) consumed: a counter for cost, not a secret.';

CREATE INDEX idx_ai_conversations_organization_id_lead_id
    ON ai_conversations (organization_id, lead_id);

CREATE TRIGGER trg_ai_conversations_updated_at
    BEFORE UPDATE ON ai_conversations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- ai_training_data
-- -----------------------------------------------------------------------------
CREATE TABLE ai_training_data (
    organization_id  uuid         NOT NULL,
    id               uuid         NOT NULL DEFAULT uuid_generate_v7(),
    data_type        text         NOT NULL,
    input_data       jsonb        NOT NULL,
    expected_output  jsonb        NOT NULL,
    actual_output    jsonb,
    feedback_score   numeric(3,2),
    conversation_id  uuid,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_ai_training_data PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_ai_training_data_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    -- A curated example stays in the data set after its source conversation is gone.
    CONSTRAINT fk_ai_training_data_ai_conversations
        FOREIGN KEY (organization_id, conversation_id)
        REFERENCES ai_conversations (organization_id, id)
        ON DELETE SET NULL (conversation_id),
    CONSTRAINT ck_ai_training_data_data_type CHECK (data_type IN ('lead_qualification', 'sentiment', 'scoring')),
    CONSTRAINT ck_ai_training_data_input_data CHECK (jsonb_typeof(input_data) = 'object'),
    CONSTRAINT ck_ai_training_data_feedback_score CHECK (feedback_score BETWEEN 0 AND 1)
);

COMMENT ON TABLE ai_training_data IS
  'scope: tenant. The organization''s own labelled examples for qualification, sentiment and scoring models.';
COMMENT ON COLUMN ai_training_data.expected_output IS 'Label (any JSON value) the model should produce for input_data.';
COMMENT ON COLUMN ai_training_data.actual_output IS 'What the model produced, for evaluation; NULL until evaluated.';
COMMENT ON COLUMN ai_training_data.feedback_score IS 'Human feedback on actual_output, 0.00 (wrong) to 1.00 (right).';
COMMENT ON COLUMN ai_training_data.conversation_id IS 'Conversation the example was taken from; NULL if created by hand or the conversation was deleted.';

CREATE INDEX idx_ai_training_data_organization_id_conversation_id
    ON ai_training_data (organization_id, conversation_id);

CREATE TRIGGER trg_ai_training_data_updated_at
    BEFORE UPDATE ON ai_training_data
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- -----------------------------------------------------------------------------
-- lead_scoring_models
-- -----------------------------------------------------------------------------
CREATE TABLE lead_scoring_models (
    organization_id      uuid         NOT NULL,
    id                   uuid         NOT NULL DEFAULT uuid_generate_v7(),
    model_name           text         NOT NULL,
    model_version        text         NOT NULL,
    model_config         jsonb        NOT NULL DEFAULT '{}'::jsonb,
    training_data_count  integer      NOT NULL DEFAULT 0,
    accuracy_score       numeric(5,4),
    is_active            boolean      NOT NULL DEFAULT false,
    trained_at           timestamptz,
    created_at           timestamptz  NOT NULL DEFAULT now(),
    updated_at           timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_lead_scoring_models PRIMARY KEY (organization_id, id),
    CONSTRAINT uq_lead_scoring_models_organization_id_model_name_model_version
        UNIQUE (organization_id, model_name, model_version),
    CONSTRAINT fk_lead_scoring_models_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT ck_lead_scoring_models_model_name CHECK (btrim(model_name) <> ''),
    CONSTRAINT ck_lead_scoring_models_model_version CHECK (btrim(model_version) <> ''),
    CONSTRAINT ck_lead_scoring_models_model_config CHECK (jsonb_typeof(model_config) = 'object'),
    CONSTRAINT ck_lead_scoring_models_training_data_count CHECK (training_data_count >= 0),
    CONSTRAINT ck_lead_scoring_models_accuracy_score CHECK (accuracy_score BETWEEN 0 AND 1)
);

COMMENT ON TABLE lead_scoring_models IS
  'scope: tenant. Versions of the organization''s lead-scoring model; at most one is active and scores new leads.';
COMMENT ON COLUMN lead_scoring_models.model_config IS 'Model parameters (weights, thresholds, feature list) as an object.';
COMMENT ON COLUMN lead_scoring_models.accuracy_score IS 'Validation accuracy 0-1 (the baseline seed model has 0.75).';

-- At most one active model per organization (activation = deactivate old, activate new
-- in one transaction).
CREATE UNIQUE INDEX uq_lead_scoring_models_organization_id_active
    ON lead_scoring_models (organization_id)
    WHERE is_active;

CREATE TRIGGER trg_lead_scoring_models_updated_at
    BEFORE UPDATE ON lead_scoring_models
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
