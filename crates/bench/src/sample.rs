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
#[derive(Debug)]
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

/// One organization's ids, each list in the order and length the benchmark draws from,
/// and the dates of its newest analytics event and template use. Read in a transaction
/// that enters the organization, so that row-level security admits its rows to any login.
const ORGANIZATION_SAMPLE: &str = "SELECT \
    ARRAY(SELECT DISTINCT pipeline_id FROM leads WHERE organization_id = $1 ORDER BY 1), \
    ARRAY(SELECT DISTINCT stage_id FROM leads \
          WHERE organization_id = $1 AND status = 'open' AND deleted_at IS NULL ORDER BY 1), \
    ARRAY(SELECT DISTINCT assigned_user_id FROM leads \
          WHERE organization_id = $1 AND assigned_user_id IS NOT NULL ORDER BY 1), \
    ARRAY(SELECT DISTINCT lead_id FROM communications WHERE organization_id = $1 \
          ORDER BY 1 LIMIT 50), \
    ARRAY(SELECT DISTINCT left(lower(split_part(name, ' ', -1)), 5) FROM leads \
          WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY 1 LIMIT 20), \
    ARRAY(SELECT DISTINCT session_id FROM ai_conversations WHERE organization_id = $1 \
          ORDER BY 1 LIMIT 20), \
    ARRAY(SELECT DISTINCT event_type FROM analytics_events WHERE organization_id = $1 \
          ORDER BY 1), \
    (SELECT max(occurred_at) FROM analytics_events WHERE organization_id = $1), \
    (SELECT max(used_at) FROM template_usage_stats WHERE organization_id = $1)";

/// A row of [`ORGANIZATION_SAMPLE`].
type OrganizationRow = (
    Vec<Uuid>,
    Vec<Uuid>,
    Vec<Uuid>,
    Vec<Uuid>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

impl Sample {
    /// Samples up to [`SAMPLED_ORGANIZATIONS`] random organizations that have leads, one
    /// at a time with the organization entered: a managed service's admin login is subject
    /// to the forced row-level security of the tenant tables, like the application.
    /// [`Error::NoOrganizations`] when no organization has leads.
    pub(crate) async fn load(pool: &PgPool, rng: &mut StdRng) -> Result<Sample, Error> {
        let mut ids = organization_ids(pool).await?;
        ids.shuffle(rng);
        let mut organizations = Vec::new();
        let (mut newest_event, mut newest_use) = (None, None);
        let mut tx = pool.begin().await?;
        for id in ids {
            if organizations.len() == SAMPLED_ORGANIZATIONS {
                break;
            }
            crmdb_pg::tenancy::set_organization(&mut tx, id).await?;
            let row: OrganizationRow = sqlx::query_as(ORGANIZATION_SAMPLE)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let (pipelines, stages, members, leads, terms, sessions, event_types, event, used) =
                row;
            if pipelines.is_empty() {
                continue;
            }
            newest_event = newest_event.max(event);
            newest_use = newest_use.max(used);
            organizations.push(OrgSample {
                id,
                pipelines,
                stages,
                members,
                leads,
                terms,
                sessions,
                event_types,
            });
        }
        tx.rollback().await?;
        if organizations.is_empty() {
            return Err(Error::NoOrganizations);
        }
        let now = Utc::now();
        Ok(Sample {
            organizations,
            events_since: newest_event.unwrap_or(now) - chrono::Duration::days(7),
            templates_since: newest_use.unwrap_or(now) - chrono::Duration::days(30),
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

/// Every organization of the database, by id: the organizations table is readable by
/// its owner whatever organization is entered.
pub(crate) async fn organization_ids(pool: &PgPool) -> Result<Vec<Uuid>, Error> {
    sqlx::query_scalar("SELECT id FROM organizations ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(Error::ListOrganizations)
}
