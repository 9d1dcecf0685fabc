//! The catalog's hot queries (as verified by the schema's author, `hot_queries.sql`) on a
//! database big enough for the planner to care — 50 organizations, 50 000 leads, 150 000
//! communications, 125 000 analytics events... — each plan uses its intended index and no
//! sequential scan on a big table. A plan-shape assertion, not a timing.

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::assert_none;

/// Ported from the author's data generator, scaled to 50 organizations of 1 000 leads
/// (5 members, 5 stages, 3 messages per lead, 10 templates with 100 uses each, 500 AI
/// sessions, 2 500 events and 1 000 jobs, 5% of them queued).
const BULK_SQL: &str = r##"INSERT INTO organizations (id, name, slug)
SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(g), 12, '0'))::uuid, 'Org ' || g, 'bulk-' || g
FROM generate_series(1, 50) AS g;
INSERT INTO users (id, email, full_name)
SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(g), 12, '0'))::uuid, 'bulk' || g || '@example.com', 'User ' || g
FROM generate_series(1, 250) AS g;
INSERT INTO organization_members (organization_id, user_id, role)
SELECT ('00000000-0000-0000-0001-' || lpad(to_hex((g - 1) / 5 + 1), 12, '0'))::uuid,
       ('00000000-0000-0000-0002-' || lpad(to_hex(g), 12, '0'))::uuid, 'agent'
FROM generate_series(1, 250) AS g;
INSERT INTO pipelines (organization_id, id, name, is_default)
SELECT id, id, 'Funil de Vendas', true FROM organizations WHERE slug LIKE 'bulk-%';
INSERT INTO pipeline_stages (organization_id, pipeline_id, name, stage_order, color, stage_type)
SELECT p.organization_id, p.id, s.name, s.stage_order, s.color, s.stage_type
FROM pipelines AS p
CROSS JOIN (VALUES ('Lead', 1, '#ef4444', 'lead'), ('Contato', 2, '#f97316', 'contact'),
                   ('Proposta', 3, '#eab308', 'proposal'), ('Negociação', 4, '#22c55e', 'negotiation'),
                   ('Fechado', 5, '#6366f1', 'closed')) AS s (name, stage_order, color, stage_type)
WHERE p.organization_id IN (SELECT id FROM organizations WHERE slug LIKE 'bulk-%');
CREATE TEMP TABLE bulk_orgs AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM organizations WHERE slug LIKE 'bulk-%';
CREATE TEMP TABLE bulk_members AS
SELECT organization_id, user_id, row_number() OVER (PARTITION BY organization_id ORDER BY user_id) - 1 AS n
FROM organization_members WHERE organization_id IN (SELECT id FROM bulk_orgs);
INSERT INTO leads (organization_id, pipeline_id, stage_id, name, email, phone, company, lead_score, value, status,
                   assigned_user_id, deleted_at)
SELECT o.id, s.pipeline_id, s.id,
       (ARRAY['Ana', 'João', 'Maria', 'Pedro', 'Lucas', 'Julia', 'Carla', 'Rafael', 'Bruno', 'Fernanda'])[1 + g % 10]
         || ' ' || (ARRAY['Silva', 'Souza', 'Oliveira', 'Santos', 'Lima', 'Pereira', 'Costa', 'Almeida',
                          'Ferreira', 'Rodrigues'])[1 + (g / 10) % 10] || ' ' || g,
       'lead' || g || '@empresa' || g % 500 || '.com.br',
       '+55119' || lpad((g * 7919 % 100000000)::text, 8, '0'),
       'Empresa ' || g % 3000, g % 101, (g % 1000) * 10,
       (ARRAY['open', 'open', 'open', 'won', 'lost'])[1 + g % 5], m.user_id,
       CASE WHEN g % 50 = 0 THEN now() END
FROM generate_series(1, 50000) AS g
JOIN bulk_orgs AS o ON o.n = g % 50
JOIN pipeline_stages AS s ON s.organization_id = o.id AND s.stage_order = 1 + (g / 50) % 5
JOIN bulk_members AS m ON m.organization_id = o.id AND m.n = (g / 250) % 5;
INSERT INTO communications (organization_id, lead_id, channel, direction, content, occurred_at)
SELECT l.organization_id, l.id, 'whatsapp', 'inbound', 'msg', now() - make_interval(hours => k)
FROM leads AS l CROSS JOIN generate_series(1, 3) AS k
WHERE l.organization_id IN (SELECT id FROM bulk_orgs);
INSERT INTO message_templates (organization_id, name, category, content, variables)
SELECT o.id, 't' || k, 'greeting', 'Olá {{lead_name}}', '["lead_name"]'
FROM bulk_orgs AS o CROSS JOIN generate_series(1, 10) AS k;
INSERT INTO template_usage_stats (organization_id, template_id, used_at, success_metric, success_value)
SELECT t.organization_id, t.id, now() - make_interval(days => g % 90), 'response_received', g % 3 = 0
FROM message_templates AS t CROSS JOIN generate_series(1, 100) AS g
WHERE t.organization_id IN (SELECT id FROM bulk_orgs);
INSERT INTO ai_conversations (organization_id, session_id, channel, created_at)
SELECT o.id, 'sess-' || g, 'web_chat', now() - make_interval(mins => g)
FROM bulk_orgs AS o CROSS JOIN generate_series(1, 500) AS g;
INSERT INTO analytics_events (organization_id, event_type, occurred_at)
SELECT o.id, (ARRAY['lead.created', 'lead.updated', 'message.sent', 'page.view'])[1 + g % 4],
       now() - make_interval(days => g % 60, secs => g)
FROM bulk_orgs AS o CROSS JOIN generate_series(1, 2500) AS g;
INSERT INTO background_jobs (organization_id, queue, job_type, status, priority, run_at)
SELECT o.id, (ARRAY['default', 'email'])[1 + g % 2], 'lead.score',
       CASE WHEN g % 20 = 0 THEN 'queued' ELSE 'succeeded' END, g % 10 * 10, now() - make_interval(secs => g)
FROM bulk_orgs AS o CROSS JOIN generate_series(1, 1000) AS g;
ANALYZE;"##;

/// The tables a sequential scan would make slow as organizations grow.
const BIG_TABLES: &[&str] = &[
    "leads",
    "communications",
    "template_usage_stats",
    "ai_conversations",
    "analytics_events",
    "background_jobs",
];

/// Who runs a query: the application under RLS with the organization set, or a role that
/// bypasses RLS (the owner of `search_leads`, and of `claim_background_job`, which runs the
/// dequeue across organizations for workers).
#[derive(Debug, Clone, Copy)]
enum Runner {
    App,
    Owner,
}

struct HotQuery {
    name: &'static str,
    index: &'static str,
    runner: Runner,
    sql: String,
}

/// The nodes of an EXPLAIN (FORMAT JSON) plan, depth first.
fn nodes(plan: &Value, out: &mut Vec<Value>) {
    out.push(plan.clone());
    if let Some(children) = plan.get("Plans").and_then(Value::as_array) {
        for child in children {
            nodes(child, out);
        }
    }
}

async fn explain(conn: &mut PgConnection, org: Uuid, query: &HotQuery) -> Vec<Value> {
    sqlx::raw_sql("BEGIN").execute(&mut *conn).await.unwrap();
    if let Runner::App = query.runner {
        sqlx::query(
            "SELECT set_config('role', 'crm_app', true),
                    set_config('app.current_organization_id', $1, true)",
        )
        .bind(org.to_string())
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    let plan: Value = sqlx::query_scalar(&format!("EXPLAIN (FORMAT JSON) {}", query.sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", query.name));
    sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
    let mut out = Vec::new();
    nodes(&plan[0]["Plan"], &mut out);
    out
}

fn describe(plan: &[Value]) -> String {
    plan.iter()
        .map(|n| {
            format!(
                "{} {} {}",
                n["Node Type"].as_str().unwrap_or("?"),
                n["Relation Name"].as_str().unwrap_or(""),
                n["Index Name"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

#[tokio::test]
async fn every_hot_query_uses_its_index_and_no_sequential_scan() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    sqlx::raw_sql(BULK_SQL).execute(&mut conn).await.unwrap();
    let org: Uuid = "00000000-0000-0000-0001-000000000001".parse().unwrap();
    let (pipeline, stage, lead, member): (Uuid, Uuid, Uuid, Uuid) = sqlx::query_as(
        "SELECT s.pipeline_id, s.id,
                (SELECT id FROM leads WHERE organization_id = $1 ORDER BY id LIMIT 1),
                (SELECT user_id FROM organization_members WHERE organization_id = $1
                 ORDER BY user_id LIMIT 1)
         FROM pipeline_stages AS s WHERE s.organization_id = $1 AND s.stage_order = 2",
    )
    .bind(org)
    .fetch_one(&mut conn)
    .await
    .unwrap();

    let dequeue = "SELECT organization_id, id, job_type, payload FROM background_jobs \
                   WHERE status = 'queued' AND queue = 'default' AND run_at <= now() \
                   ORDER BY priority, run_at LIMIT 1 FOR UPDATE SKIP LOCKED";
    let queries = [
        HotQuery {
            name: "1 kanban column",
            index: "idx_leads_organization_id_stage_id_lead_score_open",
            runner: Runner::App,
            sql: format!(
                "SELECT id, name, company, lead_score, value, assigned_user_id FROM leads \
                 WHERE organization_id = '{org}' AND stage_id = '{stage}' \
                   AND status = 'open' AND deleted_at IS NULL \
                 ORDER BY lead_score DESC, id LIMIT 50"
            ),
        },
        HotQuery {
            name: "2 my leads",
            index: "idx_leads_organization_id_assigned_user_id_updated_at",
            runner: Runner::App,
            sql: format!(
                "SELECT id, name, stage_id, status, updated_at FROM leads \
                 WHERE organization_id = '{org}' AND assigned_user_id = '{member}' \
                   AND deleted_at IS NULL \
                 ORDER BY updated_at DESC LIMIT 50"
            ),
        },
        HotQuery {
            name: "3 lead timeline",
            index: "idx_communications_organization_id_lead_id_occurred_at",
            runner: Runner::App,
            sql: format!(
                "SELECT id, channel, direction, content, status, occurred_at FROM communications \
                 WHERE organization_id = '{org}' AND lead_id = '{lead}' \
                 ORDER BY occurred_at DESC LIMIT 50"
            ),
        },
        HotQuery {
            name: "4 kanban board summary",
            index: "idx_leads_organization_id_pipeline_id_stage_id",
            runner: Runner::App,
            sql: format!(
                "SELECT stage_id, count(*) AS leads, sum(value) AS total_value FROM leads \
                 WHERE organization_id = '{org}' AND pipeline_id = '{pipeline}' \
                   AND status = 'open' AND deleted_at IS NULL \
                 GROUP BY stage_id"
            ),
        },
        // What search_leads runs (EXPLAIN cannot see into a function), as its owner does:
        // bypassing RLS, with the explicit organization filter.
        HotQuery {
            name: "5 lead search",
            index: "idx_leads_organization_id_search_trgm",
            runner: Runner::Owner,
            sql: format!(
                "SELECT l.id, l.name, l.email, l.phone, l.company, l.pipeline_id, l.stage_id, \
                        l.lead_score, l.status \
                 FROM leads AS l \
                 WHERE l.organization_id = '{org}' AND l.deleted_at IS NULL \
                   AND char_length('silva') >= 3 \
                   AND lead_search_document(l.name, l.email, l.phone, l.company) \
                       ILIKE '%silva%' ESCAPE '!' \
                 ORDER BY word_similarity('silva', \
                            lead_search_document(l.name, l.email, l.phone, l.company)) DESC, \
                          l.lead_score DESC, l.id \
                 LIMIT 20"
            ),
        },
        // The application's statement, joined from the templates: filtered by the
        // organization alone, every index led by organization_id serves equally well, and
        // PostgreSQL 18 picks another one than 15.
        HotQuery {
            name: "6 template performance",
            index: "idx_template_usage_stats_organization_id_template_id_used_at",
            runner: Runner::App,
            sql: format!(
                "SELECT t.id AS template_id, t.name, count(u.template_id) AS uses, \
                        count(u.template_id) FILTER (WHERE u.success_value) AS successes \
                 FROM message_templates AS t \
                 LEFT JOIN template_usage_stats AS u \
                   ON u.organization_id = t.organization_id AND u.template_id = t.id \
                  AND u.used_at >= now() - interval '30 days' \
                 WHERE t.organization_id = '{org}' \
                 GROUP BY t.id, t.name \
                 ORDER BY uses DESC, t.name"
            ),
        },
        HotQuery {
            name: "7a AI conversation by session",
            index: "idx_ai_conversations_organization_id_session_id_created_at",
            runner: Runner::App,
            sql: format!(
                "SELECT id, lead_id, messages, qualification_score, handoff_triggered \
                 FROM ai_conversations \
                 WHERE organization_id = '{org}' AND session_id = 'sess-42' \
                 ORDER BY created_at DESC LIMIT 1"
            ),
        },
        HotQuery {
            name: "7b analytics events of one type, last 7 days",
            index: "idx_analytics_events_organization_id_event_type_occurred_at",
            runner: Runner::App,
            sql: format!(
                "SELECT date_trunc('day', occurred_at) AS day, count(*) FROM analytics_events \
                 WHERE organization_id = '{org}' AND event_type = 'lead.created' \
                   AND occurred_at >= now() - interval '7 days' \
                 GROUP BY 1 ORDER BY 1"
            ),
        },
        HotQuery {
            name: "8 next background job (worker across organizations)",
            index: "idx_background_jobs_queue_priority_run_at_queued",
            runner: Runner::Owner,
            sql: dequeue.to_owned(),
        },
        HotQuery {
            name: "8 next background job (crm_app, one organization)",
            index: "idx_background_jobs_queue_priority_run_at_queued",
            runner: Runner::App,
            sql: dequeue.to_owned(),
        },
    ];
    let mut failures = Vec::new();
    for query in &queries {
        let plan = explain(&mut conn, org, query).await;
        let uses_index = plan
            .iter()
            .any(|n| n["Index Name"].as_str() == Some(query.index));
        let seq_scans: Vec<&str> = plan
            .iter()
            .filter(|n| n["Node Type"].as_str() == Some("Seq Scan"))
            .filter_map(|n| n["Relation Name"].as_str())
            .filter(|t| BIG_TABLES.contains(t))
            .collect();
        if !uses_index || !seq_scans.is_empty() {
            failures.push(format!(
                "{} ({:?}): expected {}, no Seq Scan on {:?}; plan: {}",
                query.name,
                query.runner,
                query.index,
                seq_scans,
                describe(&plan)
            ));
        }
    }
    assert_none("hot queries off their index", &failures);
}
