//! The tables the demo loads, in foreign-key order, each with its `COPY` statement and the
//! statements of its staging table. The generator writes each row's fields in the order of
//! the statement's column list.

/// The statements that load a table through a temporary staging table, for a login that
/// row-level security applies to: COPY refuses such a table, but `INSERT … SELECT` passes
/// its policies' `WITH CHECK`.
#[derive(Debug, Clone, Copy)]
pub struct Staging {
    /// Creates the staging table, with the COPY's columns only and emptied at every commit.
    pub create: &'static str,
    /// Loads the staging table from text-format COPY data.
    pub copy: &'static str,
    /// Moves the staged rows into the table; the table's own defaults fill what the COPY
    /// leaves out, as they would for a direct COPY.
    pub insert: &'static str,
    /// Empties the staging table for the organization's next chunk (its rows are only
    /// deleted at commit otherwise, and would be moved twice).
    pub clear: &'static str,
}

/// Writes the [`Table`] enum and its statements from one line per table (variant, name,
/// COPY column list), so that every statement is a static string.
macro_rules! tables {
    ($($variant:ident $name:literal ($columns:literal),)*) => {
        /// A table the demo loads; the discriminant is its position in the load order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Table {
            $($variant,)*
        }

        impl Table {
            /// Every loaded table, parents before children.
            pub const ALL: [Table; [$($name),*].len()] = [$(Table::$variant,)*];

            /// The table's name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => $name,)*
                }
            }

            /// The statement that loads the table's rows from text-format COPY data.
            pub fn copy_sql(self) -> &'static str {
                match self {
                    $(Table::$variant => concat!("COPY ", $name, " (", $columns, ") FROM STDIN"),)*
                }
            }

            /// The statements that load the table through its staging table.
            pub fn staging(self) -> Staging {
                match self {
                    $(Table::$variant => Staging {
                        create: concat!(
                            "CREATE TEMPORARY TABLE IF NOT EXISTS demo_staging_", $name,
                            " ON COMMIT DELETE ROWS AS SELECT ", $columns, " FROM ", $name,
                            " WITH NO DATA"
                        ),
                        copy: concat!("COPY demo_staging_", $name, " (", $columns, ") FROM STDIN"),
                        insert: concat!(
                            "INSERT INTO ", $name, " (", $columns, ") SELECT ", $columns,
                            " FROM demo_staging_", $name
                        ),
                        clear: concat!("TRUNCATE demo_staging_", $name),
                    },)*
                }
            }

            /// The number of columns of the COPY statement.
            #[cfg(test)]
            pub fn columns(self) -> usize {
                match self {
                    $(Table::$variant => $columns.split(',').count(),)*
                }
            }
        }
    };
}

tables! {
    Organizations "organizations" ("id, name, slug, locale, timezone, currency, settings, deleted_at, created_at, updated_at"),
    Users "users" ("id, email, password_hash, full_name, phone, locale, is_active, email_verified_at, last_login_at, created_at, updated_at"),
    OrganizationMembers "organization_members" ("organization_id, id, user_id, role, status, invited_by, joined_at, created_at, updated_at"),
    UserTwoFactor "user_two_factor" ("id, user_id, secret_ciphertext, encryption_key_id, backup_code_hashes, enabled_at, last_used_at, created_at, updated_at"),
    UserSessions "user_sessions" ("id, user_id, refresh_token_hash, ip, user_agent, expires_at, revoked_at, last_seen_at, created_at, updated_at"),
    AuthTokens "auth_tokens" ("id, user_id, purpose, token_hash, expires_at, used_at, created_at, updated_at"),
    OrganizationInvitations "organization_invitations" ("organization_id, id, email, role, token_hash, invited_by, expires_at, accepted_at, revoked_at, created_at, updated_at"),
    Subscriptions "subscriptions" ("organization_id, id, plan_id, stripe_customer_id, stripe_subscription_id, status, current_period_start, current_period_end, cancel_at_period_end, trial_ends_at, canceled_at, created_at, updated_at"),
    Invoices "invoices" ("organization_id, id, subscription_id, stripe_invoice_id, amount_due_cents, amount_paid_cents, currency, status, hosted_invoice_url, issued_at, paid_at, created_at, updated_at"),
    StripeWebhookEvents "stripe_webhook_events" ("id, stripe_event_id, type, payload, received_at, processed_at, processing_error, created_at, updated_at"),
    Pipelines "pipelines" ("organization_id, id, name, is_default, position, created_at, updated_at"),
    PipelineStages "pipeline_stages" ("organization_id, id, pipeline_id, name, stage_order, color, stage_type, win_probability, created_at, updated_at"),
    MessageTemplates "message_templates" ("organization_id, id, name, category, channel, content, variables, language, wa_template_name, wa_category, parameter_format, components, wa_status, is_active, usage_count, created_at, updated_at"),
    WhatsappConfigs "whatsapp_configs" ("organization_id, id, provider, phone_number, phone_number_id, business_account_id, webhook_verify_token_hash, credentials_ciphertext, encryption_key_id, is_active, setup_completed, last_sync_at, created_at, updated_at"),
    VoipConfigs "voip_configs" ("organization_id, id, provider, phone_number, credentials_ciphertext, encryption_key_id, cost_per_minute, currency, is_active, setup_completed, created_at, updated_at"),
    LeadScoringModels "lead_scoring_models" ("organization_id, id, model_name, model_version, model_config, training_data_count, accuracy_score, is_active, trained_at, created_at, updated_at"),
    Tags "tags" ("organization_id, id, name, color, created_at, updated_at"),
    CustomFieldDefinitions "custom_field_definitions" ("organization_id, id, entity, key, label, field_type, options, is_required, position, created_at, updated_at"),
    Leads "leads" ("organization_id, id, pipeline_id, stage_id, name, email, phone, company, job_title, source, lead_score, value, currency, status, lost_reason, assigned_user_id, custom_fields, last_contacted_at, next_follow_up_at, stage_changed_at, deleted_at, created_at, updated_at"),
    LeadFavorites "lead_favorites" ("organization_id, lead_id, user_id, created_at"),
    LeadStageHistory "lead_stage_history" ("organization_id, id, lead_id, from_stage_id, to_stage_id, changed_by, changed_at, created_at"),
    Communications "communications" ("organization_id, id, lead_id, user_id, channel, direction, content, status, external_id, template_id, duration_seconds, recording_url, metadata, occurred_at, created_at, updated_at"),
    LeadNotes "lead_notes" ("organization_id, id, lead_id, author_user_id, body, is_pinned, created_at, updated_at"),
    Tasks "tasks" ("organization_id, id, lead_id, assigned_user_id, title, description, type, priority, due_at, completed_at, created_at, updated_at"),
    LeadTags "lead_tags" ("organization_id, lead_id, tag_id, created_at"),
    TemplateUsageStats "template_usage_stats" ("organization_id, id, template_id, lead_id, user_id, used_at, success_metric, success_value, created_at, updated_at"),
    Notifications "notifications" ("organization_id, id, user_id, type, title, body, payload, read_at, created_at, updated_at"),
    AiConversations "ai_conversations" ("organization_id, id, lead_id, session_id, channel, messages, model, qualification_score, handoff_triggered, handoff_reason, token_usage, created_at, updated_at"),
    AiTrainingData "ai_training_data" ("organization_id, id, data_type, input_data, expected_output, actual_output, feedback_score, conversation_id, created_at, updated_at"),
    AnalyticsEvents "analytics_events" ("organization_id, id, event_type, event_data, user_id, lead_id, session_id, occurred_at, created_at"),
    CalendarIntegrations "calendar_integrations" ("organization_id, id, user_id, provider, access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, token_expires_at, calendar_id, sync_cursor, sync_status, is_active, last_sync_at, created_at, updated_at"),
    CalendarEvents "calendar_events" ("organization_id, id, integration_id, lead_id, external_event_id, title, description, location, starts_at, ends_at, status, meeting_url, created_at, updated_at"),
    MarketingIntegrations "marketing_integrations" ("organization_id, id, platform, account_id, access_token_ciphertext, refresh_token_ciphertext, encryption_key_id, token_expires_at, is_active, last_import_at, total_leads_imported, created_at, updated_at"),
    ProviderRoutes "provider_routes" ("provider, external_account_id, organization_id, config_id, created_at, updated_at"),
    WebhookSubscriptions "webhook_subscriptions" ("organization_id, id, url, description, secret_ciphertext, encryption_key_id, events, is_active, failure_count, last_ping_at, created_at, updated_at"),
    WebhookDeliveryLogs "webhook_delivery_logs" ("organization_id, id, subscription_id, event_type, payload, attempt, status, response_status, duration_ms, last_error, next_retry_at, delivered_at, created_at, updated_at"),
    ApiKeys "api_keys" ("organization_id, id, service_name, key_name, key_ciphertext, encryption_key_id, key_hint, is_active, expires_at, last_used_at, created_at, updated_at"),
    BackgroundJobs "background_jobs" ("organization_id, id, queue, job_type, payload, status, priority, attempts, max_attempts, run_at, locked_at, locked_by, last_error, finished_at, created_at, updated_at"),
    AuditLogs "audit_logs" ("organization_id, id, actor_user_id, action, entity_type, entity_id, changes, ip, user_agent, created_at"),
}
