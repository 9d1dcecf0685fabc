//! Billing: the plan catalogue, the subscription's lifecycle and its transition rules, plan
//! limits, invoices upserted by Stripe id, and Stripe webhook events — stored once as the
//! application login, applied by workers (the worker login) in order per subscription, an
//! unroutable one failing alone — and the isolation of one organization's billing from
//! another's.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use crmdb_store::models::{InvoiceStatus, SubscriptionStatus};
use crmdb_store::ops::audit::AuditFilter;
use crmdb_store::ops::billing::{
    CancelAt, Limit, Outcome, Quota, Recorded, StripeInvoice, StripeWorker,
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

/// Gives the subscription `id` the Stripe id `stripe_subscription_id`, as Stripe's first
/// event about it would (through the tenant's own-SQL transaction: the table forces
/// row-level security even on its owner).
async fn name_stripe_subscription(tenant: &Tenant, id: Uuid, stripe_subscription_id: &str) {
    let org = tenant.organization_id();
    tenant
        .transaction(async |tx| {
            sql::query(
                "UPDATE subscriptions SET stripe_subscription_id = $3 \
                 WHERE organization_id = $1 AND id = $2",
            )
            .bind(org)
            .bind(id)
            .bind(stripe_subscription_id)
            .execute(&mut **tx)
            .await
        })
        .await
        .unwrap();
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
async fn a_subscription_starts_as_a_trial_is_linked_moves_through_statuses_and_is_canceled() {
    let f = billing_fixture().await;
    let billing = f.tenant_a().billing();
    assert_not_found(billing.current().await, "subscription");
    assert_invalid(
        billing.start_trial("starter", Utc::now()).await,
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

    // Transitions.
    let active = billing
        .set_status(trial.id, SubscriptionStatus::Active)
        .await
        .unwrap();
    assert_eq!(active.status, SubscriptionStatus::Active);
    assert_eq!(
        billing
            .set_status(trial.id, SubscriptionStatus::Active)
            .await
            .unwrap(),
        active,
        "the same status again changes nothing"
    );
    assert_invalid(
        billing
            .set_status(trial.id, SubscriptionStatus::Trialing)
            .await,
        "status",
    );
    billing
        .set_status(trial.id, SubscriptionStatus::PastDue)
        .await
        .unwrap();
    billing
        .set_status(trial.id, SubscriptionStatus::Active)
        .await
        .unwrap();
    assert_not_found(
        billing
            .set_status(Uuid::now_v7(), SubscriptionStatus::Active)
            .await,
        "subscription",
    );

    // Cancellation, at the period's end, then now; canceled is final.
    let at_end = billing.cancel(trial.id, CancelAt::PeriodEnd).await.unwrap();
    assert!(at_end.cancel_at_period_end);
    assert_eq!(at_end.status, SubscriptionStatus::Active);
    let canceled = billing.cancel(trial.id, CancelAt::Now).await.unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert!(canceled.canceled_at.is_some());
    assert_not_found(billing.current().await, "subscription");
    assert_invalid(
        billing
            .set_status(trial.id, SubscriptionStatus::Active)
            .await,
        "status",
    );
    assert_invalid(billing.cancel(trial.id, CancelAt::Now).await, "status");
    assert_eq!(billing.subscription(trial.id).await.unwrap(), canceled);

    // The live slot is free again; the customer stays routed to A.
    let again = billing.start_trial("pro", in_a_month()).await.unwrap();
    assert_eq!(
        billing
            .link_customer("cus_Alpha1")
            .await
            .unwrap()
            .stripe_customer_id
            .as_deref(),
        Some("cus_Alpha1")
    );
    assert_eq!(billing.current().await.unwrap().id, again.id);
    assert_eq!(
        audited(&f.tenant_a()).await,
        [
            "subscription.started",
            "subscription.customer_linked",
            "subscription.status_changed",
            "subscription.status_changed",
            "subscription.status_changed",
            "subscription.canceled",
            "subscription.canceled",
            "subscription.started",
            "subscription.customer_linked",
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
}

#[tokio::test]
async fn an_invoice_is_upserted_by_its_stripe_id_and_listed_newest_first() {
    let f = billing_fixture().await;
    let billing = f.tenant_a().billing();
    let subscription = billing.start_trial("starter", in_a_month()).await.unwrap();
    name_stripe_subscription(&f.tenant_a(), subscription.id, "sub_A1").await;

    let open = StripeInvoice {
        stripe_subscription_id: Some("sub_A1".into()),
        amount_due_cents: 9900,
        ..StripeInvoice::new("in_First", InvoiceStatus::Open)
    };
    let first = billing.upsert_invoice(&open).await.unwrap();
    assert_eq!(first.subscription_id, Some(subscription.id));
    assert_eq!(
        (first.currency.as_str(), first.amount_due_cents),
        ("BRL", 9900)
    );
    let paid = billing
        .upsert_invoice(&StripeInvoice {
            amount_paid_cents: 9900,
            status: InvoiceStatus::Paid,
            paid_at: Some(Utc::now()),
            ..open.clone()
        })
        .await
        .unwrap();
    assert_eq!(paid.id, first.id, "the same Stripe invoice is one row");
    assert_eq!(paid.status, InvoiceStatus::Paid);
    let one_off = billing
        .upsert_invoice(&StripeInvoice {
            currency: Some("USD".into()),
            ..StripeInvoice::new("in_Second", InvoiceStatus::Draft)
        })
        .await
        .unwrap();
    assert_eq!(one_off.subscription_id, None);

    let page = billing.invoices(None, 1).await.unwrap();
    assert_eq!(
        page.invoices,
        std::slice::from_ref(&one_off),
        "newest first"
    );
    let rest = billing.invoices(page.next, 1).await.unwrap();
    assert_eq!(rest.invoices, [paid]);
    assert!(billing
        .invoices(rest.next, 1)
        .await
        .unwrap()
        .invoices
        .is_empty());
    assert_invalid(billing.invoices(None, 0).await, "limit");
    assert_eq!(billing.invoice(one_off.id).await.unwrap(), one_off);
    assert_not_found(billing.invoice(Uuid::now_v7()).await, "invoice");

    // Refused input.
    let base = StripeInvoice::new("in_Third", InvoiceStatus::Open);
    for (invoice, field) in [
        (
            StripeInvoice::new("inv_1", InvoiceStatus::Open),
            "stripe_invoice_id",
        ),
        (
            StripeInvoice {
                amount_due_cents: -1,
                ..base.clone()
            },
            "amount_due_cents",
        ),
        (
            StripeInvoice {
                amount_paid_cents: -100,
                ..base.clone()
            },
            "amount_paid_cents",
        ),
        (
            StripeInvoice {
                currency: Some("brl".into()),
                ..base.clone()
            },
            "currency",
        ),
        (
            StripeInvoice {
                stripe_subscription_id: Some("si_1".into()),
                ..base.clone()
            },
            "stripe_subscription_id",
        ),
        (
            StripeInvoice {
                hosted_invoice_url: Some("http://x".into()),
                ..base.clone()
            },
            "hosted_invoice_url",
        ),
    ] {
        assert_invalid(billing.upsert_invoice(&invoice).await, field);
    }
    assert_not_found(
        billing
            .upsert_invoice(&StripeInvoice {
                stripe_subscription_id: Some("sub_Unknown".into()),
                ..base
            })
            .await,
        "subscription",
    );
    assert_eq!(billing.invoices(None, 10).await.unwrap().invoices.len(), 2);
}

#[tokio::test]
async fn organization_a_can_neither_read_nor_change_the_billing_of_b() {
    let f = billing_fixture().await;
    let b = f.tenant_b().billing();
    let b_subscription = b.start_trial("pro", in_a_month()).await.unwrap();
    name_stripe_subscription(&f.tenant_b(), b_subscription.id, "sub_B1").await;
    let b_invoice = b
        .upsert_invoice(&StripeInvoice {
            stripe_subscription_id: Some("sub_B1".into()),
            ..StripeInvoice::new("in_Beta", InvoiceStatus::Open)
        })
        .await
        .unwrap();
    let before = (
        b.subscription(b_subscription.id).await.unwrap(),
        b.invoices(None, 10).await.unwrap(),
        b.usage().await.unwrap(),
    );

    let a = f.tenant_a().billing();
    assert_not_found(a.subscription(b_subscription.id).await, "subscription");
    assert_not_found(a.current().await, "subscription");
    assert_not_found(
        a.set_status(b_subscription.id, SubscriptionStatus::Canceled)
            .await,
        "subscription",
    );
    assert_not_found(
        a.cancel(b_subscription.id, CancelAt::Now).await,
        "subscription",
    );
    assert_not_found(a.invoice(b_invoice.id).await, "invoice");
    assert!(a.invoices(None, 10).await.unwrap().invoices.is_empty());
    assert_not_found(
        a.upsert_invoice(&StripeInvoice {
            stripe_subscription_id: Some("sub_B1".into()),
            ..StripeInvoice::new("in_Sneaky", InvoiceStatus::Paid)
        })
        .await,
        "subscription",
    );
    // B's Stripe invoice id, upserted through A, is a row of A's own.
    let mine = a
        .upsert_invoice(&StripeInvoice {
            amount_paid_cents: 1,
            ..StripeInvoice::new("in_Beta", InvoiceStatus::Void)
        })
        .await
        .unwrap();
    assert_eq!(mine.organization_id, f.a.id());
    assert_ne!(mine.id, b_invoice.id);
    assert_eq!(a.usage().await.unwrap().plan_code, "free");

    let after = (
        b.subscription(b_subscription.id).await.unwrap(),
        b.invoices(None, 10).await.unwrap(),
        b.usage().await.unwrap(),
    );
    assert_eq!(before, after, "B's billing is untouched");
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
