//! Billing: the plan catalogue, the subscription's lifecycle and its transition rules, plan
//! limits, invoices upserted by Stripe id, and Stripe webhook events — stored once as the
//! application login, applied by workers (the worker login) in order per subscription, an
//! unroutable one failing alone — and the isolation of one organization's billing from
//! another's.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use crmdb_store::models::{InvoiceStatus, RouteProvider, SubscriptionStatus};
use crmdb_store::ops::audit::AuditFilter;
use crmdb_store::ops::billing::{
    CancelAt, Limit, Outcome, Quota, Recorded, StripeWorker, MAX_TRIAL_DAYS,
};
use crmdb_store::ops::leads::NewLead;
use crmdb_store::{sql, Tenant};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    assert_conflict, assert_forbidden, assert_invalid, assert_not_found, fixture, Fixture,
};

/// The fixture with the plan catalogue seeded (as the migrating login, as `crmdb seed`
/// does).
async fn billing_fixture() -> Fixture {
    let f = fixture().await;
    crmdb_seed::seed_globals(&mut f.test_db.connect().await)
        .await
        .unwrap();
    f
}

fn in_a_month() -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::days(30)
}

/// A `customer.subscription.*` event as Stripe sends it.
fn subscription_event(
    event_id: &str,
    event_type: &str,
    subscription: &str,
    customer: &str,
    status: &str,
    price: &str,
    created: i64,
) -> Value {
    json!({
        "id": event_id, "object": "event", "type": event_type, "created": created,
        "data": {"object": {
            "id": subscription, "object": "subscription", "customer": customer,
            "status": status, "cancel_at_period_end": false, "trial_end": null,
            "canceled_at": if status == "canceled" { json!(created) } else { Value::Null },
            "items": {"data": [{
                "price": {"id": price},
                "current_period_start": created,
                "current_period_end": created + 2_592_000
            }]}
        }}
    })
}

/// An `invoice.*` event as Stripe sends it.
fn invoice_event(
    event_id: &str,
    event_type: &str,
    invoice: &str,
    subscription: &str,
    customer: &str,
    status: &str,
    created: i64,
) -> Value {
    json!({
        "id": event_id, "object": "event", "type": event_type, "created": created,
        "data": {"object": {
            "id": invoice, "object": "invoice", "customer": customer,
            "subscription": subscription, "amount_due": 9900,
            "amount_paid": if status == "paid" { 9900 } else { 0 },
            "currency": "brl", "status": status, "created": created,
            "hosted_invoice_url": "https://invoice.stripe.com/i/x",
            "status_transitions": {"finalized_at": created, "paid_at": null}
        }}
    })
}

/// The billing actions of the organization's audit log, oldest first.
async fn audited(tenant: &Tenant) -> Vec<String> {
    let page = tenant
        .audit_log()
        .page(&AuditFilter::default(), None, 200)
        .await
        .unwrap();
    page.entries
        .into_iter()
        .rev()
        .map(|e| e.action)
        .filter(|a| a.starts_with("subscription.") || a.starts_with("invoice."))
        .collect()
}

/// Records `payload` (its `id` and `type`) as the web receiver does.
async fn record(f: &Fixture, payload: &Value) -> Recorded {
    f.db.stripe_events()
        .record(
            payload["id"].as_str().unwrap(),
            payload["type"].as_str().unwrap(),
            payload,
        )
        .await
        .unwrap()
}

/// Events neither processed nor failed, seen by the migrating login.
async fn due(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM stripe_webhook_events \
         WHERE processed_at IS NULL AND processing_error IS NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Processes events with `worker` until none is due any more; a `None` while another
/// worker holds the event the rest wait behind is waited out.
async fn drain(worker: &StripeWorker, pool: &PgPool) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    loop {
        match worker.process_next().await.unwrap() {
            Some(outcome) => outcomes.push(outcome),
            None if due(pool).await == 0 => return outcomes,
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

fn applied_id(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Applied {
            stripe_event_id, ..
        } => stripe_event_id,
        other => panic!("expected an applied event, got {other:?}"),
    }
}

#[tokio::test]
async fn the_plan_catalogue_lists_plans_on_sale_and_finds_one_by_code() {
    let f = billing_fixture().await;
    let plans = f.db.plans().list().await.unwrap();
    let codes: Vec<&str> = plans.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes[0], "free", "cheapest first");
    assert!(codes.contains(&"enterprise") && codes.contains(&"pro-annual"));
    let pro = f.db.plans().get("pro").await.unwrap();
    assert_eq!(pro.price_cents, 29900);
    assert_eq!(pro.limits["leads"], 50000);
    assert_not_found(f.db.plans().get("platinum").await, "plan");
}

#[tokio::test]
async fn a_subscription_starts_as_the_one_trial_is_linked_and_is_canceled() {
    let f = billing_fixture().await;
    let billing = f.tenant_a().billing();
    assert_not_found(billing.current().await, "subscription");
    assert_invalid(
        billing.start_trial("starter", Utc::now()).await,
        "trial_ends_at",
    );
    assert_invalid(
        billing
            .start_trial(
                "enterprise",
                Utc::now() + chrono::Duration::days(MAX_TRIAL_DAYS) + chrono::Duration::hours(1),
            )
            .await,
        "trial_ends_at",
    );
    assert_invalid(
        billing
            .start_trial("enterprise", Utc::now() + chrono::Duration::days(3650))
            .await,
        "trial_ends_at",
    );
    assert_not_found(billing.start_trial("platinum", in_a_month()).await, "plan");

    let trial = billing.start_trial("starter", in_a_month()).await.unwrap();
    assert_eq!(trial.status, SubscriptionStatus::Trialing);
    assert!(trial.trial_ends_at.is_some());
    assert_eq!(billing.current().await.unwrap(), trial);
    assert_conflict(
        billing.start_trial("pro", in_a_month()).await,
        "uq_subscriptions_organization_id_live",
    );

    // Linking the Stripe customer, and its route.
    for bad in ["cust_1", "cus_", "cus_a-b", "sub_1"] {
        assert_invalid(billing.link_customer(bad).await, "stripe_customer_id");
    }
    let linked = billing.link_customer("cus_Alpha1").await.unwrap();
    assert_eq!(linked.stripe_customer_id.as_deref(), Some("cus_Alpha1"));
    assert_eq!(billing.link_customer("cus_Alpha1").await.unwrap(), linked);
    assert_forbidden(billing.link_customer("cus_Other").await);
    let b = f.tenant_b().billing();
    assert_not_found(b.link_customer("cus_Beta").await, "subscription");
    b.start_trial("free", in_a_month()).await.unwrap();
    assert_conflict(b.link_customer("cus_Alpha1").await, "pk_provider_routes");
    assert_eq!(b.current().await.unwrap().stripe_customer_id, None);
    let mut routes = f.test_db.connect().await;
    let route: (Uuid,) = sqlx::query_as(
        "SELECT organization_id FROM provider_routes \
         WHERE provider = 'stripe' AND external_account_id = 'cus_Alpha1'",
    )
    .fetch_one(&mut routes)
    .await
    .unwrap();
    assert_eq!(route.0, f.a.id());

    // Cancellation, at the period's end, then now; canceled is final.
    let at_end = billing.cancel(trial.id, CancelAt::PeriodEnd).await.unwrap();
    assert!(at_end.cancel_at_period_end);
    assert_eq!(at_end.status, SubscriptionStatus::Trialing);
    let canceled = billing.cancel(trial.id, CancelAt::Now).await.unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert!(canceled.canceled_at.is_some());
    assert_not_found(billing.current().await, "subscription");
    assert_invalid(billing.cancel(trial.id, CancelAt::Now).await, "status");
    assert_eq!(billing.subscription(trial.id).await.unwrap(), canceled);

    // One trial per organization: a second, after the first was canceled, is refused.
    assert_forbidden(billing.start_trial("pro", in_a_month()).await);
    assert_not_found(billing.current().await, "subscription");
    assert_eq!(
        audited(&f.tenant_a()).await,
        [
            "subscription.started",
            "subscription.customer_linked",
            "subscription.canceled",
            "subscription.canceled",
        ],
        "every change of billing state, and no refused one"
    );
}

#[tokio::test]
async fn usage_counts_against_the_live_plan_or_the_free_one() {
    let f = billing_fixture().await;
    let tenant = f.tenant_a();
    let billing = tenant.billing();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let trashed = tenant.leads().create(&NewLead::named("Bia")).await.unwrap();
    tenant.leads().delete(trashed.id).await.unwrap();

    let usage = billing.usage().await.unwrap();
    assert_eq!(usage.plan_code, "free");
    assert_eq!(
        usage.seats,
        Quota {
            used: 2,
            max: Some(2)
        }
    );
    assert_eq!(
        usage.leads,
        Quota {
            used: 1,
            max: Some(500)
        },
        "a lead in the trash does not count"
    );
    assert_eq!(usage.of(Limit::Pipelines).max, Some(1));
    assert_eq!(
        usage.whatsapp_numbers,
        Quota {
            used: 0,
            max: Some(0)
        }
    );

    billing.check(Limit::Leads, 499).await.unwrap();
    for (limit, adding, names) in [
        (Limit::Leads, 500, "500 leads; 1 in use, 500 more"),
        (Limit::Seats, 1, "2 users; 2 in use, 1 more"),
        (Limit::Pipelines, 1, "1 pipelines; 1 in use"),
        (Limit::WhatsappNumbers, 1, "0 whatsapp_numbers"),
    ] {
        match billing.check(limit, adding).await {
            Err(crmdb_store::Error::Forbidden { why }) => {
                assert!(why.contains(names), "{why}");
                assert!(why.contains("free plan"), "{why}");
            }
            other => panic!("expected {limit:?} to be refused, got {other:?}"),
        }
    }
    assert_invalid(billing.check(Limit::Leads, -1).await, "adding");

    billing
        .start_trial("enterprise", in_a_month())
        .await
        .unwrap();
    let usage = billing.usage().await.unwrap();
    assert_eq!(usage.plan_code, "enterprise");
    assert_eq!(usage.seats.max, None, "absent from the plan: unlimited");
    assert_eq!(usage.whatsapp_numbers.max, Some(10));
    billing.check(Limit::Seats, 1_000_000).await.unwrap();
    assert_forbidden(billing.check(Limit::WhatsappNumbers, 11).await);
    tenant.leads().get(lead.id).await.unwrap();

    // The trial's end passes before Stripe reports anything: the free plan applies again.
    let trial = billing.current().await.unwrap();
    let org = tenant.organization_id();
    tenant
        .transaction(async |tx| {
            sql::query(
                "UPDATE subscriptions SET trial_ends_at = now() - interval '1 second' \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(trial.id)
            .execute(&mut **tx)
            .await
        })
        .await
        .unwrap();
    assert_eq!(
        billing.current().await.unwrap().status,
        SubscriptionStatus::Trialing
    );
    assert_eq!(billing.usage().await.unwrap().plan_code, "free");
    assert_forbidden(billing.check(Limit::WhatsappNumbers, 1).await);
}

#[tokio::test]
async fn an_invoice_is_upserted_by_its_stripe_id_and_listed_newest_first() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let billing = f.tenant_a().billing();
    let subscription = billing.start_trial("starter", in_a_month()).await.unwrap();
    billing.link_customer("cus_A").await.unwrap();
    let worker = f.worker_db.stripe_worker("w1");
    record(
        &f,
        &subscription_event(
            "evt_Sub",
            "customer.subscription.updated",
            "sub_A1",
            "cus_A",
            "active",
            "price_crmdbStarterMonthly",
            1_000,
        ),
    )
    .await;
    record(
        &f,
        &invoice_event(
            "evt_Open",
            "invoice.finalized",
            "in_First",
            "sub_A1",
            "cus_A",
            "open",
            1_010,
        ),
    )
    .await;
    drain(&worker, &pool).await;
    let first = billing.invoices(None, 10).await.unwrap().invoices;
    assert_eq!(first.len(), 1);
    let first = &first[0];
    assert_eq!(first.subscription_id, Some(subscription.id));
    assert_eq!(
        (first.currency.as_str(), first.amount_due_cents),
        ("BRL", 9900)
    );

    // Paid: the same Stripe invoice is the one row; a one-off invoice has no subscription.
    record(
        &f,
        &invoice_event(
            "evt_Paid",
            "invoice.paid",
            "in_First",
            "sub_A1",
            "cus_A",
            "paid",
            1_020,
        ),
    )
    .await;
    let mut one_off = invoice_event(
        "evt_OneOff",
        "invoice.created",
        "in_Second",
        "",
        "cus_A",
        "draft",
        1_030,
    );
    one_off["data"]["object"]["subscription"] = Value::Null;
    one_off["data"]["object"]["currency"] = json!("usd");
    record(&f, &one_off).await;
    drain(&worker, &pool).await;
    let page = billing.invoices(None, 1).await.unwrap();
    let one_off = page.invoices[0].clone();
    assert_eq!(one_off.stripe_invoice_id, "in_Second", "newest first");
    assert_eq!(
        (one_off.subscription_id, one_off.currency.as_str()),
        (None, "USD")
    );
    let rest = billing.invoices(page.next, 1).await.unwrap();
    let paid = &rest.invoices[0];
    assert_eq!(paid.id, first.id, "the same Stripe invoice is one row");
    assert_eq!(
        (paid.status, paid.amount_paid_cents),
        (InvoiceStatus::Paid, 9900)
    );
    assert!(billing
        .invoices(rest.next, 1)
        .await
        .unwrap()
        .invoices
        .is_empty());
    assert_invalid(billing.invoices(None, 0).await, "limit");
    assert_eq!(billing.invoice(one_off.id).await.unwrap(), one_off);
    assert_not_found(billing.invoice(Uuid::now_v7()).await, "invoice");

    // Refused input fails the event, naming the field; nothing is stored.
    let bad = |id: &str, field: &str, value: Value| {
        let mut event = invoice_event(
            id,
            "invoice.finalized",
            "in_Third",
            "",
            "cus_A",
            "open",
            2_000,
        );
        event["data"]["object"]["subscription"] = Value::Null;
        event["data"]["object"][field] = value;
        event
    };
    for (event, names) in [
        (bad("evt_B1", "id", json!("inv_1")), "stripe_invoice_id"),
        (bad("evt_B2", "amount_due", json!(-1)), "amount_due"),
        (bad("evt_B3", "amount_paid", json!(-100)), "amount_paid"),
        (bad("evt_B4", "currency", json!("euro")), "currency"),
        (
            bad("evt_B5", "subscription", json!("si_1")),
            "stripe_subscription_id",
        ),
        (
            bad("evt_B6", "hosted_invoice_url", json!("http://x")),
            "hosted_invoice_url",
        ),
    ] {
        record(&f, &event).await;
        match worker.process_next().await.unwrap() {
            Some(Outcome::Failed { error, .. }) => assert!(error.contains(names), "{error}"),
            other => panic!("expected {names} to fail the event, got {other:?}"),
        }
    }
    assert_eq!(billing.invoices(None, 10).await.unwrap().invoices.len(), 2);
}

#[tokio::test]
async fn an_invoice_of_a_subscription_not_yet_known_is_stored_without_one_and_holds_nothing_back() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let billing = f.tenant_a().billing();
    let trial = billing.start_trial("starter", in_a_month()).await.unwrap();
    billing.link_customer("cus_A").await.unwrap();
    let worker = f.worker_db.stripe_worker("w1");

    // The same second, the invoice recorded (and received) first: the subscription event
    // is claimed first, and the invoice finds its subscription.
    let invoice = invoice_event(
        "evt_Inv",
        "invoice.paid",
        "in_Same",
        "sub_A1",
        "cus_A",
        "paid",
        5_000,
    );
    let created = subscription_event(
        "evt_Sub",
        "customer.subscription.created",
        "sub_A1",
        "cus_A",
        "active",
        "price_crmdbStarterMonthly",
        5_000,
    );
    record(&f, &invoice).await;
    record(&f, &created).await;
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(
        outcomes.iter().map(applied_id).collect::<Vec<_>>(),
        ["evt_Sub", "evt_Inv"]
    );
    let invoices = billing.invoices(None, 10).await.unwrap().invoices;
    assert_eq!(invoices[0].subscription_id, Some(trial.id));

    // An invoice of a subscription the organization does not know (yet) is stored without
    // one rather than failing, and the subscription's later events still apply.
    record(
        &f,
        &invoice_event(
            "evt_Early",
            "invoice.finalized",
            "in_Early",
            "sub_Later",
            "cus_A",
            "open",
            6_000,
        ),
    )
    .await;
    record(
        &f,
        &subscription_event(
            "evt_Later",
            "customer.subscription.updated",
            "sub_A1",
            "cus_A",
            "past_due",
            "price_crmdbStarterMonthly",
            6_010,
        ),
    )
    .await;
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(
        outcomes.iter().map(applied_id).collect::<Vec<_>>(),
        ["evt_Early", "evt_Later"]
    );
    let early = billing.invoices(None, 1).await.unwrap().invoices;
    assert_eq!(
        (
            early[0].stripe_invoice_id.as_str(),
            early[0].subscription_id
        ),
        ("in_Early", None)
    );
    assert_eq!(
        billing.current().await.unwrap().status,
        SubscriptionStatus::PastDue
    );
}

/// B's billing as B reads it: its subscriptions, invoices, usage and audited actions.
async fn billing_of(tenant: &Tenant, subscription: Uuid) -> impl PartialEq + std::fmt::Debug {
    let billing = tenant.billing();
    (
        billing.subscription(subscription).await.unwrap(),
        billing.invoices(None, 10).await.unwrap(),
        billing.usage().await.unwrap(),
        audited(tenant).await,
    )
}

#[tokio::test]
async fn organization_a_can_neither_read_nor_change_the_billing_of_b() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let b = f.tenant_b().billing();
    let b_subscription = b.start_trial("pro", in_a_month()).await.unwrap();
    b.link_customer("cus_Bravo").await.unwrap();
    record(
        &f,
        &subscription_event(
            "evt_B1",
            "customer.subscription.created",
            "sub_B1",
            "cus_Bravo",
            "active",
            "price_crmdbProMonthly",
            100,
        ),
    )
    .await;
    record(
        &f,
        &invoice_event(
            "evt_B2",
            "invoice.finalized",
            "in_Beta",
            "sub_B1",
            "cus_Bravo",
            "open",
            110,
        ),
    )
    .await;
    drain(&f.worker_db.stripe_worker("w1"), &pool).await;
    let b_invoice = b.invoices(None, 10).await.unwrap().invoices[0].clone();
    let before = billing_of(&f.tenant_b(), b_subscription.id).await;

    let a = f.tenant_a().billing();
    assert_not_found(a.subscription(b_subscription.id).await, "subscription");
    assert_not_found(a.current().await, "subscription");
    assert_not_found(
        a.cancel(b_subscription.id, CancelAt::Now).await,
        "subscription",
    );
    assert_not_found(a.invoice(b_invoice.id).await, "invoice");
    assert!(a.invoices(None, 10).await.unwrap().invoices.is_empty());
    // A cannot claim B's Stripe customer, by a route or by linking it.
    assert_invalid(
        f.tenant_a()
            .provider_routes()
            .register(RouteProvider::Stripe, "cus_Bravo", None)
            .await,
        "provider",
    );
    a.start_trial("starter", in_a_month()).await.unwrap();
    assert_conflict(a.link_customer("cus_Bravo").await, "pk_provider_routes");
    assert_eq!(a.current().await.unwrap().stripe_customer_id, None);
    assert_eq!(a.usage().await.unwrap().plan_code, "starter");

    assert_eq!(
        before,
        billing_of(&f.tenant_b(), b_subscription.id).await,
        "B's billing is untouched"
    );
}

#[tokio::test]
async fn an_event_naming_another_organization_in_its_metadata_fails_and_writes_nothing() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    let a_trial = a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_Alpha").await.unwrap();
    let b = f.tenant_b().billing();
    let b_trial = b.start_trial("starter", in_a_month()).await.unwrap();
    b.link_customer("cus_Bravo").await.unwrap();
    let before = (
        billing_of(&f.tenant_a(), a_trial.id).await,
        billing_of(&f.tenant_b(), b_trial.id).await,
    );

    // B's customer, but the checkout's metadata says A: neither is written.
    let mut event = subscription_event(
        "evt_Mix",
        "customer.subscription.created",
        "sub_Mix",
        "cus_Bravo",
        "active",
        "price_crmdbProMonthly",
        100,
    );
    event["data"]["object"]["metadata"] = json!({"organization_id": f.a.id()});
    record(&f, &event).await;
    let mut invoice = invoice_event(
        "evt_MixInv",
        "invoice.paid",
        "in_Mix",
        "sub_Other",
        "cus_Alpha",
        "paid",
        100,
    );
    invoice["data"]["object"]["metadata"] = json!({"organization_id": f.b.id()});
    record(&f, &invoice).await;
    let mut malformed = invoice_event(
        "evt_MixBad",
        "invoice.paid",
        "in_Mix2",
        "sub_Other2",
        "cus_Alpha",
        "paid",
        100,
    );
    malformed["data"]["object"]["metadata"] = json!({"organization_id": "not-a-uuid"});
    record(&f, &malformed).await;

    let outcomes = drain(&f.worker_db.stripe_worker("w1"), &pool).await;
    let errors: Vec<&str> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Failed { error, .. } => error.as_str(),
            other => panic!("expected a failure, got {other:?}"),
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors
            .iter()
            .filter(|e| e.contains("metadata.organization_id"))
            .count()
            == 3,
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&f.a.id().to_string()) && e.contains("cus_Bravo")),
        "{errors:?}"
    );
    assert_eq!(
        before,
        (
            billing_of(&f.tenant_a(), a_trial.id).await,
            billing_of(&f.tenant_b(), b_trial.id).await,
        ),
        "nothing written in either organization"
    );
}

#[tokio::test]
async fn an_event_routed_to_an_organization_that_never_linked_the_customer_fails() {
    let f = billing_fixture().await;
    // A route to A for B's customer, as provider_routes could make one before Stripe was
    // refused there; A has a trial of its own, linked to no customer.
    let a = f.tenant_a().billing();
    let a_trial = a.start_trial("starter", in_a_month()).await.unwrap();
    f.tenant_a()
        .transaction(async |tx| {
            sql::query(
                "INSERT INTO provider_routes (provider, external_account_id, organization_id) \
                 VALUES ('stripe', 'cus_Bravo', $1)",
            )
            .bind(tx.organization_id())
            .execute(&mut **tx)
            .await
        })
        .await
        .unwrap();
    let before = billing_of(&f.tenant_a(), a_trial.id).await;

    record(
        &f,
        &subscription_event(
            "evt_Steal",
            "customer.subscription.created",
            "sub_B",
            "cus_Bravo",
            "active",
            "price_crmdbProMonthly",
            100,
        ),
    )
    .await;
    record(
        &f,
        &invoice_event(
            "evt_StealInv",
            "invoice.paid",
            "in_B",
            "sub_B",
            "cus_Bravo",
            "paid",
            110,
        ),
    )
    .await;
    let worker = f.worker_db.stripe_worker("w1");
    match worker.process_next().await.unwrap() {
        Some(Outcome::Failed {
            stripe_event_id,
            error,
            ..
        }) => {
            assert_eq!(stripe_event_id, "evt_Steal");
            assert!(
                error.contains("no subscription linked to Stripe customer cus_Bravo"),
                "{error}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        worker.process_next().await.unwrap().is_none(),
        "the invoice waits behind its subscription's failed event"
    );
    assert_eq!(
        before,
        billing_of(&f.tenant_a(), a_trial.id).await,
        "A's trial not adopted"
    );
}

#[tokio::test]
async fn a_stripe_event_is_stored_once_and_a_retried_delivery_says_so() {
    let f = billing_fixture().await;
    let event = subscription_event(
        "evt_Once",
        "customer.subscription.created",
        "sub_1",
        "cus_1",
        "active",
        "price_crmdbStarterMonthly",
        100,
    );
    assert_eq!(record(&f, &event).await, Recorded::Stored);
    assert_eq!(record(&f, &event).await, Recorded::Duplicate);
    let events = f.db.stripe_events();
    for (id, event_type, payload, field) in [
        ("evt_", "invoice.paid", json!({}), "stripe_event_id"),
        ("ev_1", "invoice.paid", json!({}), "stripe_event_id"),
        ("evt_2", "invoice", json!({}), "type"),
        ("evt_2", "Invoice.Paid", json!({}), "type"),
        ("evt_2", "invoice.paid", json!([1]), "payload"),
    ] {
        assert_invalid(events.record(id, event_type, &payload).await, field);
    }
    let pool = f.test_db.pool().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    // The application stores events; only workers read and process them.
    assert!(f.db.stripe_worker("app").process_next().await.is_err());
}

#[tokio::test]
async fn a_worker_applies_subscription_and_invoice_events_in_the_customers_organization() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    let trial = a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_A").await.unwrap();

    let created = subscription_event(
        "evt_1",
        "customer.subscription.created",
        "sub_A",
        "cus_A",
        "active",
        "price_crmdbProMonthly",
        1_700_000_000,
    );
    let invoice = invoice_event(
        "evt_2",
        "invoice.paid",
        "in_A1",
        "sub_A",
        "cus_A",
        "paid",
        1_700_000_010,
    );
    let unknown = json!({"id": "evt_3", "type": "charge.succeeded", "created": 1_700_000_020,
                         "data": {"object": {"id": "ch_1", "object": "charge", "customer": "cus_A"}}});
    for event in [&invoice, &unknown, &created] {
        assert_eq!(record(&f, event).await, Recorded::Stored);
    }

    let worker = f.worker_db.stripe_worker("w1");
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(
        outcomes,
        [
            Outcome::Applied {
                stripe_event_id: "evt_1".into(),
                event_type: "customer.subscription.created".into(),
                organization_id: f.a.id(),
            },
            Outcome::Applied {
                stripe_event_id: "evt_2".into(),
                event_type: "invoice.paid".into(),
                organization_id: f.a.id(),
            },
            Outcome::Ignored {
                stripe_event_id: "evt_3".into(),
                event_type: "charge.succeeded".into(),
            },
        ],
        "in the order of Stripe's created times"
    );
    assert!(worker.process_next().await.unwrap().is_none());

    let subscription = a.current().await.unwrap();
    assert_eq!(
        subscription.id, trial.id,
        "the trial is adopted, not doubled"
    );
    assert_eq!(
        subscription.stripe_subscription_id.as_deref(),
        Some("sub_A")
    );
    assert_eq!(subscription.status, SubscriptionStatus::Active);
    assert_eq!(
        subscription.plan_id,
        f.db.plans().get("pro").await.unwrap().id
    );
    assert!(subscription.current_period_end > subscription.current_period_start);
    let invoices = a.invoices(None, 10).await.unwrap().invoices;
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0].subscription_id, Some(trial.id));
    assert_eq!(
        (invoices[0].status, invoices[0].currency.as_str()),
        (InvoiceStatus::Paid, "BRL")
    );
    assert!(f
        .tenant_b()
        .billing()
        .invoices(None, 10)
        .await
        .unwrap()
        .invoices
        .is_empty());
    let processed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stripe_webhook_events \
         WHERE processed_at IS NOT NULL AND processing_error IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(processed, 3);

    // Stripe cancels it.
    let deleted = subscription_event(
        "evt_4",
        "customer.subscription.deleted",
        "sub_A",
        "cus_A",
        "canceled",
        "price_crmdbProMonthly",
        1_700_000_100,
    );
    record(&f, &deleted).await;
    drain(&worker, &pool).await;
    assert_eq!(
        a.subscription(trial.id).await.unwrap().status,
        SubscriptionStatus::Canceled
    );
    assert_eq!(a.usage().await.unwrap().plan_code, "free");
    let actions = audited(&f.tenant_a()).await;
    assert_eq!(
        &actions[actions.len() - 3..],
        [
            "subscription.synced",
            "invoice.upserted",
            "subscription.synced"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_apply_each_event_once_and_in_order_per_subscription() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_Race").await.unwrap();
    let b = f.tenant_b().billing();
    b.start_trial("starter", in_a_month()).await.unwrap();
    b.link_customer("cus_Other").await.unwrap();

    // A's subscription goes through statuses; the latest event (by Stripe's created time)
    // is recorded in the middle. B's subscription has events of its own.
    let statuses = [
        "active", "past_due", "active", "past_due", "unpaid", "active", "past_due", "active",
        "active", "past_due",
    ];
    let mut events = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        let n = i as i64;
        events.push(subscription_event(
            &format!("evt_A{n}"),
            "customer.subscription.updated",
            "sub_Race",
            "cus_Race",
            status,
            "price_crmdbProMonthly",
            1_000 + n * 10,
        ));
        events.push(invoice_event(
            &format!("evt_I{n}"),
            "invoice.finalized",
            &format!("in_Race{n}"),
            "sub_Race",
            "cus_Race",
            "open",
            1_000 + n * 10 + 5,
        ));
        events.push(subscription_event(
            &format!("evt_B{n}"),
            "customer.subscription.updated",
            "sub_Other",
            "cus_Other",
            if n % 2 == 0 { "active" } else { "past_due" },
            "price_crmdbStarterMonthly",
            1_000 + n * 10,
        ));
    }
    // Recorded out of order: a scramble of the created times.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|i| (i * 7) % events.len());
    for i in order {
        record(&f, &events[i]).await;
    }

    let (w1, w2) = (
        f.worker_db.stripe_worker("w1"),
        f.worker_db.stripe_worker("w2"),
    );
    let (one, two) = tokio::join!(drain(&w1, &pool), drain(&w2, &pool));
    let mut times: HashMap<String, usize> = HashMap::new();
    for outcome in one.iter().chain(&two) {
        *times.entry(applied_id(outcome).to_owned()).or_default() += 1;
    }
    assert_eq!(times.len(), events.len(), "every event applied");
    assert!(
        times.values().all(|&n| n == 1),
        "each exactly once: {times:?}"
    );

    let latest = a.current().await.unwrap();
    assert_eq!(latest.status, SubscriptionStatus::PastDue);
    assert_eq!(
        latest.current_period_start.map(|t| t.timestamp()),
        Some(1_090),
        "the state of the latest event"
    );
    assert_eq!(a.invoices(None, 50).await.unwrap().invoices.len(), 10);
    let other = b.current().await.unwrap();
    assert_eq!(other.status, SubscriptionStatus::PastDue);
    assert_eq!(other.stripe_subscription_id.as_deref(), Some("sub_Other"));

    // Applied in each subscription's order: processed_at follows Stripe's created time.
    let disorder: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stripe_webhook_events AS x JOIN stripe_webhook_events AS y \
           ON x.payload #>> '{data,object,customer}' = y.payload #>> '{data,object,customer}' \
         WHERE (x.payload ->> 'created')::bigint < (y.payload ->> 'created')::bigint \
           AND x.processed_at > y.processed_at",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(disorder, 0);
}

#[tokio::test]
async fn an_unroutable_event_fails_and_holds_back_only_its_own_subscription() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_Known").await.unwrap();

    let stranger = |id: &str, status: &str, created: i64| {
        subscription_event(
            id,
            "customer.subscription.updated",
            "sub_Stranger",
            "cus_Stranger",
            status,
            "price_crmdbStarterMonthly",
            created,
        )
    };
    record(&f, &stranger("evt_S1", "trialing", 10)).await;
    record(&f, &stranger("evt_S2", "active", 20)).await;
    record(
        &f,
        &subscription_event(
            "evt_K1",
            "customer.subscription.updated",
            "sub_Known",
            "cus_Known",
            "active",
            "price_crmdbStarterMonthly",
            30,
        ),
    )
    .await;
    record(
        &f,
        &json!({"id": "evt_Bad", "type": "invoice.paid", "created": 5,
                "data": {"object": {"id": "in_Bad", "object": "invoice", "customer": "cus_Known",
                                    "status": "paid", "amount_due": -5}}}),
    )
    .await;

    let worker = f.worker_db.stripe_worker("w1");
    let mut outcomes = Vec::new();
    while let Some(outcome) = worker.process_next().await.unwrap() {
        outcomes.push(outcome);
    }
    let failed: Vec<(&str, &str)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Failed {
                stripe_event_id,
                error,
                ..
            } => Some((stripe_event_id.as_str(), error.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{outcomes:?}");
    assert_eq!(failed[0].0, "evt_Bad");
    assert!(failed[0].1.contains("amount_due"), "{}", failed[0].1);
    assert_eq!(failed[1], ("evt_S1", "stripe customer not found"));
    assert_eq!(
        outcomes.len(),
        3,
        "evt_S2 waits behind evt_S1: {outcomes:?}"
    );
    assert_eq!(applied_id(&outcomes[2]), "evt_K1");
    assert_eq!(
        a.current().await.unwrap().status,
        SubscriptionStatus::Active
    );
    let errors: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT stripe_event_id, processing_error FROM stripe_webhook_events \
         WHERE processed_at IS NULL ORDER BY stripe_event_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        errors,
        [
            ("evt_Bad".into(), Some(failed[0].1.to_owned())),
            ("evt_S1".into(), Some("stripe customer not found".into())),
            ("evt_S2".into(), None),
        ]
    );

    // B turns out to be the customer: linked, the failed event retried, both applied.
    let b = f.tenant_b().billing();
    b.start_trial("starter", in_a_month()).await.unwrap();
    b.link_customer("cus_Stranger").await.unwrap();
    assert_not_found(worker.retry("evt_S2").await, "failed stripe event");
    assert_not_found(worker.retry("evt_K1").await, "failed stripe event");
    assert_invalid(worker.retry("S1").await, "stripe_event_id");
    worker.retry("evt_S1").await.unwrap();
    let first = worker.process_next().await.unwrap().unwrap();
    let second = worker.process_next().await.unwrap().unwrap();
    assert_eq!(
        (applied_id(&first), applied_id(&second)),
        ("evt_S1", "evt_S2")
    );
    assert!(
        worker.process_next().await.unwrap().is_none(),
        "evt_Bad waits"
    );
    assert_eq!(
        b.current().await.unwrap().status,
        SubscriptionStatus::Active
    );
}

#[tokio::test]
async fn an_event_the_database_refuses_fails_instead_of_blocking_every_event() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_A").await.unwrap();

    // A time PostgreSQL cannot store (before 4713 BC) and a period ending before it starts.
    let mut out_of_range = subscription_event(
        "evt_Range",
        "customer.subscription.updated",
        "sub_A1",
        "cus_A",
        "trialing",
        "price_crmdbStarterMonthly",
        10,
    );
    out_of_range["data"]["object"]["trial_end"] = json!(-300_000_000_000_i64);
    let mut backwards = subscription_event(
        "evt_Back",
        "customer.subscription.updated",
        "sub_Z",
        "cus_A",
        "active",
        "price_crmdbStarterMonthly",
        20,
    );
    backwards["data"]["object"]["items"]["data"][0]["current_period_end"] = json!(1);
    let fine = invoice_event(
        "evt_Fine",
        "invoice.paid",
        "in_Fine",
        "sub_Other",
        "cus_A",
        "paid",
        30,
    );
    for event in [&out_of_range, &backwards, &fine] {
        record(&f, event).await;
    }

    let worker = f.worker_db.stripe_worker("w1");
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    for (outcome, id) in outcomes.iter().take(2).zip(["evt_Range", "evt_Back"]) {
        match outcome {
            Outcome::Failed {
                stripe_event_id, ..
            } => assert_eq!(stripe_event_id, id),
            other => panic!("expected {id} to fail, got {other:?}"),
        }
    }
    assert_eq!(
        applied_id(&outcomes[2]),
        "evt_Fine",
        "the rest is not blocked"
    );
    assert!(worker.process_next().await.unwrap().is_none());
    let errors: Vec<(String, String)> = sqlx::query_as(
        "SELECT stripe_event_id, processing_error FROM stripe_webhook_events \
         WHERE processing_error IS NOT NULL ORDER BY stripe_event_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(errors.len(), 2);
    assert!(errors[0].1.contains("current_period"), "{errors:?}");
    assert!(errors[1].1.contains("out of range"), "{errors:?}");
    assert_eq!(
        a.current().await.unwrap().status,
        SubscriptionStatus::Trialing,
        "nothing of the failed events applied"
    );
}

/// Whether the event `stripe_event_id` is processed without an error, seen by the migrating
/// login.
async fn processed_cleanly(pool: &PgPool, stripe_event_id: &str) -> bool {
    sqlx::query_scalar(
        "SELECT processed_at IS NOT NULL AND processing_error IS NULL \
         FROM stripe_webhook_events WHERE stripe_event_id = $1",
    )
    .bind(stripe_event_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_subscription_event_older_than_the_one_applied_is_stale_and_changes_nothing() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    let trial = a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_A").await.unwrap();
    let worker = f.worker_db.stripe_worker("w1");
    let event = |id: &str, status: &str, created: i64| {
        subscription_event(
            id,
            "customer.subscription.updated",
            "sub_A",
            "cus_A",
            status,
            "price_crmdbProMonthly",
            created,
        )
    };

    record(&f, &event("evt_Newer", "active", 2_000)).await;
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(applied_id(&outcomes[0]), "evt_Newer");
    let newer = a.subscription(trial.id).await.unwrap();
    assert_eq!(newer.status, SubscriptionStatus::Active);
    assert_eq!(
        newer.stripe_event_created_at,
        chrono::DateTime::from_timestamp(2_000, 0)
    );
    let audit_before = audited(&f.tenant_a()).await;

    // Stripe delivers an older event late: it is processed, reported stale, and ignored.
    record(&f, &event("evt_Older", "past_due", 1_000)).await;
    assert_eq!(
        worker.process_next().await.unwrap(),
        Some(Outcome::Stale {
            stripe_event_id: "evt_Older".into(),
            event_type: "customer.subscription.updated".into(),
            organization_id: f.a.id(),
        })
    );
    assert!(worker.process_next().await.unwrap().is_none());
    assert!(processed_cleanly(&pool, "evt_Older").await);
    assert_eq!(
        a.subscription(trial.id).await.unwrap(),
        newer,
        "the newer state stays"
    );
    assert_eq!(audited(&f.tenant_a()).await, audit_before, "no audit entry");

    // One of the same second is applied (Stripe's times are whole seconds), and so is a
    // newer one.
    record(&f, &event("evt_Same", "past_due", 2_000)).await;
    record(&f, &event("evt_Newest", "canceled", 3_000)).await;
    let outcomes = drain(&worker, &pool).await;
    let ids: Vec<&str> = outcomes.iter().map(applied_id).collect();
    assert_eq!(ids, ["evt_Same", "evt_Newest"]);
    let newest = a.subscription(trial.id).await.unwrap();
    assert_eq!(newest.status, SubscriptionStatus::Canceled);
    assert_eq!(
        newest.stripe_event_created_at,
        chrono::DateTime::from_timestamp(3_000, 0)
    );
}

#[tokio::test]
async fn an_invoice_event_older_than_the_one_applied_is_stale_and_changes_nothing() {
    let f = billing_fixture().await;
    let pool = f.test_db.pool().await;
    let a = f.tenant_a().billing();
    a.start_trial("starter", in_a_month()).await.unwrap();
    a.link_customer("cus_A").await.unwrap();
    let worker = f.worker_db.stripe_worker("w1");

    record(
        &f,
        &invoice_event(
            "evt_Paid",
            "invoice.paid",
            "in_A",
            "sub_A",
            "cus_A",
            "paid",
            2_000,
        ),
    )
    .await;
    let outcomes = drain(&worker, &pool).await;
    assert_eq!(applied_id(&outcomes[0]), "evt_Paid");
    let paid = a.invoices(None, 10).await.unwrap().invoices;
    assert_eq!(paid.len(), 1);
    assert_eq!(
        (paid[0].status, paid[0].amount_paid_cents),
        (InvoiceStatus::Paid, 9900)
    );
    assert_eq!(
        paid[0].stripe_event_created_at,
        chrono::DateTime::from_timestamp(2_000, 0)
    );
    let audit_before = audited(&f.tenant_a()).await;

    // The invoice's earlier finalization arrives late: processed, stale, ignored.
    record(
        &f,
        &invoice_event(
            "evt_Open",
            "invoice.finalized",
            "in_A",
            "sub_A",
            "cus_A",
            "open",
            1_000,
        ),
    )
    .await;
    assert_eq!(
        worker.process_next().await.unwrap(),
        Some(Outcome::Stale {
            stripe_event_id: "evt_Open".into(),
            event_type: "invoice.finalized".into(),
            organization_id: f.a.id(),
        })
    );
    assert!(worker.process_next().await.unwrap().is_none());
    assert!(processed_cleanly(&pool, "evt_Open").await);
    assert_eq!(
        a.invoices(None, 10).await.unwrap().invoices,
        paid,
        "the paid invoice stays"
    );
    assert_eq!(audited(&f.tenant_a()).await, audit_before, "no audit entry");
}
