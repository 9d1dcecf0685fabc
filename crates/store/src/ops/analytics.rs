//! Analytics events: the append-only product event stream and its reads by type and time.

use chrono::{DateTime, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::AnalyticsEvent;
use crate::ops::common::page_size;
use crate::sql::query_as;
use crate::validate;

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Dotted lower-case, e.g. `lead.created`.
    pub event_type: String,
    /// An object; `{}` when not given.
    pub event_data: Option<JsonValue>,
    pub user_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub session_id: Option<String>,
    /// Now when not given.
    pub occurred_at: Option<DateTime<Utc>>,
}

impl NewEvent {
    /// An event of `event_type` happening now, with no data.
    pub fn of_type(event_type: impl Into<String>) -> NewEvent {
        NewEvent {
            event_type: event_type.into(),
            event_data: None,
            user_id: None,
            lead_id: None,
            session_id: None,
            occurred_at: None,
        }
    }
}

/// The analytics events of one organization.
#[derive(Debug, Clone)]
pub struct Analytics {
    tenant: Tenant,
}

impl Tenant {
    /// Analytics events.
    pub fn analytics(&self) -> Analytics {
        Analytics {
            tenant: self.clone(),
        }
    }
}

impl Analytics {
    /// Records an event.
    #[tracing::instrument(name = "analytics.record", skip_all)]
    pub async fn record(&self, event: &NewEvent) -> Result<AnalyticsEvent> {
        let event_type = validate::dotted_name("event_type", &event.event_type)?;
        if event.event_data.as_ref().is_some_and(|d| !d.is_object()) {
            return Err(Error::invalid("event_data", "must be a JSON object"));
        }
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "INSERT INTO analytics_events (organization_id, event_type, event_data, user_id, \
                         lead_id, session_id, occurred_at) \
                     VALUES ($1, $2, coalesce($3, '{}'::jsonb), $4, $5, $6, coalesce($7, now())) \
                     RETURNING *",
                )
                .bind(org)
                .bind(&event_type)
                .bind(&event.event_data)
                .bind(event.user_id)
                .bind(event.lead_id)
                .bind(&event.session_id)
                .bind(event.occurred_at)
                .fetch_one(Last(tx))
                .await
                .map_err(|e| e.missing_parent("fk_analytics_events_leads", entity::LEAD))
            })
            .await
    }

    /// An event.
    #[tracing::instrument(name = "analytics.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<AnalyticsEvent> {
        self.tenant
            .row_by_id(
                "SELECT * FROM analytics_events WHERE organization_id = $1 AND id = $2",
                id,
                entity::EVENT,
            )
            .await
    }

    /// The events of one type since `since`, newest first (hot query 7b).
    #[tracing::instrument(name = "analytics.recent", skip_all)]
    pub async fn recent(
        &self,
        event_type: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AnalyticsEvent>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        query_as(hot::ANALYTICS_EVENTS)
            .bind(org)
            .bind(event_type)
            .bind(since)
            .bind(limit)
            .fetch_all(&self.tenant)
            .await
    }
}
