//! One execution of a hot query with concrete parameters, bound to its SQL in one place
//! ([`Call::arguments`]) and run through any path: the data layer, the raw statement, the
//! statement under row-level security or as the owner, and its `EXPLAIN`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crmdb_store::hot::HotQuery;
use crmdb_store::models::{AiConversation, AnalyticsEvent, BackgroundJob, Communication, Lead};
use crmdb_store::ops::jobs::Worker;
use crmdb_store::ops::leads::{LeadHit, StageSummary};
use crmdb_store::ops::templates::TemplatePerformance;
use crmdb_store::Db;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Acquire, Arguments as _, PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use crate::queue::BENCH_QUEUE;
use crate::Error;

/// The page size of the paged hot queries.
const PAGE: i64 = 50;

/// The result limit of lead search.
const SEARCH_LIMIT: i32 = 20;

/// The worker name the raw job claims lock their jobs under.
const RAW_WORKER: &str = "bench-raw";

/// The parameters of one call, one variant per [`HotQueryId`](crmdb_store::hot::HotQueryId)
/// of the same name; the organization comes first.
#[derive(Debug, Clone)]
pub(crate) enum Parameters {
    /// Organization, stage.
    KanbanColumn(Uuid, Uuid),
    /// Organization, assigned member.
    MyLeads(Uuid, Uuid),
    /// Organization, lead.
    LeadTimeline(Uuid, Uuid),
    /// Organization, pipeline.
    KanbanSummary(Uuid, Uuid),
    /// Organization, search text.
    LeadSearch(Uuid, String),
    /// Organization, start of the period.
    TemplatePerformance(Uuid, DateTime<Utc>),
    /// Organization, AI session.
    AiSession(Uuid, String),
    /// Organization, event type, start of the period.
    AnalyticsEvents(Uuid, String, DateTime<Utc>),
    /// The benchmark's own queue, across organizations.
    NextJob,
}

/// A hot query with the parameters of one execution.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) query: &'static HotQuery,
    pub(crate) parameters: Parameters,
}

impl Call {
    /// The organization the call reads; `None` for the job claim, which spans them.
    pub(crate) fn organization(&self) -> Option<Uuid> {
        match &self.parameters {
            Parameters::KanbanColumn(o, _)
            | Parameters::MyLeads(o, _)
            | Parameters::LeadTimeline(o, _)
            | Parameters::KanbanSummary(o, _)
            | Parameters::LeadSearch(o, _)
            | Parameters::TemplatePerformance(o, _)
            | Parameters::AiSession(o, _)
            | Parameters::AnalyticsEvents(o, _, _) => Some(*o),
            Parameters::NextJob => None,
        }
    }

    /// The parameters bound in the order of the query's placeholders, which its `sql` and
    /// its `plan_sql` share.
    fn arguments(&self) -> sqlx::Result<PgArguments> {
        let mut arguments = PgArguments::default();
        self.bind(&mut arguments).map_err(sqlx::Error::Encode)?;
        Ok(arguments)
    }

    fn bind(&self, arguments: &mut PgArguments) -> Result<(), BoxDynError> {
        match &self.parameters {
            Parameters::KanbanColumn(o, id)
            | Parameters::MyLeads(o, id)
            | Parameters::LeadTimeline(o, id) => {
                arguments.add(o)?;
                arguments.add(id)?;
                arguments.add(PAGE)?;
            }
            Parameters::KanbanSummary(o, pipeline) => {
                arguments.add(o)?;
                arguments.add(pipeline)?;
            }
            Parameters::LeadSearch(o, text) => {
                arguments.add(o)?;
                arguments.add(text)?;
                arguments.add(SEARCH_LIMIT)?;
            }
            Parameters::TemplatePerformance(o, since) => {
                arguments.add(o)?;
                arguments.add(since)?;
            }
            Parameters::AiSession(o, session) => {
                arguments.add(o)?;
                arguments.add(session)?;
                arguments.add(PAGE)?;
            }
            Parameters::AnalyticsEvents(o, event_type, since) => {
                arguments.add(o)?;
                arguments.add(event_type)?;
                arguments.add(since)?;
                arguments.add(PAGE)?;
            }
            Parameters::NextJob => {
                arguments.add(BENCH_QUEUE)?;
                arguments.add(RAW_WORKER)?;
            }
        }
        Ok(())
    }

    /// Through the data layer, as an application would call it.
    pub(crate) async fn layer(&self, db: &Db, worker: &Worker) -> Result<(), Error> {
        let tenant = self.organization().map(|o| db.tenant(o));
        let tenant = || tenant.as_ref().expect("tenant calls have an organization");
        match &self.parameters {
            Parameters::KanbanColumn(_, stage) => {
                tenant().leads().kanban_column(*stage, None, PAGE).await?;
            }
            Parameters::MyLeads(_, user) => {
                tenant().leads().my_leads(*user, PAGE).await?;
            }
            Parameters::LeadTimeline(_, lead) => {
                tenant()
                    .communications()
                    .timeline(*lead, None, PAGE)
                    .await?;
            }
            Parameters::KanbanSummary(_, pipeline) => {
                tenant().leads().kanban_summary(*pipeline).await?;
            }
            Parameters::LeadSearch(_, text) => {
                tenant().leads().search(text, SEARCH_LIMIT).await?;
            }
            Parameters::TemplatePerformance(_, since) => {
                let days = (Utc::now() - *since).num_days().clamp(1, 366) as i32;
                tenant().templates().performance(days).await?;
            }
            Parameters::AiSession(_, session) => {
                tenant().conversations().by_session(session, PAGE).await?;
            }
            Parameters::AnalyticsEvents(_, event_type, since) => {
                tenant()
                    .analytics()
                    .recent(event_type, *since, PAGE)
                    .await?;
            }
            Parameters::NextJob => {
                worker.claim(BENCH_QUEUE).await?.ok_or(Error::QueueRanDry)?;
            }
        }
        Ok(())
    }

    /// The same SQL straight on a connection of the pool, decoded into the same rows as the
    /// layer returns: no transaction, no role switch, so the difference is the tenancy's
    /// cost. It runs the statement whose plan is checked, so lead search runs the statement
    /// of `search_leads` directly. With `enter` (a login that row-level security applies
    /// to) a tenant call runs in a transaction that enters its organization, since without
    /// it the login sees no rows. Returns the time of the statement alone.
    pub(crate) async fn raw(&self, pool: &PgPool, enter: bool) -> Result<Duration, Error> {
        let mut conn = pool.acquire().await?;
        match self.organization().filter(|_| enter) {
            Some(org) => {
                let mut tx = conn.begin().await?;
                crmdb_pg::tenancy::set_organization(&mut tx, org).await?;
                let elapsed = self.timed_raw(&mut tx).await.map_err(dry_queue)?;
                tx.commit().await?;
                Ok(elapsed)
            }
            None => self.timed_raw(&mut conn).await.map_err(dry_queue),
        }
    }

    async fn timed_raw(&self, conn: &mut PgConnection) -> sqlx::Result<Duration> {
        let (sql, arguments) = (self.query.plan_sql, self.arguments()?);
        let start = Instant::now();
        match &self.parameters {
            Parameters::KanbanColumn(..) | Parameters::MyLeads(..) => {
                rows::<Lead>(conn, sql, arguments).await
            }
            Parameters::LeadTimeline(..) => rows::<Communication>(conn, sql, arguments).await,
            Parameters::KanbanSummary(..) => rows::<StageSummary>(conn, sql, arguments).await,
            Parameters::LeadSearch(..) => rows::<LeadHit>(conn, sql, arguments).await,
            Parameters::TemplatePerformance(..) => {
                rows::<TemplatePerformance>(conn, sql, arguments).await
            }
            Parameters::AiSession(..) => rows::<AiConversation>(conn, sql, arguments).await,
            Parameters::AnalyticsEvents(..) => rows::<AnalyticsEvent>(conn, sql, arguments).await,
            Parameters::NextJob => sqlx::query_as_with::<_, BackgroundJob, _>(sql, arguments)
                .fetch_one(conn)
                .await
                .map(drop),
        }?;
        Ok(start.elapsed())
    }

    /// The hot query's own statement with this call's parameters.
    async fn statement(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        sqlx::query_with(self.query.sql, self.arguments()?)
            .fetch_all(conn)
            .await
            .map(drop)
    }

    /// The statement in a transaction as the application role, under row-level security.
    pub(crate) async fn rls(&self, db: &Db, org: Uuid) -> Result<(), Error> {
        let mut tx = db.tenant(org).begin().await?;
        self.statement(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The statement in a transaction as the pool's own role, with the organization set
    /// (search_leads checks it) but no role switch: row-level security does not apply.
    pub(crate) async fn owner(&self, pool: &PgPool, org: Uuid) -> Result<(), Error> {
        let mut tx = pool.begin().await?;
        crmdb_pg::tenancy::set_organization(&mut tx, org).await?;
        self.statement(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The `EXPLAIN (FORMAT JSON)` of the statement whose plan is checked, with this call's
    /// parameters.
    pub(crate) async fn explain<'e>(
        &self,
        executor: impl PgExecutor<'e>,
    ) -> sqlx::Result<serde_json::Value> {
        let explain = format!("EXPLAIN (FORMAT JSON) {}", self.query.plan_sql);
        sqlx::query_scalar_with(&explain, self.arguments()?)
            .fetch_one(executor)
            .await
    }
}

/// Runs `sql` and decodes every row as `T`, as the data layer would.
async fn rows<T>(conn: &mut PgConnection, sql: &str, arguments: PgArguments) -> sqlx::Result<()>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as_with::<_, T, _>(sql, arguments)
        .fetch_all(conn)
        .await
        .map(drop)
}

/// Only the job claim fetches exactly one row: none means the queue ran dry.
fn dry_queue(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::RowNotFound => Error::QueueRanDry,
        error => error.into(),
    }
}
