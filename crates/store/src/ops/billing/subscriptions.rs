//! The organization's subscription: one trial per organization, started by the
//! application for at most [`MAX_TRIAL_DAYS`], linked to its Stripe customer, canceled; and
//! the upsert by Stripe subscription id that applies Stripe's own reports (the worker's
//! path) — statuses, plans and periods are Stripe's word, never the application's.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use super::{stripe_id, Billing};
use crate::db::{Conn, Last};
use crate::error::{entity, Error, Result};
use crate::models::{Subscription, SubscriptionStatus};
use crate::ops::audit::{self, Entry};
use crate::sql::{query_as, query_scalar};

/// When a cancellation takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelAt {
    /// At the end of the current period: the subscription stays live until then
    /// (`cancel_at_period_end`), as Stripe does it.
    PeriodEnd,
    /// Now: the status becomes `canceled`.
    Now,
}

/// The longest trial the application may start: a longer one would be a paid plan the
/// organization granted itself.
pub const MAX_TRIAL_DAYS: i64 = 30;

impl SubscriptionStatus {
    /// Whether a subscription in this status is live (at most one per organization).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired
        )
    }
}

/// A move the application may not make, as invalid input in `status`.
fn illegal(from: SubscriptionStatus, to: SubscriptionStatus) -> Error {
    Error::InvalidInput {
        field: "status".into(),
        rule: format!("a {from} subscription cannot become {to}").into(),
    }
}

/// The subscription `id`, locked for the change the caller makes in the same transaction.
async fn lock(tx: &mut Conn, organization_id: Uuid, id: Uuid) -> Result<Subscription> {
    query_as("SELECT * FROM subscriptions WHERE organization_id = $1 AND id = $2 FOR UPDATE")
        .bind(organization_id)
        .bind(id)
        .fetch_optional(tx)
        .await?
        .ok_or(Error::not_found(entity::SUBSCRIPTION))
}

impl Billing {
    /// Starts a trial of the plan `plan_code` (on sale) until `trial_ends_at`, in the
    /// future and at most [`MAX_TRIAL_DAYS`] away (invalid `trial_ends_at` otherwise). One
    /// trial per organization: after any earlier subscription, ended or not, it is
    /// forbidden; beside a live one it is a conflict on
    /// `uq_subscriptions_organization_id_live`.
    #[tracing::instrument(name = "billing.start_trial", skip_all, fields(plan_code))]
    pub async fn start_trial(
        &self,
        plan_code: &str,
        trial_ends_at: DateTime<Utc>,
    ) -> Result<Subscription> {
        tracing::Span::current().record("plan_code", plan_code);
        let now = Utc::now();
        if trial_ends_at <= now {
            return Err(Error::invalid("trial_ends_at", "must be in the future"));
        }
        if trial_ends_at > now + Duration::days(MAX_TRIAL_DAYS) {
            return Err(Error::InvalidInput {
                field: "trial_ends_at".into(),
                rule: format!("must be at most {MAX_TRIAL_DAYS} days away").into(),
            });
        }
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                // An ended subscription blocks the insert; a live one makes it fail on the
                // unique index, a conflict as before.
                let started: Option<Subscription> = query_as(
                    "INSERT INTO subscriptions (organization_id, plan_id, status, trial_ends_at) \
                     SELECT $1, p.id, 'trialing', $3 FROM plans AS p \
                     WHERE p.code = $2 AND p.is_active \
                       AND NOT EXISTS (SELECT 1 FROM subscriptions \
                                       WHERE organization_id = $1 \
                                         AND status IN ('canceled', 'incomplete_expired')) \
                     RETURNING *",
                )
                .bind(org)
                .bind(plan_code)
                .bind(trial_ends_at)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(started) = started else {
                    // Only the refusal pays for telling its two reasons apart.
                    let had_one: bool = query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE organization_id = $1)",
                    )
                    .bind(org)
                    .fetch_one(&mut **tx)
                    .await?;
                    return Err(if had_one {
                        Error::forbidden(
                            "the organization has had its trial (one per organization)",
                        )
                    } else {
                        Error::not_found(entity::PLAN)
                    });
                };
                audit::record(
                    tx,
                    org,
                    Entry::new("subscription.started", "subscription", started.id).with_changes(
                        json!({"plan_id": started.plan_id, "status": started.status.as_str(),
                               "trial_ends_at": started.trial_ends_at}),
                    ),
                );
                Ok(started)
            })
            .await
    }

    /// The live subscription (every status but `canceled` and `incomplete_expired`).
    #[tracing::instrument(name = "billing.current", skip_all)]
    pub async fn current(&self) -> Result<Subscription> {
        query_as(
            "SELECT * FROM subscriptions WHERE organization_id = $1 \
             AND status NOT IN ('canceled', 'incomplete_expired')",
        )
        .bind(self.tenant.organization_id())
        .fetch_optional(&self.tenant)
        .await?
        .ok_or(Error::not_found(entity::SUBSCRIPTION))
    }

    /// A subscription, live or not.
    #[tracing::instrument(name = "billing.subscription", skip_all, fields(%id))]
    pub async fn subscription(&self, id: Uuid) -> Result<Subscription> {
        self.tenant
            .row_by_id(
                "SELECT * FROM subscriptions WHERE organization_id = $1 AND id = $2",
                id,
                entity::SUBSCRIPTION,
            )
            .await
    }

    /// Links the live subscription to the Stripe customer `customer_id` (`cus_…`) and
    /// routes that customer's webhooks to this organization, in one transaction. A customer
    /// routed to another organization is a conflict on `pk_provider_routes`; a subscription
    /// already linked to another customer is forbidden. Linking again is a no-op.
    #[tracing::instrument(name = "billing.link_customer", skip_all)]
    pub async fn link_customer(&self, customer_id: &str) -> Result<Subscription> {
        let customer_id = stripe_id("stripe_customer_id", "cus_", customer_id)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let live: Subscription = query_as(
                    "SELECT * FROM subscriptions WHERE organization_id = $1 \
                     AND status NOT IN ('canceled', 'incomplete_expired') FOR UPDATE",
                )
                .bind(org)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::SUBSCRIPTION))?;
                match live.stripe_customer_id.as_deref() {
                    Some(linked) if linked == customer_id => return Ok(live),
                    Some(_) => {
                        return Err(Error::forbidden(
                            "the subscription is linked to another Stripe customer",
                        ))
                    }
                    None => {}
                }
                audit::record(
                    tx,
                    org,
                    Entry::new("subscription.customer_linked", "subscription", live.id)
                        .with_changes(json!({"stripe_customer_id": {"old": null, "new": customer_id}})),
                );
                // The route is checked among this organization's own (all it may see): one
                // of another organization makes the INSERT fail on the primary key.
                query_as(
                    "WITH linked AS ( \
                         UPDATE subscriptions SET stripe_customer_id = $3 \
                         WHERE organization_id = $1 AND id = $2 RETURNING *), \
                     routed AS ( \
                         INSERT INTO provider_routes (provider, external_account_id, organization_id) \
                         SELECT 'stripe', $3, $1 \
                         WHERE NOT EXISTS (SELECT 1 FROM provider_routes \
                                           WHERE provider = 'stripe' AND external_account_id = $3 \
                                             AND organization_id = $1)) \
                     SELECT * FROM linked",
                )
                .bind(org)
                .bind(live.id)
                .bind(&customer_id)
                .fetch_one(Last(tx))
                .await
            })
            .await
    }

    /// Cancels the subscription `id` at the end of its period or now. Canceling one that is
    /// no longer live is [`Error::InvalidInput`] in `status`.
    #[tracing::instrument(name = "billing.cancel", skip_all, fields(%id, ?at))]
    pub async fn cancel(&self, id: Uuid, at: CancelAt) -> Result<Subscription> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let current = lock(tx, org, id).await?;
                if !current.status.is_live() {
                    return Err(illegal(current.status, SubscriptionStatus::Canceled));
                }
                audit::record(
                    tx,
                    org,
                    Entry::new("subscription.canceled", "subscription", id)
                        .with_changes(json!({"at_period_end": at == CancelAt::PeriodEnd,
                               "status": {"old": current.status.as_str()}})),
                );
                query_as(
                    "UPDATE subscriptions SET \
                         cancel_at_period_end = $3, \
                         status = CASE WHEN $3 THEN status ELSE 'canceled' END, \
                         canceled_at = CASE WHEN $3 THEN canceled_at ELSE now() END \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(at == CancelAt::PeriodEnd)
                .fetch_one(Last(tx))
                .await
            })
            .await
    }
}

/// A subscription as a Stripe webhook reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StripeSubscription {
    pub stripe_subscription_id: String,
    pub stripe_customer_id: String,
    pub status: SubscriptionStatus,
    /// The price of its first item, which names the plan (`plans.stripe_price_id`).
    pub stripe_price_id: String,
    pub current_period_start: Option<DateTime<Utc>>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub trial_ends_at: Option<DateTime<Utc>>,
    pub canceled_at: Option<DateTime<Utc>>,
}

/// Applies Stripe's report of a subscription, made by an event Stripe created at
/// `event_created`, in the organization entered on `tx`: updates the row of that Stripe id
/// — or the live row the application started that has none yet — or inserts it; only a row
/// linked to the reported customer is ever adopted or updated (the caller has checked the
/// organization linked it). `None`, writing nothing, when the row holds what a newer event
/// reported (`stripe_event_created_at` after `event_created`: Stripe delivers out of
/// order). An unknown price is "plan not found"; a second live subscription is a conflict
/// on `uq_subscriptions_organization_id_live`. Appends `subscription.synced` to the audit
/// log when it writes.
pub(crate) async fn sync(
    tx: &mut Conn,
    organization_id: Uuid,
    reported: &StripeSubscription,
    event_created: DateTime<Utc>,
) -> Result<Option<Subscription>> {
    let synced: Option<Subscription> = query_as(
        "WITH plan AS (SELECT id FROM plans WHERE stripe_price_id = $3), \
         target AS ( \
             SELECT id FROM subscriptions \
             WHERE organization_id = $1 AND stripe_customer_id = $4 \
               AND (stripe_subscription_id = $2 \
                    OR (stripe_subscription_id IS NULL \
                        AND status NOT IN ('canceled', 'incomplete_expired'))) \
             ORDER BY stripe_subscription_id NULLS LAST LIMIT 1 FOR UPDATE), \
         updated AS ( \
             UPDATE subscriptions AS s SET plan_id = plan.id, stripe_customer_id = $4, \
                 stripe_subscription_id = $2, status = $5, current_period_start = $6, \
                 current_period_end = $7, cancel_at_period_end = $8, trial_ends_at = $9, \
                 canceled_at = $10, stripe_event_created_at = $11 \
             FROM target, plan \
             WHERE s.organization_id = $1 AND s.id = target.id \
               AND (s.stripe_event_created_at IS NULL OR s.stripe_event_created_at <= $11) \
             RETURNING s.*), \
         inserted AS ( \
             INSERT INTO subscriptions (organization_id, plan_id, stripe_customer_id, \
                 stripe_subscription_id, status, current_period_start, current_period_end, \
                 cancel_at_period_end, trial_ends_at, canceled_at, stripe_event_created_at) \
             SELECT $1, plan.id, $4, $2, $5, $6, $7, $8, $9, $10, $11 FROM plan \
             WHERE NOT EXISTS (SELECT 1 FROM target) \
             RETURNING *) \
         SELECT * FROM updated UNION ALL SELECT * FROM inserted",
    )
    .bind(organization_id)
    .bind(&reported.stripe_subscription_id)
    .bind(&reported.stripe_price_id)
    .bind(&reported.stripe_customer_id)
    .bind(reported.status)
    .bind(reported.current_period_start)
    .bind(reported.current_period_end)
    .bind(reported.cancel_at_period_end)
    .bind(reported.trial_ends_at)
    .bind(reported.canceled_at)
    .bind(event_created)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(synced) = synced else {
        // Nothing written: a newer event's state (the row is locked by the statement above)
        // or an unknown price. Only this rare path pays for telling them apart.
        let newer_applied: bool = query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subscriptions \
                            WHERE organization_id = $1 AND stripe_customer_id = $2 \
                              AND stripe_subscription_id = $3 \
                              AND stripe_event_created_at > $4)",
        )
        .bind(organization_id)
        .bind(&reported.stripe_customer_id)
        .bind(&reported.stripe_subscription_id)
        .bind(event_created)
        .fetch_one(&mut *tx)
        .await?;
        return if newer_applied {
            Ok(None)
        } else {
            Err(Error::not_found(entity::PLAN))
        };
    };
    audit::record(
        tx,
        organization_id,
        Entry::new("subscription.synced", "subscription", synced.id).with_changes(json!({
            "stripe_subscription_id": reported.stripe_subscription_id,
            "status": synced.status.as_str(),
            "plan_id": synced.plan_id,
            "cancel_at_period_end": synced.cancel_at_period_end,
        })),
    );
    Ok(Some(synced))
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubscriptionStatus::*;

    #[test]
    fn only_canceled_and_incomplete_expired_are_not_live() {
        for &status in SubscriptionStatus::ALL {
            assert_eq!(
                status.is_live(),
                !matches!(status, Canceled | IncompleteExpired),
                "{status}"
            );
        }
    }
}
