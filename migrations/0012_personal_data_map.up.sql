-- The personal-data map of LGPD (Lei 13.709/2018): every column that can hold text, JSON,
-- an address or an array, and so personal data, declares on the first line of its comment
-- what it holds: pii: contact (reaches or names a person: name, e-mail, phone, address),
-- pii: identifier (points at a person indirectly: IP, user agent, session and provider ids),
-- pii: content (free text or JSON written by or about a person), or pii: none. crmdb audit
-- (rule personal_data) fails on such a column without one; privacy export and erase read it.
-- A comment the column already had follows on the next lines, unchanged.

COMMENT ON COLUMN ai_conversations.session_id IS 'pii: identifier
Channel session identifier (web chat session, WhatsApp wa_id...), the lookup key of the bot.';
COMMENT ON COLUMN ai_conversations.channel IS 'pii: none';
COMMENT ON COLUMN ai_conversations.messages IS 'pii: content
Chat-format array: [{"role": "user"|"assistant"|"system", "content": "..."}].';
COMMENT ON COLUMN ai_conversations.model IS 'pii: none';
COMMENT ON COLUMN ai_conversations.handoff_reason IS 'pii: content';

COMMENT ON COLUMN ai_training_data.data_type IS 'pii: none';
COMMENT ON COLUMN ai_training_data.input_data IS 'pii: content';
COMMENT ON COLUMN ai_training_data.expected_output IS 'pii: content
Label (any JSON value) the model should produce for input_data.';
COMMENT ON COLUMN ai_training_data.actual_output IS 'pii: content
What the model produced, for evaluation; NULL until evaluated.';

COMMENT ON COLUMN analytics_events.event_type IS 'pii: none
Dotted lower-case event name, e.g. lead.created, message.sent.';
COMMENT ON COLUMN analytics_events.event_data IS 'pii: content';
COMMENT ON COLUMN analytics_events.session_id IS 'pii: identifier';

COMMENT ON COLUMN api_keys.service_name IS 'pii: none
External service the key is for (openai, anthropic, ...): an identifier, not a secret.';
COMMENT ON COLUMN api_keys.key_name IS 'pii: none
Label the organization gave the key (e.g. "production"): not a secret.';
COMMENT ON COLUMN api_keys.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN api_keys.key_hint IS 'pii: none
Last characters of the key (at most 4), shown to identify it.';

COMMENT ON COLUMN audit_logs.action IS 'pii: none
Dotted lower-case verb, e.g. lead.updated, member.role_changed.';
COMMENT ON COLUMN audit_logs.entity_type IS 'pii: none';
COMMENT ON COLUMN audit_logs.changes IS 'pii: content
Object of changed fields: {"field": {"old": ..., "new": ...}}.';
COMMENT ON COLUMN audit_logs.ip IS 'pii: identifier';
COMMENT ON COLUMN audit_logs.user_agent IS 'pii: identifier';

COMMENT ON COLUMN auth_tokens.purpose IS 'pii: none';

COMMENT ON COLUMN background_jobs.queue IS 'pii: none';
COMMENT ON COLUMN background_jobs.job_type IS 'pii: none';
COMMENT ON COLUMN background_jobs.payload IS 'pii: content';
COMMENT ON COLUMN background_jobs.status IS 'pii: none';
COMMENT ON COLUMN background_jobs.locked_by IS 'pii: none
Identifier of the worker running the job (host:pid), for stuck-job recovery.';
COMMENT ON COLUMN background_jobs.last_error IS 'pii: content';

COMMENT ON COLUMN calendar_events.external_event_id IS 'pii: identifier
Event id at the provider; unique per integration (upsert key of the sync).';
COMMENT ON COLUMN calendar_events.title IS 'pii: content
Event title; the sync substitutes the provider''s placeholder for untitled events.';
COMMENT ON COLUMN calendar_events.description IS 'pii: content';
COMMENT ON COLUMN calendar_events.location IS 'pii: contact';
COMMENT ON COLUMN calendar_events.status IS 'pii: none';
COMMENT ON COLUMN calendar_events.meeting_url IS 'pii: identifier';

COMMENT ON COLUMN calendar_integrations.provider IS 'pii: none';
COMMENT ON COLUMN calendar_integrations.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';
COMMENT ON COLUMN calendar_integrations.calendar_id IS 'pii: identifier';
COMMENT ON COLUMN calendar_integrations.sync_cursor IS 'pii: none
The provider''s incremental-sync token (Google syncToken, Microsoft deltaLink): a cursor, not a credential.';
COMMENT ON COLUMN calendar_integrations.sync_status IS 'pii: none';

COMMENT ON COLUMN communications.channel IS 'pii: none';
COMMENT ON COLUMN communications.direction IS 'pii: none';
COMMENT ON COLUMN communications.content IS 'pii: content
Message text (NULL for calls and meetings without notes).';
COMMENT ON COLUMN communications.status IS 'pii: none';
COMMENT ON COLUMN communications.external_id IS 'pii: identifier
Provider message/call id (WhatsApp wamid, Twilio CallSid...), unique per organization and channel.';
COMMENT ON COLUMN communications.recording_url IS 'pii: identifier';
COMMENT ON COLUMN communications.metadata IS 'pii: content';

COMMENT ON COLUMN custom_field_definitions.entity IS 'pii: none';
COMMENT ON COLUMN custom_field_definitions.key IS 'pii: none
Property name in leads.custom_fields (snake_case); an identifier, not a secret.';
COMMENT ON COLUMN custom_field_definitions.label IS 'pii: none';
COMMENT ON COLUMN custom_field_definitions.field_type IS 'pii: none';
COMMENT ON COLUMN custom_field_definitions.options IS 'pii: none
Array of choices for select/multiselect fields, empty otherwise.';

COMMENT ON COLUMN invoices.stripe_invoice_id IS 'pii: none';
COMMENT ON COLUMN invoices.currency IS 'pii: none';
COMMENT ON COLUMN invoices.status IS 'pii: none';
COMMENT ON COLUMN invoices.hosted_invoice_url IS 'pii: identifier';

COMMENT ON COLUMN lead_notes.body IS 'pii: content';

COMMENT ON COLUMN lead_scoring_models.model_name IS 'pii: none';
COMMENT ON COLUMN lead_scoring_models.model_version IS 'pii: none';
COMMENT ON COLUMN lead_scoring_models.model_config IS 'pii: none
Model parameters (weights, thresholds, feature list) as an object.';

COMMENT ON COLUMN leads.name IS 'pii: contact';
COMMENT ON COLUMN leads.email IS 'pii: contact';
COMMENT ON COLUMN leads.phone IS 'pii: contact';
COMMENT ON COLUMN leads.company IS 'pii: content';
COMMENT ON COLUMN leads.job_title IS 'pii: content';
COMMENT ON COLUMN leads.source IS 'pii: none';
COMMENT ON COLUMN leads.currency IS 'pii: none';
COMMENT ON COLUMN leads.status IS 'pii: none';
COMMENT ON COLUMN leads.lost_reason IS 'pii: content';
COMMENT ON COLUMN leads.custom_fields IS 'pii: content
Values of the organization''s custom_field_definitions (entity lead), keyed by definition key.';

COMMENT ON COLUMN marketing_integrations.platform IS 'pii: none';
COMMENT ON COLUMN marketing_integrations.account_id IS 'pii: none
Ad account id at the platform.';
COMMENT ON COLUMN marketing_integrations.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';

COMMENT ON COLUMN message_templates.name IS 'pii: none';
COMMENT ON COLUMN message_templates.category IS 'pii: none';
COMMENT ON COLUMN message_templates.channel IS 'pii: none';
COMMENT ON COLUMN message_templates.content IS 'pii: none
Body with {{variable}} placeholders (e.g. {{lead_name}}), filled in by the application.';
COMMENT ON COLUMN message_templates.variables IS 'pii: none
jsonb array of the placeholder names used in content; must equal template_placeholders(content) as a set.';
COMMENT ON COLUMN message_templates.language IS 'pii: none
BCP 47 tag (pt-BR); the WhatsApp API form (pt_BR) is derived by the application.';
COMMENT ON COLUMN message_templates.wa_template_name IS 'pii: none
Name of the WhatsApp Business template this one is submitted as; NULL if not submitted.';
COMMENT ON COLUMN message_templates.wa_category IS 'pii: none';
COMMENT ON COLUMN message_templates.parameter_format IS 'pii: none
WhatsApp parameter style of components: positional ({{1}}) or named ({{name}}).';
COMMENT ON COLUMN message_templates.components IS 'pii: none
WhatsApp template components (header, body, footer, buttons) as sent to the Graph API.';
COMMENT ON COLUMN message_templates.wa_status IS 'pii: none
Review status reported by WhatsApp; NULL if never submitted.';

COMMENT ON COLUMN notifications.type IS 'pii: none
Dotted lower-case kind, e.g. lead.assigned, task.due.';
COMMENT ON COLUMN notifications.title IS 'pii: content';
COMMENT ON COLUMN notifications.body IS 'pii: content';
COMMENT ON COLUMN notifications.payload IS 'pii: content
Object with the ids the notification links to, e.g. {"lead_id": "..."}.';

COMMENT ON COLUMN organization_invitations.email IS 'pii: contact';
COMMENT ON COLUMN organization_invitations.role IS 'pii: none';

COMMENT ON COLUMN organization_members.role IS 'pii: none';
COMMENT ON COLUMN organization_members.status IS 'pii: none';

COMMENT ON COLUMN organizations.name IS 'pii: contact';
COMMENT ON COLUMN organizations.slug IS 'pii: none
URL/subdomain identifier, lower-case [a-z0-9-], unique across the platform.';
COMMENT ON COLUMN organizations.locale IS 'pii: none';
COMMENT ON COLUMN organizations.timezone IS 'pii: none';
COMMENT ON COLUMN organizations.currency IS 'pii: none
ISO 4217 code; default currency of leads and templates of the organization.';
COMMENT ON COLUMN organizations.settings IS 'pii: content';

COMMENT ON COLUMN pipeline_stages.name IS 'pii: none';
COMMENT ON COLUMN pipeline_stages.color IS 'pii: none';
COMMENT ON COLUMN pipeline_stages.stage_type IS 'pii: none
What the stage means for reports, independent of its display name.';

COMMENT ON COLUMN pipelines.name IS 'pii: none';

COMMENT ON COLUMN plans.code IS 'pii: none';
COMMENT ON COLUMN plans.name IS 'pii: none';
COMMENT ON COLUMN plans.currency IS 'pii: none';
COMMENT ON COLUMN plans.billing_interval IS 'pii: none';
COMMENT ON COLUMN plans.limits IS 'pii: none
Plan limits, e.g. {"users": 5, "leads": 10000}; absent key = unlimited.';
COMMENT ON COLUMN plans.stripe_price_id IS 'pii: none
Stripe Price id (price_...); NULL for plans not sold through Stripe (free).';

COMMENT ON COLUMN provider_routes.provider IS 'pii: none';
COMMENT ON COLUMN provider_routes.external_account_id IS 'pii: none
The provider''s account id in the webhook (WhatsApp phone_number_id, Stripe customer id, Twilio AccountSid...).';

COMMENT ON COLUMN stripe_webhook_events.stripe_event_id IS 'pii: none';
COMMENT ON COLUMN stripe_webhook_events.type IS 'pii: none
Stripe event type, e.g. invoice.paid, customer.subscription.updated.';
COMMENT ON COLUMN stripe_webhook_events.payload IS 'pii: content';
COMMENT ON COLUMN stripe_webhook_events.processing_error IS 'pii: content';

COMMENT ON COLUMN subscriptions.stripe_customer_id IS 'pii: identifier
Stripe Customer id (cus_...); inbound Stripe webhooks are routed to the organization through provider_routes.';
COMMENT ON COLUMN subscriptions.stripe_subscription_id IS 'pii: none';
COMMENT ON COLUMN subscriptions.status IS 'pii: none';

COMMENT ON COLUMN tags.name IS 'pii: none';
COMMENT ON COLUMN tags.color IS 'pii: none';

COMMENT ON COLUMN tasks.title IS 'pii: content';
COMMENT ON COLUMN tasks.description IS 'pii: content';
COMMENT ON COLUMN tasks.type IS 'pii: none';
COMMENT ON COLUMN tasks.priority IS 'pii: none';

COMMENT ON COLUMN template_usage_stats.success_metric IS 'pii: none
Outcome measured for this use; NULL until one is recorded.';

COMMENT ON COLUMN user_sessions.ip IS 'pii: identifier';
COMMENT ON COLUMN user_sessions.user_agent IS 'pii: identifier';

COMMENT ON COLUMN user_two_factor.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN user_two_factor.backup_code_hashes IS 'pii: none
Argon2 PHC hashes of the unused backup codes (a used code is removed).';

COMMENT ON COLUMN users.email IS 'pii: contact
Lower-case login e-mail, unique across the platform.';
COMMENT ON COLUMN users.password_hash IS 'pii: none
Argon2 PHC string ($argon2id$...); NULL for users who have not set a password (invited, magic link only).';
COMMENT ON COLUMN users.full_name IS 'pii: contact';
COMMENT ON COLUMN users.phone IS 'pii: contact
E.164 phone number (+5511999999999).';
COMMENT ON COLUMN users.locale IS 'pii: none';
COMMENT ON COLUMN users.email_verified_at IS 'pii: none';

COMMENT ON COLUMN voip_configs.provider IS 'pii: none';
COMMENT ON COLUMN voip_configs.phone_number IS 'pii: contact
E.164 caller number; NULL while awaiting setup.';
COMMENT ON COLUMN voip_configs.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN voip_configs.currency IS 'pii: none';

COMMENT ON COLUMN webhook_delivery_logs.event_type IS 'pii: none';
COMMENT ON COLUMN webhook_delivery_logs.payload IS 'pii: content';
COMMENT ON COLUMN webhook_delivery_logs.status IS 'pii: none
pending (scheduled at next_retry_at), succeeded, failed (last attempt failed, no retry scheduled) or dead (gave up).';
COMMENT ON COLUMN webhook_delivery_logs.last_error IS 'pii: content';

COMMENT ON COLUMN webhook_subscriptions.url IS 'pii: none';
COMMENT ON COLUMN webhook_subscriptions.description IS 'pii: content';
COMMENT ON COLUMN webhook_subscriptions.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN webhook_subscriptions.events IS 'pii: none
Event names delivered to this endpoint (e.g. lead.created), or * for all.';

COMMENT ON COLUMN whatsapp_configs.provider IS 'pii: none';
COMMENT ON COLUMN whatsapp_configs.phone_number IS 'pii: contact
E.164 number; NULL until known (web_api before pairing).';
COMMENT ON COLUMN whatsapp_configs.phone_number_id IS 'pii: none
Meta phone number id; inbound webhooks are routed by it through provider_routes.';
COMMENT ON COLUMN whatsapp_configs.business_account_id IS 'pii: none';
COMMENT ON COLUMN whatsapp_configs.encryption_key_id IS 'pii: none
Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';

-- Erasure (LGPD art. 18, VI) reaches the audit log: an entry about an erased person keeps who
-- did what and when, and loses the values it recorded. The log stays append-only otherwise:
-- the one UPDATE allowed empties `changes` and touches no other column, so it can destroy a
-- detail but never forge one; the application may update that column alone.
CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND NOT EXISTS (SELECT 1 FROM organizations WHERE id = OLD.organization_id) THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.changes = '{}'::jsonb
     AND (NEW.organization_id, NEW.id, NEW.actor_user_id, NEW.action, NEW.entity_type,
          NEW.entity_id, NEW.ip, NEW.user_agent, NEW.created_at)
         IS NOT DISTINCT FROM
         (OLD.organization_id, OLD.id, OLD.actor_user_id, OLD.action, OLD.entity_type,
          OLD.entity_id, OLD.ip, OLD.user_agent, OLD.created_at) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

COMMENT ON FUNCTION audit_logs_append_only() IS
  'BEFORE UPDATE OR DELETE trigger of audit_logs: refuses both, except deletes cascaded from a deleted organization and an erasure that empties changes and touches nothing else.';

GRANT UPDATE (changes) ON audit_logs TO crm_app;
