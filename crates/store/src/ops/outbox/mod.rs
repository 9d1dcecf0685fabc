//! The outgoing-webhooks outbox: an event queues one delivery per active subscription that
//! wants it, in the transaction of the change itself, so a change that rolls back sends
//! nothing and one that commits is never lost; workers ([`WebhookWorker`]) claim due
//! deliveries of every organization, sign them and record each attempt's outcome. The
//! organization reads its delivery log and emits events of its own through [`Webhooks`].
//!
//! Every delivery's body is an envelope: `{"id", "type", "occurred_at", "organization_id",
//! "data"}`, `id` naming the event (the same for every subscription it went to). Delivery
//! is at least once: a receiver tells a repeat by the `X-Crmdb-Delivery` header.

mod signing;
mod worker;

use chrono::{SecondsFormat, Utc};
use serde_json::Value as JsonValue;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::db::Conn;
use crate::error::{entity, Error, Result};
use crate::models::WebhookDelivery;
use crate::ops::common::{next_cursor, page_size};
use crate::ops::webhooks::Webhooks;
use crate::sql::{query, query_as, Param, Query};
use crate::validate;

pub use signing::{
    sign, verify, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, SIGNATURE_TOLERANCE,
};
pub use worker::{
    retry_delay, Claim, ClaimedDelivery, Recorded, WebhookWorker, DEACTIVATE_AFTER_FAILURES,
    LEASE_MAX, LEASE_MIN, MAX_ATTEMPTS, RETRY_BASE, RETRY_MAX,
};

/// The events the data layer emits itself, in the transaction of the change.
pub mod event {
    /// A lead was created; `data` is the lead.
    pub const LEAD_CREATED: &str = "lead.created";
    /// A lead was moved to a stage (possibly of another pipeline); `data` is the lead as
    /// moved.
    pub const LEAD_STAGE_CHANGED: &str = "lead.stage_changed";
    /// An inbound message was recorded for the first time; `data` is the communication.
    pub const COMMUNICATION_RECEIVED: &str = "communication.received";
}

/// One delivery per active subscription of `$1` that wants event `$2` (or `*`), due now;
/// `$3` event id, `$4` time of the event (RFC 3339), `$5` data.
const ENQUEUE: &str = "INSERT INTO webhook_delivery_logs (organization_id, subscription_id, \
         event_type, payload, attempt, status, next_retry_at) \
     SELECT s.organization_id, s.id, $2, \
            jsonb_build_object('id', $3::uuid, 'type', $2::text, 'occurred_at', $4::text, \
                               'organization_id', $1::uuid, 'data', $5::jsonb), \
            1, 'pending', now() \
     FROM webhook_subscriptions AS s \
     WHERE s.organization_id = $1 AND s.is_active \
       AND ($2 = ANY (s.events) OR '*' = ANY (s.events))";

fn enqueue_query<'a, D: Param + 'a>(
    organization_id: Uuid,
    event_type: String,
    data: D,
) -> Query<'a> {
    query(ENQUEUE)
        .bind(organization_id)
        .bind(event_type)
        .bind(Uuid::now_v7())
        .bind(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true))
        .bind(data)
}

/// Queues `event_type` with `data` for the subscriptions of the organization that want it,
/// as a deferred write of the open transaction `tx`: it goes out with the transaction's next
/// statement or its `COMMIT`, costing no round trip of its own, and commits or rolls back
/// with the change it reports.
pub(crate) fn enqueue<T>(tx: &mut Conn, organization_id: Uuid, event_type: &'static str, data: T)
where
    T: serde::Serialize + std::fmt::Debug + Sync + Send + 'static,
{
    tx.defer(enqueue_query(organization_id, event_type.to_owned(), Json(data)).into_statement());
}

/// One page of a subscription's delivery log, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    /// The id to pass as `before` for the next page; `None` on the last page.
    pub next: Option<Uuid>,
}

impl Webhooks {
    /// Emits an event of the application's own (`event_type` dotted lower-case, e.g.
    /// `invoice.paid`): one delivery for each active subscription that wants it. Returns the
    /// number of deliveries queued, 0 when no subscription wants the event.
    #[tracing::instrument(name = "webhooks.emit", skip_all, fields(%event_type))]
    pub async fn emit(&self, event_type: &str, data: &JsonValue) -> Result<u64> {
        let event_type = validate::dotted_name("event_type", event_type)?;
        let org = self.tenant.organization_id();
        Ok(enqueue_query(org, event_type, data)
            .execute(&self.tenant)
            .await?
            .rows_affected())
    }

    /// A page of the deliveries to a subscription, newest first (ids are time-ordered),
    /// before the delivery `before` when given. A subscription that does not exist (or is
    /// another organization's) has no deliveries.
    #[tracing::instrument(name = "webhooks.deliveries", skip_all, fields(%subscription_id))]
    pub async fn deliveries(
        &self,
        subscription_id: Uuid,
        before: Option<Uuid>,
        limit: i64,
    ) -> Result<DeliveryPage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        let deliveries: Vec<WebhookDelivery> = query_as(
            "SELECT * FROM webhook_delivery_logs \
             WHERE organization_id = $1 AND subscription_id = $2 \
               AND ($3::uuid IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(org)
        .bind(subscription_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.tenant)
        .await?;
        let next = next_cursor(&deliveries, limit, |last| last.id);
        Ok(DeliveryPage { deliveries, next })
    }

    /// A delivery.
    #[tracing::instrument(name = "webhooks.delivery", skip_all, fields(%id))]
    pub async fn delivery(&self, id: Uuid) -> Result<WebhookDelivery> {
        self.tenant
            .row_by_id(
                "SELECT * FROM webhook_delivery_logs WHERE organization_id = $1 AND id = $2",
                id,
                entity::WEBHOOK_DELIVERY,
            )
            .await
    }
}

/// `text` cut to at most `max` characters: a receiver's error page must not bloat the log.
fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// Refuses an HTTP status outside 100..=599 (the log's check) before it reaches the database.
fn http_status(status: i32) -> Result<i32> {
    if !(100..=599).contains(&status) {
        return Err(Error::invalid(
            "response_status",
            "must be an HTTP status (100 to 599)",
        ));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_on_a_character_boundary() {
        assert_eq!(truncated("timeout", 100), "timeout");
        assert_eq!(truncated("ééé", 2), "éé");
    }

    #[test]
    fn response_statuses_are_http_statuses() {
        assert_eq!(http_status(200).unwrap(), 200);
        assert!(http_status(99).is_err());
        assert!(http_status(600).is_err());
    }
}
