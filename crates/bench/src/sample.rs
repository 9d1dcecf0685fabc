//! The ids the random parameters are drawn from: a random set of organizations with
//! leads, and per organization its pipelines, stages, members, leads, search terms, AI
//! sessions, event types, and where a new lead can go (a stage and tags) for the
//! three-statement write; and the sessions the benchmark signed in.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crmdb_store::hot::{HotQuery, HotQueryId};
use crmdb_store::sql::{query_as, query_scalar, FromRow};
use crmdb_store::{Conn, Db};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::call::{Call, Parameters};
use crate::entering::entering;
use crate::sessions::BenchSession;
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
    /// A pipeline and one of its stages, where a new lead can go.
    placement: Option<(Uuid, Uuid)>,
    tags: Vec<Uuid>,
}

/// Where the three-statement operation writes: an organization, a pipeline and stage of
/// it, and one of its tags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub(crate) organization: Uuid,
    pub(crate) pipeline: Uuid,
    pub(crate) stage: Uuid,
    pub(crate) tag: Uuid,
}

#[derive(Debug)]
pub(crate) struct Sample {
    organizations: Vec<OrgSample>,
    /// Seven days before the newest analytics event (demo data is dated in the past).
    events_since: DateTime<Utc>,
    /// Thirty days before the newest template use.
    templates_since: DateTime<Utc>,
    /// The sessions the benchmark signed in, for the session look-up.
    sessions: Vec<Arc<BenchSession>>,
}

/// One organization's ids, each list in the order and length the benchmark draws from,
/// and the dates of its newest analytics event and template use. Read in a transaction
/// that enters the organization, so that row-level security admits its rows to any login.
const ORGANIZATION_SAMPLE: &str = "SELECT $1::uuid AS id, \
    ARRAY(SELECT DISTINCT pipeline_id FROM leads WHERE organization_id = $1 ORDER BY 1) \
        AS pipelines, \
    ARRAY(SELECT DISTINCT stage_id FROM leads \
          WHERE organization_id = $1 AND status = 'open' AND deleted_at IS NULL ORDER BY 1) \
        AS stages, \
    ARRAY(SELECT DISTINCT assigned_user_id FROM leads \
          WHERE organization_id = $1 AND assigned_user_id IS NOT NULL ORDER BY 1) AS members, \
    ARRAY(SELECT DISTINCT lead_id FROM communications WHERE organization_id = $1 \
          ORDER BY 1 LIMIT 50) AS leads, \
    ARRAY(SELECT DISTINCT left(lower(split_part(name, ' ', -1)), 5) FROM leads \
          WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY 1 LIMIT 20) AS terms, \
    ARRAY(SELECT DISTINCT session_id FROM ai_conversations WHERE organization_id = $1 \
          ORDER BY 1 LIMIT 20) AS sessions, \
    ARRAY(SELECT DISTINCT event_type FROM analytics_events WHERE organization_id = $1 \
          ORDER BY 1) AS event_types, \
    (SELECT max(occurred_at) FROM analytics_events WHERE organization_id = $1) \
        AS newest_event, \
    (SELECT max(used_at) FROM template_usage_stats WHERE organization_id = $1) AS newest_use, \
    (SELECT ARRAY[pipeline_id, stage_id] FROM leads WHERE organization_id = $1 \
     ORDER BY id LIMIT 1) AS placement, \
    ARRAY(SELECT id FROM tags WHERE organization_id = $1 ORDER BY 1 LIMIT 20) AS tags";

/// A row of [`ORGANIZATION_SAMPLE`]: the organization's sample, and the dates of its newest
/// analytics event and template use.
struct OrganizationRow {
    sample: OrgSample,
    newest_event: Option<DateTime<Utc>>,
    newest_use: Option<DateTime<Utc>>,
}

impl FromRow for OrganizationRow {
    fn from_row(row: &Row) -> crmdb_store::Result<OrganizationRow> {
        let placement: Option<Vec<Uuid>> = row.try_get("placement")?;
        Ok(OrganizationRow {
            sample: OrgSample {
                id: row.try_get("id")?,
                pipelines: row.try_get("pipelines")?,
                stages: row.try_get("stages")?,
                members: row.try_get("members")?,
                leads: row.try_get("leads")?,
                terms: row.try_get("terms")?,
                sessions: row.try_get("sessions")?,
                event_types: row.try_get("event_types")?,
                placement: placement.and_then(|p| Some((*p.first()?, *p.get(1)?))),
                tags: row.try_get("tags")?,
            },
            newest_event: row.try_get("newest_event")?,
            newest_use: row.try_get("newest_use")?,
        })
    }
}

impl Sample {
    /// Samples up to [`SAMPLED_ORGANIZATIONS`] random organizations that have leads, one
    /// at a time with the organization entered: a managed service's admin login is subject
    /// to the forced row-level security of the tenant tables, like the application.
    /// [`Error::NoOrganizations`] when no organization has leads.
    pub(crate) async fn load(db: &Db, rng: &mut StdRng) -> Result<Sample, Error> {
        let mut conn = db.begin_maintenance().await?;
        let mut ids = organization_ids(&mut conn).await?;
        ids.shuffle(rng);
        let mut organizations = Vec::new();
        let (mut newest_event, mut newest_use) = (None, None);
        for id in ids {
            if organizations.len() == SAMPLED_ORGANIZATIONS {
                break;
            }
            // Entering goes out with the sample's statement: one round trip.
            conn.defer(entering(id));
            let row: OrganizationRow = query_as(ORGANIZATION_SAMPLE)
                .bind(id)
                .fetch_one(&mut conn)
                .await?;
            if row.sample.pipelines.is_empty() {
                continue;
            }
            newest_event = newest_event.max(row.newest_event);
            newest_use = newest_use.max(row.newest_use);
            organizations.push(row.sample);
        }
        conn.rollback().await?;
        if organizations.is_empty() {
            return Err(Error::NoOrganizations);
        }
        let now = Utc::now();
        Ok(Sample {
            organizations,
            events_since: newest_event.unwrap_or(now) - chrono::Duration::days(7),
            templates_since: newest_use.unwrap_or(now) - chrono::Duration::days(30),
            sessions: Vec::new(),
        })
    }

    /// Up to `limit` distinct members of the sampled organizations, for signing them in.
    pub(crate) fn members(&self, limit: usize) -> Vec<Uuid> {
        let members: BTreeSet<Uuid> = self
            .organizations
            .iter()
            .flat_map(|o| o.members.iter().copied())
            .collect();
        members.into_iter().take(limit).collect()
    }

    /// The sample with the sessions the benchmark signed in.
    pub(crate) fn with_sessions(self, sessions: Vec<Arc<BenchSession>>) -> Sample {
        Sample { sessions, ..self }
    }

    /// The sampled organizations, for spreading the benchmark's jobs over them.
    pub(crate) fn organization_ids(&self) -> Vec<Uuid> {
        self.organizations.iter().map(|o| o.id).collect()
    }

    /// A random organization's pipeline, stage and tag for the three-statement operation;
    /// `None` when no sampled organization has them.
    pub(crate) fn placement(&self, rng: &mut StdRng) -> Option<Placement> {
        for _ in 0..DRAWS {
            let org = &self.organizations[rng.gen_range(0..self.organizations.len())];
            if let (Some((pipeline, stage)), Some(tag)) = (org.placement, org.tags.choose(rng)) {
                return Some(Placement {
                    organization: org.id,
                    pipeline,
                    stage,
                    tag: *tag,
                });
            }
        }
        None
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
                HotQueryId::SessionLookup => self
                    .sessions
                    .choose(rng)
                    .map(|s| Parameters::SessionLookup(s.clone())),
                HotQueryId::UnreadNotifications => org
                    .members
                    .choose(rng)
                    .map(|m| Parameters::UnreadNotifications(org.id, *m)),
                HotQueryId::NextWebhookDelivery => Some(Parameters::NextWebhookDelivery),
            };
            if let Some(parameters) = parameters {
                return Ok(Call { query, parameters });
            }
        }
        Err(Error::NothingToSample { query: query.name })
    }
}

/// Every organization of the database, by id, read in the open transaction `conn` of the
/// login itself: the organizations table is readable by its owner whatever organization is
/// entered.
pub(crate) async fn organization_ids(conn: &mut Conn) -> Result<Vec<Uuid>, Error> {
    query_scalar("SELECT id FROM organizations ORDER BY id")
        .fetch_all(conn)
        .await
        .map_err(Error::ListOrganizations)
}
