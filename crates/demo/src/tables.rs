//! The tables the demo loads, in foreign-key order, each with its `COPY` statement. The
//! generator writes each row's fields in the order of the statement's column list.

/// A table the demo loads; the discriminant is its position in the load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    Organizations,
    Users,
    OrganizationMembers,
    UserTwoFactor,
    UserSessions,
    AuthTokens,
    OrganizationInvitations,
    Subscriptions,
    Invoices,
    StripeWebhookEvents,
    Pipelines,
    PipelineStages,
    MessageTemplates,
    WhatsappConfigs,
    VoipConfigs,
    LeadScoringModels,
    Tags,
    CustomFieldDefinitions,
    Leads,
    LeadFavorites,
    LeadStageHistory,
    Communications,
    LeadNotes,
    Tasks,
    LeadTags,
    TemplateUsageStats,
    Notifications,
    AiConversations,
    AiTrainingData,
    AnalyticsEvents,
    CalendarIntegrations,
    CalendarEvents,
    MarketingIntegrations,
    ProviderRoutes,
    WebhookSubscriptions,
    WebhookDeliveryLogs,
    ApiKeys,
    BackgroundJobs,
    AuditLogs,
}

impl Table {
    /// Every loaded table, parents before children.
    pub const ALL: [Table; 39] = [
        Table::Organizations,
        Table::Users,
        Table::OrganizationMembers,
        Table::UserTwoFactor,
        Table::UserSessions,
        Table::AuthTokens,
        Table::OrganizationInvitations,
        Table::Subscriptions,
        Table::Invoices,
        Table::StripeWebhookEvents,
        Table::Pipelines,
        Table::PipelineStages,
        Table::MessageTemplates,
        Table::WhatsappConfigs,
        Table::VoipConfigs,
        Table::LeadScoringModels,
        Table::Tags,
        Table::CustomFieldDefinitions,
        Table::Leads,
        Table::LeadFavorites,
        Table::LeadStageHistory,
        Table::Communications,
        Table::LeadNotes,
        Table::Tasks,
        Table::LeadTags,
        Table::TemplateUsageStats,
        Table::Notifications,
        Table::AiConversations,
        Table::AiTrainingData,
        Table::AnalyticsEvents,
        Table::CalendarIntegrations,
        Table::CalendarEvents,
        Table::MarketingIntegrations,
        Table::ProviderRoutes,
        Table::WebhookSubscriptions,
        Table::WebhookDeliveryLogs,
        Table::ApiKeys,
        Table::BackgroundJobs,
        Table::AuditLogs,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Organizations => "organizations",
            Table::Users => "users",
            Table::OrganizationMembers => "organization_members",
            Table::UserTwoFactor => "user_two_factor",
            Table::UserSessions => "user_sessions",
            Table::AuthTokens => "auth_tokens",
            Table::OrganizationInvitations => "organization_invitations",
            Table::Subscriptions => "subscriptions",
            Table::Invoices => "invoices",
            Table::StripeWebhookEvents => "stripe_webhook_events",
            Table::Pipelines => "pipelines",
            Table::PipelineStages => "pipeline_stages",
            Table::MessageTemplates => "message_templates",
            Table::WhatsappConfigs => "whatsapp_configs",
            Table::VoipConfigs => "voip_configs",
            Table::LeadScoringModels => "lead_scoring_models",
            Table::Tags => "tags",
            Table::CustomFieldDefinitions => "custom_field_definitions",
            Table::Leads => "leads",
            Table::LeadFavorites => "lead_favorites",
            Table::LeadStageHistory => "lead_stage_history",
            Table::Communications => "communications",
            Table::LeadNotes => "lead_notes",
            Table::Tasks => "tasks",
            Table::LeadTags => "lead_tags",
            Table::TemplateUsageStats => "template_usage_stats",
            Table::Notifications => "notifications",
            Table::AiConversations => "ai_conversations",
            Table::AiTrainingData => "ai_training_data",
            Table::AnalyticsEvents => "analytics_events",
            Table::CalendarIntegrations => "calendar_integrations",
            Table::CalendarEvents => "calendar_events",
            Table::MarketingIntegrations => "marketing_integrations",
            Table::ProviderRoutes => "provider_routes",
            Table::WebhookSubscriptions => "webhook_subscriptions",
            Table::WebhookDeliveryLogs => "webhook_delivery_logs",
            Table::ApiKeys => "api_keys",
            Table::BackgroundJobs => "background_jobs",
            Table::AuditLogs => "audit_logs",
        }
    }

    /// The statement that loads the table's rows from text-format COPY data.
    pub fn copy_sql(self) -> &'static str {
        match self {
            Table::Organizations => {
                "COPY organizations (id, name, slug, locale, timezone, currency, settings, deleted_at, created_at, updated_at) FROM STDIN"
            }
            Table::Users => {
                "COPY users (id, email, password_hash, full_name, phone, locale, is_active, email_verified_at, last_login_at, created_at, updated_at) FROM STDIN"
            }
            Table::OrganizationMembers => {
                "COPY organization_members (organization_id, id, user_id, role, status, invited_by, joined_at, created_at, updated_at) FROM STDIN"
            }
            Table::UserTwoFactor => {
                "COPY user_two_factor (id, user_id, secret_ciphertext, encryption_key_id, backup_code_hashes, enabled_at, last_used_at, created_at, updated_at) FROM STDIN"
            }
            Table::UserSessions => {
                "COPY user_sessions (id, user_id, refresh_token_hash, ip, user_agent, expires_at, revoked_at, last_seen_at, created_at, updated_at) FROM STDIN"
            }
            Table::AuthTokens => {
                "COPY auth_tokens (id, user_id, purpose, token_hash, expires_at, used_at, created_at, updated_at) FROM STDIN"
            }
            Table::OrganizationInvitations => {
                "COPY organization_invitations (organization_id, id, email, role, token_hash, invited_by, expires_at, accepted_at, revoked_at, created_at, updated_at) FROM STDIN"
            }
            Table::Subscriptions => {
                "COPY subscriptions (organization_id, id, plan_id, stripe_customer_id, stripe_subscription_id, status, current_period_start, current_period_end, cancel_at_period_end, trial_ends_at, canceled_at, created_at, updated_at) FROM STDIN"
            }
            Table::Invoices => {
                "COPY invoices (organization_id, id, subscription_id, stripe_invoice_id, amount_due_cents, amount_paid_cents, currency, status, hosted_invoice_url, issued_at, paid_at, created_at, updated_at) FROM STDIN"
            }
            Table::StripeWebhookEvents => {
                "COPY stripe_webhook_events (id, stripe_event_id, type, payload, received_at, processed_at, processing_error, created_at, updated_at) FROM STDIN"
            }
            Table::Pipelines => {
                "COPY pipelines (organization_id, id, name, is_default, position, created_at, updated_at) FROM STDIN"
            }
            Table::PipelineStages => {
                "COPY pipeline_stages (organization_id, id, pipeline_id, name, stage_order, color, stage_type, win_probability, created_at, updated_at) FROM STDIN"
            }
            Table::MessageTemplates => {
                "COPY message_templates (organization_id, id, name, category, channel, content, variables, language, wa_template_name, wa_category, parameter_format, components, wa_status, is_active, usage_count, created_at, updated_at) FROM STDIN"
            }
            Table::WhatsappConfigs => {
                "COPY whatsapp_configs (organization_id, id, provider, phone_number, phone_number_id, business_account_id, webhook_verify_token_hash, credentials_ciphertext, encryption_key_id, is_active, setup_completed, last_sync_at, created_at, updated_at) FROM STDIN"
            }
            Table::VoipConfigs => {
                "COPY voip_configs (organization_id, id, provider, phone_number, credentials_ciphertext, encryption_key_id, cost_per_minute, currency, is_active, setup_completed, created_at, updated_at) FROM STDIN"
            }
            Table::LeadScoringModels => {
                "COPY lead_scoring_models (organization_id, id, model_name, model_version, model_config, training_data_count, accuracy_score, is_active, trained_at, created_at, updated_at) FROM STDIN"
            }
            Table::Tags => {
                "COPY tags (organization_id, id, name, color, created_at, updated_at) FROM STDIN"
            }
            Table::CustomFieldDefinitions => {
                "COPY custom_field_definitions (organization_id, id, entity, key, label, field_type, options, is_required, position, created_at, updated_at) FROM STDIN"
            }
            Table::Leads => {
                "COPY leads (organization_id, id, pipeline_id, stage_id, name, email, phone, company, job_title, source, lead_score, value, currency, status, lost_reason, assigned_user_id, custom_fields, last_contacted_at, next_follow_up_at, stage_changed_at, deleted_at, created_at, updated_at) FROM STDIN"
            }
            Table::LeadFavorites => {
                "COPY lead_favorites (organization_id, lead_id, user_id, created_at) FROM STDIN"
            }
            Table::LeadStageHistory => {
                "COPY lead_stage_history (organization_id, id, lead_id, from_stage_id, to_stage_id, changed_by, changed_at, created_at) FROM STDIN"
            }
            Table::Communications => {
                "COPY communications (organization_id, id, lead_id, user_id, channel, direction, content, status, external_id, template_id, duration_seconds, recording_url, metadata, occurred_at, created_at, updated_at) FROM STDIN"
            }
            Table::LeadNotes => {
                "COPY lead_notes (organization_id, id, lead_id, author_user_id, body, is_pinned, created_at, updated_at) FROM STDIN"
            }
            Table::Tasks => {
                "COPY tasks (organization_id, id, lead_id, assigned_user_id, title, description, type, priority, due_at, completed_at, created_at, updated_at) FROM STDIN"
            }
            Table::LeadTags => {
                "COPY lead_tags (organization_id, lead_id, tag_id, created_at) FROM STDIN"
            }
            Table::TemplateUsageStats => {
                "COPY template_usage_stats (organization_id, id, template_id, lead_id, user_id, used_at, success_metric, success_value, created_at, updated_at) FROM STDIN"
            }
            Table::Notifications => {
                "COPY notifications (organization_id, id, user_id, type, title, body, payload, read_at, created_at, updated_at) FROM STDIN"
            }
            Table::AiConversations => {
                "COPY ai_conversations (organization_id, id, lead_id, session_id, channel, messages, model, qualification_score, handoff_triggered, handoff_reason, token_usage, created_at, updated_at) FROM STDIN"
            }
            Table::AiTrainingData => {
                "COPY ai_training_data (organization_id, id, data_type, input_data, expected_output, actual_output, feedback_score, conversation_id, created_at, updated_at) FROM STDIN"
            }
            Table::AnalyticsEvents => {
                "COPY analytics_events (organization_id, id, event_type, event_data, user_id, lead_id, session_id, occurred_at, created_at) FROM STDIN"
            }
            Table::CalendarIntegrations => {
                "COPY calendar_integrations (organization_id, id, user_id, provider, access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, token_expires_at, calendar_id, sync_cursor, sync_status, is_active, last_sync_at, created_at, updated_at) FROM STDIN"
            }
            Table::CalendarEvents => {
                "COPY calendar_events (organization_id, id, integration_id, lead_id, external_event_id, title, description, location, starts_at, ends_at, status, meeting_url, created_at, updated_at) FROM STDIN"
            }
            Table::MarketingIntegrations => {
                "COPY marketing_integrations (organization_id, id, platform, account_id, access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, token_expires_at, is_active, last_import_at, total_leads_imported, created_at, updated_at) FROM STDIN"
            }
            Table::ProviderRoutes => {
                "COPY provider_routes (provider, external_account_id, organization_id, config_id, created_at, updated_at) FROM STDIN"
            }
            Table::WebhookSubscriptions => {
                "COPY webhook_subscriptions (organization_id, id, url, description, secret_ciphertext, encryption_key_id, events, is_active, failure_count, last_ping_at, created_at, updated_at) FROM STDIN"
            }
            Table::WebhookDeliveryLogs => {
                "COPY webhook_delivery_logs (organization_id, id, subscription_id, event_type, payload, attempt, status, response_status, duration_ms, last_error, next_retry_at, delivered_at, created_at, updated_at) FROM STDIN"
            }
            Table::ApiKeys => {
                "COPY api_keys (organization_id, id, service_name, key_name, key_ciphertext, encryption_key_id, key_hint, is_active, expires_at, last_used_at, created_at, updated_at) FROM STDIN"
            }
            Table::BackgroundJobs => {
                "COPY background_jobs (organization_id, id, queue, job_type, payload, status, priority, attempts, max_attempts, run_at, locked_at, locked_by, last_error, finished_at, created_at, updated_at) FROM STDIN"
            }
            Table::AuditLogs => {
                "COPY audit_logs (organization_id, id, actor_user_id, action, entity_type, entity_id, changes, ip, user_agent, created_at) FROM STDIN"
            }
        }
    }

    /// The number of columns of the COPY statement.
    #[cfg(test)]
    pub fn columns(self) -> usize {
        let sql = self.copy_sql();
        let list = &sql[sql.find('(').unwrap_or(0)..sql.find(')').unwrap_or(0)];
        list.split(',').count()
    }
}
