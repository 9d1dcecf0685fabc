//! Seeds: the defaults are idempotent and never overwrite customisations; creating an
//! organization seeds it atomically; the demo is deterministic, complete, consistent
//! across organizations, and resumable after an interruption.
//!
//! The checks read every organization as the server's superuser. The demo is loaded as the
//! superuser, and as the admin login of a managed service (neither superuser nor BYPASSRLS),
//! which must give the same bytes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crmdb_demo::{DemoError, DemoOptions, NoProgress, Progress, Table};
use crmdb_pg::ident::quote_ident;
use crmdb_secrets::{Key, Keyring};
use crmdb_seed::{NewOrganization, SeedError};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Acquire, PgConnection};
use tokio::sync::Notify;
use uuid::Uuid;

/// (constraint, child table, parent table, child columns, parent columns)
type ForeignKey = (String, String, String, Vec<String>, Vec<String>);

/// Every table of the schema, by name.
async fn tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
           AND c.relname <> 'crmdb_schema_history' \
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// (table, rows, md5 of the rows' text in order): equal fingerprints mean equal contents.
async fn fingerprint(conn: &mut PgConnection) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for table in tables(conn).await {
        let sql = format!(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) \
             FROM {} t",
            quote_ident(&table).unwrap()
        );
        let (rows, hash): (i64, String) = sqlx::query_as(&sql).fetch_one(&mut *conn).await.unwrap();
        out.push((table, rows, hash));
    }
    out
}

async fn create(conn: &mut PgConnection, name: &str, slug: &str) -> Uuid {
    let mut tx = conn.begin().await.unwrap();
    let id = crmdb_seed::create_organization(&mut tx, &NewOrganization::new(name, slug))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn keyring() -> Keyring {
    Keyring::new(vec![Key::from_bytes([7; 32])]).unwrap()
}

fn demo(organizations: u32, leads_per_org: u32, seed: u64) -> DemoOptions {
    DemoOptions {
        organizations,
        leads_per_org,
        seed,
        connections: 2,
    }
}

async fn load(db: &crmdb_testkit::TestDb, options: &DemoOptions) -> crmdb_demo::DemoReport {
    load_as(&db.superuser_url().parse().unwrap(), options)
        .await
        .unwrap()
}

/// The demo loaded by the login of `connect`.
async fn load_as(
    connect: &PgConnectOptions,
    options: &DemoOptions,
) -> Result<crmdb_demo::DemoReport, DemoError> {
    crmdb_demo::load(
        connect,
        keyring(),
        options,
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    create(&mut conn, "Padaria Aurora", "padaria-aurora").await;
    let first = crmdb_seed::seed_all(&mut conn).await.unwrap();
    assert_eq!(first.plans, 5, "the catalogue is seeded: {first:?}");
    assert_eq!(
        first.pipelines, 0,
        "create_organization already seeded the organization"
    );
    let before = fingerprint(&mut conn).await;
    let second = crmdb_seed::seed_all(&mut conn).await.unwrap();
    assert_eq!(second.rows(), 0, "{second:?}");
    assert_eq!(second.organizations, 1);
    assert_eq!(fingerprint(&mut conn).await, before);

    let pipelines: Vec<(String, bool)> = sqlx::query_as("SELECT name, is_default FROM pipelines")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(pipelines, [("Funil de Vendas".to_owned(), true)]);
    let stages: Vec<(String, i32, String, String)> = sqlx::query_as(
        "SELECT name, stage_order, color, stage_type FROM pipeline_stages ORDER BY stage_order",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["Lead", "Contato", "Proposta", "Negociação", "Fechado"]
    );
    assert_eq!(stages[0].2, "#ef4444");
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM message_templates), \
                (SELECT count(*) FROM voip_configs WHERE NOT is_active AND NOT setup_completed), \
                (SELECT count(*) FROM lead_scoring_models WHERE is_active AND accuracy_score = 0.75), \
                (SELECT count(DISTINCT provider) FROM voip_configs)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(counts.0 >= 8, "at least 8 templates: {counts:?}");
    assert_eq!((counts.1, counts.2, counts.3), (2, 1, 2));
}

#[tokio::test]
async fn a_customised_default_is_kept() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    let org = create(&mut conn, "Clínica Ipê", "clinica-ipe").await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.current_organization_id', $1, true)")
        .bind(org.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE pipeline_stages SET name = 'Prospecção', color = '#000000' WHERE name = 'Lead'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE message_templates SET content = 'Oi {{lead_name}}, tudo certo?', \
                variables = '[\"lead_name\"]' WHERE name = 'Follow-up 24h'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("DELETE FROM pipeline_stages WHERE name = 'Negociação'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE voip_configs SET cost_per_minute = 0.5 WHERE provider = 'twilio'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let before = fingerprint(&mut conn).await;

    let report = crmdb_seed::seed_organization(&mut conn, org).await.unwrap();
    assert_eq!(report.rows(), 0, "{report:?}");
    assert_eq!(
        fingerprint(&mut conn).await,
        before,
        "nothing was overwritten or re-added"
    );
    let stages: Vec<String> =
        sqlx::query_scalar("SELECT name FROM pipeline_stages ORDER BY stage_order")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(stages, ["Prospecção", "Contato", "Proposta", "Fechado"]);
}

#[tokio::test]
async fn creating_an_organization_seeds_it_in_the_same_transaction() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    {
        let mut tx = conn.begin().await.unwrap();
        crmdb_seed::create_organization(&mut tx, &NewOrganization::new("Loja Real", "loja-real"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    let counts: (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM pipelines), \
                (SELECT count(*) FROM message_templates)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(counts, (0, 0, 0), "a rolled-back creation leaves nothing");

    let org = create(&mut conn, "Loja Real", "loja-real").await;
    let stages: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pipeline_stages s JOIN pipelines p \
           ON p.organization_id = s.organization_id AND p.id = s.pipeline_id \
         WHERE p.organization_id = $1 AND p.is_default",
    )
    .bind(org)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(stages, 5);

    let mut tx = conn.begin().await.unwrap();
    let taken =
        crmdb_seed::create_organization(&mut tx, &NewOrganization::new("Outra", "loja-real")).await;
    assert!(
        matches!(taken, Err(SeedError::SlugTaken { .. })),
        "{taken:?}"
    );
}

#[tokio::test]
async fn a_database_is_fresh_for_the_demo_until_it_has_an_organization() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.superuser_connect().await;
    assert!(crmdb_demo::is_fresh_database(&mut conn).await.unwrap());
    crmdb_seed::seed_all(&mut conn).await.unwrap();
    assert!(
        crmdb_demo::is_fresh_database(&mut conn).await.unwrap(),
        "the plan catalogue is no organization"
    );
    create(&mut conn, "Padaria Aurora", "padaria-aurora").await;
    assert!(!crmdb_demo::is_fresh_database(&mut conn).await.unwrap());
}

#[tokio::test]
async fn the_same_demo_seed_gives_identical_databases_and_another_seed_does_not() {
    let (a, b, c) = (
        crmdb_testkit::migrated_db().await,
        crmdb_testkit::migrated_db().await,
        crmdb_testkit::migrated_db().await,
    );
    load(&a, &demo(2, 40, 7)).await;
    load(&b, &demo(2, 40, 7)).await;
    load(&c, &demo(2, 40, 8)).await;
    let (fa, fb, fc) = (
        fingerprint(&mut a.superuser_connect().await).await,
        fingerprint(&mut b.superuser_connect().await).await,
        fingerprint(&mut c.superuser_connect().await).await,
    );
    assert_eq!(fa, fb, "same seed, same bytes");
    for ((table, _, hash_a), (_, _, hash_c)) in fa.iter().zip(&fc) {
        if table != "plans" {
            assert_ne!(hash_a, hash_c, "{table} differs with another seed");
        }
    }
}

#[tokio::test]
async fn demo_data_fills_every_table_passes_the_audit_and_stays_within_its_organization() {
    let db = crmdb_testkit::migrated_db().await;
    let report = load(&db, &demo(2, 60, 42)).await;
    assert_eq!(report.organizations_loaded, 2);
    let mut conn = db.superuser_connect().await;

    for (table, rows, _) in fingerprint(&mut conn).await {
        assert!(rows > 0, "{table} has no demo rows");
    }
    let all = tables(&mut conn).await;
    assert_eq!(all.len(), 40);
    assert_eq!(
        Table::ALL.len() + 1,
        all.len(),
        "the demo loads every table but plans"
    );

    let audit = crmdb_schema::audit::run(&mut conn).await.unwrap();
    assert!(audit.violations.is_empty(), "{:?}", audit.violations);

    // Every foreign key between two tables with organization_id: no child row matches a
    // parent row of another organization on the key's other columns.
    let fks: Vec<ForeignKey> = sqlx::query_as(
        "SELECT con.conname::text, child.relname::text, parent.relname::text, \
                array_agg(ca.attname::text ORDER BY k.ord), array_agg(pa.attname::text ORDER BY k.ord) \
         FROM pg_constraint con \
         JOIN pg_class child ON child.oid = con.conrelid \
         JOIN pg_class parent ON parent.oid = con.confrelid \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k (c, p, ord) \
         JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.c \
         JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.p \
         WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace \
           AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.conrelid AND attname = 'organization_id') \
           AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = con.confrelid AND attname = 'organization_id') \
         GROUP BY 1, 2, 3",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut checked = 0;
    for (name, child, parent, child_cols, parent_cols) in fks {
        let pairs: Vec<String> = child_cols
            .iter()
            .zip(&parent_cols)
            .filter(|(c, _)| *c != "organization_id")
            .map(|(c, p)| {
                format!(
                    "c.{} = p.{}",
                    quote_ident(c).unwrap(),
                    quote_ident(p).unwrap()
                )
            })
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT count(*) FROM {} c JOIN {} p ON {} WHERE c.organization_id <> p.organization_id",
            quote_ident(&child).unwrap(),
            quote_ident(&parent).unwrap(),
            pairs.join(" AND ")
        );
        let crossing: i64 = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap();
        assert_eq!(
            crossing, 0,
            "{name}: {crossing} rows of {child} point into another organization"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} foreign keys checked");
}

#[tokio::test]
async fn every_template_renders_with_its_variables() {
    let db = crmdb_testkit::migrated_db().await;
    load(&db, &demo(1, 80, 3)).await;
    let mut conn = db.superuser_connect().await;
    let templates: Vec<(String, String, serde_json::Value)> =
        sqlx::query_as("SELECT name, content, variables FROM message_templates")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(templates.len() >= 8);
    for (name, content, variables) in templates {
        let variables: Vec<String> = serde_json::from_value(variables).unwrap();
        let mut used: Vec<&str> = crmdb_seed::template::placeholders(&content);
        used.sort_unstable();
        let mut listed: Vec<&str> = variables.iter().map(String::as_str).collect();
        listed.sort_unstable();
        assert_eq!(used, listed, "{name}");
        let rendered = crmdb_seed::template::render(&content, |var| {
            variables
                .iter()
                .any(|v| v == var)
                .then(|| format!("<{var}>"))
        })
        .unwrap();
        assert!(!rendered.contains("{{"), "{name}: {rendered}");
    }
    let (templated, unrendered): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE content LIKE '%{{%' OR content LIKE '%[%]%') \
         FROM communications WHERE template_id IS NOT NULL",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(templated > 0);
    assert_eq!(
        unrendered, 0,
        "every templated message was rendered completely"
    );
    let usage_matches: bool = sqlx::query_scalar(
        "SELECT bool_and(t.usage_count = (SELECT count(*) FROM template_usage_stats u \
                                          WHERE u.organization_id = t.organization_id \
                                            AND u.template_id = t.id)) \
         FROM message_templates t",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(usage_matches, "usage_count counts the template's uses");
}

/// Interrupts the load once `after` organizations are committed.
struct InterruptAfter {
    after: u32,
    done: AtomicU32,
    notify: Arc<Notify>,
}

impl Progress for InterruptAfter {
    fn start(&self, _: u32, _: u32) {}
    fn rows(&self, _: Table, _: u64) {}
    fn organization_done(&self) {
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.notify.notify_one();
        }
    }
}

#[tokio::test]
async fn an_interrupted_demo_keeps_only_whole_organizations_and_resumes() {
    let db = crmdb_testkit::migrated_db().await;
    interrupt_and_resume(&db, &db.superuser_url().parse().unwrap()).await;
}

/// The admin login loads through staging tables and never lifts the forcing of row-level
/// security, not even while an interrupted load rolls back.
#[tokio::test]
async fn an_interrupted_demo_as_the_admin_login_resumes_and_keeps_row_level_security_forced() {
    let db = crmdb_testkit::migrated_db().await;
    interrupt_and_resume(&db, &db.connect_options()).await;
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class \
         WHERE relnamespace = 'public'::regnamespace AND relrowsecurity \
           AND NOT relforcerowsecurity AND relname <> ALL ($1)",
    )
    .bind(GLOBAL_TABLES)
    .fetch_all(&mut db.connect().await)
    .await
    .unwrap();
    assert_eq!(unforced, Vec::<String>::new());
}

/// The tables whose row-level security is enabled but not forced (migration 0011).
const GLOBAL_TABLES: [&str; 6] = [
    "organizations",
    "users",
    "user_two_factor",
    "user_sessions",
    "auth_tokens",
    "provider_routes",
];

/// Interrupts a load by the login of `connect` after two organizations, checks that only
/// whole organizations remain, resumes it, and compares the result with an uninterrupted
/// load.
async fn interrupt_and_resume(db: &crmdb_testkit::TestDb, connect: &PgConnectOptions) {
    let options = demo(12, 50, 11);
    let notify = Arc::new(Notify::new());
    let progress = Arc::new(InterruptAfter {
        after: 2,
        done: AtomicU32::new(0),
        notify: notify.clone(),
    });
    let interrupted = crmdb_demo::load(connect, keyring(), &options, progress, async move {
        notify.notified().await
    })
    .await;
    let Err(DemoError::Interrupted { loaded, remaining }) = interrupted else {
        panic!("expected an interruption: {interrupted:?}");
    };
    assert!((2..12).contains(&loaded), "{loaded} loaded");
    assert_eq!(loaded + remaining, 12);

    let mut conn = db.superuser_connect().await;
    let per_org: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "SELECT o.id, (SELECT count(*) FROM leads l WHERE l.organization_id = o.id), \
                (SELECT count(*) FROM pipeline_stages s WHERE s.organization_id = o.id) \
         FROM organizations o",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        per_org.len() as u32,
        loaded,
        "only committed organizations exist"
    );
    assert!(
        per_org
            .iter()
            .all(|&(_, leads, stages)| leads == 50 && stages == 5),
        "{per_org:?}"
    );

    let resumed = load_as(connect, &options).await.unwrap();
    assert_eq!(resumed.organizations_skipped, loaded);
    assert_eq!(resumed.organizations_loaded, 12 - loaded);
    let complete = load_as(connect, &options).await.unwrap();
    assert_eq!((complete.organizations_loaded, complete.rows), (0, 0));

    let fresh = crmdb_testkit::migrated_db().await;
    load(&fresh, &options).await;
    assert_eq!(
        fingerprint(&mut conn).await,
        fingerprint(&mut fresh.superuser_connect().await).await,
        "a resumed load ends with the same data as an uninterrupted one"
    );
}

/// A managed service's admin login (`LOGIN CREATEDB CREATEROLE`, the owner of the
/// database) loads byte for byte the data a superuser loads, table by table.
#[tokio::test]
async fn the_admin_login_loads_the_same_demo_as_a_superuser() {
    let (by_superuser, by_admin) = (
        crmdb_testkit::migrated_db().await,
        crmdb_testkit::migrated_db().await,
    );
    let options = demo(3, 60, 5);
    let superuser_report = load(&by_superuser, &options).await;
    let admin_report = load_as(&by_admin.connect_options(), &options)
        .await
        .unwrap();
    assert_eq!(admin_report.rows, superuser_report.rows);
    let expected = fingerprint(&mut by_superuser.superuser_connect().await).await;
    let actual = fingerprint(&mut by_admin.superuser_connect().await).await;
    assert_eq!(expected.len(), 40, "every table is compared: {expected:?}");
    for (expected, actual) in expected.iter().zip(&actual) {
        assert_eq!(actual, expected, "{} as the admin login", expected.0);
    }
}

/// Without `TEMPORARY` the admin login cannot stage rows, and the error names the right and
/// the statement to ask for, before anything is loaded.
#[tokio::test]
async fn without_temporary_the_admin_login_is_told_which_grant_to_ask_for() {
    let db = crmdb_testkit::migrated_db().await;
    let mut admin = db.connect().await;
    let login: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    let database = quote_ident(db.name()).unwrap();
    sqlx::raw_sql(&format!(
        "REVOKE TEMPORARY ON DATABASE {database} FROM CURRENT_USER"
    ))
    .execute(&mut admin)
    .await
    .unwrap();
    let refused = load_as(&db.connect_options(), &demo(1, 10, 3)).await;
    let Err(error @ DemoError::NeedsTemporary { .. }) = refused else {
        panic!("expected the TEMPORARY error: {refused:?}");
    };
    let grant = format!(
        "GRANT TEMPORARY ON DATABASE {database} TO {}",
        quote_ident(&login).unwrap()
    );
    let message = error.to_string();
    assert!(
        message.contains("TEMPORARY right") && message.contains(&grant),
        "{message}"
    );
    let organizations: i64 = sqlx::query_scalar("SELECT count(*) FROM organizations")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(organizations, 0, "nothing was loaded");

    sqlx::raw_sql(&grant).execute(&mut admin).await.unwrap();
    let report = load_as(&db.connect_options(), &demo(1, 10, 3))
        .await
        .unwrap();
    assert_eq!(report.organizations_loaded, 1, "the grant is enough");
}

#[tokio::test]
async fn two_concurrent_demo_loads_share_the_work_and_both_succeed() {
    let db = crmdb_testkit::migrated_db().await;
    let options = demo(6, 30, 21);
    let (a, b) = tokio::join!(load(&db, &options), load(&db, &options));
    assert_eq!(
        a.organizations_loaded + b.organizations_loaded,
        6,
        "{a:?} {b:?}"
    );
    assert_eq!(a.organizations_loaded + a.organizations_skipped, 6);
    assert_eq!(b.organizations_loaded + b.organizations_skipped, 6);
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&mut db.superuser_connect().await)
        .await
        .unwrap();
    assert_eq!(leads, 180);
}
