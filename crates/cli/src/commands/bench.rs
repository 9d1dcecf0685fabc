//! `crmdb bench`: times the schema catalog's hot queries through the data layer with random
//! organizations, stages, members and leads, runs the same SQL as raw queries in the same
//! run (the layer's overhead is their ratio), compares each query under row-level security
//! with the same query as the owner, and checks that each plan uses its intended index.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use crmdb_demo::{DemoOptions, NoProgress};
use crmdb_pg::ident::quote_ident;
use crmdb_store::hot::{self, HotQuery, HOT_QUERIES};
use crmdb_store::models::{AiConversation, AnalyticsEvent, BackgroundJob, Communication, Lead};
use crmdb_store::ops::jobs::Worker;
use crmdb_store::ops::leads::{LeadHit, StageSummary};
use crmdb_store::ops::templates::TemplatePerformance;
use crmdb_store::Db;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::context::Context;

/// The database `--orgs`/`--leads-per-org` create, on the server of the target database.
const BENCH_DATABASE: &str = "crm_bench";

/// The queue the benchmark fills with its own jobs for `next_job`, and empties afterwards.
const BENCH_QUEUE: &str = "bench";

/// Organizations whose ids, stages, members and leads the random parameters come from.
const SAMPLED_ORGANIZATIONS: i64 = 200;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Create a fresh database `crm_bench` with this many organizations of demo data
    /// (with --leads-per-org); without both, the target database is used as it is.
    #[arg(long, requires = "leads_per_org")]
    orgs: Option<u32>,
    /// Leads per organization of the fresh database (with --orgs).
    #[arg(long, requires = "orgs")]
    leads_per_org: Option<u32>,
    /// Seconds each query runs on each path (layer, raw, RLS against owner).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Concurrent clients per path.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// The seed of the demo data and of the random parameters.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// The figures of one hot query.
#[derive(Debug, Serialize)]
struct QueryResult {
    name: &'static str,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    qps: f64,
    uses_index: bool,
    raw_p99_ms: f64,
    index: &'static str,
    raw_p50_ms: f64,
    raw_qps: f64,
    /// Layer p99 ÷ raw p99, and the same at the median (steadier on a busy machine).
    overhead: f64,
    overhead_p50: f64,
    /// The same statement in a transaction as the application role under row-level
    /// security, and as the pool's own role; `None` for `next_job`, which has no RLS path.
    rls_p99_ms: Option<f64>,
    owner_p99_ms: Option<f64>,
    rls_ratio: Option<f64>,
    rls_p50_ms: Option<f64>,
    owner_p50_ms: Option<f64>,
    rls_ratio_p50: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Report {
    database: String,
    organizations: i64,
    leads: i64,
    communications: i64,
    concurrency: u16,
    duration_seconds: u64,
    queries: Vec<QueryResult>,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let target = ctx.database().await?;
    let options = match (args.orgs, args.leads_per_org) {
        (Some(orgs), Some(leads)) => {
            let options = target.options.clone().database(BENCH_DATABASE);
            prepare(ctx, &target.options, &options, orgs, leads, args.seed).await?;
            options
        }
        _ => target.options.clone(),
    };
    let clients = u32::from(args.concurrency) + 2;
    let raw = PgPoolOptions::new()
        .max_connections(clients)
        .connect_with(options.clone())
        .await
        .context("could not connect to the benchmark database")?;
    let db = Db::from_pool(
        PgPoolOptions::new()
            .max_connections(clients)
            .connect_with(options.clone())
            .await
            .context("could not connect to the benchmark database")?,
    );
    let mut rng = StdRng::seed_from_u64(args.seed);
    let sample = Arc::new(Sample::load(&raw, &mut rng).await?);
    anyhow::ensure!(
        !sample.organizations.is_empty(),
        "the database has no organizations with leads; load some with --orgs and --leads-per-org"
    );
    let duration = Duration::from_secs(args.duration);
    let jobs = 3000 * args.duration * u64::from(args.concurrency) * 2 + 1000;
    fill_queue(&raw, &sample, jobs).await?;

    let mut queries = Vec::new();
    for query in HOT_QUERIES {
        ctx.out.line(format!("running {} …", query.name));
        let result = measure(
            query,
            &db,
            &raw,
            &sample,
            duration,
            args.concurrency,
            args.seed,
        )
        .await;
        queries.push(result?);
    }
    sqlx::query("DELETE FROM background_jobs WHERE queue = $1")
        .bind(BENCH_QUEUE)
        .execute(&raw)
        .await
        .context("could not remove the benchmark's jobs")?;

    let (organizations, leads, communications): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM leads), \
                (SELECT count(*) FROM communications)",
    )
    .fetch_one(&raw)
    .await?;
    let report = Report {
        database: options.get_database().unwrap_or_default().to_owned(),
        organizations,
        leads,
        communications,
        concurrency: args.concurrency,
        duration_seconds: args.duration,
        queries,
    };
    if ctx.out.is_json() {
        return ctx.out.json(&report);
    }
    print(ctx, &report);
    Ok(())
}

/// Creates `crm_bench` afresh, migrates it, loads the demo data and refreshes statistics.
async fn prepare(
    ctx: &Context,
    target: &PgConnectOptions,
    bench: &PgConnectOptions,
    orgs: u32,
    leads: u32,
    seed: u64,
) -> anyhow::Result<()> {
    let name = quote_ident(BENCH_DATABASE)?;
    let mut admin = PgConnection::connect_with(&target.clone().database("postgres"))
        .await
        .context("could not connect to the server's `postgres` database to create crm_bench")?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .context("could not drop the old crm_bench")?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .context("could not create crm_bench")?;
    admin.close().await.ok();
    crmdb_schema::roles::prepare_database(bench)
        .await
        .context("could not prepare the roles of the privilege model")?;
    crmdb_migrate::Migrator::new(
        crmdb_schema::migrations()?,
        crmdb_migrate::Options::default(),
    )
    .apply(bench, None)
    .await
    .context("could not migrate crm_bench")?;
    ctx.out.line(format!(
        "loading {orgs} organization(s) × {leads} leads into {BENCH_DATABASE} …"
    ));
    let demo = DemoOptions {
        organizations: orgs,
        leads_per_org: leads,
        seed,
        connections: 2,
    };
    let report = crmdb_demo::load(
        bench,
        ctx.keyring()?,
        &demo,
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
    .context("could not load the demo data")?;
    ctx.out.line(format!(
        "loaded {} rows in {:.1} s",
        report.rows, report.seconds
    ));
    let mut conn = PgConnection::connect_with(bench).await?;
    // Fresh statistics for the planner, and a visibility map for index-only scans.
    sqlx::raw_sql("VACUUM (ANALYZE)")
        .execute(&mut conn)
        .await
        .context("could not vacuum crm_bench")?;
    Ok(())
}

/// The ids the random parameters are drawn from, per sampled organization.
#[derive(Debug, Default)]
struct OrgSample {
    id: Uuid,
    pipelines: Vec<Uuid>,
    stages: Vec<Uuid>,
    members: Vec<Uuid>,
    leads: Vec<Uuid>,
    terms: Vec<String>,
    sessions: Vec<String>,
    event_types: Vec<String>,
}

#[derive(Debug)]
struct Sample {
    organizations: Vec<OrgSample>,
    /// Seven days before the newest analytics event (demo data is dated in the past).
    events_since: DateTime<Utc>,
    /// Thirty days before the newest template use.
    templates_since: DateTime<Utc>,
}

impl Sample {
    async fn load(pool: &PgPool, rng: &mut StdRng) -> anyhow::Result<Sample> {
        let mut ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM organizations AS o \
             WHERE EXISTS (SELECT 1 FROM leads AS l WHERE l.organization_id = o.id) \
             ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .context("could not list the organizations")?;
        ids.shuffle(rng);
        ids.truncate(SAMPLED_ORGANIZATIONS as usize);
        let mut organizations: Vec<OrgSample> = ids
            .iter()
            .map(|id| OrgSample {
                id: *id,
                ..OrgSample::default()
            })
            .collect();
        let lists: [(&str, Field<Uuid>); 4] = [
            (
                "SELECT organization_id, array_agg(DISTINCT pipeline_id) FROM leads \
                 WHERE organization_id = ANY($1) GROUP BY 1",
                |o| &mut o.pipelines,
            ),
            (
                "SELECT organization_id, array_agg(DISTINCT stage_id) FROM leads \
                 WHERE organization_id = ANY($1) AND status = 'open' AND deleted_at IS NULL \
                 GROUP BY 1",
                |o| &mut o.stages,
            ),
            (
                "SELECT organization_id, array_agg(DISTINCT assigned_user_id) FROM leads \
                 WHERE organization_id = ANY($1) AND assigned_user_id IS NOT NULL GROUP BY 1",
                |o| &mut o.members,
            ),
            (
                "SELECT organization_id, (array_agg(DISTINCT lead_id))[1:50] FROM communications \
                 WHERE organization_id = ANY($1) GROUP BY 1",
                |o| &mut o.leads,
            ),
        ];
        for (sql, field) in lists {
            fill(pool, sql, &ids, &mut organizations, field).await?;
        }
        let texts: [(&str, Field<String>); 3] = [
            // Part of a name: the first letters of the last word, as a user types them.
            (
                "SELECT organization_id, (array_agg(DISTINCT left(lower(split_part(name, ' ', -1)), 5)))[1:20] \
                 FROM leads WHERE organization_id = ANY($1) AND deleted_at IS NULL GROUP BY 1",
                |o| &mut o.terms,
            ),
            (
                "SELECT organization_id, (array_agg(DISTINCT session_id))[1:20] FROM ai_conversations \
                 WHERE organization_id = ANY($1) GROUP BY 1",
                |o| &mut o.sessions,
            ),
            (
                "SELECT organization_id, array_agg(DISTINCT event_type) FROM analytics_events \
                 WHERE organization_id = ANY($1) GROUP BY 1",
                |o| &mut o.event_types,
            ),
        ];
        for (sql, field) in texts {
            fill(pool, sql, &ids, &mut organizations, field).await?;
        }
        let (events, uses): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT (SELECT max(occurred_at) FROM analytics_events), \
                    (SELECT max(used_at) FROM template_usage_stats)",
        )
        .fetch_one(pool)
        .await?;
        let now = Utc::now();
        Ok(Sample {
            organizations,
            events_since: events.unwrap_or(now) - chrono::Duration::days(7),
            templates_since: uses.unwrap_or(now) - chrono::Duration::days(30),
        })
    }

    /// A random call of `query`, from an organization that has what it needs.
    fn call(&self, query: &HotQuery, rng: &mut StdRng) -> Call {
        for _ in 0..100 {
            let org = &self.organizations[rng.gen_range(0..self.organizations.len())];
            let call = match query.name {
                "kanban_column" => org
                    .stages
                    .choose(rng)
                    .map(|s| Call::KanbanColumn(org.id, *s)),
                "my_leads" => org.members.choose(rng).map(|m| Call::MyLeads(org.id, *m)),
                "lead_timeline" => org.leads.choose(rng).map(|l| Call::Timeline(org.id, *l)),
                "kanban_summary" => org.pipelines.choose(rng).map(|p| Call::Summary(org.id, *p)),
                "lead_search" => org
                    .terms
                    .choose(rng)
                    .map(|t| Call::Search(org.id, t.clone())),
                "template_performance" => Some(Call::Templates(org.id, self.templates_since)),
                "ai_session" => org
                    .sessions
                    .choose(rng)
                    .map(|s| Call::Session(org.id, s.clone())),
                "analytics_events" => org
                    .event_types
                    .choose(rng)
                    .map(|t| Call::Events(org.id, t.clone(), self.events_since)),
                _ => Some(Call::NextJob),
            };
            if let Some(call) = call {
                return call;
            }
        }
        Call::NextJob
    }
}

/// Where a sampled list goes in an [`OrgSample`].
type Field<T> = fn(&mut OrgSample) -> &mut Vec<T>;

/// Runs `sql` (organization id, array of values per organization of `ids`) and stores
/// each array in `field` of its organization.
async fn fill<T>(
    pool: &PgPool,
    sql: &'static str,
    ids: &[Uuid],
    organizations: &mut [OrgSample],
    field: Field<T>,
) -> anyhow::Result<()>
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    Vec<T>: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let rows: Vec<(Uuid, Vec<T>)> = sqlx::query_as(sql).bind(ids).fetch_all(pool).await?;
    for (org, values) in rows {
        if let Some(o) = organizations.iter_mut().find(|o| o.id == org) {
            *field(o) = values;
        }
    }
    Ok(())
}

/// One execution of a hot query with concrete parameters.
#[derive(Debug, Clone)]
enum Call {
    KanbanColumn(Uuid, Uuid),
    MyLeads(Uuid, Uuid),
    Timeline(Uuid, Uuid),
    Summary(Uuid, Uuid),
    Search(Uuid, String),
    Templates(Uuid, DateTime<Utc>),
    Session(Uuid, String),
    Events(Uuid, String, DateTime<Utc>),
    NextJob,
}

const PAGE: i64 = 50;
const SEARCH_LIMIT: i32 = 20;

impl Call {
    fn organization(&self) -> Option<Uuid> {
        match self {
            Call::KanbanColumn(o, _)
            | Call::MyLeads(o, _)
            | Call::Timeline(o, _)
            | Call::Summary(o, _)
            | Call::Search(o, _)
            | Call::Templates(o, _)
            | Call::Session(o, _)
            | Call::Events(o, _, _) => Some(*o),
            Call::NextJob => None,
        }
    }

    /// Through the data layer, as an application would call it.
    async fn layer(&self, db: &Db, worker: &Worker) -> anyhow::Result<()> {
        let tenant = self.organization().map(|o| db.tenant(o));
        let tenant = || tenant.as_ref().expect("tenant calls have an organization");
        match self {
            Call::KanbanColumn(_, stage) => {
                tenant().leads().kanban_column(*stage, None, PAGE).await?;
            }
            Call::MyLeads(_, user) => {
                tenant().leads().my_leads(*user, PAGE).await?;
            }
            Call::Timeline(_, lead) => {
                tenant()
                    .communications()
                    .timeline(*lead, None, PAGE)
                    .await?;
            }
            Call::Summary(_, pipeline) => {
                tenant().leads().kanban_summary(*pipeline).await?;
            }
            Call::Search(_, text) => {
                tenant().leads().search(text, SEARCH_LIMIT).await?;
            }
            Call::Templates(_, since) => {
                let days = (Utc::now() - *since).num_days().clamp(1, 366) as i32;
                tenant().templates().performance(days).await?;
            }
            Call::Session(_, session) => {
                tenant().conversations().by_session(session, PAGE).await?;
            }
            Call::Events(_, event_type, since) => {
                tenant()
                    .analytics()
                    .recent(event_type, *since, PAGE)
                    .await?;
            }
            Call::NextJob => {
                worker.claim(BENCH_QUEUE).await?;
            }
        }
        Ok(())
    }

    /// The same SQL straight on the pool, decoded into the same rows as the layer returns:
    /// no transaction, no role switch, so the difference is the tenancy's cost. Lead search
    /// runs the statement of `search_leads` directly.
    async fn raw(&self, pool: &PgPool) -> sqlx::Result<()> {
        match self {
            Call::KanbanColumn(o, s) => drop(
                sqlx::query_as::<_, Lead>(hot::KANBAN_COLUMN)
                    .bind(o)
                    .bind(s)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::MyLeads(o, u) => drop(
                sqlx::query_as::<_, Lead>(hot::MY_LEADS)
                    .bind(o)
                    .bind(u)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Timeline(o, l) => drop(
                sqlx::query_as::<_, Communication>(hot::LEAD_TIMELINE)
                    .bind(o)
                    .bind(l)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Summary(o, p) => drop(
                sqlx::query_as::<_, StageSummary>(hot::KANBAN_SUMMARY)
                    .bind(o)
                    .bind(p)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Search(o, t) => drop(
                sqlx::query_as::<_, LeadHit>(hot::LEAD_SEARCH_BODY)
                    .bind(o)
                    .bind(t)
                    .bind(i64::from(SEARCH_LIMIT))
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Templates(o, since) => drop(
                sqlx::query_as::<_, TemplatePerformance>(hot::TEMPLATE_PERFORMANCE)
                    .bind(o)
                    .bind(since)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Session(o, session) => drop(
                sqlx::query_as::<_, AiConversation>(hot::AI_SESSION)
                    .bind(o)
                    .bind(session)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::Events(o, t, since) => drop(
                sqlx::query_as::<_, AnalyticsEvent>(hot::ANALYTICS_EVENTS)
                    .bind(o)
                    .bind(t)
                    .bind(since)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await?,
            ),
            Call::NextJob => drop(
                sqlx::query_as::<_, BackgroundJob>(hot::NEXT_JOB)
                    .bind(BENCH_QUEUE)
                    .bind("bench-raw")
                    .fetch_optional(pool)
                    .await?,
            ),
        }
        Ok(())
    }

    /// The hot query's own statement with this call's parameters.
    async fn statement(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        let query = match self {
            Call::KanbanColumn(o, s) => sqlx::query(hot::KANBAN_COLUMN).bind(o).bind(s).bind(PAGE),
            Call::MyLeads(o, u) => sqlx::query(hot::MY_LEADS).bind(o).bind(u).bind(PAGE),
            Call::Timeline(o, l) => sqlx::query(hot::LEAD_TIMELINE).bind(o).bind(l).bind(PAGE),
            Call::Summary(o, p) => sqlx::query(hot::KANBAN_SUMMARY).bind(o).bind(p),
            Call::Search(o, t) => sqlx::query(hot::LEAD_SEARCH)
                .bind(o)
                .bind(t)
                .bind(SEARCH_LIMIT),
            Call::Templates(o, since) => sqlx::query(hot::TEMPLATE_PERFORMANCE).bind(o).bind(since),
            Call::Session(o, s) => sqlx::query(hot::AI_SESSION).bind(o).bind(s).bind(PAGE),
            Call::Events(o, t, since) => sqlx::query(hot::ANALYTICS_EVENTS)
                .bind(o)
                .bind(t)
                .bind(since)
                .bind(PAGE),
            Call::NextJob => sqlx::query(hot::NEXT_JOB)
                .bind(BENCH_QUEUE)
                .bind("bench-raw"),
        };
        query.fetch_all(conn).await.map(drop)
    }

    /// The statement in a transaction as the application role, under row-level security.
    async fn rls(&self, db: &Db, org: Uuid) -> anyhow::Result<()> {
        let mut tx = db.tenant(org).begin().await?;
        self.statement(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The statement in a transaction as the pool's own role, with the organization set
    /// (search_leads checks it) but no role switch: row-level security does not apply.
    async fn owner(&self, pool: &PgPool, org: Uuid) -> anyhow::Result<()> {
        let mut tx = pool.begin().await?;
        crmdb_pg::tenancy::set_organization(&mut tx, org).await?;
        self.statement(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Latencies of one path, in microseconds, and its throughput.
#[derive(Debug, Default)]
struct Timings {
    micros: Vec<u64>,
    qps: f64,
}

impl Timings {
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * self.micros.len() as f64).ceil() as usize;
        self.micros[rank.clamp(1, self.micros.len()) - 1] as f64 / 1000.0
    }
}

/// Runs `step` from `concurrency` clients, each for `duration` after a short untimed
/// warm-up (prepared statements, pooled connections); each step returns the latencies it
/// recorded, one per path it timed.
async fn drive<F, Fut>(
    concurrency: u16,
    duration: Duration,
    seed: u64,
    paths: usize,
    step: F,
) -> anyhow::Result<Vec<Timings>>
where
    F: Fn(StdRng) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<(StdRng, Vec<Duration>)>> + Send + 'static,
{
    let mut tasks = Vec::new();
    for client in 0..concurrency {
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed ^ u64::from(client));
            for _ in 0..20 {
                rng = step(rng).await?.0;
            }
            let mut timings: Vec<Vec<u64>> = vec![Vec::new(); paths];
            let started = Instant::now();
            while started.elapsed() < duration {
                let (next, latencies) = step(rng).await?;
                rng = next;
                for (path, latency) in latencies.into_iter().enumerate() {
                    timings[path].push(latency.as_micros() as u64);
                }
            }
            anyhow::Ok((timings, started.elapsed()))
        }));
    }
    let mut merged: Vec<Timings> = (0..paths).map(|_| Timings::default()).collect();
    for task in tasks {
        let (timings, elapsed) = task.await??;
        for (path, micros) in timings.into_iter().enumerate() {
            merged[path].qps += micros.len() as f64 / elapsed.as_secs_f64();
            merged[path].micros.extend(micros);
        }
    }
    for timings in &mut merged {
        timings.micros.sort_unstable();
    }
    Ok(merged)
}

async fn measure(
    query: &'static HotQuery,
    db: &Db,
    raw: &PgPool,
    sample: &Arc<Sample>,
    duration: Duration,
    concurrency: u16,
    seed: u64,
) -> anyhow::Result<QueryResult> {
    let uses_index = plan_uses_index(query, db, raw, sample, seed).await?;

    let layer = {
        let (db, sample) = (db.clone(), sample.clone());
        let worker = db.worker("bench-layer");
        drive(concurrency, duration, seed, 1, move |mut rng| {
            let (db, sample, worker) = (db.clone(), sample.clone(), worker.clone());
            async move {
                let call = sample.call(query, &mut rng);
                let start = Instant::now();
                call.layer(&db, &worker).await?;
                Ok((rng, vec![start.elapsed()]))
            }
        })
        .await?
    };
    let raw_timings = {
        let (pool, sample) = (raw.clone(), sample.clone());
        drive(concurrency, duration, seed, 1, move |mut rng| {
            let (pool, sample) = (pool.clone(), sample.clone());
            async move {
                let call = sample.call(query, &mut rng);
                let start = Instant::now();
                call.raw(&pool).await?;
                Ok((rng, vec![start.elapsed()]))
            }
        })
        .await?
    };
    // Row-level security against the owner: interleaved in one loop, so both see the
    // same load, and alternated in order so neither always runs on a warmer cache.
    let rls = if query.name == "next_job" {
        None
    } else {
        let (db, pool, sample) = (db.clone(), raw.clone(), sample.clone());
        Some(
            drive(concurrency, duration, seed, 2, move |mut rng| {
                let (db, pool, sample) = (db.clone(), pool.clone(), sample.clone());
                async move {
                    let call = sample.call(query, &mut rng);
                    let org = call
                        .organization()
                        .expect("tenant queries have an organization");
                    let rls_first = rng.gen_bool(0.5);
                    let mut rls = Duration::ZERO;
                    let mut owner = Duration::ZERO;
                    for turn in 0..2 {
                        let start = Instant::now();
                        if (turn == 0) == rls_first {
                            call.rls(&db, org).await?;
                            rls = start.elapsed();
                        } else {
                            call.owner(&pool, org).await?;
                            owner = start.elapsed();
                        }
                    }
                    Ok((rng, vec![rls, owner]))
                }
            })
            .await?,
        )
    };
    let p99 = layer[0].percentile_ms(99.0);
    let raw_p99 = raw_timings[0].percentile_ms(99.0);
    let at = |p: f64| match &rls {
        Some(t) => (Some(t[0].percentile_ms(p)), Some(t[1].percentile_ms(p))),
        None => (None, None),
    };
    let (rls_p99, owner_p99) = at(99.0);
    let (rls_p50, owner_p50) = at(50.0);
    Ok(QueryResult {
        name: query.name,
        p50_ms: layer[0].percentile_ms(50.0),
        p95_ms: layer[0].percentile_ms(95.0),
        p99_ms: p99,
        qps: layer[0].qps,
        uses_index,
        raw_p99_ms: raw_p99,
        index: query.index,
        raw_p50_ms: raw_timings[0].percentile_ms(50.0),
        raw_qps: raw_timings[0].qps,
        overhead: ratio(p99, raw_p99),
        overhead_p50: ratio(
            layer[0].percentile_ms(50.0),
            raw_timings[0].percentile_ms(50.0),
        ),
        rls_p99_ms: rls_p99,
        owner_p99_ms: owner_p99,
        rls_ratio: rls_p99.zip(owner_p99).map(|(r, o)| ratio(r, o)),
        rls_p50_ms: rls_p50,
        owner_p50_ms: owner_p50,
        rls_ratio_p50: rls_p50.zip(owner_p50).map(|(r, o)| ratio(r, o)),
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// True when the plan of the query, with random parameters, names its intended index. It
/// is planned where it runs: under row-level security as the application role, except the
/// lead-search statement (planned as the owner of `search_leads` plans it) and the job
/// claim (a worker's query across organizations).
async fn plan_uses_index(
    query: &HotQuery,
    db: &Db,
    raw: &PgPool,
    sample: &Sample,
    seed: u64,
) -> anyhow::Result<bool> {
    let mut rng = StdRng::seed_from_u64(seed);
    let call = sample.call(query, &mut rng);
    let explain = format!("EXPLAIN (FORMAT JSON) {}", query.plan_sql);
    let plan: serde_json::Value = match (&call, call.organization()) {
        (Call::Search(..) | Call::NextJob, _) | (_, None) => {
            bind(sqlx::query_scalar(&explain), &call)
                .fetch_one(raw)
                .await?
        }
        (_, Some(org)) => {
            let mut tx = db.tenant(org).begin().await?;
            let plan = bind(sqlx::query_scalar(&explain), &call)
                .fetch_one(&mut *tx)
                .await?;
            tx.rollback().await?;
            plan
        }
    };
    Ok(names_index(&plan, query.index))
}

type Explain<'q> =
    sqlx::query::QueryScalar<'q, sqlx::Postgres, serde_json::Value, sqlx::postgres::PgArguments>;

/// Binds the parameters of `call` to `query`.
fn bind<'q>(query: Explain<'q>, call: &'q Call) -> Explain<'q> {
    match call {
        Call::KanbanColumn(o, s) => query.bind(o).bind(s).bind(PAGE),
        Call::MyLeads(o, u) => query.bind(o).bind(u).bind(PAGE),
        Call::Timeline(o, l) => query.bind(o).bind(l).bind(PAGE),
        Call::Summary(o, p) => query.bind(o).bind(p),
        Call::Search(o, t) => query.bind(o).bind(t).bind(i64::from(SEARCH_LIMIT)),
        Call::Templates(o, since) => query.bind(o).bind(since),
        Call::Session(o, s) => query.bind(o).bind(s).bind(PAGE),
        Call::Events(o, t, since) => query.bind(o).bind(t).bind(since).bind(PAGE),
        Call::NextJob => query.bind(BENCH_QUEUE).bind("bench-plan"),
    }
}

/// True when some node of an `EXPLAIN (FORMAT JSON)` plan scans `index`.
fn names_index(plan: &serde_json::Value, index: &str) -> bool {
    match plan {
        serde_json::Value::Object(node) => node.iter().any(|(key, value)| {
            (key == "Index Name" && value.as_str() == Some(index)) || names_index(value, index)
        }),
        serde_json::Value::Array(items) => items.iter().any(|item| names_index(item, index)),
        _ => false,
    }
}

/// Fills the benchmark's own queue with due jobs spread over the sampled organizations, so
/// `next_job` claims real rows for the whole run.
async fn fill_queue(pool: &PgPool, sample: &Sample, jobs: u64) -> anyhow::Result<()> {
    let organizations: Vec<Uuid> = sample.organizations.iter().map(|o| o.id).collect();
    sqlx::query("DELETE FROM background_jobs WHERE queue = $1")
        .bind(BENCH_QUEUE)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO background_jobs (organization_id, queue, job_type, priority, run_at) \
         SELECT ($2::uuid[])[1 + g % cardinality($2::uuid[])], $3, 'bench.noop', g % 1000, \
                now() - interval '1 minute' \
         FROM generate_series(1, $1) AS g",
    )
    .bind(jobs as i64)
    .bind(&organizations)
    .bind(BENCH_QUEUE)
    .execute(pool)
    .await
    .context("could not fill the benchmark queue")?;
    sqlx::raw_sql("ANALYZE background_jobs")
        .execute(pool)
        .await?;
    Ok(())
}

fn print(ctx: &Context, report: &Report) {
    ctx.out.line(format!(
        "{}: {} organizations, {} leads, {} communications; {} client(s), {} s per query and path",
        report.database,
        report.organizations,
        report.leads,
        report.communications,
        report.concurrency,
        report.duration_seconds
    ));
    let ms = |v: f64| format!("{v:.3}");
    let rows = report
        .queries
        .iter()
        .map(|q| {
            vec![
                q.name.to_owned(),
                ms(q.p50_ms),
                ms(q.p95_ms),
                ms(q.p99_ms),
                format!("{:.0}", q.qps),
                if q.uses_index { "yes" } else { "NO" }.to_owned(),
                ms(q.raw_p50_ms),
                ms(q.raw_p99_ms),
                format!("{:.2}× / {:.2}×", q.overhead_p50, q.overhead),
                q.rls_p99_ms.map(ms).unwrap_or_else(|| "-".to_owned()),
                q.owner_p99_ms.map(ms).unwrap_or_else(|| "-".to_owned()),
                q.rls_ratio_p50
                    .zip(q.rls_ratio)
                    .map(|(p50, p99)| format!("{p50:.2}× / {p99:.2}×"))
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    ctx.out.table(
        &[
            "query",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "qps",
            "index",
            "raw p50",
            "raw p99",
            "layer/raw p50 / p99",
            "rls p99",
            "owner p99",
            "rls/owner p50 / p99",
        ],
        rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let timings = Timings {
            micros: (1..=100).map(|i| i * 1000).collect(),
            qps: 0.0,
        };
        assert_eq!(timings.percentile_ms(50.0), 50.0);
        assert_eq!(timings.percentile_ms(99.0), 99.0);
        assert_eq!(Timings::default().percentile_ms(99.0), 0.0);
    }

    #[test]
    fn plans_are_searched_for_the_index_at_any_depth() {
        let plan = serde_json::json!([{"Plan": {"Node Type": "Limit", "Plans": [
            {"Node Type": "Index Scan", "Index Name": "idx_x"}
        ]}}]);
        assert!(names_index(&plan, "idx_x"));
        assert!(!names_index(&plan, "idx_y"));
    }
}
