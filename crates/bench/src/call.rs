//! One execution of a hot query with concrete parameters, bound to its SQL in one place
//! ([`Call::bind`]) and run through any path: the data layer, the raw statement on a plain
//! pooled client, the statement under row-level security or as the owner, and its
//! `EXPLAIN`. Every statement is unnamed, with its parameters' types sent along, so each
//! path works through a transaction pooler as the data layer does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crmdb_pg::tenancy::ORGANIZATION_SETTING;
use crmdb_store::hot::HotQuery;
use crmdb_store::models::{
    AiConversation, AnalyticsEvent, BackgroundJob, Communication, Lead, WebhookDelivery,
};
use crmdb_store::ops::jobs::Worker;
use crmdb_store::ops::leads::{LeadHit, StageSummary};
use crmdb_store::ops::outbox::{Claim, WebhookWorker};
use crmdb_store::ops::sessions::LiveSession;
use crmdb_store::ops::templates::TemplatePerformance;
use crmdb_store::sql::{query, query_scalar, FromRow, Param, Query, QueryScalar};
use crmdb_store::{Conn, Db, Statements};
use futures_util::future::try_join4;
use futures_util::TryFutureExt;
use tokio_postgres::types::{FromSqlOwned, ToSql, Type};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::entering::{entering, ENTER};
use crate::outbox::{BENCH_EVENT, LEASE};
use crate::queue::BENCH_QUEUE;
use crate::sessions::BenchSession;
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
    /// A session the benchmark signed in, by its refresh token; no organization.
    SessionLookup(Arc<BenchSession>),
    /// Organization, member.
    UnreadNotifications(Uuid, Uuid),
    /// The benchmark's own deliveries, across organizations.
    NextWebhookDelivery,
}

/// The workers the data layer's path claims with, as a worker process holds them.
#[derive(Debug, Clone)]
pub(crate) struct Workers {
    jobs: Worker,
    webhooks: WebhookWorker,
}

impl Workers {
    /// A job worker and a webhook delivery worker, both named `name`.
    pub(crate) fn new(db: &Db, name: &str) -> Workers {
        Workers {
            jobs: db.worker(name),
            webhooks: db.webhook_worker(name),
        }
    }
}

/// A hot query with the parameters of one execution.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) query: &'static HotQuery,
    pub(crate) parameters: Parameters,
}

impl Call {
    /// The organization the call reads; `None` for the claims, which span them, and the
    /// session look-up, which comes before any.
    pub(crate) fn organization(&self) -> Option<Uuid> {
        match &self.parameters {
            Parameters::KanbanColumn(o, _)
            | Parameters::MyLeads(o, _)
            | Parameters::LeadTimeline(o, _)
            | Parameters::KanbanSummary(o, _)
            | Parameters::LeadSearch(o, _)
            | Parameters::TemplatePerformance(o, _)
            | Parameters::AiSession(o, _)
            | Parameters::AnalyticsEvents(o, _, _)
            | Parameters::UnreadNotifications(o, _) => Some(*o),
            Parameters::NextJob
            | Parameters::SessionLookup(_)
            | Parameters::NextWebhookDelivery => None,
        }
    }

    /// Binds the parameters to `arguments` in the order of the query's placeholders, which
    /// its `sql` and its `plan_sql` share.
    fn bind<A: Arguments>(&self, arguments: A) -> A {
        match &self.parameters {
            Parameters::KanbanColumn(o, id)
            | Parameters::MyLeads(o, id)
            | Parameters::LeadTimeline(o, id) => arguments.add(*o).add(*id).add(PAGE),
            Parameters::KanbanSummary(o, pipeline) => arguments.add(*o).add(*pipeline),
            Parameters::LeadSearch(o, text) => {
                arguments.add(*o).add(text.clone()).add(SEARCH_LIMIT)
            }
            Parameters::TemplatePerformance(o, since) => arguments.add(*o).add(*since),
            Parameters::AiSession(o, session) => arguments.add(*o).add(session.clone()).add(PAGE),
            Parameters::AnalyticsEvents(o, event_type, since) => arguments
                .add(*o)
                .add(event_type.clone())
                .add(*since)
                .add(PAGE),
            Parameters::NextJob => arguments.add(BENCH_QUEUE).add(RAW_WORKER),
            Parameters::SessionLookup(session) => arguments.add(session.token_hash.clone()),
            Parameters::UnreadNotifications(o, user) => arguments.add(*o).add(*user),
            Parameters::NextWebhookDelivery => arguments.add(LEASE.as_secs_f64()),
        }
    }

    /// Through the data layer, as an application would call it.
    pub(crate) async fn layer(&self, db: &Db, workers: &Workers) -> Result<(), Error> {
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
                workers
                    .jobs
                    .claim(BENCH_QUEUE)
                    .await?
                    .ok_or(Error::QueueRanDry)?;
            }
            Parameters::SessionLookup(session) => {
                db.sessions()
                    .by_token(&session.refresh_token)
                    .await?
                    .ok_or(Error::SessionGone)?;
            }
            Parameters::UnreadNotifications(_, user) => {
                tenant()
                    .acting_as(*user)
                    .notifications()
                    .unread_count()
                    .await?;
            }
            Parameters::NextWebhookDelivery => match workers.webhooks.claim(LEASE).await? {
                Some(Claim::Deliver(claimed)) if claimed.delivery.event_type == BENCH_EVENT => {}
                _ => return Err(Error::OutboxRanDry),
            },
        }
        Ok(())
    }

    /// The same SQL on a plain client of the raw pool, decoded into the same rows as the
    /// layer returns: no role switch and none of the layer's work, so the difference is the
    /// tenancy's and the layer's cost. It runs the statement whose plan is checked, so
    /// lead search runs the statement of `search_leads` directly. With `enter` (a login
    /// that row-level security applies to) a tenant call runs in a transaction that enters
    /// its organization, since without it the login sees no rows: `BEGIN`, entering, the
    /// statement and `COMMIT` go out in one write, as the layer sends a transaction.
    /// Returns the time of the statement alone: from its sending to its rows decoded. The
    /// statement goes out as the layer's do (`statements`): prepared once per connection
    /// and reused, or unnamed behind a transaction pooler.
    pub(crate) async fn raw(
        &self,
        pool: &deadpool_postgres::Pool,
        enter: bool,
        statements: Statements,
    ) -> Result<Duration, Error> {
        let client = pool.get().await?;
        let arguments = self.bind(RawArguments::new());
        let params = arguments.params();
        let prepared = match statements {
            Statements::Prepared => {
                let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
                Some(
                    client
                        .prepare_typed_cached(self.query.plan_sql, &types)
                        .await?,
                )
            }
            Statements::Unnamed => None,
        };
        let statement = async {
            let start = Instant::now();
            let rows = match &prepared {
                Some(prepared) => {
                    let values: Vec<&(dyn ToSql + Sync)> =
                        params.iter().map(|(value, _)| *value).collect();
                    client.query(prepared, &values).await?
                }
                None => client.query_typed(self.query.plan_sql, &params).await?,
            };
            self.decode(&rows)?;
            Ok::<_, Error>(start.elapsed())
        };
        match self.organization().filter(|_| enter) {
            // The requests go out in the order the join first polls them.
            Some(org) => {
                let org = org.to_string();
                let entering: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&ORGANIZATION_SETTING, Type::TEXT), (&org, Type::TEXT)];
                let (_, _, elapsed, _) = try_join4(
                    client.batch_execute("BEGIN").err_into(),
                    client.query_typed(ENTER, &entering).err_into(),
                    statement,
                    client.batch_execute("COMMIT").err_into(),
                )
                .await?;
                Ok(elapsed)
            }
            None => statement.await,
        }
    }

    /// Decodes the raw statement's rows as the data layer's operation would.
    fn decode(&self, rows: &[Row]) -> Result<(), Error> {
        match &self.parameters {
            Parameters::KanbanColumn(..) | Parameters::MyLeads(..) => decode::<Lead>(rows),
            Parameters::LeadTimeline(..) => decode::<Communication>(rows),
            Parameters::KanbanSummary(..) => decode::<StageSummary>(rows),
            Parameters::LeadSearch(..) => decode::<LeadHit>(rows),
            Parameters::TemplatePerformance(..) => decode::<TemplatePerformance>(rows),
            Parameters::AiSession(..) => decode::<AiConversation>(rows),
            Parameters::AnalyticsEvents(..) => decode::<AnalyticsEvent>(rows),
            Parameters::UnreadNotifications(..) => decode::<(i64,)>(rows),
            // The claims and the look-up read exactly one row: none means the benchmark's
            // rows ran out.
            Parameters::NextJob => {
                BackgroundJob::from_row(rows.first().ok_or(Error::QueueRanDry)?)?;
                Ok(())
            }
            Parameters::SessionLookup(_) => {
                LiveSession::from_row(rows.first().ok_or(Error::SessionGone)?)?;
                Ok(())
            }
            Parameters::NextWebhookDelivery => {
                let delivery = WebhookDelivery::from_row(rows.first().ok_or(Error::OutboxRanDry)?)?;
                if delivery.event_type == BENCH_EVENT {
                    Ok(())
                } else {
                    Err(Error::OutboxRanDry)
                }
            }
        }
    }

    /// The hot query's own statement with this call's parameters.
    fn statement(&self) -> Query<'static> {
        self.bind(query(self.query.sql))
    }

    /// The statement in a transaction as the application role, under row-level security.
    pub(crate) async fn rls(&self, db: &Db, org: Uuid) -> Result<(), Error> {
        let mut tx = db.tenant(org).begin().await?;
        self.statement().execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The statement in a transaction as the pool's own login, with the organization set
    /// (search_leads checks it) but no role switch: row-level security does not apply. The
    /// same round trips as [`Call::rls`]: `BEGIN`, entering and the statement in one, the
    /// commit in the other.
    pub(crate) async fn owner(&self, db: &Db, org: Uuid) -> Result<(), Error> {
        let mut tx = db.begin_maintenance().await?;
        tx.defer(entering(org));
        self.statement().execute(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The `EXPLAIN (FORMAT JSON)` of the statement whose plan is checked, with this call's
    /// parameters, in the open transaction `conn`.
    pub(crate) async fn explain(&self, conn: &mut Conn) -> crmdb_store::Result<serde_json::Value> {
        let explain = format!("EXPLAIN (FORMAT JSON) {}", self.query.plan_sql);
        self.bind(query_scalar(explain)).fetch_one(conn).await
    }
}

/// Takes a call's parameters in the order of its placeholders: a statement of the data
/// layer, or the raw path's list.
trait Arguments: Sized {
    /// Binds the next parameter, sent as the PostgreSQL type of its [`Param`].
    fn add<P: Param + 'static>(self, value: P) -> Self;
}

impl Arguments for Query<'static> {
    fn add<P: Param + 'static>(self, value: P) -> Self {
        self.bind(value)
    }
}

impl<T: FromSqlOwned> Arguments for QueryScalar<'static, T> {
    fn add<P: Param + 'static>(self, value: P) -> Self {
        self.bind(value)
    }
}

/// The parameters of a raw statement, each with its type.
struct RawArguments(Vec<(Box<dyn ToSql + Sync + Send>, Type)>);

impl RawArguments {
    fn new() -> RawArguments {
        RawArguments(Vec::new())
    }

    /// The parameters as [`tokio_postgres::Client::query_typed`] takes them.
    fn params(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.0
            .iter()
            .map(|(value, ty)| (value.as_ref() as &(dyn ToSql + Sync), ty.clone()))
            .collect()
    }
}

impl Arguments for RawArguments {
    fn add<P: Param + 'static>(mut self, value: P) -> Self {
        self.0.push((Box::new(value), P::TYPE));
        self
    }
}

/// Decodes every row as `T`, as the data layer would.
fn decode<T: FromRow>(rows: &[Row]) -> Result<(), Error> {
    rows.iter()
        .map(T::from_row)
        .collect::<crmdb_store::Result<Vec<T>>>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crmdb_store::hot::{HotQueryId, HOT_QUERIES};

    use super::*;

    /// The highest `$n` of `sql`.
    fn placeholders(sql: &str) -> usize {
        sql.split('$')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn every_hot_query_gets_a_parameter_for_each_placeholder() {
        let (org, id, now) = (Uuid::nil(), Uuid::nil(), Utc::now());
        for query in HOT_QUERIES {
            let parameters = match query.id {
                HotQueryId::KanbanColumn => Parameters::KanbanColumn(org, id),
                HotQueryId::MyLeads => Parameters::MyLeads(org, id),
                HotQueryId::LeadTimeline => Parameters::LeadTimeline(org, id),
                HotQueryId::KanbanSummary => Parameters::KanbanSummary(org, id),
                HotQueryId::LeadSearch => Parameters::LeadSearch(org, "ana".into()),
                HotQueryId::TemplatePerformance => Parameters::TemplatePerformance(org, now),
                HotQueryId::AiSession => Parameters::AiSession(org, "s".into()),
                HotQueryId::AnalyticsEvents => {
                    Parameters::AnalyticsEvents(org, "page_view".into(), now)
                }
                HotQueryId::NextJob => Parameters::NextJob,
                HotQueryId::SessionLookup => Parameters::SessionLookup(Arc::new(BenchSession {
                    refresh_token: "rt_x".into(),
                    token_hash: vec![0; 32],
                })),
                HotQueryId::UnreadNotifications => Parameters::UnreadNotifications(org, id),
                HotQueryId::NextWebhookDelivery => Parameters::NextWebhookDelivery,
            };
            let call = Call { query, parameters };
            let bound = call.bind(RawArguments::new()).0.len();
            assert_eq!(bound, placeholders(query.sql), "{}", query.name);
            assert_eq!(bound, placeholders(query.plan_sql), "{}", query.name);
        }
    }
}
