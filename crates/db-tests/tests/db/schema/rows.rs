//! Every table takes a valid row, and every CHECK, NOT NULL, UNIQUE (constraint or unique
//! index), primary key and foreign key rejects a row that breaks it, under its own name.
//! The constraints are enumerated from the live catalog, so a new one cannot go untested:
//! CHECKs need a hand-chosen violating value in [`CHECK_CASES`], and a CHECK without one
//! fails the test by name.

use std::collections::BTreeSet;

use sqlx::{PgConnection, Row};

use super::{assert_none, begin, catalog_tables, insert_graph, probe, q, q_list};

/// A migrated database holding exactly one graph, so each table has exactly one row and a
/// probe's `UPDATE t SET ...` (no WHERE) touches that row only.
async fn one_graph() -> (crmdb_testkit::TestDb, PgConnection) {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    insert_graph(&mut conn, "a").await;
    (db, conn)
}

/// Probes run with the table's own triggers off: `audit_logs` refuses every UPDATE in a
/// trigger before any constraint is looked at. The internal triggers stay on: they are the
/// foreign keys and the deferrable unique key (checked at the end of the statement).
/// Triggers have their own tests (`triggers.rs`).
fn triggers_off(table: &str) -> String {
    format!("ALTER TABLE {} DISABLE TRIGGER USER", q(table))
}

#[tokio::test]
async fn every_table_takes_a_valid_row() {
    let (_db, mut conn) = one_graph().await;
    let tables = catalog_tables(&mut conn).await;
    assert_eq!(tables.len(), 40, "the catalog's 40 tables");
    let mut failures = Vec::new();
    for table in &tables {
        let rows = super::count(&mut conn, &table.name, "true").await;
        if rows != 1 {
            failures.push(format!(
                "{}: {rows} rows after the graph, expected 1",
                table.name
            ));
        }
    }
    assert_none("tables without their valid row", &failures);
}

/// The WhatsApp template name check must accept a valid name: a regex repetition count over
/// 255 (as `{1,512}` once was) makes PostgreSQL raise "invalid regular expression" for every
/// value instead of checking it.
#[tokio::test]
async fn a_whatsapp_template_name_is_accepted() {
    let (_db, mut conn) = one_graph().await;
    let updated =
        sqlx::raw_sql("UPDATE message_templates SET wa_template_name = 'saudacao_inicial'")
            .execute(&mut conn)
            .await
            .map_err(|e| super::Rejection::of(&e).to_string());
    assert_eq!(updated.map(|r| r.rows_affected()), Ok(1));
}

#[tokio::test]
async fn every_not_null_column_rejects_null() {
    let (_db, mut conn) = one_graph().await;
    let tables: Vec<String> = catalog_tables(&mut conn)
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    let columns = sqlx::query(
        "SELECT c.relname::text, a.attname::text
         FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
         WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace
           AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
         ORDER BY 1, a.attnum",
    )
    .bind(&tables)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(columns.len() > 300, "{} NOT NULL columns", columns.len());
    begin(&mut conn).await;
    let mut failures = Vec::new();
    for row in &columns {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        let update = format!("UPDATE {} SET {} = NULL", q(&table), q(&column));
        match probe(&mut conn, &[triggers_off(&table)], &update).await {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::NOT_NULL_VIOLATION)
                    && r.column.as_deref() == Some(column.as_str())
                    && r.table.as_deref() == Some(table.as_str()) => {}
            other => failures.push(format!("{table}.{column}: {other:?}")),
        }
    }
    assert_none(
        "NOT NULL columns that did not refuse a NULL by name",
        &failures,
    );
}

/// Unique constraints, primary keys and unique indexes (the partial ones are not in
/// pg_constraint) of the catalog's tables: (table, name, is a constraint).
async fn unique_keys(conn: &mut PgConnection, tables: &[String]) -> Vec<(String, String, bool)> {
    sqlx::query(
        "SELECT c.relname::text, i.relname::text,
                EXISTS (SELECT FROM pg_constraint AS k WHERE k.conindid = x.indexrelid
                                                         AND k.contype IN ('p', 'u'))
         FROM pg_index AS x
         JOIN pg_class AS c ON c.oid = x.indrelid
         JOIN pg_class AS i ON i.oid = x.indexrelid
         WHERE x.indisunique AND c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace
         ORDER BY 1, 2",
    )
    .bind(tables)
    .fetch_all(conn)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

#[tokio::test]
async fn every_unique_key_rejects_a_duplicate() {
    let (_db, mut conn) = one_graph().await;
    let tables: Vec<String> = catalog_tables(&mut conn)
        .await
        .into_iter()
        .map(|t| t.name)
        .collect();
    let keys = unique_keys(&mut conn, &tables).await;
    let constraints: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'u')
           AND conrelid::regclass::text = ANY($1)",
    )
    .bind(&tables)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        keys.iter().filter(|k| k.2).count() as i64,
        constraints,
        "every primary key and unique constraint is among the unique indexes"
    );
    begin(&mut conn).await;
    let mut failures = Vec::new();
    for (table, name, _) in &keys {
        // A copy of the fixture row breaks every unique key of its table at once; the
        // other keys are dropped (inside the savepoint) so this one has to catch it.
        let mut setup = vec![triggers_off(table)];
        for (other_table, other, is_constraint) in &keys {
            if other_table == table && other != name {
                setup.push(if *is_constraint {
                    format!(
                        "ALTER TABLE {} DROP CONSTRAINT {} CASCADE",
                        q(table),
                        q(other)
                    )
                } else {
                    format!("DROP INDEX {}", q(other))
                });
            }
        }
        let copy = format!("INSERT INTO {0} SELECT * FROM {0}", q(table));
        match probe(&mut conn, &setup, &copy).await {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::UNIQUE_VIOLATION)
                    && r.constraint.as_deref() == Some(name.as_str()) => {}
            other => failures.push(format!("{table} {name}: {other:?}")),
        }
    }
    assert_none(
        "unique keys that did not refuse a duplicate by name",
        &failures,
    );
    assert!(keys.len() >= 70, "{} unique keys probed", keys.len());
}

#[tokio::test]
async fn every_foreign_key_rejects_a_missing_parent() {
    let (_db, mut conn) = one_graph().await;
    let fks = sqlx::query(
        "SELECT k.conrelid::regclass::text, k.conname::text,
                array_agg(a.attname::text ORDER BY a.attnum)
                    FILTER (WHERE a.attname <> 'organization_id' OR cardinality(k.conkey) = 1),
                array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum),
                (SELECT array_agg(t.tgname::text) FROM pg_trigger AS t
                 WHERE t.tgconstraint = k.oid AND t.tgrelid = k.conrelid)
         FROM pg_constraint AS k
         JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
         WHERE k.contype = 'f' AND k.connamespace = 'public'::regnamespace
           AND obj_description(k.conrelid, 'pg_class') ~ '^scope: '
         GROUP BY k.oid, k.conrelid, k.conname, k.conkey
         ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(fks.len() >= 70, "{} foreign keys", fks.len());
    begin(&mut conn).await;
    let mut failures = Vec::new();
    for row in &fks {
        let (table, name): (String, String) = (row.get(0), row.get(1));
        let (columns, types, triggers): (Vec<String>, Vec<String>, Vec<String>) =
            (row.get(2), row.get(3), row.get(4));
        assert!(types.iter().all(|t| t == "uuid"), "{name}: uuid columns");
        // Only this key's own check triggers stay on: e.g. no lead can break
        // fk_leads_pipelines without also breaking fk_leads_pipeline_stages (the stage's
        // key includes the pipeline), and which of the two reports first is trigger order.
        let mut setup = vec![format!("ALTER TABLE {} DISABLE TRIGGER ALL", q(&table))];
        setup.extend(
            triggers
                .iter()
                .map(|t| format!("ALTER TABLE {} ENABLE TRIGGER {}", q(&table), q(t))),
        );
        // organization_id stays: a random one would break every composite key at once.
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{} = gen_random_uuid()", q(c)))
            .collect();
        let update = format!("UPDATE {} SET {}", q(&table), set.join(", "));
        match probe(&mut conn, &setup, &update).await {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::FOREIGN_KEY_VIOLATION)
                    && r.constraint.as_deref() == Some(name.as_str()) => {}
            other => failures.push(format!("{table} {name} ({}): {other:?}", q_list(&columns))),
        }
    }
    assert_none(
        "foreign keys that did not refuse a missing parent by name",
        &failures,
    );
}

/// A violating assignment for each CHECK constraint, applied to the graph's row of the
/// constraint's table. Values are chosen to break only that constraint (PostgreSQL tests
/// CHECKs in name order and reports the first that fails).
const CHECK_CASES: &[(&str, &str)] = &[
    ("ck_ai_conversations_channel", "channel = 'telegram'"),
    (
        "ck_ai_conversations_handoff_reason",
        "handoff_triggered = false",
    ),
    ("ck_ai_conversations_messages", "messages = '{}'"),
    (
        "ck_ai_conversations_qualification_score",
        "qualification_score = 101",
    ),
    ("ck_ai_conversations_session_id", "session_id = ' '"),
    ("ck_ai_conversations_token_usage", "token_usage = -1"),
    ("ck_ai_training_data_data_type", "data_type = 'vibes'"),
    (
        "ck_ai_training_data_feedback_score",
        "feedback_score = 1.01",
    ),
    ("ck_ai_training_data_input_data", "input_data = '[]'"),
    ("ck_analytics_events_event_data", "event_data = '[]'"),
    (
        "ck_analytics_events_event_type",
        "event_type = 'Lead Created'",
    ),
    ("ck_api_keys_encryption_key_id", "encryption_key_id = ' '"),
    ("ck_api_keys_key_hint", "key_hint = 'abcde'"),
    ("ck_api_keys_key_name", "key_name = ''"),
    ("ck_api_keys_service_name", "service_name = 'Open AI'"),
    ("ck_audit_logs_action", "action = 'Lead Updated'"),
    ("ck_audit_logs_changes", "changes = '[]'"),
    ("ck_audit_logs_entity_type", "entity_type = 'lead.note'"),
    ("ck_auth_tokens_expires_at", "expires_at = created_at"),
    ("ck_auth_tokens_purpose", "purpose = 'login'"),
    ("ck_auth_tokens_token_hash", "token_hash = '\\x00'"),
    ("ck_background_jobs_attempts", "attempts = 6"),
    ("ck_background_jobs_job_type", "job_type = 'Lead Score'"),
    ("ck_background_jobs_max_attempts", "max_attempts = 0"),
    ("ck_background_jobs_payload", "payload = '[]'"),
    ("ck_background_jobs_priority", "priority = 1001"),
    ("ck_background_jobs_queue", "queue = 'Default'"),
    (
        "ck_background_jobs_running",
        "status = 'running', locked_by = NULL",
    ),
    ("ck_background_jobs_status", "status = 'done'"),
    (
        "ck_calendar_events_ends_at",
        "ends_at = starts_at - interval '1 minute'",
    ),
    (
        "ck_calendar_events_external_event_id",
        "external_event_id = ' '",
    ),
    (
        "ck_calendar_events_meeting_url",
        "meeting_url = 'http://meet.example.com/x'",
    ),
    ("ck_calendar_events_status", "status = 'maybe'"),
    ("ck_calendar_events_title", "title = ''"),
    (
        "ck_calendar_integrations_encryption_key_id",
        "encryption_key_id = NULL",
    ),
    ("ck_calendar_integrations_provider", "provider = 'apple'"),
    (
        "ck_calendar_integrations_sync_status",
        "sync_status = 'syncing'",
    ),
    ("ck_communications_channel", "channel = 'telegram'"),
    ("ck_communications_direction", "direction = 'sideways'"),
    (
        "ck_communications_duration_seconds",
        "duration_seconds = -1",
    ),
    ("ck_communications_external_id", "external_id = ' '"),
    ("ck_communications_metadata", "metadata = '[]'"),
    (
        "ck_communications_recording_url",
        "recording_url = 'ftp://recordings.example.com/x'",
    ),
    ("ck_communications_status", "status = 'bounced'"),
    ("ck_custom_field_definitions_entity", "entity = 'contact'"),
    (
        "ck_custom_field_definitions_field_type",
        "field_type = 'color', options = '[]'",
    ),
    ("ck_custom_field_definitions_key", "key = 'Segment'"),
    ("ck_custom_field_definitions_label", "label = ' '"),
    ("ck_custom_field_definitions_options", "options = '{}'"),
    (
        "ck_custom_field_definitions_options_field_type",
        "field_type = 'text'",
    ),
    ("ck_custom_field_definitions_position", "position = -1"),
    ("ck_invoices_amount_due_cents", "amount_due_cents = -1"),
    ("ck_invoices_amount_paid_cents", "amount_paid_cents = -1"),
    ("ck_invoices_currency", "currency = 'brl'"),
    (
        "ck_invoices_hosted_invoice_url",
        "hosted_invoice_url = 'http://invoice.example.com'",
    ),
    ("ck_invoices_status", "status = 'pending'"),
    (
        "ck_invoices_stripe_invoice_id",
        "stripe_invoice_id = 'inv_1'",
    ),
    ("ck_lead_notes_body", "body = '   '"),
    (
        "ck_lead_scoring_models_accuracy_score",
        "accuracy_score = 1.5",
    ),
    ("ck_lead_scoring_models_model_config", "model_config = '[]'"),
    ("ck_lead_scoring_models_model_name", "model_name = ''"),
    (
        "ck_lead_scoring_models_model_version",
        "model_version = ' '",
    ),
    (
        "ck_lead_scoring_models_training_data_count",
        "training_data_count = -1",
    ),
    ("ck_leads_currency", "currency = 'R$'"),
    ("ck_leads_custom_fields", "custom_fields = '[]'"),
    ("ck_leads_email_format", "email = 'joao.empresa.com.br'"),
    ("ck_leads_email_lower", "email = 'Joao@empresa.com.br'"),
    ("ck_leads_lead_score", "lead_score = 101"),
    ("ck_leads_lost_reason", "lost_reason = 'preço'"),
    ("ck_leads_name", "name = ''"),
    ("ck_leads_phone", "phone = '11988887777'"),
    ("ck_leads_source", "source = 'tv'"),
    ("ck_leads_status", "status = 'pending'"),
    ("ck_leads_value", "value = -0.01"),
    ("ck_marketing_integrations_account_id", "account_id = ' '"),
    (
        "ck_marketing_integrations_encryption_key_id",
        "encryption_key_id = NULL",
    ),
    ("ck_marketing_integrations_platform", "platform = 'tiktok'"),
    (
        "ck_marketing_integrations_total_leads_imported",
        "total_leads_imported = -1",
    ),
    ("ck_message_templates_category", "category = 'spam'"),
    ("ck_message_templates_channel", "channel = 'fax'"),
    ("ck_message_templates_components", "components = '{}'"),
    (
        "ck_message_templates_content",
        "content = ' ', variables = '[]'",
    ),
    ("ck_message_templates_language", "language = 'portuguese'"),
    ("ck_message_templates_name", "name = ''"),
    (
        "ck_message_templates_parameter_format",
        "parameter_format = 'mixed'",
    ),
    ("ck_message_templates_usage_count", "usage_count = -1"),
    (
        "ck_message_templates_variables",
        "variables = '[\"lead_name\", \"company\"]'",
    ),
    // A non-array can never equal the placeholder array, so ck_message_templates_variables
    // (tested first, by name) always refuses it too; see CHECK_SHADOWED.
    (
        "ck_message_templates_variables_array",
        "variables = '{\"lead_name\": 1}'",
    ),
    ("ck_message_templates_wa_category", "wa_category = 'PROMO'"),
    ("ck_message_templates_wa_status", "wa_status = 'live'"),
    (
        "ck_message_templates_wa_template_name",
        "wa_template_name = 'Saudação Inicial'",
    ),
    ("ck_notifications_payload", "payload = '[]'"),
    ("ck_notifications_title", "title = ' '"),
    ("ck_notifications_type", "type = 'Lead Assigned'"),
    (
        "ck_organization_invitations_accepted_or_revoked",
        "accepted_at = now(), revoked_at = now()",
    ),
    (
        "ck_organization_invitations_email_format",
        "email = 'invitee.example.com'",
    ),
    (
        "ck_organization_invitations_email_lower",
        "email = 'Invitee@example.com'",
    ),
    (
        "ck_organization_invitations_expires_at",
        "expires_at = created_at",
    ),
    ("ck_organization_invitations_role", "role = 'god'"),
    (
        "ck_organization_invitations_token_hash",
        "token_hash = '\\x00'",
    ),
    ("ck_organization_members_role", "role = 'god'"),
    ("ck_organization_members_status", "status = 'deleted'"),
    ("ck_organizations_currency", "currency = 'real'"),
    ("ck_organizations_locale", "locale = 'pt_BR'"),
    ("ck_organizations_name", "name = ' '"),
    ("ck_organizations_settings", "settings = '[]'"),
    ("ck_organizations_slug", "slug = 'Org A'"),
    (
        "ck_organizations_timezone",
        "timezone = 'America/Sao Paulo'",
    ),
    ("ck_pipeline_stages_color", "color = 'red'"),
    ("ck_pipeline_stages_name", "name = ''"),
    ("ck_pipeline_stages_stage_order", "stage_order = 0"),
    ("ck_pipeline_stages_stage_type", "stage_type = 'won'"),
    (
        "ck_pipeline_stages_win_probability",
        "win_probability = 101",
    ),
    ("ck_pipelines_name", "name = ' '"),
    ("ck_pipelines_position", "position = -1"),
    ("ck_plans_billing_interval", "billing_interval = 'week'"),
    ("ck_plans_code", "code = 'Plano A'"),
    ("ck_plans_currency", "currency = 'usd'"),
    ("ck_plans_limits", "limits = '[]'"),
    ("ck_plans_name", "name = ''"),
    ("ck_plans_price_cents", "price_cents = -1"),
    ("ck_plans_stripe_price_id", "stripe_price_id = 'prod_1'"),
    (
        "ck_provider_routes_external_account_id",
        "external_account_id = ' '",
    ),
    ("ck_provider_routes_provider", "provider = 'slack'"),
    ("ck_stripe_webhook_events_payload", "payload = '[]'"),
    (
        "ck_stripe_webhook_events_stripe_event_id",
        "stripe_event_id = 'event_1'",
    ),
    ("ck_stripe_webhook_events_type", "type = 'invoice'"),
    (
        "ck_subscriptions_current_period",
        "current_period_end = current_period_start - interval '1 day'",
    ),
    ("ck_subscriptions_status", "status = 'expired'"),
    (
        "ck_subscriptions_stripe_customer_id",
        "stripe_customer_id = 'customer_1'",
    ),
    (
        "ck_subscriptions_stripe_subscription_id",
        "stripe_subscription_id = 'subscription_1'",
    ),
    ("ck_tags_color", "color = '#fff'"),
    ("ck_tags_name", "name = ''"),
    ("ck_tasks_priority", "priority = 'asap'"),
    ("ck_tasks_title", "title = ' '"),
    ("ck_tasks_type", "type = 'visit'"),
    (
        "ck_template_usage_stats_success_metric",
        "success_metric = 'clicked'",
    ),
    (
        "ck_template_usage_stats_success_value",
        "success_metric = NULL",
    ),
    ("ck_user_sessions_expires_at", "expires_at = created_at"),
    (
        "ck_user_sessions_refresh_token_hash",
        "refresh_token_hash = '\\x00'",
    ),
    (
        "ck_user_two_factor_backup_code_hashes",
        "backup_code_hashes = ARRAY[NULL::text]",
    ),
    (
        "ck_user_two_factor_encryption_key_id",
        "encryption_key_id = ' '",
    ),
    ("ck_users_email_format", "email = 'user.example.com'"),
    ("ck_users_email_lower", "email = 'User@example.com'"),
    ("ck_users_full_name", "full_name = ' '"),
    ("ck_users_locale", "locale = 'pt_BR'"),
    ("ck_users_password_hash", "password_hash = 'hunter2'"),
    ("ck_users_phone", "phone = '+0123'"),
    (
        "ck_voip_configs_cost_per_minute",
        "cost_per_minute = -0.0001",
    ),
    ("ck_voip_configs_currency", "currency = 'usd'"),
    (
        "ck_voip_configs_encryption_key_id",
        "encryption_key_id = NULL",
    ),
    ("ck_voip_configs_is_active", "setup_completed = false"),
    (
        "ck_voip_configs_phone_number",
        "phone_number = '5511944443333'",
    ),
    ("ck_voip_configs_provider", "provider = 'vonage'"),
    (
        "ck_voip_configs_setup_completed",
        "credentials_ciphertext = NULL",
    ),
    ("ck_webhook_delivery_logs_attempt", "attempt = 0"),
    ("ck_webhook_delivery_logs_duration_ms", "duration_ms = -1"),
    (
        "ck_webhook_delivery_logs_event_type",
        "event_type = 'Lead Created'",
    ),
    (
        "ck_webhook_delivery_logs_next_retry_at",
        "next_retry_at = NULL",
    ),
    ("ck_webhook_delivery_logs_payload", "payload = '[]'"),
    (
        "ck_webhook_delivery_logs_response_status",
        "response_status = 600",
    ),
    ("ck_webhook_delivery_logs_status", "status = 'sent'"),
    (
        "ck_webhook_subscriptions_encryption_key_id",
        "encryption_key_id = ' '",
    ),
    ("ck_webhook_subscriptions_events", "events = '{}'"),
    (
        "ck_webhook_subscriptions_failure_count",
        "failure_count = -1",
    ),
    (
        "ck_webhook_subscriptions_url",
        "url = 'http://hooks.example.com/x'",
    ),
    (
        "ck_whatsapp_configs_encryption_key_id",
        "encryption_key_id = NULL",
    ),
    ("ck_whatsapp_configs_is_active", "setup_completed = false"),
    (
        "ck_whatsapp_configs_phone_number",
        "phone_number = '5511955554444'",
    ),
    ("ck_whatsapp_configs_provider", "provider = 'cloud'"),
    (
        "ck_whatsapp_configs_setup_completed",
        "credentials_ciphertext = NULL",
    ),
    (
        "ck_whatsapp_configs_webhook_verify_token_hash",
        "webhook_verify_token_hash = '\\x00'",
    ),
];

/// CHECKs that no row can break alone, with the CHECK that always fires first (by name) on
/// their violating value; the probe drops the latter inside the savepoint.
const CHECK_SHADOWED: &[(&str, &str)] = &[(
    "ck_message_templates_variables_array",
    "ck_message_templates_variables",
)];

/// Values that break more than their own CHECK are caught too: the error must name the
/// constraint of the case.
#[tokio::test]
async fn every_check_constraint_rejects_its_violating_value() {
    let (_db, mut conn) = one_graph().await;
    let checks = sqlx::query(
        "SELECT conname::text, conrelid::regclass::text FROM pg_constraint
         WHERE contype = 'c' AND connamespace = 'public'::regnamespace
           AND obj_description(conrelid, 'pg_class') ~ '^scope: '
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let cased: BTreeSet<&str> = CHECK_CASES.iter().map(|c| c.0).collect();
    assert_eq!(cased.len(), CHECK_CASES.len(), "one case per CHECK");
    let live: BTreeSet<String> = checks.iter().map(|r| r.get(0)).collect();
    let missing: Vec<String> = live
        .iter()
        .filter(|c| !cased.contains(c.as_str()))
        .map(|c| format!("{c}: no violating value in CHECK_CASES"))
        .collect();
    assert_none("CHECK constraints without a case", &missing);
    let stale: Vec<String> = cased
        .iter()
        .filter(|c| !live.contains(**c))
        .map(|c| format!("{c}: not in the schema"))
        .collect();
    assert_none("cases for CHECKs the schema does not have", &stale);

    begin(&mut conn).await;
    let mut failures = Vec::new();
    for row in &checks {
        let (name, table): (String, String) = (row.get(0), row.get(1));
        let (_, set) = CHECK_CASES.iter().find(|c| c.0 == name).unwrap();
        let mut setup = vec![triggers_off(&table)];
        if let Some((_, shadow)) = CHECK_SHADOWED.iter().find(|s| s.0 == name) {
            setup.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                q(&table),
                q(shadow)
            ));
        }
        let update = format!("UPDATE {} SET {set}", q(&table));
        match probe(&mut conn, &setup, &update).await {
            Err(r)
                if r.sqlstate.as_deref() == Some(crmdb_pg::sqlstate::CHECK_VIOLATION)
                    && r.constraint.as_deref() == Some(name.as_str()) => {}
            other => failures.push(format!("{name} ({set}): {other:?}")),
        }
    }
    assert_none(
        "CHECK constraints that did not refuse their violating value by name",
        &failures,
    );
}
