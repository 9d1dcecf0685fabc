-- Undoes 0010 in this database. The roles are cluster-wide and shared with the other
-- databases of the cluster, so they are deliberately left in place.

DROP FUNCTION IF EXISTS claim_background_job(text, text);
DROP FUNCTION IF EXISTS search_leads(uuid, text, integer);

DROP POLICY IF EXISTS own_memberships ON organization_members;

DROP POLICY IF EXISTS tenant_isolation ON background_jobs;
ALTER TABLE background_jobs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE background_jobs DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON api_keys;
ALTER TABLE api_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE api_keys DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON webhook_delivery_logs;
ALTER TABLE webhook_delivery_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_delivery_logs DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON webhook_subscriptions;
ALTER TABLE webhook_subscriptions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscriptions DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON marketing_integrations;
ALTER TABLE marketing_integrations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE marketing_integrations DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON calendar_events;
ALTER TABLE calendar_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE calendar_events DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON calendar_integrations;
ALTER TABLE calendar_integrations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE calendar_integrations DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON analytics_events;
ALTER TABLE analytics_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE analytics_events DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON lead_scoring_models;
ALTER TABLE lead_scoring_models NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lead_scoring_models DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON ai_training_data;
ALTER TABLE ai_training_data NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ai_training_data DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON ai_conversations;
ALTER TABLE ai_conversations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ai_conversations DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON voip_configs;
ALTER TABLE voip_configs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE voip_configs DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON whatsapp_configs;
ALTER TABLE whatsapp_configs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE whatsapp_configs DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON template_usage_stats;
ALTER TABLE template_usage_stats NO FORCE ROW LEVEL SECURITY;
ALTER TABLE template_usage_stats DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON message_templates;
ALTER TABLE message_templates NO FORCE ROW LEVEL SECURITY;
ALTER TABLE message_templates DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON notifications;
ALTER TABLE notifications NO FORCE ROW LEVEL SECURITY;
ALTER TABLE notifications DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON custom_field_definitions;
ALTER TABLE custom_field_definitions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_field_definitions DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON lead_tags;
ALTER TABLE lead_tags NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lead_tags DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON tags;
ALTER TABLE tags NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tags DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON tasks;
ALTER TABLE tasks NO FORCE ROW LEVEL SECURITY;
ALTER TABLE tasks DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON lead_notes;
ALTER TABLE lead_notes NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lead_notes DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON communications;
ALTER TABLE communications NO FORCE ROW LEVEL SECURITY;
ALTER TABLE communications DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON lead_stage_history;
ALTER TABLE lead_stage_history NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lead_stage_history DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON lead_favorites;
ALTER TABLE lead_favorites NO FORCE ROW LEVEL SECURITY;
ALTER TABLE lead_favorites DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON leads;
ALTER TABLE leads NO FORCE ROW LEVEL SECURITY;
ALTER TABLE leads DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON pipeline_stages;
ALTER TABLE pipeline_stages NO FORCE ROW LEVEL SECURITY;
ALTER TABLE pipeline_stages DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON pipelines;
ALTER TABLE pipelines NO FORCE ROW LEVEL SECURITY;
ALTER TABLE pipelines DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON invoices;
ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invoices DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON subscriptions;
ALTER TABLE subscriptions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE subscriptions DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON audit_logs;
ALTER TABLE audit_logs NO FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_logs DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON organization_invitations;
ALTER TABLE organization_invitations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_invitations DISABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS tenant_isolation ON organization_members;
ALTER TABLE organization_members NO FORCE ROW LEVEL SECURITY;
ALTER TABLE organization_members DISABLE ROW LEVEL SECURITY;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM crm_owner, crm_app, crm_readonly;
REVOKE SELECT (id, email, full_name, phone, locale, is_active, email_verified_at,
               last_login_at, created_at, updated_at)
    ON users FROM crm_readonly;
REVOKE USAGE ON SCHEMA public FROM crm_owner, crm_app, crm_readonly;
