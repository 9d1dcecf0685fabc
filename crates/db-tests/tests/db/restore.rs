//! Backup and restore, as the README's recipe says and as it goes wrong: a database with demo
//! data dumped with `pg_dump -Fc`, its roles with `pg_dumpall --roles-only`, and restored into
//! a second cluster. The recipe gives a database that is fully migrated, without drift, clean
//! to the audit, with every row, and that the application and the workers use as before; a
//! restore with `--no-owner` and one into a cluster without the roles are each reported by
//! drift and the audit, with their repair.

use std::io::Write;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;

use crmdb_demo::{DemoOptions, NoProgress};
use crmdb_inspect::drift::{self, Change};
use crmdb_migrate::{Migrator, Options, State};
use crmdb_schema::audit::{self, AuditError, Rule};
use crmdb_schema::catalog::Schema;
use crmdb_secrets::{Key, Keyring};
use crmdb_store::ops::jobs::NewJob;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::Db;
use crmdb_testkit::{SpareCluster, TestDb};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

fn program(name: &str) -> Command {
    let binaries = crmdb_cluster::Binaries::find().expect("the PostgreSQL binaries");
    Command::new(binaries.program(name))
}

/// Runs `cmd` with `input` on its standard input; its status and standard error.
fn run(cmd: &mut Command, input: &[u8]) -> (bool, String, Vec<u8>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running a PostgreSQL client program");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    stdin.write_all(input).expect("writing to its stdin");
    drop(stdin);
    let output = child.wait_with_output().expect("waiting for it");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.stdout,
    )
}

fn options(url: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url).expect("a valid URL")
}

/// `url` on another database.
fn on_database(url: &str, database: &str) -> String {
    let mut url = url::Url::parse(url).expect("a valid URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// A migrated test database with a little demo data, whose application and worker logins
/// exist (so the roles dump carries them).
async fn source() -> (TestDb, Arc<Keyring>) {
    let db = crmdb_testkit::migrated_db().await;
    let keyring = || Keyring::new(vec![Key::from_bytes([9; 32])]).unwrap();
    crmdb_demo::load(
        &db.superuser_url().parse().unwrap(),
        keyring(),
        &DemoOptions {
            organizations: 2,
            leads_per_org: 5,
            seed: 7,
            connections: 1,
        },
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
    .unwrap();
    db.app_url().await;
    (db, Arc::new(keyring()))
}

/// The recipe's first step: the source cluster's roles, restored into `spare` before
/// anything else. The spare cluster's own superuser has the name of the test server's, whose
/// lines are left out so it keeps its password.
fn restore_roles(db: &TestDb, spare: &SpareCluster) {
    let (ok, stderr, roles) = run(
        program("pg_dumpall")
            .arg("--roles-only")
            .arg("-d")
            .arg(on_database(&db.superuser_url(), "postgres")),
        b"",
    );
    assert!(ok, "pg_dumpall --roles-only: {stderr}");
    let superuser = url::Url::parse(&spare.superuser_url("postgres"))
        .unwrap()
        .username()
        .to_owned();
    let roles: String = String::from_utf8(roles)
        .unwrap()
        .lines()
        .filter(|line| {
            !line.starts_with(&format!("CREATE ROLE {superuser};"))
                && !line.starts_with(&format!("ALTER ROLE {superuser} WITH"))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let (ok, stderr, _) = run(
        program("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d"])
            .arg(spare.superuser_url("postgres")),
        roles.as_bytes(),
    );
    assert!(ok, "restoring the roles: {stderr}");
}

/// `pg_dump -Fc` of the source, as its superuser: the admin cannot read the tables whose
/// row-level security is forced.
fn dump(db: &TestDb) -> Vec<u8> {
    let (ok, stderr, dump) = run(
        program("pg_dump")
            .args(["-Fc", "-d"])
            .arg(db.superuser_url()),
        b"",
    );
    assert!(ok, "pg_dump: {stderr}");
    dump
}

/// Creates the source's database on `spare` as the source's admin login (restored with the
/// roles), prepared as the recipe says; its URL as that admin.
async fn create_database(db: &TestDb, spare: &SpareCluster) -> String {
    let admin = spare.same_login(db.url());
    let mut conn = PgConnection::connect_with(&options(&on_database(&admin, "postgres")))
        .await
        .expect("the admin login, restored with the roles");
    crmdb_pg::create_database(&mut conn, db.name(), None)
        .await
        .unwrap();
    conn.close().await.ok();
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(&format!(
        "GRANT CREATE ON SCHEMA public TO crm_owner;
         REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC",
        crmdb_pg::ident::quote_ident(db.name()).unwrap()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.ok();
    admin
}

/// `pg_restore` of `dump` into `url` with `extra` options; whether it had no error, and
/// its standard error.
fn restore(dump: &[u8], url: &str, extra: &[&str]) -> (bool, String) {
    let (ok, stderr, _) = run(program("pg_restore").args(extra).arg("-d").arg(url), dump);
    (ok, stderr)
}

/// Rows per table, as the superuser (row-level security does not apply).
async fn row_counts(url: &str) -> Vec<(String, i64)> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let schema = Schema::read(&mut conn).await.unwrap();
    let mut counts = Vec::new();
    for name in schema.tables.keys() {
        let sql = format!(
            "SELECT count(*) FROM {}",
            crmdb_pg::ident::quote_ident(name).unwrap()
        );
        let count: i64 = sqlx::query_scalar(&sql).fetch_one(&mut conn).await.unwrap();
        counts.push((name.clone(), count));
    }
    conn.close().await.ok();
    counts
}

async fn an_organization(url: &str) -> Uuid {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let id = sqlx::query_scalar("SELECT id FROM organizations ORDER BY id LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    id
}

/// Enqueues a job of a queue of its own as the application, and claims it as a worker:
/// whether the worker got it.
async fn job_claimed(app: &Db, worker: &Db, organization: Uuid) -> bool {
    let queue = "restore_check";
    app.tenant(organization)
        .jobs()
        .enqueue(&NewJob {
            queue: Some(queue.to_owned()),
            job_type: "restore.check".to_owned(),
            payload: serde_json::json!({}),
            priority: None,
            max_attempts: None,
            run_at: None,
        })
        .await
        .unwrap();
    worker.worker("w1").claim(queue).await.unwrap().is_some()
}

#[tokio::test]
async fn the_recipe_restores_a_working_database() {
    let (db, keyring) = source().await;
    let spare = SpareCluster::start();
    restore_roles(&db, &spare);
    let dump = dump(&db);
    let admin = create_database(&db, &spare).await;
    let (ok, stderr) = restore(&dump, &admin, &["--exit-on-error"]);
    assert!(ok, "pg_restore: {stderr}");

    let statuses = Migrator::new(crmdb_schema::migrations().unwrap(), Options::default())
        .status(&options(&admin))
        .await
        .unwrap();
    assert!(
        statuses.iter().all(|s| s.state == State::Applied),
        "{statuses:#?}"
    );
    let differences = drift::check(&options(&admin), crmdb_schema::migrations().unwrap())
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:#?}");
    let report = audit::run(&mut PgConnection::connect(&admin).await.unwrap())
        .await
        .unwrap();
    assert!(report.is_clean(), "{:#?}", report.violations);

    let restored_superuser = spare.superuser_url(db.name());
    assert_eq!(
        row_counts(&restored_superuser).await,
        row_counts(&db.superuser_url()).await
    );

    let app = Db::connect(&spare.same_login(&db.app_url().await))
        .await
        .unwrap()
        .with_keyring(keyring.clone());
    let worker = Db::connect(&spare.same_login(&db.worker_url().await))
        .await
        .unwrap()
        .with_keyring(keyring);
    let organization = an_organization(&restored_superuser).await;
    let lead = app
        .tenant(organization)
        .leads()
        .create(&NewLead {
            // The demo organizations require this custom field.
            custom_fields: Some(serde_json::json!({"segmento": "Varejo"})),
            ..NewLead::named("Restaurada Ltda")
        })
        .await
        .unwrap();
    let hits = app
        .tenant(organization)
        .leads()
        .search("Restaurada", 10)
        .await
        .unwrap();
    assert!(hits.iter().any(|h| h.id == lead.id), "{hits:#?}");
    assert!(job_claimed(&app, &worker, organization).await);
}

#[tokio::test]
async fn a_restore_with_no_owner_is_reported_and_repaired() {
    let (db, keyring) = source().await;
    let spare = SpareCluster::start();
    restore_roles(&db, &spare);
    let dump = dump(&db);
    let admin = create_database(&db, &spare).await;
    let (ok, stderr) = restore(&dump, &admin, &["--exit-on-error", "--no-owner"]);
    assert!(ok, "pg_restore --no-owner: {stderr}");

    let app = Db::connect(&spare.same_login(&db.app_url().await))
        .await
        .unwrap();
    let worker = Db::connect(&spare.same_login(&db.worker_url().await))
        .await
        .unwrap()
        .with_keyring(keyring);
    let organization = an_organization(&spare.superuser_url(db.name())).await;

    let admin_login = url::Url::parse(&admin).unwrap().username().to_owned();
    let report = audit::run(&mut PgConnection::connect(&admin).await.unwrap())
        .await
        .unwrap();
    let claim = report
        .violations
        .iter()
        .find(|v| v.table == "function claim_background_job(text,text)")
        .expect("the claim function's owner is reported");
    assert_eq!(claim.rule, Rule::DefinerFunctions);
    assert_eq!(
        claim.detail,
        format!(
            "is owned by {admin_login} instead of crm_owner; repair: ALTER FUNCTION \
             claim_background_job(text,text) OWNER TO crm_owner"
        )
    );
    assert_eq!(
        report
            .violations
            .iter()
            .filter(|v| v.rule == Rule::DefinerFunctions)
            .count(),
        12,
        "{:#?}",
        report.violations
    );

    let differences = drift::check(&options(&admin), crmdb_schema::migrations().unwrap())
        .await
        .unwrap();
    let owner = differences
        .iter()
        .find(|d| d.object == "owner of function claim_background_job(text,text)")
        .unwrap_or_else(|| panic!("{differences:#?}"));
    assert_eq!(owner.change, Change::Changed);
    assert_eq!(owner.expected.as_deref(), Some("crm_owner"));
    assert_eq!(owner.actual.as_deref(), Some("the database owner"));
    assert_eq!(
        owner.repair,
        "ALTER FUNCTION claim_background_job(text,text) OWNER TO crm_owner"
    );

    // The repairs drift names are the statements that repair it.
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    for difference in &differences {
        sqlx::raw_sql(&difference.repair)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{difference}: {e}"));
    }
    conn.close().await.ok();
    let report = audit::run(&mut PgConnection::connect(&admin).await.unwrap())
        .await
        .unwrap();
    assert!(report.is_clean(), "{:#?}", report.violations);
    assert!(job_claimed(&app, &worker, organization).await);
}

#[tokio::test]
async fn a_restore_into_a_cluster_without_the_roles_is_reported_and_creates_none() {
    let (db, _) = source().await;
    let spare = SpareCluster::start();
    let dump = dump(&db);
    let superuser = spare.superuser_url(db.name());
    let mut conn = PgConnection::connect(&spare.superuser_url("postgres"))
        .await
        .unwrap();
    crmdb_pg::create_database(&mut conn, db.name(), None)
        .await
        .unwrap();
    let (ok, stderr) = restore(&dump, &superuser, &[]);
    assert!(!ok, "the grants to the missing roles fail");
    assert!(
        stderr.contains("role \"crm_app\" does not exist"),
        "{stderr}"
    );

    let statuses = Migrator::new(crmdb_schema::migrations().unwrap(), Options::default())
        .status(&options(&superuser))
        .await
        .unwrap();
    assert!(
        statuses.iter().all(|s| s.state == State::Applied),
        "the history says nothing of the roles"
    );

    let report = audit::run(&mut PgConnection::connect(&superuser).await.unwrap())
        .await
        .unwrap();
    let roles: Vec<(&str, &str)> = report
        .violations
        .iter()
        .filter(|v| v.rule == Rule::Roles)
        .map(|v| (v.table.as_str(), v.detail.as_str()))
        .collect();
    assert_eq!(roles.len(), 4, "{:#?}", report.violations);
    for (role, detail) in roles {
        assert!(role.starts_with("role crm_"), "{role}");
        assert!(
            detail.contains("pg_dumpall --roles-only"),
            "{role}: {detail}"
        );
    }
    assert!(
        !report
            .violations
            .iter()
            .any(|v| v.detail.contains("GRANT") && v.detail.contains(" TO crm_")),
        "a grant to a missing role is no repair: {:#?}",
        report.violations
    );

    let differences = drift::check(&options(&superuser), crmdb_schema::migrations().unwrap())
        .await
        .unwrap();
    let objects: Vec<&str> = differences.iter().map(|d| d.object.as_str()).collect();
    assert_eq!(
        objects,
        [
            "role crm_owner",
            "role crm_app",
            "role crm_worker",
            "role crm_readonly"
        ]
    );
    assert!(differences
        .iter()
        .all(|d| d.change == Change::Missing && d.repair.contains("pg_dumpall --roles-only")));
    assert_eq!(
        crmdb_schema::roles::missing_roles(&mut conn).await.unwrap(),
        ["crm_owner", "crm_app", "crm_worker", "crm_readonly"],
        "drift created no role"
    );
    conn.close().await.ok();
}

#[tokio::test]
async fn a_database_crmdb_never_migrated_is_no_clean_audit() {
    let db = crmdb_testkit::empty_db().await;
    let error = audit::run(&mut db.connect().await).await.unwrap_err();
    assert!(matches!(error, AuditError::NeverMigrated { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "the database {} was never migrated by crmdb (it has no \
             public.crmdb_schema_history table), so there is no CRM schema to audit; point --database-url (or \
             DATABASE_URL) at the CRM's database, or run `crmdb migrate apply` first",
            db.name()
        )
    );
}
