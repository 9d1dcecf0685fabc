//! The schema's own guarantees on a real database: valid rows, every constraint by name,
//! composite tenant keys, row-level security, triggers, hot-query plans, `SET NULL (col)`
//! and offboarding. Shared here: a full valid graph of rows per organization and the
//! catalog look-ups the data-driven tests enumerate.

mod offboarding;
mod plans;
mod rls;
mod rows;
mod set_null;
mod tenant_keys;
mod triggers;

use crmdb_schema::catalog::{Schema, Scope};
use sqlx::postgres::PgDatabaseError;
use sqlx::PgConnection;
use uuid::Uuid;

/// One row in each of the 40 tables, every optional column filled where a constraint could
/// bite on it (unique keys over nullable columns only conflict when the value is set), and
/// the partial unique indexes' predicates true (default pipeline, live subscription, active
/// scoring model, pending invitation) so a copy of the row conflicts with them.
const GRAPH_SQL: &str = r##"INSERT INTO organizations (id, name, slug, locale, timezone, currency, settings)
VALUES ('{org}', 'Organização {t}', 'org-{t}', 'pt-BR', 'America/Sao_Paulo', 'BRL', '{"theme": "dark"}');
INSERT INTO users (id, email, password_hash, full_name, phone, locale, is_active, email_verified_at, last_login_at)
VALUES ('{user}', 'user-{t}@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 'Usuária {t}',
        '+5511999990001', 'pt-BR', true, now(), now());
INSERT INTO user_two_factor (user_id, secret_ciphertext, encryption_key_id, backup_code_hashes, enabled_at, last_used_at)
VALUES ('{user}', '\x0102', 'key-1', ARRAY['$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Y29kZQ'], now(), now());
INSERT INTO user_sessions (user_id, refresh_token_hash, ip, user_agent, expires_at, revoked_at, last_seen_at)
VALUES ('{user}', sha256('{t}-refresh'), '203.0.113.7', 'Mozilla/5.0', now() + interval '30 days', now(), now());
INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at, used_at)
VALUES ('{user}', 'password_reset', sha256('{t}-reset'), now() + interval '1 hour', now());
INSERT INTO organization_members (organization_id, id, user_id, role, status, invited_by, joined_at)
VALUES ('{org}', '{member}', '{user}', 'owner', 'active', NULL, now());
INSERT INTO organization_invitations (organization_id, email, role, token_hash, invited_by, expires_at)
VALUES ('{org}', 'invitee-{t}@example.com', 'agent', sha256('{t}-invite'), '{user}', now() + interval '7 days');
INSERT INTO audit_logs (organization_id, actor_user_id, action, entity_type, entity_id, changes, ip, user_agent)
VALUES ('{org}', '{user}', 'organization.created', 'organization', '{org}', '{"name": {"old": null, "new": "x"}}',
        '203.0.113.7', 'Mozilla/5.0');
INSERT INTO plans (id, code, name, price_cents, currency, billing_interval, limits, stripe_price_id, is_active)
VALUES ('{plan}', 'plan-{t}', 'Plano {t}', 9900, 'BRL', 'month', '{"users": 5}', 'price_{t}', true);
INSERT INTO subscriptions (organization_id, id, plan_id, stripe_customer_id, stripe_subscription_id, status,
                           current_period_start, current_period_end, cancel_at_period_end, trial_ends_at, canceled_at)
VALUES ('{org}', '{subscription}', '{plan}', 'cus_{t}', 'sub_{t}', 'active',
        now(), now() + interval '1 month', false, now(), now());
INSERT INTO invoices (organization_id, subscription_id, stripe_invoice_id, amount_due_cents, amount_paid_cents, currency,
                      status, hosted_invoice_url, issued_at, paid_at)
VALUES ('{org}', '{subscription}', 'in_{t}', 9900, 9900, 'BRL', 'paid', 'https://invoice.stripe.com/i/{t}', now(), now());
INSERT INTO stripe_webhook_events (stripe_event_id, type, payload, processed_at, processing_error)
VALUES ('evt_{t}', 'invoice.paid', '{"id": "evt"}', now(), 'none');
INSERT INTO pipelines (organization_id, id, name, is_default, position)
VALUES ('{org}', '{pipeline}', 'Funil de Vendas', true, 0);
INSERT INTO pipeline_stages (organization_id, id, pipeline_id, name, stage_order, color, stage_type, win_probability)
VALUES ('{org}', '{stage}', '{pipeline}', 'Lead', 1, '#ef4444', 'lead', 10);
INSERT INTO leads (organization_id, id, pipeline_id, stage_id, name, email, phone, company, job_title, source, lead_score,
                   value, currency, status, lost_reason, assigned_user_id, custom_fields, last_contacted_at,
                   next_follow_up_at)
VALUES ('{org}', '{lead}', '{pipeline}', '{stage}', 'João Silva', 'joao-{t}@empresa.com.br', '+5511988887777',
        'Empresa {t}', 'CTO', 'website', 50, 1500.00, 'BRL', 'open', NULL, '{user}', '{"cpf": "1"}', now(), now());
INSERT INTO lead_favorites (organization_id, lead_id, user_id) VALUES ('{org}', '{lead}', '{user}');
INSERT INTO lead_stage_history (organization_id, lead_id, from_stage_id, to_stage_id, changed_by)
VALUES ('{org}', '{lead}', '{stage}', '{stage}', '{user}');
INSERT INTO message_templates (organization_id, id, name, category, channel, content, variables, language,
                               wa_template_name, wa_category, parameter_format, components, wa_status, is_active,
                               usage_count)
VALUES ('{org}', '{template}', 'Saudação', 'greeting', 'whatsapp', 'Olá {{lead_name}}!', '["lead_name"]', 'pt-BR',
        NULL, 'MARKETING', 'named', '[]', 'approved', true, 1);
INSERT INTO communications (organization_id, lead_id, user_id, channel, direction, content, status, external_id,
                            template_id, duration_seconds, recording_url, metadata)
VALUES ('{org}', '{lead}', '{user}', 'whatsapp', 'outbound', 'Olá João!', 'sent', 'wamid.{t}', '{template}', 0,
        'https://recordings.example.com/{t}', '{}');
INSERT INTO lead_notes (organization_id, lead_id, author_user_id, body, is_pinned)
VALUES ('{org}', '{lead}', '{user}', 'Ligar amanhã', true);
INSERT INTO tasks (organization_id, id, lead_id, assigned_user_id, title, description, type, priority, due_at)
VALUES ('{org}', '{task}', '{lead}', '{user}', 'Ligar', 'Primeiro contato', 'call', 'high', now() + interval '1 day');
INSERT INTO tags (organization_id, id, name, color) VALUES ('{org}', '{tag}', 'vip', '#22c55e');
INSERT INTO lead_tags (organization_id, lead_id, tag_id) VALUES ('{org}', '{lead}', '{tag}');
INSERT INTO custom_field_definitions (organization_id, entity, key, label, field_type, options, is_required, position)
VALUES ('{org}', 'lead', 'segment', 'Segmento', 'select', '["varejo", "indústria"]', true, 1);
INSERT INTO notifications (organization_id, user_id, type, title, body, payload, read_at)
VALUES ('{org}', '{user}', 'lead.assigned', 'Novo lead', 'João Silva', '{"lead_id": "{lead}"}', now());
INSERT INTO template_usage_stats (organization_id, template_id, lead_id, user_id, success_metric, success_value)
VALUES ('{org}', '{template}', '{lead}', '{user}', 'response_received', true);
INSERT INTO whatsapp_configs (organization_id, provider, phone_number, phone_number_id, business_account_id,
                              webhook_verify_token_hash, credentials_ciphertext, encryption_key_id, is_active,
                              setup_completed, last_sync_at)
VALUES ('{org}', 'business_api', '+5511955554444', 'pnid-{t}', 'waba-{t}', sha256('{t}-verify'), '\x0102', 'key-1',
        true, true, now());
INSERT INTO voip_configs (organization_id, provider, phone_number, credentials_ciphertext, encryption_key_id,
                          cost_per_minute, currency, is_active, setup_completed)
VALUES ('{org}', 'twilio', '+5511944443333', '\x0102', 'key-1', 0.0130, 'USD', true, true);
INSERT INTO ai_conversations (organization_id, id, lead_id, session_id, channel, messages, model, qualification_score,
                              handoff_triggered, handoff_reason, token_usage)
VALUES ('{org}', '{conversation}', '{lead}', 'sess-{t}', 'whatsapp', '[{"role": "user", "content": "oi"}]', 'gpt-4o',
        80, true, 'pediu humano', 120);
INSERT INTO ai_training_data (organization_id, data_type, input_data, expected_output, actual_output, feedback_score,
                              conversation_id)
VALUES ('{org}', 'sentiment', '{"text": "ótimo"}', '"positive"', '"positive"', 1.00, '{conversation}');
INSERT INTO lead_scoring_models (organization_id, model_name, model_version, model_config, training_data_count,
                                 accuracy_score, is_active, trained_at)
VALUES ('{org}', 'baseline', '1', '{"weights": {}}', 10, 0.7500, true, now());
INSERT INTO analytics_events (organization_id, event_type, event_data, user_id, lead_id, session_id)
VALUES ('{org}', 'lead.created', '{"source": "website"}', '{user}', '{lead}', 'sess-{t}');
INSERT INTO calendar_integrations (organization_id, id, user_id, provider, access_token_ciphertext,
                                   refresh_token_ciphertext, encryption_key_id, token_expires_at, calendar_id,
                                   sync_cursor, sync_status, is_active, last_sync_at)
VALUES ('{org}', '{integration}', '{user}', 'google', '\x0102', '\x0304', 'key-1', now() + interval '1 hour', 'primary',
        'cursor-1', 'active', true, now());
INSERT INTO calendar_events (organization_id, integration_id, lead_id, task_id, external_event_id, title, description,
                             location, starts_at, ends_at, status, meeting_url)
VALUES ('{org}', '{integration}', '{lead}', '{task}', 'ev-{t}', 'Reunião', 'Demo', 'Online', now(), now() + interval '1 hour',
        'confirmed', 'https://meet.example.com/{t}');
INSERT INTO marketing_integrations (organization_id, platform, account_id, access_token_ciphertext,
                                    refresh_token_ciphertext, encryption_key_id, token_expires_at, is_active,
                                    last_import_at, total_leads_imported)
VALUES ('{org}', 'facebook', 'act_{t}', '\x0102', '\x0304', 'key-1', now() + interval '1 hour', true, now(), 3);
INSERT INTO webhook_subscriptions (organization_id, id, url, description, secret_ciphertext, encryption_key_id, events,
                                   is_active, failure_count, last_ping_at)
VALUES ('{org}', '{webhook}', 'https://hooks.example.com/{t}', 'CRM sync', '\x0102', 'key-1',
        ARRAY['lead.created', 'lead.updated'], true, 0, now());
INSERT INTO webhook_delivery_logs (organization_id, subscription_id, event_type, payload, attempt, status,
                                   response_status, duration_ms, last_error, next_retry_at, delivered_at)
VALUES ('{org}', '{webhook}', 'lead.created', '{"lead_id": "{lead}"}', 1, 'pending', 503, 120, 'Service Unavailable',
        now() + interval '1 minute', NULL);
INSERT INTO provider_routes (provider, external_account_id, organization_id, config_id)
VALUES ('whatsapp', 'pnid-{t}', '{org}', '{org}');
INSERT INTO api_keys (organization_id, service_name, key_name, key_ciphertext, encryption_key_id, key_hint, is_active,
                      expires_at, last_used_at)
VALUES ('{org}', 'openai', 'production', '\x0102', 'key-1', 'x9Zq', true, now() + interval '1 year', now());
INSERT INTO background_jobs (organization_id, queue, job_type, payload, status, priority, attempts, max_attempts,
                             run_at, locked_at, locked_by, last_error, finished_at)
VALUES ('{org}', 'default', 'lead.score', '{"lead_id": "{lead}"}', 'queued', 100, 0, 5, now(), now(), 'worker-1',
        'none', NULL);
"##;

/// The ids of one organization's graph (one row per table; `tag` makes its global rows
/// unique: slug, e-mail, plan code, Stripe ids).
#[derive(Debug, Clone)]
pub struct Graph {
    pub org: Uuid,
    pub user: Uuid,
    pub member: Uuid,
    pub pipeline: Uuid,
    pub stage: Uuid,
    pub lead: Uuid,
    pub tag_id: Uuid,
    pub template: Uuid,
    pub conversation: Uuid,
    pub integration: Uuid,
    pub subscription: Uuid,
    pub plan: Uuid,
    pub webhook: Uuid,
    pub task: Uuid,
}

/// Inserts one organization's graph: a valid row in every table of the catalog.
pub async fn insert_graph(conn: &mut PgConnection, tag: &str) -> Graph {
    assert!(
        !tag.is_empty()
            && tag
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "a graph tag goes into slugs and Stripe ids: [a-z0-9]+"
    );
    let g = Graph {
        org: Uuid::now_v7(),
        user: Uuid::now_v7(),
        member: Uuid::now_v7(),
        pipeline: Uuid::now_v7(),
        stage: Uuid::now_v7(),
        lead: Uuid::now_v7(),
        tag_id: Uuid::now_v7(),
        template: Uuid::now_v7(),
        conversation: Uuid::now_v7(),
        integration: Uuid::now_v7(),
        subscription: Uuid::now_v7(),
        plan: Uuid::now_v7(),
        webhook: Uuid::now_v7(),
        task: Uuid::now_v7(),
    };
    let sql = [
        ("{org}", g.org),
        ("{user}", g.user),
        ("{member}", g.member),
        ("{pipeline}", g.pipeline),
        ("{stage}", g.stage),
        ("{lead}", g.lead),
        ("{tag}", g.tag_id),
        ("{template}", g.template),
        ("{conversation}", g.conversation),
        ("{integration}", g.integration),
        ("{subscription}", g.subscription),
        ("{plan}", g.plan),
        ("{webhook}", g.webhook),
        ("{task}", g.task),
    ]
    .iter()
    .fold(GRAPH_SQL.replace("{t}", tag), |sql, (key, id)| {
        sql.replace(key, &id.to_string())
    });
    sqlx::raw_sql(&sql)
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("inserting the graph of {tag}: {}", Rejection::of(&e)));
    g
}

/// A table of the catalog: every table of the migrations whose comment declares its scope.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub tenant: bool,
}

/// The catalog's tables, by name; read within whatever transaction `conn` has open.
pub async fn catalog_tables(conn: &mut PgConnection) -> Vec<Table> {
    let schema = Schema::read_within(conn).await.unwrap();
    schema
        .tables
        .values()
        .filter_map(|t| {
            t.scope().map(|scope| Table {
                name: t.name.clone(),
                tenant: scope == Scope::Tenant,
            })
        })
        .collect()
}

/// A catalog identifier quoted for SQL text.
pub fn q(name: &str) -> String {
    crmdb_pg::ident::quote_ident(name).expect("catalog names are valid identifiers")
}

/// `a, b, c` with each name quoted.
pub fn q_list(names: &[String]) -> String {
    names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")
}

/// What PostgreSQL said when it refused a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub sqlstate: Option<String>,
    pub constraint: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub message: String,
}

impl Rejection {
    pub fn of(error: &sqlx::Error) -> Rejection {
        let db = error.as_database_error();
        let pg = db.and_then(|e| e.try_downcast_ref::<PgDatabaseError>());
        Rejection {
            sqlstate: crmdb_pg::sqlstate::of(error),
            constraint: db.and_then(|e| e.constraint()).map(str::to_owned),
            table: pg.and_then(|e| e.table()).map(str::to_owned),
            column: pg.and_then(|e| e.column()).map(str::to_owned),
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SQLSTATE {} constraint {:?} column {:?}: {}",
            self.sqlstate.as_deref().unwrap_or("-"),
            self.constraint,
            self.column,
            self.message
        )
    }
}

/// Runs `setup` then `statement` inside a savepoint of the open transaction on `conn`,
/// and rolls everything back: each probe sees the fixture as it was. `setup` must succeed;
/// the statement's outcome (rows affected, or the rejection) is returned.
pub async fn probe(
    conn: &mut PgConnection,
    setup: &[String],
    statement: &str,
) -> Result<u64, Rejection> {
    sqlx::raw_sql("SAVEPOINT probe")
        .execute(&mut *conn)
        .await
        .unwrap();
    for sql in setup {
        if let Err(e) = sqlx::raw_sql(sql).execute(&mut *conn).await {
            panic!("probe setup `{sql}` failed: {}", Rejection::of(&e));
        }
    }
    let outcome = sqlx::raw_sql(statement)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| Rejection::of(&e));
    sqlx::raw_sql("ROLLBACK TO SAVEPOINT probe")
        .execute(&mut *conn)
        .await
        .unwrap();
    outcome
}

/// Opens the transaction the probes run in.
pub async fn begin(conn: &mut PgConnection) {
    sqlx::raw_sql("BEGIN").execute(conn).await.unwrap();
}

/// Rows of `table` (quoted) matching `filter`, as the superuser sees them.
pub async fn count(conn: &mut PgConnection, table: &str, filter: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {} WHERE {filter}", q(table)))
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Fails the test with every entry of `failures`, one per line, so one run shows them all.
pub fn assert_none(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} {what}:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
