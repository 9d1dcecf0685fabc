//! The delivery workers: claim the earliest due delivery of any organization under a lease,
//! hand over what to send (signed), and record the attempt's outcome in the delivery's
//! organization. The worker does no HTTP itself.
//!
//! A claim moves the delivery's `next_retry_at` to the end of its lease; that value is the
//! claim's token. An outcome is recorded only while the delivery is still pending at the
//! claimed attempt with that token: recording twice, or recording for a claim whose lease
//! ran out and which another worker has claimed since, changes nothing and answers
//! [`Recorded::Stale`].

use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

use super::signing::{sign, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER};
use super::{http_status, truncated};
use crate::db::{Db, Last, WORKER_ROLE};
use crate::error::{Error, Result};
use crate::hot;
use crate::models::{WebhookDelivery, WebhookSubscription};
use crate::ops::webhooks::{COLUMN as SECRET_COLUMN, TABLE};
use crate::sealing;
use crate::sql::query_as;
use crate::validate;

/// Attempts a delivery gets; after the last one fails it is dead.
pub const MAX_ATTEMPTS: i32 = 8;
/// Consecutive failed attempts (of any delivery) after which a subscription is
/// deactivated; a success resets the count.
pub const DEACTIVATE_AFTER_FAILURES: i32 = 20;
/// The first retry waits this long; each further one twice as long as the one before.
pub const RETRY_BASE: Duration = Duration::from_secs(60);
/// No retry waits longer than this.
pub const RETRY_MAX: Duration = Duration::from_secs(6 * 3600);
/// The shortest lease a claim takes.
pub const LEASE_MIN: Duration = Duration::from_secs(1);
/// The longest lease a claim takes.
pub const LEASE_MAX: Duration = Duration::from_secs(3600);

/// Longest `last_error` kept, in characters.
const ERROR_MAX_CHARS: usize = 1000;

/// How long to wait before the next attempt after attempt number `attempt` failed.
pub fn retry_delay(attempt: i32) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 20) as u32;
    RETRY_BASE.saturating_mul(1 << doublings).min(RETRY_MAX)
}

/// A worker that delivers the webhooks of every organization.
///
/// Claiming goes through the `SECURITY DEFINER` function `claim_webhook_delivery`, which
/// only `crm_worker` may call: the database must be connected as the worker login
/// (`WORKER_DATABASE_URL`). Everything else runs in the delivery's organization as
/// `crm_worker`, under row-level security.
#[derive(Debug, Clone)]
pub struct WebhookWorker {
    db: Db,
    name: String,
}

impl Db {
    /// A webhook delivery worker named `name` (for its logs).
    pub fn webhook_worker(&self, name: impl Into<String>) -> WebhookWorker {
        WebhookWorker {
            db: self.clone(),
            name: name.into(),
        }
    }
}

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// Send this, then record the outcome with [`WebhookWorker::succeeded`] or
    /// [`WebhookWorker::failed`].
    Deliver(ClaimedDelivery),
    /// The delivery's subscription was deactivated (or deleted) after the event: the
    /// delivery is now dead (or gone with its subscription) and there is nothing to send.
    Dropped(WebhookDelivery),
}

/// A delivery this worker holds until its lease runs out, with the request to send. Its
/// `Debug` shows the delivery's ids and the URL's host only: the body holds the event's
/// data (personal data, often), and a URL's path or query can carry the receiver's token.
#[derive(Clone)]
pub struct ClaimedDelivery {
    /// The delivery as claimed: `next_retry_at` is the end of the lease.
    pub delivery: WebhookDelivery,
    /// Where to `POST` it.
    pub url: String,
    /// The body: the event's envelope as JSON.
    pub body: Vec<u8>,
    /// The headers: content type, event, delivery id, attempt and signature.
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("organization_id", &self.delivery.organization_id)
            .field("id", &self.delivery.id)
            .field("subscription_id", &self.delivery.subscription_id)
            .field("event_type", &self.delivery.event_type)
            .field("attempt", &self.delivery.attempt)
            .field("url_host", &validate::url_host(&self.url))
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl ClaimedDelivery {
    fn signed(delivery: WebhookDelivery, url: String, secret: &SecretString) -> ClaimedDelivery {
        let body = delivery.payload.to_string().into_bytes();
        let signature = sign(secret.expose_secret(), Utc::now().timestamp(), &body);
        let headers = vec![
            ("Content-Type", "application/json".to_owned()),
            (EVENT_HEADER, delivery.event_type.clone()),
            (DELIVERY_HEADER, delivery.id.to_string()),
            ("X-Crmdb-Attempt", delivery.attempt.to_string()),
            (SIGNATURE_HEADER, signature),
        ];
        ClaimedDelivery {
            delivery,
            url,
            body,
            headers,
        }
    }
}

/// What recording an outcome did.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Recorded {
    /// Recorded; the delivery as it now is (succeeded, pending for a retry, or dead).
    Applied(WebhookDelivery),
    /// Nothing changed: the claim no longer holds the delivery (its outcome was recorded
    /// already, its lease ran out and another worker claimed it, or it was deleted).
    Stale,
}

impl WebhookWorker {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Claims the earliest due delivery of any organization for `lease` (1 second to 1
    /// hour), or `None` when none is due. Concurrent workers never hold the same delivery;
    /// one whose lease runs out before its outcome is recorded is due again.
    #[tracing::instrument(name = "webhook_worker.claim", skip_all, fields(worker = %self.name))]
    pub async fn claim(&self, lease: Duration) -> Result<Option<Claim>> {
        if !(LEASE_MIN..=LEASE_MAX).contains(&lease) {
            return Err(Error::invalid(
                "lease",
                "must be between 1 second and 1 hour",
            ));
        }
        let mut tx = self.db.begin_entered(WORKER_ROLE, None, None).await?;
        let claimed: Option<WebhookDelivery> = query_as(hot::CLAIM_WEBHOOK_DELIVERY)
            .bind(lease.as_secs_f64())
            .fetch_optional(Last(&mut tx))
            .await?;
        let Some(delivery) = claimed else {
            return Ok(None);
        };
        let org = delivery.organization_id;
        let tenant = self.db.worker_tenant(org);
        let subscription: Option<WebhookSubscription> = query_as(
            "SELECT * FROM webhook_subscriptions \
             WHERE organization_id = $1 AND id = $2 AND is_active",
        )
        .bind(org)
        .bind(delivery.subscription_id)
        .fetch_optional(&tenant)
        .await?;
        let Some(subscription) = subscription else {
            let dead: Option<WebhookDelivery> = query_as(
                "UPDATE webhook_delivery_logs SET status = 'dead', next_retry_at = NULL, \
                     last_error = 'subscription inactive' \
                 WHERE organization_id = $1 AND id = $2 AND status = 'pending' \
                   AND next_retry_at = $3 \
                 RETURNING *",
            )
            .bind(org)
            .bind(delivery.id)
            .bind(delivery.next_retry_at)
            .fetch_optional(&tenant)
            .await?;
            return Ok(Some(Claim::Dropped(dead.unwrap_or(delivery))));
        };
        let secret = sealing::open(
            self.db.keyring()?,
            org,
            TABLE,
            SECRET_COLUMN,
            subscription.encryption_key_id,
            subscription.secret_ciphertext,
        )?;
        Ok(Some(Claim::Deliver(ClaimedDelivery::signed(
            delivery,
            subscription.url,
            &secret,
        ))))
    }

    /// Records that the receiver accepted the delivery: it succeeded, and the
    /// subscription's count of consecutive failures starts again from 0.
    #[tracing::instrument(
        name = "webhook_worker.succeeded",
        skip_all,
        fields(worker = %self.name, delivery_id = %claimed.delivery.id)
    )]
    pub async fn succeeded(
        &self,
        claimed: &ClaimedDelivery,
        response_status: i32,
        duration: Duration,
    ) -> Result<Recorded> {
        let response_status = http_status(response_status)?;
        let delivery = &claimed.delivery;
        let recorded: Option<WebhookDelivery> = query_as(
            "WITH delivered AS ( \
                 UPDATE webhook_delivery_logs SET status = 'succeeded', response_status = $5, \
                     duration_ms = $6, last_error = NULL, next_retry_at = NULL, delivered_at = now() \
                 WHERE organization_id = $1 AND id = $2 AND status = 'pending' \
                   AND attempt = $3 AND next_retry_at = $4 \
                 RETURNING *), \
             reset AS ( \
                 UPDATE webhook_subscriptions SET failure_count = 0 \
                 WHERE organization_id = $1 AND id = (SELECT subscription_id FROM delivered) \
                   AND failure_count <> 0) \
             SELECT * FROM delivered",
        )
        .bind(delivery.organization_id)
        .bind(delivery.id)
        .bind(delivery.attempt)
        .bind(delivery.next_retry_at)
        .bind(response_status)
        .bind(milliseconds(duration))
        .fetch_optional(&self.db.worker_tenant(delivery.organization_id))
        .await?;
        Ok(recorded.map_or(Recorded::Stale, Recorded::Applied))
    }

    /// Records a failed attempt (`response_status` is `None` when no response came: a
    /// timeout, a refused connection). The delivery is retried after [`retry_delay`] until
    /// it has had [`MAX_ATTEMPTS`], then it is dead; the subscription counts the failure
    /// and is deactivated at [`DEACTIVATE_AFTER_FAILURES`] in a row.
    #[tracing::instrument(
        name = "webhook_worker.failed",
        skip_all,
        fields(worker = %self.name, delivery_id = %claimed.delivery.id)
    )]
    pub async fn failed(
        &self,
        claimed: &ClaimedDelivery,
        response_status: Option<i32>,
        error: &str,
        duration: Duration,
    ) -> Result<Recorded> {
        let response_status = response_status.map(http_status).transpose()?;
        let delivery = &claimed.delivery;
        let recorded: Option<WebhookDelivery> = query_as(
            "WITH failed AS ( \
                 UPDATE webhook_delivery_logs SET \
                     status = CASE WHEN attempt < $5 THEN 'pending' ELSE 'dead' END, \
                     next_retry_at = CASE WHEN attempt < $5 \
                                          THEN now() + make_interval(secs => $6) END, \
                     attempt = CASE WHEN attempt < $5 THEN attempt + 1 ELSE attempt END, \
                     response_status = $7, duration_ms = $8, last_error = $9 \
                 WHERE organization_id = $1 AND id = $2 AND status = 'pending' \
                   AND attempt = $3 AND next_retry_at = $4 \
                 RETURNING *), \
             counted AS ( \
                 UPDATE webhook_subscriptions SET failure_count = failure_count + 1, \
                     is_active = is_active AND failure_count + 1 < $10 \
                 WHERE organization_id = $1 AND id = (SELECT subscription_id FROM failed)) \
             SELECT * FROM failed",
        )
        .bind(delivery.organization_id)
        .bind(delivery.id)
        .bind(delivery.attempt)
        .bind(delivery.next_retry_at)
        .bind(MAX_ATTEMPTS)
        .bind(retry_delay(delivery.attempt).as_secs_f64())
        .bind(response_status)
        .bind(milliseconds(duration))
        .bind(truncated(error, ERROR_MAX_CHARS))
        .bind(DEACTIVATE_AFTER_FAILURES)
        .fetch_optional(&self.db.worker_tenant(delivery.organization_id))
        .await?;
        Ok(recorded.map_or(Recorded::Stale, Recorded::Applied))
    }
}

/// `duration` in whole milliseconds, as the log stores it.
fn milliseconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(retry_delay(1), Duration::from_secs(60));
        assert_eq!(retry_delay(2), Duration::from_secs(120));
        assert_eq!(retry_delay(4), Duration::from_secs(480));
        assert_eq!(retry_delay(MAX_ATTEMPTS - 1), Duration::from_secs(64 * 60));
        assert_eq!(retry_delay(40), RETRY_MAX);
        assert_eq!(retry_delay(0), RETRY_BASE);
    }

    #[test]
    fn durations_are_whole_milliseconds() {
        assert_eq!(milliseconds(Duration::from_micros(1500)), 1);
        assert_eq!(milliseconds(Duration::from_secs(u64::MAX)), i32::MAX);
    }
}
