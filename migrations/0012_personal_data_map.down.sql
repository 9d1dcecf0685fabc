-- Restores the comments the columns had before 0012 (none where they had none).

COMMENT ON COLUMN ai_conversations.session_id IS 'Channel session identifier (web chat session, WhatsApp wa_id...), the lookup key of the bot.';
COMMENT ON COLUMN ai_conversations.channel IS NULL;
COMMENT ON COLUMN ai_conversations.messages IS 'Chat-format array: [{"role": "user"|"assistant"|"system", "content": "..."}].';
COMMENT ON COLUMN ai_conversations.model IS NULL;
COMMENT ON COLUMN ai_conversations.handoff_reason IS NULL;

COMMENT ON COLUMN ai_training_data.data_type IS NULL;
COMMENT ON COLUMN ai_training_data.input_data IS NULL;
COMMENT ON COLUMN ai_training_data.expected_output IS 'Label (any JSON value) the model should produce for input_data.';
COMMENT ON COLUMN ai_training_data.actual_output IS 'What the model produced, for evaluation; NULL until evaluated.';

COMMENT ON COLUMN analytics_events.event_type IS 'Dotted lower-case event name, e.g. lead.created, message.sent.';
COMMENT ON COLUMN analytics_events.event_data IS NULL;
COMMENT ON COLUMN analytics_events.session_id IS NULL;

COMMENT ON COLUMN api_keys.service_name IS 'External service the key is for (openai, anthropic, ...): an identifier, not a secret.';
COMMENT ON COLUMN api_keys.key_name IS 'Label the organization gave the key (e.g. "production"): not a secret.';
COMMENT ON COLUMN api_keys.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN api_keys.key_hint IS 'Last characters of the key (at most 4), shown to identify it.';

COMMENT ON COLUMN audit_logs.action IS 'Dotted lower-case verb, e.g. lead.updated, member.role_changed.';
COMMENT ON COLUMN audit_logs.entity_type IS NULL;
COMMENT ON COLUMN audit_logs.changes IS 'Object of changed fields: {"field": {"old": ..., "new": ...}}.';
COMMENT ON COLUMN audit_logs.ip IS NULL;
COMMENT ON COLUMN audit_logs.user_agent IS NULL;

COMMENT ON COLUMN auth_tokens.purpose IS NULL;

COMMENT ON COLUMN background_jobs.queue IS NULL;
COMMENT ON COLUMN background_jobs.job_type IS NULL;
COMMENT ON COLUMN background_jobs.payload IS NULL;
COMMENT ON COLUMN background_jobs.status IS NULL;
COMMENT ON COLUMN background_jobs.locked_by IS 'Identifier of the worker running the job (host:pid), for stuck-job recovery.';
COMMENT ON COLUMN background_jobs.last_error IS NULL;

COMMENT ON COLUMN calendar_events.external_event_id IS 'Event id at the provider; unique per integration (upsert key of the sync).';
COMMENT ON COLUMN calendar_events.title IS 'Event title; the sync substitutes the provider''s placeholder for untitled events.';
COMMENT ON COLUMN calendar_events.description IS NULL;
COMMENT ON COLUMN calendar_events.location IS NULL;
COMMENT ON COLUMN calendar_events.status IS NULL;
COMMENT ON COLUMN calendar_events.meeting_url IS NULL;

COMMENT ON COLUMN calendar_integrations.provider IS NULL;
COMMENT ON COLUMN calendar_integrations.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';
COMMENT ON COLUMN calendar_integrations.calendar_id IS NULL;
COMMENT ON COLUMN calendar_integrations.sync_cursor IS 'The provider''s incremental-sync token (Google syncToken, Microsoft deltaLink): a cursor, not a credential.';
COMMENT ON COLUMN calendar_integrations.sync_status IS NULL;

COMMENT ON COLUMN communications.channel IS NULL;
COMMENT ON COLUMN communications.direction IS NULL;
COMMENT ON COLUMN communications.content IS 'Message text (NULL for calls and meetings without notes).';
COMMENT ON COLUMN communications.status IS NULL;
COMMENT ON COLUMN communications.external_id IS 'Provider message/call id (WhatsApp wamid, Twilio CallSid...), unique per organization and channel.';
COMMENT ON COLUMN communications.recording_url IS NULL;
COMMENT ON COLUMN communications.metadata IS NULL;

COMMENT ON COLUMN custom_field_definitions.entity IS NULL;
COMMENT ON COLUMN custom_field_definitions.key IS 'Property name in leads.custom_fields (snake_case); an identifier, not a secret.';
COMMENT ON COLUMN custom_field_definitions.label IS NULL;
COMMENT ON COLUMN custom_field_definitions.field_type IS NULL;
COMMENT ON COLUMN custom_field_definitions.options IS 'Array of choices for select/multiselect fields, empty otherwise.';

COMMENT ON COLUMN invoices.stripe_invoice_id IS NULL;
COMMENT ON COLUMN invoices.currency IS NULL;
COMMENT ON COLUMN invoices.status IS NULL;
COMMENT ON COLUMN invoices.hosted_invoice_url IS NULL;

COMMENT ON COLUMN lead_notes.body IS NULL;

COMMENT ON COLUMN lead_scoring_models.model_name IS NULL;
COMMENT ON COLUMN lead_scoring_models.model_version IS NULL;
COMMENT ON COLUMN lead_scoring_models.model_config IS 'Model parameters (weights, thresholds, feature list) as an object.';

COMMENT ON COLUMN leads.name IS NULL;
COMMENT ON COLUMN leads.email IS NULL;
COMMENT ON COLUMN leads.phone IS NULL;
COMMENT ON COLUMN leads.company IS NULL;
COMMENT ON COLUMN leads.job_title IS NULL;
COMMENT ON COLUMN leads.source IS NULL;
COMMENT ON COLUMN leads.currency IS NULL;
COMMENT ON COLUMN leads.status IS NULL;
COMMENT ON COLUMN leads.lost_reason IS NULL;
COMMENT ON COLUMN leads.custom_fields IS 'Values of the organization''s custom_field_definitions (entity lead), keyed by definition key.';

COMMENT ON COLUMN marketing_integrations.platform IS NULL;
COMMENT ON COLUMN marketing_integrations.account_id IS 'Ad account id at the platform.';
COMMENT ON COLUMN marketing_integrations.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed together).';

COMMENT ON COLUMN message_templates.name IS NULL;
COMMENT ON COLUMN message_templates.category IS NULL;
COMMENT ON COLUMN message_templates.channel IS NULL;
COMMENT ON COLUMN message_templates.content IS 'Body with {{variable}} placeholders (e.g. {{lead_name}}), filled in by the application.';
COMMENT ON COLUMN message_templates.variables IS 'jsonb array of the placeholder names used in content; must equal template_placeholders(content) as a set.';
COMMENT ON COLUMN message_templates.language IS 'BCP 47 tag (pt-BR); the WhatsApp API form (pt_BR) is derived by the application.';
COMMENT ON COLUMN message_templates.wa_template_name IS 'Name of the WhatsApp Business template this one is submitted as; NULL if not submitted.';
COMMENT ON COLUMN message_templates.wa_category IS NULL;
COMMENT ON COLUMN message_templates.parameter_format IS 'WhatsApp parameter style of components: positional ({{1}}) or named ({{name}}).';
COMMENT ON COLUMN message_templates.components IS 'WhatsApp template components (header, body, footer, buttons) as sent to the Graph API.';
COMMENT ON COLUMN message_templates.wa_status IS 'Review status reported by WhatsApp; NULL if never submitted.';

COMMENT ON COLUMN notifications.type IS 'Dotted lower-case kind, e.g. lead.assigned, task.due.';
COMMENT ON COLUMN notifications.title IS NULL;
COMMENT ON COLUMN notifications.body IS NULL;
COMMENT ON COLUMN notifications.payload IS 'Object with the ids the notification links to, e.g. {"lead_id": "..."}.';

COMMENT ON COLUMN organization_invitations.email IS NULL;
COMMENT ON COLUMN organization_invitations.role IS NULL;

COMMENT ON COLUMN organization_members.role IS NULL;
COMMENT ON COLUMN organization_members.status IS NULL;

COMMENT ON COLUMN organizations.name IS NULL;
COMMENT ON COLUMN organizations.slug IS 'URL/subdomain identifier, lower-case [a-z0-9-], unique across the platform.';
COMMENT ON COLUMN organizations.locale IS NULL;
COMMENT ON COLUMN organizations.timezone IS NULL;
COMMENT ON COLUMN organizations.currency IS 'ISO 4217 code; default currency of leads and templates of the organization.';
COMMENT ON COLUMN organizations.settings IS NULL;

COMMENT ON COLUMN pipeline_stages.name IS NULL;
COMMENT ON COLUMN pipeline_stages.color IS NULL;
COMMENT ON COLUMN pipeline_stages.stage_type IS 'What the stage means for reports, independent of its display name.';

COMMENT ON COLUMN pipelines.name IS NULL;

COMMENT ON COLUMN plans.code IS NULL;
COMMENT ON COLUMN plans.name IS NULL;
COMMENT ON COLUMN plans.currency IS NULL;
COMMENT ON COLUMN plans.billing_interval IS NULL;
COMMENT ON COLUMN plans.limits IS 'Plan limits, e.g. {"users": 5, "leads": 10000}; absent key = unlimited.';
COMMENT ON COLUMN plans.stripe_price_id IS 'Stripe Price id (price_...); NULL for plans not sold through Stripe (free).';

COMMENT ON COLUMN provider_routes.provider IS NULL;
COMMENT ON COLUMN provider_routes.external_account_id IS 'The provider''s account id in the webhook (WhatsApp phone_number_id, Stripe customer id, Twilio AccountSid...).';

COMMENT ON COLUMN stripe_webhook_events.stripe_event_id IS NULL;
COMMENT ON COLUMN stripe_webhook_events.type IS 'Stripe event type, e.g. invoice.paid, customer.subscription.updated.';
COMMENT ON COLUMN stripe_webhook_events.payload IS NULL;
COMMENT ON COLUMN stripe_webhook_events.processing_error IS NULL;

COMMENT ON COLUMN subscriptions.stripe_customer_id IS 'Stripe Customer id (cus_...); inbound Stripe webhooks are routed to the organization through provider_routes.';
COMMENT ON COLUMN subscriptions.stripe_subscription_id IS NULL;
COMMENT ON COLUMN subscriptions.status IS NULL;

COMMENT ON COLUMN tags.name IS NULL;
COMMENT ON COLUMN tags.color IS NULL;

COMMENT ON COLUMN tasks.title IS NULL;
COMMENT ON COLUMN tasks.description IS NULL;
COMMENT ON COLUMN tasks.type IS NULL;
COMMENT ON COLUMN tasks.priority IS NULL;

COMMENT ON COLUMN template_usage_stats.success_metric IS 'Outcome measured for this use; NULL until one is recorded.';

COMMENT ON COLUMN user_sessions.ip IS NULL;
COMMENT ON COLUMN user_sessions.user_agent IS NULL;

COMMENT ON COLUMN user_two_factor.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN user_two_factor.backup_code_hashes IS 'Argon2 PHC hashes of the unused backup codes (a used code is removed).';

COMMENT ON COLUMN users.email IS 'Lower-case login e-mail, unique across the platform.';
COMMENT ON COLUMN users.password_hash IS 'Argon2 PHC string ($argon2id$...); NULL for users who have not set a password (invited, magic link only).';
COMMENT ON COLUMN users.full_name IS NULL;
COMMENT ON COLUMN users.phone IS 'E.164 phone number (+5511999999999).';
COMMENT ON COLUMN users.locale IS NULL;
COMMENT ON COLUMN users.email_verified_at IS NULL;

COMMENT ON COLUMN voip_configs.provider IS NULL;
COMMENT ON COLUMN voip_configs.phone_number IS 'E.164 caller number; NULL while awaiting setup.';
COMMENT ON COLUMN voip_configs.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN voip_configs.currency IS NULL;

COMMENT ON COLUMN webhook_delivery_logs.event_type IS NULL;
COMMENT ON COLUMN webhook_delivery_logs.payload IS NULL;
COMMENT ON COLUMN webhook_delivery_logs.status IS 'pending (scheduled at next_retry_at), succeeded, failed (last attempt failed, no retry scheduled) or dead (gave up).';
COMMENT ON COLUMN webhook_delivery_logs.last_error IS NULL;

COMMENT ON COLUMN webhook_subscriptions.url IS NULL;
COMMENT ON COLUMN webhook_subscriptions.description IS NULL;
COMMENT ON COLUMN webhook_subscriptions.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';
COMMENT ON COLUMN webhook_subscriptions.events IS 'Event names delivered to this endpoint (e.g. lead.created), or * for all.';

COMMENT ON COLUMN whatsapp_configs.provider IS NULL;
COMMENT ON COLUMN whatsapp_configs.phone_number IS 'E.164 number; NULL until known (web_api before pairing).';
COMMENT ON COLUMN whatsapp_configs.phone_number_id IS 'Meta phone number id; inbound webhooks are routed by it through provider_routes.';
COMMENT ON COLUMN whatsapp_configs.business_account_id IS NULL;
COMMENT ON COLUMN whatsapp_configs.encryption_key_id IS 'Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).';

REVOKE UPDATE (changes) ON audit_logs FROM crm_app;

CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger
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
