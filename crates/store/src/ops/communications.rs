//! Communications with a lead: inbound messages recorded once per provider id (a retried
//! webhook is a no-op), outbound messages, status updates, and the lead's timeline.

use chrono::{DateTime, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::{Channel, Communication, CommunicationStatus};
use crate::ops::common::{next_cursor, page_size};
use crate::ops::outbox;
use crate::sql::{query, query_as};
use crate::validate;

/// A message received from a provider webhook.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub lead_id: Uuid,
    pub channel: Channel,
    /// The provider's id of the message (WhatsApp wamid, Twilio SID…): the idempotency key.
    pub external_id: String,
    pub content: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// An object; `{}` when not given.
    pub metadata: Option<JsonValue>,
}

/// A message, call or meeting sent or held by a member (or the system).
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    pub lead_id: Uuid,
    pub user_id: Option<Uuid>,
    pub channel: Channel,
    pub content: Option<String>,
    /// `queued` when not given.
    pub status: Option<CommunicationStatus>,
    pub external_id: Option<String>,
    pub template_id: Option<Uuid>,
    pub duration_seconds: Option<i32>,
    pub recording_url: Option<String>,
    pub metadata: Option<JsonValue>,
    /// Now when not given.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl OutboundMessage {
    /// A queued message with `content` on `channel`.
    pub fn text(lead_id: Uuid, channel: Channel, content: impl Into<String>) -> OutboundMessage {
        OutboundMessage {
            lead_id,
            user_id: None,
            channel,
            content: Some(content.into()),
            status: None,
            external_id: None,
            template_id: None,
            duration_seconds: None,
            recording_url: None,
            metadata: None,
            occurred_at: None,
        }
    }
}

/// Where a timeline page ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineCursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of a lead's timeline, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TimelinePage {
    pub communications: Vec<Communication>,
    /// `None` on the last page.
    pub next: Option<TimelineCursor>,
}

/// The communications of one organization.
#[derive(Debug, Clone)]
pub struct Communications {
    tenant: Tenant,
}

impl Tenant {
    /// Communications.
    pub fn communications(&self) -> Communications {
        Communications {
            tenant: self.clone(),
        }
    }
}

fn references(error: Error) -> Error {
    error
        .missing_parent("fk_communications_leads", entity::LEAD)
        .missing_parent("fk_communications_organization_members", entity::MEMBER)
        .missing_parent("fk_communications_message_templates", entity::TEMPLATE)
}

impl Communications {
    /// Records an inbound message once: a second delivery of the same provider id on the
    /// same channel returns the stored row. The flag tells whether this call stored it.
    #[tracing::instrument(name = "communications.record_inbound", skip_all)]
    pub async fn record_inbound(&self, message: &InboundMessage) -> Result<(Communication, bool)> {
        let external_id = validate::required("external_id", &message.external_id)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let inserted: Option<Communication> = query_as(
                    "INSERT INTO communications (organization_id, lead_id, channel, direction, \
                         content, status, external_id, metadata, occurred_at) \
                     VALUES ($1, $2, $3, 'inbound', $4, 'received', $5, coalesce($6, '{}'::jsonb), $7) \
                     ON CONFLICT (organization_id, channel, external_id) DO NOTHING \
                     RETURNING *",
                )
                .bind(org)
                .bind(message.lead_id)
                .bind(message.channel)
                .bind(&message.content)
                .bind(&external_id)
                .bind(&message.metadata)
                .bind(message.occurred_at)
                .fetch_optional(&mut **tx)
                .await
                .map_err(references)?;
                if let Some(row) = inserted {
                    query(
                        "UPDATE leads SET last_contacted_at = greatest(last_contacted_at, $3) \
                         WHERE organization_id = $1 AND id = $2",
                    )
                    .bind(org)
                    .bind(message.lead_id)
                    .bind(message.occurred_at)
                    .execute(&mut **tx)
                    .await?;
                    outbox::enqueue(tx, org, outbox::event::COMMUNICATION_RECEIVED, row.clone());
                    return Ok((row, true));
                }
                let existing: Communication = query_as(
                    "SELECT * FROM communications \
                     WHERE organization_id = $1 AND channel = $2 AND external_id = $3",
                )
                .bind(org)
                .bind(message.channel)
                .bind(&external_id)
                .fetch_one(&mut **tx)
                .await?;
                Ok((existing, false))
            })
            .await
    }

    /// Records an outbound message, call or meeting.
    #[tracing::instrument(name = "communications.record_outbound", skip_all)]
    pub async fn record_outbound(&self, message: &OutboundMessage) -> Result<Communication> {
        let recording_url = validate::optional(message.recording_url.as_deref(), |u| {
            validate::https_url("recording_url", u)
        })?;
        if message.duration_seconds.is_some_and(|d| d < 0) {
            return Err(Error::invalid("duration_seconds", "must not be negative"));
        }
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let row: Communication = query_as(
                    "INSERT INTO communications (organization_id, lead_id, user_id, channel, \
                         direction, content, status, external_id, template_id, duration_seconds, \
                         recording_url, metadata, occurred_at) \
                     VALUES ($1, $2, $3, $4, 'outbound', $5, coalesce($6, 'queued'), $7, $8, $9, \
                             $10, coalesce($11, '{}'::jsonb), coalesce($12, now())) \
                     RETURNING *",
                )
                .bind(org)
                .bind(message.lead_id)
                .bind(message.user_id)
                .bind(message.channel)
                .bind(&message.content)
                .bind(message.status)
                .bind(&message.external_id)
                .bind(message.template_id)
                .bind(message.duration_seconds)
                .bind(&recording_url)
                .bind(&message.metadata)
                .bind(message.occurred_at)
                .fetch_one(&mut **tx)
                .await
                .map_err(references)?;
                query(
                    "UPDATE leads SET last_contacted_at = greatest(last_contacted_at, $3) \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(message.lead_id)
                .bind(row.occurred_at)
                .execute(&mut **tx)
                .await?;
                Ok(row)
            })
            .await
    }

    /// A communication.
    #[tracing::instrument(name = "communications.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<Communication> {
        self.tenant
            .row_by_id(
                "SELECT * FROM communications WHERE organization_id = $1 AND id = $2",
                id,
                entity::COMMUNICATION,
            )
            .await
    }

    /// Sets the delivery status (from the provider's status callback), and the provider id
    /// when it is first known.
    #[tracing::instrument(name = "communications.set_status", skip_all, fields(%id))]
    pub async fn set_status(
        &self,
        id: Uuid,
        status: CommunicationStatus,
        external_id: Option<&str>,
    ) -> Result<Communication> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE communications SET status = $3, external_id = coalesce($4, external_id) \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(status)
                .bind(external_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::COMMUNICATION))
            })
            .await
    }

    /// Deletes a communication.
    #[tracing::instrument(name = "communications.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM communications WHERE organization_id = $1 AND id = $2",
                id,
                entity::COMMUNICATION,
            )
            .await
    }

    /// A page of a lead's timeline, newest first, before `before` when given.
    #[tracing::instrument(name = "communications.timeline", skip_all, fields(%lead_id))]
    pub async fn timeline(
        &self,
        lead_id: Uuid,
        before: Option<TimelineCursor>,
        limit: i64,
    ) -> Result<TimelinePage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        let communications: Vec<Communication> = match before {
            None => query_as(hot::LEAD_TIMELINE).bind(org).bind(lead_id),
            Some(cursor) => query_as(hot::LEAD_TIMELINE_BEFORE)
                .bind(org)
                .bind(lead_id)
                .bind(cursor.occurred_at)
                .bind(cursor.id),
        }
        .bind(limit)
        .fetch_all(&self.tenant)
        .await?;
        let next = next_cursor(&communications, limit, |last| TimelineCursor {
            occurred_at: last.occurred_at,
            id: last.id,
        });
        Ok(TimelinePage {
            communications,
            next,
        })
    }
}
