//! Through a real PgBouncer in transaction mode (the test harness's, two server connections
//! per database and login): the data layer works with more clients than server
//! connections, a session-level setting injected by one request reaches nobody after it,
//! the worker path claims every job once; and the session commands (the migrator, the demo
//! loader, the benchmark's fresh database) refuse the pooler, naming it, while the server's
//! direct URL still works.
//!
//! The whole data-layer module runs through the pooler too:
//! `CRMDB_TEST_POOLER=1 cargo test -p crmdb-db-tests -- store::`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crmdb_demo::{DemoError, DemoOptions, NoProgress};
use crmdb_migrate::{Migrator, Options};
use crmdb_secrets::{Key, Keyring};
use crmdb_seed::NewOrganization;
use crmdb_store::models::JobStatus;
use crmdb_store::ops::jobs::NewJob;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::{sql, Db, Tenant};
use crmdb_testkit::TestDb;
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::Connection;
use tokio::task::JoinSet;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use uuid::Uuid;

use crate::store::user;

/// The harness's `default_pool_size`: server connections per database and login.
const POOL_SIZE: usize = 2;

/// Concurrent clients of one test, more than [`POOL_SIZE`].
const CLIENTS: usize = 8;

async fn organization(db: &Db, name: &str) -> Uuid {
    let owner = user(db, &format!("owner@{name}.example")).await;
    db.organizations()
        .create(
            &NewOrganization::new(format!("Org {name}"), format!("org-{name}")),
            Some(owner),
        )
        .await
        .unwrap()
        .id
}

/// The server process of the transaction `tenant` runs this in, and the leads it sees of
/// its own organization and of any other.
async fn visible_leads(tenant: &Tenant) -> (i32, i64, i64) {
    sql::query_as(
        "SELECT pg_backend_pid(), \
                count(*) FILTER (WHERE organization_id = $1), \
                count(*) FILTER (WHERE organization_id <> $1) \
         FROM leads",
    )
    .bind(tenant.organization_id())
    .fetch_one(tenant)
    .await
    .unwrap()
}

/// The ids of the open leads in the first stage of `tenant`'s default pipeline, where new
/// leads land, through the typed kanban read.
async fn first_stage_leads(tenant: &Tenant) -> HashSet<Uuid> {
    let pipelines = tenant.pipelines();
    let pipeline = pipelines.default_pipeline().await.unwrap();
    let stage = pipelines.stages(pipeline.id).await.unwrap()[0].id;
    let page = tenant
        .leads()
        .kanban_column(stage, None, 100)
        .await
        .unwrap();
    page.leads
        .iter()
        .inspect(|lead| assert_eq!(lead.organization_id, tenant.organization_id()))
        .map(|lead| lead.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_data_layer_works_through_pgbouncer_with_more_clients_than_server_connections() {
    let test_db = crmdb_testkit::migrated_db().await;
    let db = Db::connect(&test_db.pooled_app_url().await).await.unwrap();
    let orgs = [organization(&db, "a").await, organization(&db, "b").await];

    let mut clients = JoinSet::new();
    for client in 0..CLIENTS {
        let tenant = db.tenant(orgs[client % 2]);
        clients.spawn(async move {
            let mut created = Vec::new();
            let mut pids = HashSet::new();
            for n in 0..5 {
                let lead = tenant
                    .leads()
                    .create(&NewLead::named(format!("Client {client} lead {n}")))
                    .await
                    .unwrap();
                assert_eq!(lead.organization_id, tenant.organization_id());
                created.push(lead.id);
                // Whichever server connection serves it, a tenant sees its own leads only.
                let (pid, own, others) = visible_leads(&tenant).await;
                assert_eq!(
                    others, 0,
                    "client {client} saw another organization's leads"
                );
                assert!(
                    own >= created.len() as i64,
                    "client {client} missed its leads"
                );
                pids.insert(pid);
            }
            (tenant.organization_id(), created, pids)
        });
    }
    let mut expected: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    let mut pids = HashSet::new();
    while let Some(joined) = clients.join_next().await {
        let (org, created, seen) = joined.unwrap();
        expected.entry(org).or_default().extend(created);
        pids.extend(seen);
    }
    assert!(
        pids.len() <= POOL_SIZE,
        "{CLIENTS} clients ran on at most {POOL_SIZE} server processes, saw {pids:?}"
    );
    for org in orgs {
        let listed = first_stage_leads(&db.tenant(org)).await;
        assert_eq!(listed.len(), CLIENTS / 2 * 5);
        assert_eq!(listed, expected[&org]);
    }
}

/// A client of its own through `url`, outside the data layer.
async fn raw_client(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The first row of `sql`'s answer, sent with the simple-query protocol outside any
/// transaction of the client's.
async fn first_row(
    client: &Client,
    sql: &str,
) -> Result<Vec<Option<String>>, tokio_postgres::Error> {
    let messages = client.simple_query(sql).await?;
    let row = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .expect("a row");
    Ok((0..row.len())
        .map(|i| row.get(i).map(str::to_owned))
        .collect())
}

async fn backend_pid(client: &Client) -> i32 {
    first_row(client, "SELECT pg_backend_pid()").await.unwrap()[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

/// Makes the server connection of process `pid` the only one of `url`'s pool that is
/// free: opens transactions through the pooler until one holds another server connection,
/// and ends the ones that got `pid`'s. Returns the client holding the other one; until it
/// ends its transaction, every statement of that database and login runs on `pid`'s.
async fn leave_only(url: &str, pid: i32) -> Client {
    let mut on_pid = Vec::new();
    for _ in 0..=POOL_SIZE {
        let client = raw_client(url).await;
        client.batch_execute("BEGIN").await.unwrap();
        if backend_pid(&client).await != pid {
            for held in on_pid {
                let held: Client = held;
                held.batch_execute("ROLLBACK").await.unwrap();
            }
            return client;
        }
        on_pid.push(client);
    }
    panic!("no server connection other than process {pid} in a pool of {POOL_SIZE}");
}

/// B's leads as the superuser sees them, every column.
async fn leads_of(test_db: &TestDb, org: Uuid) -> Vec<String> {
    let mut conn = test_db.superuser_connect().await;
    sqlx::query_scalar("SELECT l::text FROM leads l WHERE organization_id = $1 ORDER BY id")
        .bind(org)
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_setting_injected_by_one_request_reaches_no_later_client_of_the_pooler() {
    let test_db = crmdb_testkit::migrated_db().await;
    let url = test_db.pooled_app_url().await;
    let db = Db::connect(&url).await.unwrap();
    let (a, b) = (organization(&db, "a").await, organization(&db, "b").await);
    let (tenant_a, tenant_b) = (db.tenant(a), db.tenant(b));
    let a_lead = tenant_a
        .leads()
        .create(&NewLead::named("Ana"))
        .await
        .unwrap();
    tenant_b
        .leads()
        .create(&NewLead::named("Bia"))
        .await
        .unwrap();
    let b_before = leads_of(&test_db, b).await;

    // A request of A's sets B's id and the role for the rest of the session, not the
    // transaction (`false`), through the escape hatch.
    let injected: i32 = tenant_a
        .transaction(async |tx| {
            sql::query(
                "SELECT set_config('app.current_organization_id', $1, false), \
                        set_config('role', 'crm_app', false)",
            )
            .bind(b.to_string())
            .execute(&mut **tx)
            .await?;
            sql::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut **tx)
                .await
        })
        .await
        .unwrap();

    // From here until `holder` ends, the request's server connection is the only one free.
    let holder = leave_only(&url, injected).await;

    // A plain statement of the application login, in no transaction of its own: the
    // session the request left has no organization, no role, and so no rows.
    let probe = raw_client(&url).await;
    let state = first_row(
        &probe,
        "SELECT pg_backend_pid()::text, current_setting('app.current_organization_id', true), \
                current_setting('role'), current_user::text = session_user::text",
    )
    .await
    .unwrap();
    assert_eq!(
        state[0].as_deref(),
        Some(injected.to_string().as_str()),
        "the probe runs on the request's server connection"
    );
    assert!(
        state[1].as_deref().unwrap_or_default().is_empty(),
        "the organization leaked: {state:?}"
    );
    assert_eq!(state[2].as_deref(), Some("none"), "the role leaked");
    assert_eq!(state[3].as_deref(), Some("t"), "the role leaked");
    match first_row(&probe, "SELECT count(*) FROM leads").await {
        Err(e) => assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{e}"),
        Ok(row) => assert_eq!(row[0].as_deref(), Some("0"), "the leads leaked"),
    }

    // The next typed operations of A, on the same server connection, see A only and write
    // to A only.
    assert_eq!(
        first_stage_leads(&tenant_a).await,
        HashSet::from([a_lead.id])
    );
    let written = tenant_a
        .leads()
        .create(&NewLead::named("Ana 2"))
        .await
        .unwrap();
    assert_eq!(written.organization_id, a);
    assert_eq!(visible_leads(&tenant_a).await, (injected, 2, 0));
    holder.batch_execute("ROLLBACK").await.unwrap();

    assert_eq!(leads_of(&test_db, b).await, b_before, "B's leads changed");
    assert_eq!(visible_leads(&tenant_b).await.1, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_claim_every_job_once_through_the_pooler() {
    let test_db = crmdb_testkit::migrated_db().await;
    let db = Db::connect(&test_db.pooled_app_url().await).await.unwrap();
    let worker_db = Db::connect(&test_db.pooled_worker_url().await)
        .await
        .unwrap();
    let mut queued = HashMap::new();
    for org in [organization(&db, "a").await, organization(&db, "b").await] {
        for n in 0..6 {
            let job = db
                .tenant(org)
                .jobs()
                .enqueue(&NewJob::of_type("email.send", json!({ "n": n })))
                .await
                .unwrap();
            queued.insert(job.id, org);
        }
    }

    let mut workers = JoinSet::new();
    for w in 0..CLIENTS / 2 {
        let worker = worker_db.worker(format!("w{w}"));
        workers.spawn(async move {
            let mut claimed = Vec::new();
            while let Some(job) = worker.claim("default").await.unwrap() {
                assert_eq!(job.locked_by.as_deref(), Some(worker.name()));
                let done = worker.complete(&job).await.unwrap();
                assert_eq!(done.status, JobStatus::Succeeded);
                claimed.push((job.id, job.organization_id));
            }
            claimed
        });
    }
    let mut claimed = Vec::new();
    while let Some(joined) = workers.join_next().await {
        claimed.extend(joined.unwrap());
    }
    assert_eq!(
        claimed.len(),
        queued.len(),
        "every job claimed once: {claimed:?}"
    );
    assert_eq!(claimed.into_iter().collect::<HashMap<_, _>>(), queued);
    for org in HashSet::<Uuid>::from_iter(queued.values().copied()) {
        let done = db
            .tenant(org)
            .jobs()
            .list(JobStatus::Succeeded, 100)
            .await
            .unwrap();
        assert_eq!(done.len(), 6);
    }
}

fn options(url: &str) -> PgConnectOptions {
    url.parse().unwrap()
}

/// The refusal names the pooler's address (with the `database` the command connected to)
/// and what to do, and no password.
#[track_caller]
fn assert_refusal(
    refusal: &crmdb_pg::pooler::NeedsSession,
    test_db: &TestDb,
    database: &str,
    command: &str,
) {
    let message = refusal.to_string();
    let pooled = url::Url::parse(&test_db.pooled_url()).unwrap();
    let server = format!("127.0.0.1:{}/{database}", pooled.port().unwrap());
    assert_eq!(refusal.command, command);
    assert_eq!(refusal.server, server);
    for part in [
        "through a transaction pooler",
        "needs a session of its own",
        "use a direct URL to PostgreSQL (DATABASE_URL)",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(!message.contains(pooled.password().unwrap()), "{message}");
}

#[tokio::test]
async fn detection_tells_the_pooler_from_the_server() {
    let test_db = crmdb_testkit::migrated_db().await;
    let direct = crmdb_pg::pooler::detect(&options(test_db.url())).await;
    assert_eq!(direct.unwrap(), None);
    let pooled = crmdb_pg::pooler::detect(&options(&test_db.pooled_url())).await;
    assert!(pooled.unwrap().is_some(), "PgBouncer in transaction mode");
    // The application login through it too: the check needs no right of its own.
    let app = crmdb_pg::pooler::detect(&options(&test_db.pooled_app_url().await)).await;
    assert!(app.unwrap().is_some());
}

#[tokio::test]
async fn the_migrator_refuses_a_transaction_pooler_and_runs_on_the_server() {
    let test_db = crmdb_testkit::migrated_db().await;
    let migrator = Migrator::new(crmdb_schema::migrations().unwrap(), Options::default());
    match migrator.apply(&options(&test_db.pooled_url()), None).await {
        Err(crmdb_migrate::Error::TransactionPooler(refusal)) => {
            assert_refusal(&refusal, &test_db, test_db.name(), "crmdb migrate");
        }
        other => panic!("expected the pooler refused, got {other:?}"),
    }
    match migrator
        .revert(
            &options(&test_db.pooled_url()),
            crmdb_migrate::RevertTarget::Steps(1),
        )
        .await
    {
        Err(crmdb_migrate::Error::TransactionPooler(_)) => {}
        other => panic!("expected the pooler refused, got {other:?}"),
    }
    let report = migrator.apply(&options(test_db.url()), None).await.unwrap();
    assert!(report.up_to_date);
}

#[tokio::test]
async fn the_demo_loader_refuses_a_transaction_pooler_and_loads_on_the_server() {
    let test_db = crmdb_testkit::migrated_db().await;
    let demo = DemoOptions {
        organizations: 1,
        leads_per_org: 5,
        seed: 11,
        connections: 1,
    };
    let load = async |url: &str| {
        crmdb_demo::load(
            &options(url),
            Keyring::new(vec![Key::generate()]).unwrap(),
            &demo,
            Arc::new(NoProgress),
            std::future::pending(),
        )
        .await
    };
    match load(&test_db.pooled_url()).await {
        Err(DemoError::TransactionPooler(refusal)) => {
            assert_refusal(&refusal, &test_db, test_db.name(), "crmdb seed demo");
        }
        other => panic!("expected the pooler refused, got {other:?}"),
    }
    let report = load(test_db.url()).await.unwrap();
    assert_eq!(report.organizations_loaded, 1);
}

/// Reports nothing.
struct Quiet;

impl crmdb_bench::Progress for Quiet {
    fn loading_demo(&self, _: &str, _: &crmdb_bench::DemoSize) {}
    fn demo_loaded(&self, _: &crmdb_demo::DemoReport) {}
    fn measuring(&self, _: &crmdb_store::hot::HotQuery) {}
}

#[tokio::test]
async fn the_benchmark_refuses_a_transaction_pooler_and_prepares_on_the_server() {
    let test_db = crmdb_testkit::migrated_db().await;
    let size = crmdb_bench::DemoSize {
        organizations: 1,
        leads_per_org: 5,
    };
    let prepare = async |url: &str| {
        let keyring = Keyring::new(vec![Key::generate()]).unwrap();
        crmdb_bench::prepare(&options(url), &size, 3, keyring, &Quiet).await
    };
    match prepare(&test_db.pooled_url()).await {
        Err(crmdb_bench::Error::TransactionPooler(refusal)) => {
            assert_refusal(&refusal, &test_db, "postgres", "crmdb bench --orgs");
        }
        other => panic!("expected the pooler refused, got {other:?}"),
    }
    // crm_bench is one database of the whole server: dropped again at once.
    prepare(test_db.url()).await.unwrap();
    let mut admin = sqlx::PgConnection::connect_with(&crmdb_testkit::admin_options())
        .await
        .unwrap();
    crmdb_pg::drop_database(&mut admin, crmdb_bench::BENCH_DATABASE)
        .await
        .unwrap();
}
