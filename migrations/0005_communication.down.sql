DROP TABLE IF EXISTS voip_configs;
DROP TABLE IF EXISTS whatsapp_configs;
DROP TABLE IF EXISTS template_usage_stats;
DROP INDEX IF EXISTS idx_communications_organization_id_template_id;
ALTER TABLE communications DROP CONSTRAINT IF EXISTS fk_communications_message_templates;
DROP TABLE IF EXISTS message_templates;
DROP FUNCTION IF EXISTS template_placeholders(text);
