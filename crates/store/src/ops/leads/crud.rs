//! A lead's own record: create, read, update, soft delete and restore, move between stages
//! (and pipelines), assign to a member.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value as JsonValue;
use tokio_postgres::types::Json;
use uuid::Uuid;

use super::Leads;
use crate::db::{Last, TenantTx};
use crate::error::{entity, Error, Result};
use crate::models::{Lead, LeadSource, LeadStatus};
use crate::ops::custom_fields::{self, FieldRule};
use crate::ops::notifications;
use crate::ops::outbox;
use crate::sql::{query, query_as, FromRow};
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
    /// An object of custom field values; `{}` when not given. Checked against the
    /// organization's definitions (`tenant.custom_fields()`): errors name `custom_fields.<key>`.
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
    /// The whole new object of custom field values, checked as on create.
    pub custom_fields: Option<JsonValue>,
    pub next_follow_up_at: Option<Option<DateTime<Utc>>>,
}

fn lead_reference(error: Error) -> Error {
    error
        .missing_parent("fk_leads_pipeline_stages", entity::STAGE)
        .missing_parent("fk_leads_pipelines", entity::PIPELINE)
        .missing_parent("fk_leads_organization_members", entity::MEMBER)
}

fn optional_text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Leads {
    /// Creates a lead.
    #[tracing::instrument(name = "leads.create", skip_all)]
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
            .write(async |tx| {
                let (pipeline_id, stage_id, rules) =
                    placement_and_rules(tx, org, new.pipeline_id, new.stage_id).await?;
                let values = new.custom_fields.clone().unwrap_or_else(|| serde_json::json!({}));
                custom_fields::check_values(&rules, &values)?;
                let lead: Lead = query_as(
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
                .map_err(lead_reference)?;
                outbox::enqueue(tx, org, outbox::event::LEAD_CREATED, lead.clone());
                Ok(lead)
            })
            .await
    }

    /// A lead that is not deleted.
    #[tracing::instrument(name = "leads.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<Lead> {
        self.tenant
            .row_by_id(
                "SELECT * FROM leads WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
                id,
                entity::LEAD,
            )
            .await
    }

    /// Applies `changes` to a lead that is not deleted.
    #[tracing::instrument(name = "leads.update", skip_all, fields(%id))]
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
            .write(async |tx| {
                if let Some(values) = &changes.custom_fields {
                    custom_fields::check_lead_values(tx, org, values).await?;
                }
                query_as(
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
                .fetch_optional(Last(tx))
                .await?
                .ok_or(Error::not_found(entity::LEAD))
            })
            .await
    }

    /// Soft-deletes a lead: hidden from every list and search until restored.
    #[tracing::instrument(name = "leads.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "UPDATE leads SET deleted_at = now() \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL",
                id,
                entity::LEAD,
            )
            .await
    }

    /// Restores a soft-deleted lead.
    #[tracing::instrument(name = "leads.restore", skip_all, fields(%id))]
    pub async fn restore(&self, id: Uuid) -> Result<Lead> {
        self.tenant
            .row_by_id(
                "UPDATE leads SET deleted_at = NULL \
                 WHERE organization_id = $1 AND id = $2 AND deleted_at IS NOT NULL \
                 RETURNING *",
                id,
                entity::DELETED_LEAD,
            )
            .await
    }

    /// Moves a lead to `stage_id`, which may be in another pipeline of the organization
    /// (the lead then changes pipeline too). The stage history records the move.
    #[tracing::instrument(name = "leads.move_to_stage", skip_all, fields(%id, %stage_id))]
    pub async fn move_to_stage(&self, id: Uuid, stage_id: Uuid) -> Result<Lead> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let (pipeline_id, stage_id) = placement(tx, org, None, Some(stage_id)).await?;
                let lead: Lead = query_as(
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
                .ok_or(Error::not_found(entity::LEAD))?;
                outbox::enqueue(tx, org, outbox::event::LEAD_STAGE_CHANGED, lead.clone());
                Ok(lead)
            })
            .await
    }

    /// Assigns a lead to a member (`None` unassigns it). A new assignee is notified
    /// (`lead.assigned`), unless they are the acting user assigning it to themselves.
    #[tracing::instrument(
        name = "leads.assign",
        skip_all,
        fields(%id, user_id = user_id.map(tracing::field::display))
    )]
    pub async fn assign(&self, id: Uuid, user_id: Option<Uuid>) -> Result<Lead> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                // The row is locked before it is read, so `previous_assignee` is the last
                // committed assignee, not the statement's snapshot: of two assignments at
                // once, the second sees the first's assignee and neither misses nor repeats
                // a notification.
                let rows = query(
                    "UPDATE leads AS l SET assigned_user_id = $3 \
                     FROM (SELECT id, assigned_user_id FROM leads \
                           WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL \
                           FOR UPDATE) AS p \
                     WHERE l.organization_id = $1 AND l.id = p.id \
                     RETURNING l.*, p.assigned_user_id AS previous_assignee",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .fetch_rows(&mut **tx)
                .await
                .map_err(lead_reference)?;
                let row = rows.first().ok_or(Error::not_found(entity::LEAD))?;
                let lead = Lead::from_row(row)?;
                let previous: Option<Uuid> = row.try_get("previous_assignee")?;
                if let Some(assignee) = user_id.filter(|u| previous != Some(*u)) {
                    notifications::notify(
                        tx,
                        org,
                        assignee,
                        notifications::LEAD_ASSIGNED,
                        "Lead assigned to you".to_owned(),
                        Some(lead.name.clone()),
                        serde_json::json!({ "lead_id": lead.id }),
                    );
                }
                Ok(lead)
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
    let (pipeline_id, stage_id, _) = placement_with(tx, org, pipeline_id, stage_id, false).await?;
    Ok((pipeline_id, stage_id))
}

/// As [`placement`], with the organization's custom field rules read by the same statement,
/// so a new lead's values are checked without a round trip of their own.
async fn placement_and_rules(
    tx: &mut TenantTx,
    org: Uuid,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
) -> Result<(Uuid, Uuid, Vec<FieldRule>)> {
    placement_with(tx, org, pipeline_id, stage_id, true).await
}

/// The placement, and the custom field rules when `with_rules` (none otherwise).
async fn placement_with(
    tx: &mut TenantTx,
    org: Uuid,
    pipeline_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    with_rules: bool,
) -> Result<(Uuid, Uuid, Vec<FieldRule>)> {
    let found: Option<(Uuid, Uuid, Json<Vec<FieldRule>>)> = match stage_id {
        Some(stage_id) => {
            query_as(concat!(
                "SELECT pipeline_id, id, CASE WHEN $4 THEN ",
                custom_fields::lead_rules!(),
                " ELSE '[]'::jsonb END \
                 FROM pipeline_stages \
                 WHERE organization_id = $1 AND id = $2 AND ($3::uuid IS NULL OR pipeline_id = $3)",
            ))
            .bind(org)
            .bind(stage_id)
            .bind(pipeline_id)
            .bind(with_rules)
            .fetch_optional(&mut **tx)
            .await?
        }
        None => {
            query_as(concat!(
                "SELECT s.pipeline_id, s.id, CASE WHEN $3 THEN ",
                custom_fields::lead_rules!(),
                " ELSE '[]'::jsonb END \
                 FROM pipelines AS p \
                 JOIN pipeline_stages AS s \
                   ON s.organization_id = p.organization_id AND s.pipeline_id = p.id \
                 WHERE p.organization_id = $1 AND (p.id = $2 OR ($2::uuid IS NULL AND p.is_default)) \
                 ORDER BY s.stage_order LIMIT 1",
            ))
            .bind(org)
            .bind(pipeline_id)
            .bind(with_rules)
            .fetch_optional(&mut **tx)
            .await?
        }
    };
    found
        .map(|(pipeline_id, stage_id, Json(rules))| (pipeline_id, stage_id, rules))
        .ok_or(if stage_id.is_some() {
            Error::not_found(entity::STAGE)
        } else {
            Error::not_found(entity::PIPELINE)
        })
}
