//! Leads: create, update, read, soft delete and restore, move between stages, assign,
//! favorite, tag, search, and the kanban reads (column pages, board summary, my leads).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Tenant, TenantTx};
use crate::error::{Error, Result};
use crate::hot;
use crate::models::{Lead, LeadSource, LeadStatus, Tag};
use crate::ops::common::next_cursor;
use crate::validate;

/// A lead to create. Without a pipeline and stage it lands in the first stage of the
/// default pipeline; with only a stage, in that stage's pipeline.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub name: String,
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    /// `manual` when not given.
    pub source: Option<LeadSource>,
    pub lead_score: i32,
    pub value: Decimal,
    /// The organization's currency when not given.
    pub currency: Option<String>,
    pub assigned_user_id: Option<Uuid>,
    /// An object of custom field values; `{}` when not given.
    pub custom_fields: Option<JsonValue>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
}

impl NewLead {
    /// A lead with only a name.
    pub fn named(name: impl Into<String>) -> NewLead {
        NewLead {
            name: name.into(),
            ..NewLead::default()
        }
    }
}

/// Changes to a lead: `None` leaves a field as it is; for fields that may be empty,
/// `Some(None)` clears them.
#[derive(Debug, Clone, Default)]
pub struct LeadChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
    pub source: Option<LeadSource>,
    pub lead_score: Option<i32>,
    pub value: Option<Decimal>,
    pub currency: Option<String>,
    /// The new status and, for `lost`, the reason.
    pub status: Option<(LeadStatus, Option<String>)>,
    pub custom_fields: Option<JsonValue>,
    pub next_follow_up_at: Option<Option<DateTime<Utc>>>,
}

/// The longest search text `search_leads` accepts (it refuses longer ones itself too).
pub const SEARCH_TEXT_MAX_BYTES: usize = 400;

/// A lead found by search.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct LeadHit {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub lead_score: i32,
    pub status: LeadStatus,
}

/// Where a kanban column page ended: pass it back to get the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KanbanCursor {
    pub lead_score: i32,
    pub id: Uuid,
}

/// One page of a kanban column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KanbanPage {
    pub leads: Vec<Lead>,
    /// `None` on the last page.
    pub next: Option<KanbanCursor>,
}

/// One column of the kanban board summary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct StageSummary {
    pub stage_id: Uuid,
    pub name: String,
    pub stage_order: i32,
    pub lead_count: i64,
    pub total_value: Decimal,
}

/// The leads of one organization.
#[derive(Debug, Clone)]
pub struct Leads {
    tenant: Tenant,
}

impl Tenant {
    /// Leads.
    pub fn leads(&self) -> Leads {
        Leads {
            tenant: self.clone(),
        }
    }
}

const LEAD: Error = Error::NotFound { entity: "lead" };
const STAGE: Error = Error::NotFound { entity: "stage" };

/// The largest page any list operation returns.
pub const MAX_PAGE: i64 = 200;

pub(crate) fn page_size(limit: i64) -> Result<i64> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 200"));
    }
    Ok(limit)
}

fn lead_reference(error: sqlx::Error) -> Error {
    Error::from(error)
        .missing_parent("fk_leads_pipeline_stages", "stage")
        .missing_parent("fk_leads_pipelines", "pipeline")
        .missing_parent("fk_leads_organization_members", "member")
}

fn optional_text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Leads {
    /// Creates a lead.
    pub async fn create(&self, new: &NewLead) -> Result<Lead> {
        let name = validate::required("name", &new.name)?;
        let email = validate::optional(new.email.as_deref(), |e| validate::email("email", e))?;
        let phone = validate::optional(new.phone.as_deref(), |p| validate::phone("phone", p))?;
        validate::score("lead_score", new.lead_score)?;
        if new.value.is_sign_negative() {
            return Err(Error::invalid("value", "must not be negative"));
        }
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                let (pipeline_id, stage_id) = placement(tx, org, new.pipeline_id, new.stage_id).await?;
                sqlx::query_as(
                    "INSERT INTO leads (organization_id, pipeline_id, stage_id, name, email, phone, \
                         company, job_title, source, lead_score, value, currency, \
                         assigned_user_id, custom_fields, next_follow_up_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, 'manual'), $10, $11, \
                            coalesce($12, o.currency), $13, coalesce($14, '{}'::jsonb), $15 \
                     FROM organizations AS o WHERE o.id = $1 \
                     RETURNING *",
                )
                .bind(org)
                .bind(pipeline_id)
                .bind(stage_id)
                .bind(&name)
                .bind(&email)
                .bind(&phone)
                .bind(optional_text(new.company.as_deref()))
                .bind(optional_text(new.job_title.as_deref()))
                .bind(new.source)
                .bind(new.lead_score)
                .bind(new.value)
                .bind(&new.currency)
                .bind(new.assigned_user_id)
                .bind(&new.custom_fields)
                .bind(new.next_follow_up_at)
                .fetch_one(&mut **tx)
                .await
                .map_err(lead_reference)
            })
            .await
    }

    /// A lead that is not deleted.
    pub async fn get(&self, id: Uuid) -> Result<Lead> {
        self.tenant
            .row_by_id(
                "SELECT * FROM leads WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
                id,
                LEAD,
            )
            .await
    }

    /// Applies `changes` to a lead that is not deleted.
    pub async fn update(&self, id: Uuid, changes: &LeadChanges) -> Result<Lead> {
        let name = validate::optional(changes.name.as_deref(), |n| validate::required("name", n))?;
        let email = match &changes.email {
            Some(Some(e)) => Some(Some(validate::email("email", e)?)),
            other => other.clone(),
        };
        let phone = match &changes.phone {
            Some(Some(p)) => Some(Some(validate::phone("phone", p)?)),
            other => other.clone(),
        };
        validate::optional(changes.lead_score, |s| validate::score("lead_score", s))?;
        if changes.value.is_some_and(|v| v.is_sign_negative()) {
            return Err(Error::invalid("value", "must not be negative"));
        }
        if let Some((status, reason)) = &changes.status {
            if reason.is_some() && *status != LeadStatus::Lost {
                return Err(Error::invalid(
                    "lost_reason",
                    "only a lost lead has a lost reason",
                ));
            }
        }
        let org = self.tenant.organization_id();
        let set = |field: &Option<Option<String>>| field.is_some();
        let value = |field: &Option<Option<String>>| field.clone().flatten();
        self.tenant
            .transaction(async |tx| {
                sqlx::query_as(
                    "UPDATE leads SET \
                         name = coalesce($3, name), \
                         email = CASE WHEN $4 THEN $5 ELSE email END, \
                         phone = CASE WHEN $6 THEN $7 ELSE phone END, \
                         company = CASE WHEN $8 THEN $9 ELSE company END, \
                         job_title = CASE WHEN $10 THEN $11 ELSE job_title END, \
                         source = coalesce($12, source), \
                         lead_score = coalesce($13, lead_score), \
                         value = coalesce($14, value), \
                         currency = coalesce($15, currency), \
                         status = coalesce($16, status), \
                         lost_reason = CASE WHEN $16::text IS NULL THEN lost_reason ELSE $17 END, \
                         custom_fields = coalesce($18, custom_fields), \
                         next_follow_up_at = CASE WHEN $19 THEN $20 ELSE next_follow_up_at END \
                     WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL \
                     RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&name)
                .bind(set(&email))
                .bind(value(&email))
                .bind(set(&phone))
                .bind(value(&phone))
                .bind(set(&changes.company))
                .bind(
                    changes
                        .company
                        .as_ref()
                        .and_then(|c| optional_text(c.as_deref())),
                )
                .bind(set(&changes.job_title))
                .bind(
                    changes
                        .job_title
                        .as_ref()
                        .and_then(|c| optional_text(c.as_deref())),
                )
                .bind(changes.source)
                .bind(changes.lead_score)
                .bind(changes.value)
                .bind(&changes.currency)
                .bind(changes.status.as_ref().map(|(s, _)| *s))
                .bind(changes.status.as_ref().and_then(|(_, r)| r.clone()))
                .bind(&changes.custom_fields)
                .bind(changes.next_follow_up_at.is_some())
                .bind(changes.next_follow_up_at.flatten())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(LEAD)
            })
            .await
    }

    /// Soft-deletes a lead: hidden from every list and search until restored.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "UPDATE leads SET deleted_at = now() \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
                id,
                LEAD,
            )
            .await
    }

    /// Restores a soft-deleted lead.
    pub async fn restore(&self, id: Uuid) -> Result<Lead> {
        self.tenant
            .update_by_id(
                "UPDATE leads SET deleted_at = NULL \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NOT NULL \
                 RETURNING *",
                id,
                Error::NotFound {
                    entity: "deleted lead",
                },
            )
            .await
    }

    /// Moves a lead to `stage_id`, which may be in another pipeline of the organization
    /// (the lead then changes pipeline too). The stage history records the move.
    pub async fn move_to_stage(&self, id: Uuid, stage_id: Uuid) -> Result<Lead> {
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                let (pipeline_id, stage_id) = placement(tx, org, None, Some(stage_id)).await?;
                sqlx::query_as(
                    "UPDATE leads SET pipeline_id = $3, stage_id = $4 \
                     WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL \
                     RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(pipeline_id)
                .bind(stage_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(LEAD)
            })
            .await
    }

    /// Assigns a lead to a member (`None` unassigns it).
    pub async fn assign(&self, id: Uuid, user_id: Option<Uuid>) -> Result<Lead> {
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                sqlx::query_as(
                    "UPDATE leads SET assigned_user_id = $3 \
                     WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL \
                     RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(lead_reference)?
                .ok_or(LEAD)
            })
            .await
    }

    /// Stars a lead for a member; starring twice is the same as once.
    pub async fn favorite(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                require_lead(tx, org, id).await?;
                sqlx::query(
                    "INSERT INTO lead_favorites (organization_id, lead_id, user_id) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .execute(&mut **tx)
                .await
                .map_err(|e| {
                    Error::from(e)
                        .missing_parent("fk_lead_favorites_organization_members", "member")
                })?;
                Ok(())
            })
            .await
    }

    /// Removes a member's star from a lead.
    pub async fn unfavorite(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                let removed = sqlx::query(
                    "DELETE FROM lead_favorites \
                     WHERE organization_id = $1 AND lead_id = $2 AND user_id = $3",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Err(Error::NotFound { entity: "favorite" });
                }
                Ok(())
            })
            .await
    }

    /// The leads a member starred, most recently starred first.
    pub async fn favorites(&self, user_id: Uuid) -> Result<Vec<Lead>> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                Ok(sqlx::query_as(
                    "SELECT l.* FROM lead_favorites AS f \
                     JOIN leads AS l ON l.organization_id = f.organization_id AND l.id = f.lead_id \
                     WHERE f.organization_id = $1 AND f.user_id = $2 AND l.deleted_at IS NULL \
                     ORDER BY f.created_at DESC, l.id",
                )
                .bind(org)
                .bind(user_id)
                .fetch_all(&mut **tx)
                .await?)
            })
            .await
    }

    /// Puts the tag named `tag` on a lead, creating the tag (with the default colour) when
    /// the organization has none of that name. Returns the tag.
    pub async fn tag(&self, id: Uuid, tag: &str) -> Result<Tag> {
        let tag = validate::required("tag", tag)?;
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                require_lead(tx, org, id).await?;
                // DO UPDATE (a no-op) rather than DO NOTHING, so RETURNING yields the
                // existing tag too.
                let tag: Tag = sqlx::query_as(
                    "INSERT INTO tags (organization_id, name) VALUES ($1, $2) \
                     ON CONFLICT (organization_id, name) DO UPDATE SET name = EXCLUDED.name \
                     RETURNING *",
                )
                .bind(org)
                .bind(&tag)
                .fetch_one(&mut **tx)
                .await?;
                sqlx::query(
                    "INSERT INTO lead_tags (organization_id, lead_id, tag_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .bind(id)
                .bind(tag.id)
                .execute(&mut **tx)
                .await?;
                Ok(tag)
            })
            .await
    }

    /// Takes a tag off a lead.
    pub async fn untag(&self, id: Uuid, tag_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .transaction(async |tx| {
                let removed = sqlx::query(
                    "DELETE FROM lead_tags WHERE organization_id = $1 AND lead_id = $2 AND tag_id = $3",
                )
                .bind(org)
                .bind(id)
                .bind(tag_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Err(Error::NotFound { entity: "lead tag" });
                }
                Ok(())
            })
            .await
    }

    /// The tags on a lead, by name.
    pub async fn tags(&self, id: Uuid) -> Result<Vec<Tag>> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                require_lead(tx, org, id).await?;
                Ok(sqlx::query_as(
                    "SELECT t.* FROM lead_tags AS lt \
                     JOIN tags AS t ON t.organization_id = lt.organization_id AND t.id = lt.tag_id \
                     WHERE lt.organization_id = $1 AND lt.lead_id = $2 ORDER BY t.name",
                )
                .bind(org)
                .bind(id)
                .fetch_all(&mut **tx)
                .await?)
            })
            .await
    }

    /// Leads whose name, e-mail, phone or company contains `text` (case-insensitive), best
    /// matches first, at most `limit` (1 to 100).
    pub async fn search(&self, text: &str, limit: i32) -> Result<Vec<LeadHit>> {
        let text = validate::required("text", text)?;
        if text.len() > SEARCH_TEXT_MAX_BYTES {
            return Err(Error::invalid("text", "must be at most 400 bytes"));
        }
        if !(1..=100).contains(&limit) {
            return Err(Error::invalid("limit", "must be between 1 and 100"));
        }
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                Ok(sqlx::query_as(hot::LEAD_SEARCH)
                    .bind(org)
                    .bind(&text)
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await?)
            })
            .await
    }

    /// A page of a kanban column: the open leads of a stage by score (highest first), after
    /// `after` when given.
    pub async fn kanban_column(
        &self,
        stage_id: Uuid,
        after: Option<KanbanCursor>,
        limit: i64,
    ) -> Result<KanbanPage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        let leads: Vec<Lead> = self
            .tenant
            .read(async |tx| {
                let query = match after {
                    None => sqlx::query_as(hot::KANBAN_COLUMN).bind(org).bind(stage_id),
                    Some(cursor) => sqlx::query_as(hot::KANBAN_COLUMN_AFTER)
                        .bind(org)
                        .bind(stage_id)
                        .bind(cursor.lead_score)
                        .bind(cursor.id),
                };
                Ok(query.bind(limit).fetch_all(&mut **tx).await?)
            })
            .await?;
        let next = next_cursor(&leads, limit, |last| KanbanCursor {
            lead_score: last.lead_score,
            id: last.id,
        });
        Ok(KanbanPage { leads, next })
    }

    /// The kanban board summary of a pipeline: per stage, in order, the number and total
    /// value of its open leads.
    pub async fn kanban_summary(&self, pipeline_id: Uuid) -> Result<Vec<StageSummary>> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                let summary: Vec<StageSummary> = sqlx::query_as(hot::KANBAN_SUMMARY)
                    .bind(org)
                    .bind(pipeline_id)
                    .fetch_all(&mut **tx)
                    .await?;
                // Every pipeline has at least one stage to show; none means no such pipeline.
                if summary.is_empty() {
                    return Err(Error::NotFound { entity: "pipeline" });
                }
                Ok(summary)
            })
            .await
    }

    /// The leads assigned to `user_id`, most recently updated first.
    pub async fn my_leads(&self, user_id: Uuid, limit: i64) -> Result<Vec<Lead>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                Ok(sqlx::query_as(hot::MY_LEADS)
                    .bind(org)
                    .bind(user_id)
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await?)
            })
            .await
    }
}

/// The pipeline and stage a lead goes to: the given stage (its pipeline must match the
/// given one), or the first stage of the given or default pipeline.
async fn placement(
    tx: &mut TenantTx,
    org: Uuid,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
) -> Result<(Uuid, Uuid)> {
    let found: Option<(Uuid, Uuid)> = match stage_id {
        Some(stage_id) => {
            sqlx::query_as(
                "SELECT pipeline_id, id FROM pipeline_stages \
                 WHERE organization_id = $1 AND id = $2 AND ($3::uuid IS NULL OR pipeline_id = $3)",
            )
            .bind(org)
            .bind(stage_id)
            .bind(pipeline_id)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT s.pipeline_id, s.id FROM pipelines AS p \
                 JOIN pipeline_stages AS s \
                   ON s.organization_id = p.organization_id AND s.pipeline_id = p.id \
                 WHERE p.organization_id = $1 AND (p.id = $2 OR ($2::uuid IS NULL AND p.is_default)) \
                 ORDER BY s.stage_order LIMIT 1",
            )
            .bind(org)
            .bind(pipeline_id)
            .fetch_optional(&mut **tx)
            .await?
        }
    };
    found.ok_or(if stage_id.is_some() {
        STAGE
    } else {
        Error::NotFound { entity: "pipeline" }
    })
}

/// Fails with "lead not found" unless the lead exists and is not deleted.
pub(crate) async fn require_lead(tx: &mut TenantTx, org: Uuid, id: Uuid) -> Result<()> {
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM leads \
                        WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL)",
    )
    .bind(org)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if !exists {
        return Err(LEAD);
    }
    Ok(())
}
