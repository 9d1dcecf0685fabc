//! The ids the random parameters are drawn from: a random set of organizations with
//! leads, and per organization its pipelines, stages, members, leads, search terms, AI
//! sessions and event types.

use chrono::{DateTime, Utc};
use crmdb_store::hot::{HotQuery, HotQueryId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use sqlx::PgPool;
use uuid::Uuid;

use crate::call::{Call, Parameters};
use crate::Error;

/// Organizations whose ids, stages, members and leads the random parameters come from.
const SAMPLED_ORGANIZATIONS: usize = 200;

/// Random organizations drawn before giving up on finding one that has what a query needs.
const DRAWS: usize = 100;

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
pub(crate) struct Sample {
    organizations: Vec<OrgSample>,
    /// Seven days before the newest analytics event (demo data is dated in the past).
    events_since: DateTime<Utc>,
    /// Thirty days before the newest template use.
    templates_since: DateTime<Utc>,
}

impl Sample {
    /// Samples the database; [`Error::NoOrganizations`] when no organization has leads.
    pub(crate) async fn load(pool: &PgPool, rng: &mut StdRng) -> Result<Sample, Error> {
        let mut ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM organizations AS o \
             WHERE EXISTS (SELECT 1 FROM leads AS l WHERE l.organization_id = o.id) \
             ORDER BY id",
        )
        .fetch_all(pool)
        .await
        .map_err(Error::ListOrganizations)?;
        if ids.is_empty() {
            return Err(Error::NoOrganizations);
        }
        ids.shuffle(rng);
        ids.truncate(SAMPLED_ORGANIZATIONS);
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

    /// The sampled organizations, for spreading the benchmark's jobs over them.
    pub(crate) fn organization_ids(&self) -> Vec<Uuid> {
        self.organizations.iter().map(|o| o.id).collect()
    }

    /// A random call of `query`, from an organization that has what it needs.
    pub(crate) fn draw(&self, query: &'static HotQuery, rng: &mut StdRng) -> Result<Call, Error> {
        for _ in 0..DRAWS {
            let org = &self.organizations[rng.gen_range(0..self.organizations.len())];
            let parameters = match query.id {
                HotQueryId::KanbanColumn => org
                    .stages
                    .choose(rng)
                    .map(|s| Parameters::KanbanColumn(org.id, *s)),
                HotQueryId::MyLeads => org
                    .members
                    .choose(rng)
                    .map(|m| Parameters::MyLeads(org.id, *m)),
                HotQueryId::LeadTimeline => org
                    .leads
                    .choose(rng)
                    .map(|l| Parameters::LeadTimeline(org.id, *l)),
                HotQueryId::KanbanSummary => org
                    .pipelines
                    .choose(rng)
                    .map(|p| Parameters::KanbanSummary(org.id, *p)),
                HotQueryId::LeadSearch => org
                    .terms
                    .choose(rng)
                    .map(|t| Parameters::LeadSearch(org.id, t.clone())),
                HotQueryId::TemplatePerformance => Some(Parameters::TemplatePerformance(
                    org.id,
                    self.templates_since,
                )),
                HotQueryId::AiSession => org
                    .sessions
                    .choose(rng)
                    .map(|s| Parameters::AiSession(org.id, s.clone())),
                HotQueryId::AnalyticsEvents => org
                    .event_types
                    .choose(rng)
                    .map(|t| Parameters::AnalyticsEvents(org.id, t.clone(), self.events_since)),
                HotQueryId::NextJob => Some(Parameters::NextJob),
            };
            if let Some(parameters) = parameters {
                return Ok(Call { query, parameters });
            }
        }
        Err(Error::NothingToSample { query: query.name })
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
) -> Result<(), Error>
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
