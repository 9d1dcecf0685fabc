//! Stripe webhook events: the web receiver stores each once by its Stripe id (a retried
//! delivery is a no-op that says so); workers claim them oldest first, in order per
//! subscription, route each to its organization by the Stripe customer and apply it there,
//! in the transaction that holds the claim.
//!
//! An event is applied only where it belongs: its customer must be routed to the
//! organization (only billing's `link_customer` routes Stripe customers) and linked to one
//! of its subscriptions, and a `metadata.organization_id` on the object, when present, must
//! name that organization; otherwise the event fails and nothing of it is written.
//!
//! Stripe does not guarantee delivery order. The claim order (Stripe's `created` second)
//! keeps a subscription's events in order when they are all stored before the first is
//! applied; an older event that arrives after a newer one was applied is guarded by the
//! row itself: each subscription and invoice keeps the `created` time of the last event
//! applied to it (`stripe_event_created_at`, migration 0016), and an event created before
//! that is not applied — it is marked processed, reported [`Outcome::Stale`] and leaves no
//! audit entry. Events of the same second are applied in claim order.

use chrono::{DateTime, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use super::invoices::{self, StripeInvoice};
use super::stripe_id;
use super::subscriptions::{self, StripeSubscription};
use crate::db::{Conn, Db, Last, WORKER_ROLE};
use crate::error::{entity, Error, Result};
use crate::models::{InvoiceStatus, SubscriptionStatus};
use crate::sql::{query, query_as, query_scalar, row_struct};

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The event is new and stored for the workers.
    Stored,
    /// An event of that Stripe id was stored before (a retried delivery): nothing changed.
    Duplicate,
}

/// The Stripe webhook receiver's side: storing events, as the application login, before
/// any organization is known.
#[derive(Debug, Clone)]
pub struct StripeEvents {
    db: Db,
}

/// A worker that applies stored Stripe events of every organization (see
/// [`StripeWorker::process_next`]). Its database must be connected as the worker login:
/// only `crm_worker` reads and marks the events.
#[derive(Debug, Clone)]
pub struct StripeWorker {
    db: Db,
    name: String,
}

impl Db {
    /// Stripe webhook events, as the receiver stores them.
    pub fn stripe_events(&self) -> StripeEvents {
        StripeEvents { db: self.clone() }
    }

    /// A worker named `name` (in its logs) that applies Stripe webhook events.
    pub fn stripe_worker(&self, name: impl Into<String>) -> StripeWorker {
        StripeWorker {
            db: self.clone(),
            name: name.into(),
        }
    }
}

/// A Stripe event type: dotted lower-case words and underscores, at least two
/// (`invoice.paid`), as `ck_stripe_webhook_events_type` requires.
fn event_type(value: &str) -> Result<String> {
    let valid = value.split('.').count() >= 2
        && value.split('.').all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        });
    if !valid {
        return Err(Error::invalid(
            "type",
            "must be a Stripe event type (dotted lower-case words, e.g. invoice.paid)",
        ));
    }
    Ok(value.to_owned())
}

impl StripeEvents {
    /// Stores the event `stripe_event_id` (`evt_…`) of `event_type` with its whole
    /// `payload` (a JSON object), once: [`Recorded::Duplicate`] when it was stored before.
    #[tracing::instrument(name = "stripe_events.record", skip_all, fields(stripe_event_id, event_type = event_type_name))]
    pub async fn record(
        &self,
        stripe_event_id: &str,
        event_type_name: &str,
        payload: &JsonValue,
    ) -> Result<Recorded> {
        let stripe_event_id = stripe_id("stripe_event_id", "evt_", stripe_event_id)?;
        tracing::Span::current().record("stripe_event_id", stripe_event_id.as_str());
        let event_type_name = event_type(event_type_name)?;
        if !payload.is_object() {
            return Err(Error::invalid("payload", "must be a JSON object"));
        }
        let mut tx = self.db.begin_global(None).await?;
        // The application may insert events but not read them (no RETURNING, no inference
        // of a conflict target, which would need SELECT): the row count tells a duplicate.
        let stored = query(
            "INSERT INTO stripe_webhook_events (stripe_event_id, type, payload) \
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(stripe_event_id)
        .bind(event_type_name)
        .bind(payload)
        .execute(Last(&mut tx))
        .await?
        .rows_affected();
        Ok(if stored == 1 {
            Recorded::Stored
        } else {
            Recorded::Duplicate
        })
    }
}

/// What processing one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied in `organization_id` and marked processed.
    Applied {
        stripe_event_id: String,
        event_type: String,
        organization_id: Uuid,
    },
    /// Of a type the CRM does not mirror: marked processed, nothing else.
    Ignored {
        stripe_event_id: String,
        event_type: String,
    },
    /// Older (by Stripe's `created`) than the event last applied to its subscription or
    /// invoice in `organization_id`, which arrived first: marked processed, nothing else
    /// written (no audit entry), so the newer state stays.
    Stale {
        stripe_event_id: String,
        event_type: String,
        organization_id: Uuid,
    },
    /// Could not be applied (unknown or unlinked customer, another organization's
    /// metadata, unknown price, a payload that does not parse, a value the database
    /// refuses, …): nothing of it was applied; `error` is now its `processing_error`, and
    /// it waits — holding back the later events of its subscription — until
    /// [`StripeWorker::retry`].
    Failed {
        stripe_event_id: String,
        event_type: String,
        error: String,
    },
}

row_struct! {
    struct Claimed {
        id: Uuid,
        stripe_event_id: String,
        r#type: String,
        payload: JsonValue,
        received_at: DateTime<Utc>,
    }
}

/// What applying a claimed event did in its organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// The row now holds what the event reported.
    Written(Uuid),
    /// The row holds what a newer event reported; nothing written.
    Stale(Uuid),
}

/// The oldest event due — by the `created` time Stripe gave it, subscription events before
/// others of the same second (Stripe's times are whole seconds, and an invoice's
/// subscription should be known before the invoice), then its arrival — locked, skipping
/// events other workers hold and every event whose subscription (the object's own id for a
/// subscription, its `subscription` for an invoice) has an older unprocessed one: a
/// subscription's events are applied one at a time, in order, however many workers run,
/// and a failed one holds back the rest of its subscription until it is retried. Events of
/// no subscription are never held back. The failed ones (`processing_error`) wait for a
/// retry.
///
/// The order key (created, rank, subscription) is written twice, for `e` in the LATERAL
/// and for each `o` in NOT EXISTS: sharing it needs a SQL function (a migration) or a CTE
/// over the unprocessed events, which would take the `processed_at`/`processing_error`
/// tests off the locked row, where `FOR UPDATE` re-checks them when another worker has
/// just processed it. Keep the two copies identical.
const CLAIM: &str = "\
SELECT e.id, e.stripe_event_id, e.type, e.payload, e.received_at \
FROM stripe_webhook_events AS e \
CROSS JOIN LATERAL ( \
    SELECT coalesce(CASE WHEN jsonb_typeof(e.payload -> 'created') = 'number' \
                         THEN (e.payload ->> 'created')::numeric END, \
                    extract(epoch FROM e.received_at)) AS created, \
           CASE WHEN e.type LIKE 'customer.subscription.%' THEN 0 ELSE 1 END AS rank, \
           CASE WHEN e.payload #>> '{data,object,object}' = 'subscription' \
                THEN e.payload #>> '{data,object,id}' \
                ELSE coalesce(e.payload #>> '{data,object,subscription}', \
                              e.payload #>> '{data,object,parent,subscription_details,subscription}') \
           END AS subscription) AS k \
WHERE e.processed_at IS NULL AND e.processing_error IS NULL \
  AND NOT EXISTS ( \
      SELECT 1 FROM stripe_webhook_events AS o \
      WHERE o.processed_at IS NULL AND o.id <> e.id \
        AND CASE WHEN o.payload #>> '{data,object,object}' = 'subscription' \
                 THEN o.payload #>> '{data,object,id}' \
                 ELSE coalesce(o.payload #>> '{data,object,subscription}', \
                               o.payload #>> '{data,object,parent,subscription_details,subscription}') \
            END = k.subscription \
        AND (coalesce(CASE WHEN jsonb_typeof(o.payload -> 'created') = 'number' \
                           THEN (o.payload ->> 'created')::numeric END, \
                      extract(epoch FROM o.received_at)), \
             CASE WHEN o.type LIKE 'customer.subscription.%' THEN 0 ELSE 1 END, \
             o.received_at, o.id) \
            < (k.created, k.rank, e.received_at, e.id)) \
ORDER BY k.created, k.rank, e.received_at, e.id \
LIMIT 1 \
FOR UPDATE OF e SKIP LOCKED";

/// The event types the CRM mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Subscription,
    Invoice,
}

impl Kind {
    fn of(event_type: &str) -> Option<Kind> {
        match event_type {
            "customer.subscription.created"
            | "customer.subscription.updated"
            | "customer.subscription.deleted" => Some(Kind::Subscription),
            // An upcoming invoice is a preview, with no id of its own.
            "invoice.upcoming" => None,
            other if other.starts_with("invoice.") => Some(Kind::Invoice),
            _ => None,
        }
    }
}

impl StripeWorker {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Claims the next event due (see the order above) and applies it: a subscription
    /// event upserts the subscription by its Stripe id, an invoice event the invoice; the
    /// organization is the one the event's customer is routed to, entered in the same
    /// transaction, which also marks the event processed. `None` when no event is due.
    /// An event that cannot be applied — the database refusing it included, since it would
    /// refuse it again — is rolled back and marked with its error ([`Outcome::Failed`]);
    /// only a transient failure (see [`transient`]) is an `Err`, and the event stays due.
    #[tracing::instrument(name = "stripe_worker.process_next", skip_all, fields(worker = %self.name, stripe_event_id))]
    pub async fn process_next(&self) -> Result<Option<Outcome>> {
        let mut tx = self.db.begin_entered(WORKER_ROLE, None, None).await?;
        let Some(event) = query_as::<Claimed>(CLAIM).fetch_optional(&mut tx).await? else {
            return Ok(None);
        };
        tracing::Span::current().record("stripe_event_id", event.stripe_event_id.as_str());
        let stripe_event_id = event.stripe_event_id.clone();
        let event_type = event.r#type.clone();
        let Some(kind) = Kind::of(&event.r#type) else {
            query("UPDATE stripe_webhook_events SET processed_at = now() WHERE id = $1")
                .bind(event.id)
                .execute(Last(&mut tx))
                .await?;
            return Ok(Some(Outcome::Ignored {
                stripe_event_id,
                event_type,
            }));
        };
        // The deferred writes (audit, processed_at) go out with the COMMIT: an error there
        // is the event's as much as one while applying it.
        let error = match apply(&mut tx, &event, kind).await {
            Ok(applied) => match tx.commit().await {
                Ok(()) => {
                    return Ok(Some(match applied {
                        Applied::Written(organization_id) => Outcome::Applied {
                            stripe_event_id,
                            event_type,
                            organization_id,
                        },
                        Applied::Stale(organization_id) => {
                            tracing::info!(%stripe_event_id, "a Stripe event older than the one applied was not applied");
                            Outcome::Stale {
                                stripe_event_id,
                                event_type,
                                organization_id,
                            }
                        }
                    }))
                }
                Err(error) => error,
            },
            Err(error) if transient(&error) => return Err(error),
            Err(error) => {
                tx.rollback().await?;
                error
            }
        };
        if transient(&error) {
            return Err(error);
        }
        let error = error.to_string();
        let mut tx = self.db.begin_entered(WORKER_ROLE, None, None).await?;
        query(
            "UPDATE stripe_webhook_events SET processing_error = $2 \
             WHERE id = $1 AND processed_at IS NULL",
        )
        .bind(event.id)
        .bind(&error)
        .execute(Last(&mut tx))
        .await?;
        tracing::warn!(%stripe_event_id, %error, "a Stripe event could not be applied");
        Ok(Some(Outcome::Failed {
            stripe_event_id,
            event_type,
            error,
        }))
    }

    /// Clears the error of the failed event `stripe_event_id`, so that it is claimed again
    /// (after, say, its customer was linked); "failed stripe event not found" when no
    /// unprocessed event of that id has an error.
    #[tracing::instrument(name = "stripe_worker.retry", skip_all, fields(stripe_event_id))]
    pub async fn retry(&self, stripe_event_id: &str) -> Result<()> {
        let stripe_event_id = stripe_id("stripe_event_id", "evt_", stripe_event_id)?;
        tracing::Span::current().record("stripe_event_id", stripe_event_id.as_str());
        let mut tx = self.db.begin_entered(WORKER_ROLE, None, None).await?;
        let cleared = query(
            "UPDATE stripe_webhook_events SET processing_error = NULL \
             WHERE stripe_event_id = $1 AND processed_at IS NULL AND processing_error IS NOT NULL",
        )
        .bind(stripe_event_id)
        .execute(Last(&mut tx))
        .await?
        .rows_affected();
        if cleared == 0 {
            return Err(Error::not_found(entity::FAILED_STRIPE_EVENT));
        }
        Ok(())
    }
}

/// Whether `error` may go away by itself, so that the event should stay due rather than
/// fail: no connection from the pool, a connection lost or broken (no SQLSTATE, and the
/// driver saying closed or an I/O error), or a server state that passes (connection
/// exceptions `08`, serialization failures and deadlocks `40`, insufficient resources
/// `53`, a shutting-down server `57P`). Anything else — a value out of range, a refused
/// parameter — would fail the same way again.
fn transient(error: &Error) -> bool {
    match error {
        Error::Pool(_) => true,
        Error::Database(error) => match error.code() {
            Some(code) => {
                let code = code.code();
                ["08", "40", "53", "57P"]
                    .iter()
                    .any(|class| code.starts_with(class))
            }
            None => {
                error.is_closed()
                    || std::error::Error::source(error)
                        .is_some_and(|source| source.is::<std::io::Error>())
            }
        },
        _ => false,
    }
}

/// Applies the claimed `event` on `tx` and marks it processed (deferred to the commit);
/// says in which organization, and whether a newer event's state kept it from writing.
/// Refuses, before writing anything, an event whose customer the routed organization has
/// not linked, or whose `metadata.organization_id` names another organization.
async fn apply(tx: &mut Conn, event: &Claimed, kind: Kind) -> Result<Applied> {
    let created = event_created(event)?;
    let object = event
        .payload
        .pointer("/data/object")
        .filter(|object| object.is_object())
        .ok_or_else(|| malformed("data.object", "must be an object"))?;
    let customer = id_in(object, "customer")?
        .ok_or_else(|| malformed("data.object.customer", "is missing"))?;
    let customer = stripe_id("stripe_customer_id", "cus_", customer)?;
    let organization_id: Uuid =
        query_scalar("SELECT organization_id FROM route_inbound('stripe', $1)")
            .bind(&customer)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::not_found(entity::STRIPE_CUSTOMER))?;
    if let Some(named) = metadata_organization(object)? {
        if named != organization_id {
            return Err(Error::Forbidden {
                why: format!(
                    "the event's metadata.organization_id {named} is not organization \
                     {organization_id}, to which its customer {customer} is routed"
                )
                .into(),
            });
        }
    }
    tx.enter_organization(organization_id);
    // A route alone does not prove the customer is the organization's: only a subscription
    // linked to it by link_customer does (and routes made before Stripe was refused in
    // provider_routes might not be).
    let linked: bool = query_scalar(
        "SELECT EXISTS (SELECT 1 FROM subscriptions \
                        WHERE organization_id = $1 AND stripe_customer_id = $2)",
    )
    .bind(organization_id)
    .bind(&customer)
    .fetch_one(&mut *tx)
    .await?;
    if !linked {
        return Err(Error::Forbidden {
            why: format!(
                "organization {organization_id} has no subscription linked to Stripe customer \
                 {customer} (billing's link_customer links one)"
            )
            .into(),
        });
    }
    let written = match kind {
        Kind::Subscription => {
            subscriptions::sync(tx, organization_id, &subscription_of(object)?, created)
                .await?
                .is_some()
        }
        Kind::Invoice => invoices::upsert(tx, organization_id, &invoice_of(object)?, created)
            .await?
            .is_some(),
    };
    tx.defer(
        query("UPDATE stripe_webhook_events SET processed_at = now() WHERE id = $1")
            .bind(event.id)
            .into_statement(),
    );
    Ok(if written {
        Applied::Written(organization_id)
    } else {
        Applied::Stale(organization_id)
    })
}

/// When Stripe created the event: its `created` Unix time, or its arrival when it has none
/// (as the claim orders it).
fn event_created(event: &Claimed) -> Result<DateTime<Utc>> {
    match event.payload.get("created") {
        None | Some(JsonValue::Null) => Ok(event.received_at),
        Some(value) => value
            .as_i64()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .ok_or_else(|| malformed("created", "must be a Unix time")),
    }
}

/// The organization the object's `metadata.organization_id` names, when it names one
/// (the checkout puts it there); text that is not an id is malformed.
fn metadata_organization(object: &JsonValue) -> Result<Option<Uuid>> {
    match object.pointer("/metadata/organization_id") {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(id)) if id.is_empty() => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
            .map(Some)
            .ok_or_else(|| malformed("data.object.metadata.organization_id", "must be a uuid")),
    }
}

/// A payload that does not say what the CRM needs, as invalid input in `payload`.
fn malformed(path: &str, rule: &str) -> Error {
    Error::InvalidInput {
        field: "payload".into(),
        rule: format!("{path} {rule}").into(),
    }
}

/// The id in `field` of a Stripe object: a string, or an expanded object's `id`; `None`
/// when absent or null.
fn id_in<'a>(object: &'a JsonValue, field: &str) -> Result<Option<&'a str>> {
    match object.get(field) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(JsonValue::String(id)) => Ok(Some(id)),
        Some(expanded) => match expanded.get("id").and_then(JsonValue::as_str) {
            Some(id) => Ok(Some(id)),
            None => Err(malformed(
                &format!("data.object.{field}"),
                "must be an id or an object with one",
            )),
        },
    }
}

/// The text at `pointer` in `object`.
fn text<'a>(object: &'a JsonValue, pointer: &str) -> Result<&'a str> {
    object
        .pointer(pointer)
        .and_then(JsonValue::as_str)
        .ok_or_else(|| {
            malformed(
                &format!("data.object{}", pointer.replace('/', ".")),
                "must be text",
            )
        })
}

/// The Unix time at `pointer` in `object`, `None` when absent or null.
fn time(object: &JsonValue, pointer: &str) -> Result<Option<DateTime<Utc>>> {
    match object.pointer(pointer) {
        None | Some(JsonValue::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .map(Some)
            .ok_or_else(|| {
                malformed(
                    &format!("data.object{}", pointer.replace('/', ".")),
                    "must be a Unix time",
                )
            }),
    }
}

/// The first time found at `pointers`, in order.
fn first_time(object: &JsonValue, pointers: &[&str]) -> Result<Option<DateTime<Utc>>> {
    for pointer in pointers {
        if let Some(time) = time(object, pointer)? {
            return Ok(Some(time));
        }
    }
    Ok(None)
}

/// The amount in cents at `field`, not negative.
fn cents(object: &JsonValue, field: &str) -> Result<i64> {
    match object.get(field) {
        None | Some(JsonValue::Null) => Ok(0),
        Some(value) => value.as_i64().filter(|cents| *cents >= 0).ok_or_else(|| {
            malformed(
                &format!("data.object.{field}"),
                "must be whole cents, not negative",
            )
        }),
    }
}

/// A Stripe Subscription object. Newer API versions report the period on the items, older
/// ones on the subscription: both are read.
fn subscription_of(object: &JsonValue) -> Result<StripeSubscription> {
    let customer = id_in(object, "customer")?.unwrap_or_default();
    let status = text(object, "/status")?;
    Ok(StripeSubscription {
        stripe_subscription_id: stripe_id("stripe_subscription_id", "sub_", text(object, "/id")?)?,
        stripe_customer_id: stripe_id("stripe_customer_id", "cus_", customer)?,
        status: status
            .parse::<SubscriptionStatus>()
            .map_err(|_| malformed("data.object.status", "is not a subscription status"))?,
        stripe_price_id: text(object, "/items/data/0/price/id")?.to_owned(),
        current_period_start: first_time(
            object,
            &[
                "/current_period_start",
                "/items/data/0/current_period_start",
            ],
        )?,
        current_period_end: first_time(
            object,
            &["/current_period_end", "/items/data/0/current_period_end"],
        )?,
        cancel_at_period_end: object
            .get("cancel_at_period_end")
            .and_then(JsonValue::as_bool)
            .unwrap_or(false),
        trial_ends_at: time(object, "/trial_end")?,
        canceled_at: time(object, "/canceled_at")?,
    })
}

/// A Stripe Invoice object. Its subscription is `subscription` in older API versions and
/// `parent.subscription_details.subscription` in newer ones; Stripe's currency is lower
/// case.
fn invoice_of(object: &JsonValue) -> Result<StripeInvoice> {
    let subscription = match id_in(object, "subscription")? {
        Some(id) => Some(id),
        None => object
            .pointer("/parent/subscription_details/subscription")
            .and_then(JsonValue::as_str),
    };
    let status = text(object, "/status")?;
    Ok(StripeInvoice {
        stripe_invoice_id: text(object, "/id")?.to_owned(),
        stripe_subscription_id: subscription.map(str::to_owned),
        amount_due_cents: cents(object, "amount_due")?,
        amount_paid_cents: cents(object, "amount_paid")?,
        currency: object
            .get("currency")
            .and_then(JsonValue::as_str)
            .map(str::to_ascii_uppercase),
        status: status
            .parse::<InvoiceStatus>()
            .map_err(|_| malformed("data.object.status", "is not an invoice status"))?,
        hosted_invoice_url: object
            .get("hosted_invoice_url")
            .and_then(JsonValue::as_str)
            .map(str::to_owned),
        issued_at: first_time(object, &["/status_transitions/finalized_at", "/created"])?,
        paid_at: time(object, "/status_transitions/paid_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_types_are_dotted_lower_case_words() {
        assert!(event_type("invoice.paid").is_ok());
        assert!(event_type("customer.subscription.updated").is_ok());
        for refused in ["invoice", "Invoice.paid", "invoice..paid", "invoice.paid2"] {
            assert!(event_type(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn only_subscription_and_invoice_events_are_applied() {
        assert_eq!(
            Kind::of("customer.subscription.deleted"),
            Some(Kind::Subscription)
        );
        assert_eq!(Kind::of("invoice.paid"), Some(Kind::Invoice));
        assert_eq!(Kind::of("invoice.upcoming"), None);
        assert_eq!(Kind::of("invoiceitem.created"), None);
        assert_eq!(Kind::of("charge.succeeded"), None);
    }

    #[test]
    fn a_subscription_object_is_read_with_its_period_on_the_items() {
        let object = json!({
            "id": "sub_1", "object": "subscription", "customer": {"id": "cus_1"},
            "status": "past_due", "cancel_at_period_end": true, "trial_end": null,
            "items": {"data": [{"price": {"id": "price_x"},
                                "current_period_start": 100, "current_period_end": 200}]}
        });
        let reported = subscription_of(&object).unwrap();
        assert_eq!(reported.stripe_customer_id, "cus_1");
        assert_eq!(reported.status, SubscriptionStatus::PastDue);
        assert_eq!(reported.stripe_price_id, "price_x");
        assert_eq!(
            reported.current_period_end,
            DateTime::from_timestamp(200, 0)
        );
        assert!(reported.cancel_at_period_end && reported.trial_ends_at.is_none());
        assert!(subscription_of(&json!({"id": "sub_1", "status": "weird"})).is_err());
    }

    #[test]
    fn an_invoice_object_is_read_with_its_currency_upper_cased() {
        let object = json!({
            "id": "in_1", "object": "invoice", "customer": "cus_1",
            "parent": {"subscription_details": {"subscription": "sub_9"}},
            "amount_due": 9900, "amount_paid": 9900, "currency": "brl", "status": "paid",
            "created": 50, "status_transitions": {"paid_at": 60}
        });
        let invoice = invoice_of(&object).unwrap();
        assert_eq!(invoice.stripe_subscription_id.as_deref(), Some("sub_9"));
        assert_eq!(invoice.currency.as_deref(), Some("BRL"));
        assert_eq!(invoice.issued_at, DateTime::from_timestamp(50, 0));
        assert_eq!(invoice.paid_at, DateTime::from_timestamp(60, 0));
        assert!(invoice_of(&json!({"id": "in_1", "status": "paid", "amount_due": -1})).is_err());
    }
}
