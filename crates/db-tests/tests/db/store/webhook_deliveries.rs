//! The outgoing-webhooks outbox: events queued in their own transaction, claimed by workers
//! (the worker login alone) under a lease, signed, retried with back-off until dead, the
//! subscription deactivated after failures in a row, outcomes recorded once, and the
//! deliveries of one organization out of reach of another.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crmdb_store::models::{Channel, DeliveryStatus, WebhookDelivery};
use crmdb_store::ops::communications::InboundMessage;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::outbox::{
    self, retry_delay, Claim, ClaimedDelivery, Recorded, WebhookWorker, DEACTIVATE_AFTER_FAILURES,
    MAX_ATTEMPTS, SIGNATURE_TOLERANCE,
};
use crmdb_store::ops::webhooks::WebhookChanges;
use crmdb_store::{sql, Tenant};
use secrecy::ExposeSecret;
use serde_json::json;
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, fixture, Fixture};

const LEASE: Duration = Duration::from_secs(60);

fn events(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

/// The delivery a claim handed over to send; anything else fails the test.
#[track_caller]
fn to_send(claim: Option<Claim>) -> ClaimedDelivery {
    match claim {
        Some(Claim::Deliver(claimed)) => claimed,
        other => panic!("expected a delivery to send, got {other:?}"),
    }
}

#[track_caller]
fn applied(recorded: Recorded) -> WebhookDelivery {
    match recorded {
        Recorded::Applied(delivery) => delivery,
        Recorded::Stale => panic!("expected the outcome to be recorded"),
    }
}

fn header<'c>(claimed: &'c ClaimedDelivery, name: &str) -> &'c str {
    claimed
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// A subscription of `tenant`'s to every event.
async fn subscribed_to_everything(tenant: &Tenant) -> Uuid {
    tenant
        .webhooks()
        .create("https://hooks.example/x", &events(&["*"]), None)
        .await
        .unwrap()
        .subscription
        .id
}

/// Emits one event of the application's own, queued for every subscription that wants it.
async fn emit_one(tenant: &Tenant) {
    tenant
        .webhooks()
        .emit("deal.won", &json!({}))
        .await
        .unwrap();
}

async fn all_deliveries(tenant: &Tenant, subscription_id: Uuid) -> Vec<WebhookDelivery> {
    tenant
        .webhooks()
        .deliveries(subscription_id, None, 200)
        .await
        .unwrap()
        .deliveries
}

/// Makes a delivery waiting for its retry due now, as the owner (a test cannot wait out
/// the back-off).
async fn make_due(f: &Fixture, id: Uuid) {
    let mut conn = f.test_db.connect().await;
    sqlx::query("UPDATE webhook_delivery_logs SET next_retry_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_created_lead_is_delivered_once_signed_with_the_subscription_secret() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let created = tenant
        .webhooks()
        .create(
            "https://hooks.example/crm",
            &events(&["lead.created"]),
            None,
        )
        .await
        .unwrap();
    let subscription = created.subscription.id;
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();

    let queued = all_deliveries(&tenant, subscription).await;
    assert_eq!(queued.len(), 1);
    let delivery = &queued[0];
    assert_eq!(
        (
            delivery.status,
            delivery.attempt,
            delivery.event_type.as_str()
        ),
        (DeliveryStatus::Pending, 1, "lead.created")
    );
    let envelope = &delivery.payload;
    assert_eq!(envelope["type"], "lead.created");
    assert_eq!(envelope["organization_id"], f.a.id().to_string());
    assert_eq!(envelope["data"]["id"], lead.id.to_string());
    assert_eq!(envelope["data"]["name"], "Ana");
    assert!(envelope["id"].as_str().unwrap().parse::<Uuid>().is_ok());
    let occurred_at: DateTime<Utc> = envelope["occurred_at"].as_str().unwrap().parse().unwrap();
    assert!((Utc::now() - occurred_at).num_seconds().abs() < 60);

    let worker = f.worker_db.webhook_worker("w1");
    let claimed = to_send(worker.claim(LEASE).await.unwrap());
    assert_eq!(claimed.delivery.id, delivery.id);
    assert_eq!(claimed.url, "https://hooks.example/crm");
    assert_eq!(
        header(&claimed, outbox::DELIVERY_HEADER),
        delivery.id.to_string()
    );
    assert_eq!(header(&claimed, outbox::EVENT_HEADER), "lead.created");
    assert_eq!(header(&claimed, "Content-Type"), "application/json");
    let body: serde_json::Value = serde_json::from_slice(&claimed.body).unwrap();
    assert_eq!(&body, envelope);
    let signature = header(&claimed, outbox::SIGNATURE_HEADER);
    let secret = created.secret.expose_secret();
    let now = Utc::now().timestamp();
    assert!(outbox::verify(
        secret,
        signature,
        &claimed.body,
        now,
        SIGNATURE_TOLERANCE
    ));
    assert!(!outbox::verify(
        "whsec_wrong",
        signature,
        &claimed.body,
        now,
        SIGNATURE_TOLERANCE
    ));
    assert!(
        worker.claim(LEASE).await.unwrap().is_none(),
        "the claimed delivery is leased"
    );

    let done = applied(
        worker
            .succeeded(&claimed, 204, Duration::from_millis(120))
            .await
            .unwrap(),
    );
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(
        (done.response_status, done.duration_ms),
        (Some(204), Some(120))
    );
    assert!(done.delivered_at.is_some() && done.next_retry_at.is_none());
    assert_eq!(tenant.webhooks().delivery(done.id).await.unwrap(), done);
    assert_eq!(all_deliveries(&tenant, subscription).await, vec![done]);
    assert!(worker.claim(LEASE).await.unwrap().is_none());
    assert_not_found(
        tenant.webhooks().delivery(Uuid::now_v7()).await,
        "webhook delivery",
    );
}

#[tokio::test]
async fn only_the_subscriptions_that_want_an_event_get_it() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let webhooks = tenant.webhooks();
    let create = |names: &'static [&'static str]| {
        let webhooks = webhooks.clone();
        async move {
            webhooks
                .create("https://hooks.example/x", &events(names), None)
                .await
                .unwrap()
                .subscription
                .id
        }
    };
    let leads_only = create(&["lead.created"]).await;
    let tasks_only = create(&["task.created"]).await;
    let inactive = create(&["lead.created"]).await;
    let everything = create(&["*"]).await;
    webhooks
        .update(
            inactive,
            &WebhookChanges {
                is_active: Some(false),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();

    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    tenant
        .leads()
        .move_to_stage(lead.id, f.a.stages[1].id)
        .await
        .unwrap();
    let message = InboundMessage {
        lead_id: lead.id,
        channel: Channel::Whatsapp,
        external_id: "wamid.1".into(),
        content: Some("Olá".into()),
        occurred_at: Utc::now(),
        metadata: None,
    };
    tenant
        .communications()
        .record_inbound(&message)
        .await
        .unwrap();
    let (_, again) = tenant
        .communications()
        .record_inbound(&message)
        .await
        .unwrap();
    assert!(!again, "a repeated inbound message is not a new event");
    assert_eq!(
        webhooks
            .emit("invoice.paid", &json!({"n": 1}))
            .await
            .unwrap(),
        1
    );
    assert_eq!(webhooks.emit("task.created", &json!({})).await.unwrap(), 2);
    assert_invalid(
        webhooks.emit("Task Created", &json!({})).await,
        "event_type",
    );
    assert_invalid(webhooks.emit("*", &json!({})).await, "event_type");

    // A change that fails queues nothing: the event is in its transaction.
    assert_not_found(
        tenant
            .leads()
            .create(&NewLead {
                stage_id: Some(f.b.stages[0].id),
                ..NewLead::named("Nobody")
            })
            .await,
        "stage",
    );

    let types = |deliveries: Vec<WebhookDelivery>| -> Vec<String> {
        let mut types: Vec<String> = deliveries.into_iter().map(|d| d.event_type).collect();
        types.sort();
        types
    };
    assert_eq!(
        types(all_deliveries(&tenant, leads_only).await),
        ["lead.created"]
    );
    assert_eq!(
        types(all_deliveries(&tenant, tasks_only).await),
        ["task.created"]
    );
    assert!(all_deliveries(&tenant, inactive).await.is_empty());
    assert_eq!(
        types(all_deliveries(&tenant, everything).await),
        [
            "communication.received",
            "invoice.paid",
            "lead.created",
            "lead.stage_changed",
            "task.created"
        ]
    );
    let moved = all_deliveries(&tenant, everything)
        .await
        .into_iter()
        .find(|d| d.event_type == "lead.stage_changed")
        .unwrap();
    assert_eq!(
        moved.payload["data"]["stage_id"],
        f.a.stages[1].id.to_string()
    );

    // The log pages newest first.
    let first = webhooks.deliveries(everything, None, 2).await.unwrap();
    let second = webhooks
        .deliveries(everything, first.next, 2)
        .await
        .unwrap();
    let third = webhooks
        .deliveries(everything, second.next, 2)
        .await
        .unwrap();
    let paged: Vec<Uuid> = [&first, &second, &third]
        .iter()
        .flat_map(|page| page.deliveries.iter().map(|d| d.id))
        .collect();
    let mut newest_first: Vec<Uuid> = all_deliveries(&tenant, everything)
        .await
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(paged, newest_first);
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(paged, newest_first);
    assert!(third.next.is_none() && third.deliveries.len() == 1);
    assert_invalid(webhooks.deliveries(everything, None, 0).await, "limit");
}

#[tokio::test]
async fn failed_attempts_back_off_until_the_delivery_is_dead() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let subscription = subscribed_to_everything(&tenant).await;
    emit_one(&tenant).await;
    let worker = f.worker_db.webhook_worker("w1");
    assert_invalid(worker.claim(Duration::ZERO).await, "lease");
    assert_invalid(worker.claim(Duration::from_secs(7200)).await, "lease");

    for attempt in 1..=MAX_ATTEMPTS {
        let claimed = to_send(worker.claim(LEASE).await.unwrap());
        assert_eq!(claimed.delivery.attempt, attempt);
        assert_eq!(header(&claimed, "X-Crmdb-Attempt"), attempt.to_string());
        assert_invalid(
            worker.failed(&claimed, Some(42), "x", Duration::ZERO).await,
            "response_status",
        );
        let response = (attempt % 2 == 0).then_some(503);
        let before = Utc::now();
        let after = applied(
            worker
                .failed(
                    &claimed,
                    response,
                    "upstream down",
                    Duration::from_millis(30),
                )
                .await
                .unwrap(),
        );
        assert_eq!(after.response_status, response);
        assert_eq!(after.last_error.as_deref(), Some("upstream down"));
        if attempt < MAX_ATTEMPTS {
            assert_eq!(
                (after.status, after.attempt),
                (DeliveryStatus::Pending, attempt + 1)
            );
            let wait = after.next_retry_at.unwrap() - before;
            let expected = chrono::Duration::from_std(retry_delay(attempt)).unwrap();
            assert!(
                wait >= expected - chrono::Duration::seconds(1)
                    && wait <= expected + chrono::Duration::seconds(5),
                "attempt {attempt}: {wait}"
            );
            assert!(
                worker.claim(LEASE).await.unwrap().is_none(),
                "not due during the back-off"
            );
            make_due(&f, after.id).await;
        } else {
            assert_eq!(
                (after.status, after.attempt),
                (DeliveryStatus::Dead, attempt)
            );
            assert!(after.next_retry_at.is_none());
        }
    }
    assert!(
        worker.claim(LEASE).await.unwrap().is_none(),
        "a dead delivery is not retried"
    );
    let hook = tenant.webhooks().get(subscription).await.unwrap();
    assert_eq!((hook.failure_count, hook.is_active), (MAX_ATTEMPTS, true));

    // A success resets the count of failures in a row.
    emit_one(&tenant).await;
    let claimed = to_send(worker.claim(LEASE).await.unwrap());
    applied(
        worker
            .succeeded(&claimed, 200, Duration::ZERO)
            .await
            .unwrap(),
    );
    assert_eq!(
        tenant
            .webhooks()
            .get(subscription)
            .await
            .unwrap()
            .failure_count,
        0
    );
}

#[tokio::test]
async fn a_subscription_failing_too_often_in_a_row_is_deactivated_and_its_deliveries_dropped() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let subscription = subscribed_to_everything(&tenant).await;
    let deliveries = DEACTIVATE_AFTER_FAILURES / MAX_ATTEMPTS + 2;
    for n in 0..deliveries {
        tenant
            .webhooks()
            .emit("deal.won", &json!({"n": n}))
            .await
            .unwrap();
    }
    let worker = f.worker_db.webhook_worker("w1");
    let mut failures = 0;
    while failures < DEACTIVATE_AFTER_FAILURES {
        let hook = tenant.webhooks().get(subscription).await.unwrap();
        assert_eq!((hook.failure_count, hook.is_active), (failures, true));
        let claimed = to_send(worker.claim(LEASE).await.unwrap());
        let after = applied(
            worker
                .failed(&claimed, None, "connection refused", Duration::ZERO)
                .await
                .unwrap(),
        );
        failures += 1;
        if after.status == DeliveryStatus::Pending {
            make_due(&f, after.id).await;
        }
    }
    let hook = tenant.webhooks().get(subscription).await.unwrap();
    assert_eq!(
        (hook.failure_count, hook.is_active),
        (DEACTIVATE_AFTER_FAILURES, false)
    );

    // What is still pending for it is dropped when claimed, not sent.
    let mut dropped = 0;
    while let Some(claim) = worker.claim(LEASE).await.unwrap() {
        match claim {
            Claim::Dropped(delivery) => {
                assert_eq!(delivery.status, DeliveryStatus::Dead);
                assert_eq!(
                    delivery.last_error.as_deref(),
                    Some("subscription inactive")
                );
                dropped += 1;
            }
            Claim::Deliver(claimed) => panic!("sent to an inactive subscription: {claimed:?}"),
        }
    }
    assert!(dropped >= 1);
    let log = all_deliveries(&tenant, subscription).await;
    assert_eq!(log.len() as i32, deliveries);
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Dead));
}

#[tokio::test]
async fn a_subscription_deactivated_or_deleted_after_the_event_gets_nothing() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let webhooks = tenant.webhooks();
    let paused = webhooks
        .create("https://hooks.example/paused", &events(&["*"]), None)
        .await
        .unwrap()
        .subscription
        .id;
    let deleted = webhooks
        .create("https://hooks.example/deleted", &events(&["*"]), None)
        .await
        .unwrap()
        .subscription
        .id;
    assert_eq!(webhooks.emit("deal.won", &json!({})).await.unwrap(), 2);
    webhooks
        .update(
            paused,
            &WebhookChanges {
                is_active: Some(false),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();
    webhooks.delete(deleted).await.unwrap();

    let worker = f.worker_db.webhook_worker("w1");
    match worker.claim(LEASE).await.unwrap() {
        Some(Claim::Dropped(delivery)) => {
            assert_eq!(delivery.subscription_id, paused);
            assert_eq!(delivery.status, DeliveryStatus::Dead);
        }
        other => panic!("expected the paused subscription's delivery dropped, got {other:?}"),
    }
    assert!(
        worker.claim(LEASE).await.unwrap().is_none(),
        "the deleted subscription's log went with it"
    );
    assert_eq!(
        all_deliveries(&tenant, paused).await[0].status,
        DeliveryStatus::Dead
    );
}

#[tokio::test]
async fn an_outcome_is_recorded_once_and_only_by_the_claim_that_holds_the_delivery() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let subscription = subscribed_to_everything(&tenant).await;
    emit_one(&tenant).await;
    let worker = f.worker_db.webhook_worker("w1");
    let claimed = to_send(worker.claim(LEASE).await.unwrap());
    let done = applied(
        worker
            .succeeded(&claimed, 200, Duration::ZERO)
            .await
            .unwrap(),
    );
    assert_eq!(
        worker
            .succeeded(&claimed, 200, Duration::ZERO)
            .await
            .unwrap(),
        Recorded::Stale
    );
    assert_eq!(
        worker
            .failed(&claimed, Some(500), "late", Duration::ZERO)
            .await
            .unwrap(),
        Recorded::Stale
    );
    assert_eq!(tenant.webhooks().delivery(done.id).await.unwrap(), done);
    assert_eq!(
        tenant
            .webhooks()
            .get(subscription)
            .await
            .unwrap()
            .failure_count,
        0
    );

    // A failure recorded twice counts once.
    emit_one(&tenant).await;
    let claimed = to_send(worker.claim(LEASE).await.unwrap());
    let retried = applied(
        worker
            .failed(&claimed, Some(500), "boom", Duration::ZERO)
            .await
            .unwrap(),
    );
    assert_eq!(
        worker
            .failed(&claimed, Some(500), "boom", Duration::ZERO)
            .await
            .unwrap(),
        Recorded::Stale
    );
    assert_eq!(
        tenant.webhooks().delivery(retried.id).await.unwrap(),
        retried
    );
    assert_eq!(
        tenant
            .webhooks()
            .get(subscription)
            .await
            .unwrap()
            .failure_count,
        1
    );
}

#[tokio::test]
async fn a_lease_that_ran_out_lets_another_worker_claim_and_the_old_claim_is_refused() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    tenant
        .webhooks()
        .create("https://hooks.example/x", &events(&["*"]), None)
        .await
        .unwrap();
    emit_one(&tenant).await;
    let first = f.worker_db.webhook_worker("w1");
    let second = f.worker_db.webhook_worker("w2");
    let old = to_send(first.claim(Duration::from_secs(1)).await.unwrap());
    assert!(second.claim(LEASE).await.unwrap().is_none(), "leased");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let new = to_send(second.claim(LEASE).await.unwrap());
    assert_eq!(new.delivery.id, old.delivery.id);
    assert_eq!(new.delivery.attempt, old.delivery.attempt);
    assert_ne!(new.delivery.next_retry_at, old.delivery.next_retry_at);

    assert_eq!(
        first.succeeded(&old, 200, Duration::ZERO).await.unwrap(),
        Recorded::Stale
    );
    assert_eq!(
        first
            .failed(&old, None, "timeout", Duration::ZERO)
            .await
            .unwrap(),
        Recorded::Stale
    );
    let pending = tenant.webhooks().delivery(new.delivery.id).await.unwrap();
    assert_eq!(pending.status, DeliveryStatus::Pending);
    assert_eq!(pending.next_retry_at, new.delivery.next_retry_at);
    let done = applied(second.succeeded(&new, 200, Duration::ZERO).await.unwrap());
    assert_eq!(done.status, DeliveryStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_claiming_one_due_delivery_concurrently_never_both_get_it() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    tenant
        .webhooks()
        .create("https://hooks.example/x", &events(&["*"]), None)
        .await
        .unwrap();
    let claim = |worker: WebhookWorker| tokio::spawn(async move { worker.claim(LEASE).await });
    for round in 0..40 {
        tenant
            .webhooks()
            .emit("deal.won", &json!({"round": round}))
            .await
            .unwrap();
        let (one, two) = tokio::join!(
            claim(f.worker_db.webhook_worker("w1")),
            claim(f.worker_db.webhook_worker("w2"))
        );
        let won: Vec<ClaimedDelivery> = [one.unwrap().unwrap(), two.unwrap().unwrap()]
            .into_iter()
            .flatten()
            .map(|claim| to_send(Some(claim)))
            .collect();
        assert_eq!(won.len(), 1, "round {round}: exactly one worker gets it");
        applied(
            f.worker_db
                .webhook_worker("w1")
                .succeeded(&won[0], 200, Duration::ZERO)
                .await
                .unwrap(),
        );
    }
}

#[tokio::test]
async fn the_application_login_cannot_claim_deliveries() {
    let f = fixture().await;
    let b = f.tenant_b();
    let subscription = b
        .webhooks()
        .create("https://b.example/hook", &events(&["*"]), None)
        .await
        .unwrap()
        .subscription
        .id;
    b.webhooks()
        .emit("deal.won", &json!({"secret": "of b"}))
        .await
        .unwrap();
    let before = all_deliveries(&b, subscription).await;

    let error =
        f.db.webhook_worker("intruder")
            .claim(LEASE)
            .await
            .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied to set role \"crm_worker\""),
        "{error}"
    );
    let mut tx = f.tenant_a().begin().await.unwrap();
    let error = sql::query("SELECT * FROM claim_webhook_delivery(interval '1 minute')")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied for function claim_webhook_delivery"),
        "{error}"
    );
    drop(tx);
    assert_eq!(
        all_deliveries(&b, subscription).await,
        before,
        "B's deliveries are untouched"
    );
}

#[tokio::test]
async fn an_organization_cannot_read_touch_or_feed_another_organizations_deliveries() {
    let f = fixture().await;
    let (a, b) = (f.tenant_a(), f.tenant_b());
    let b_hook = b
        .webhooks()
        .create("https://b.example/hook", &events(&["*"]), None)
        .await
        .unwrap()
        .subscription
        .id;
    let b_lead = b.leads().create(&NewLead::named("Bia")).await.unwrap();
    let before = all_deliveries(&b, b_hook).await;
    assert_eq!(before.len(), 1);
    let b_delivery = before[0].id;

    // Reading as A.
    let page = a.webhooks().deliveries(b_hook, None, 50).await.unwrap();
    assert!(page.deliveries.is_empty() && page.next.is_none());
    assert_not_found(a.webhooks().delivery(b_delivery).await, "webhook delivery");
    assert_not_found(a.webhooks().secret(b_hook).await, "webhook subscription");

    // A's own events reach none of B's subscriptions, not even B's `*`.
    let a_lead = a.leads().create(&NewLead::named("Ana")).await.unwrap();
    a.leads()
        .move_to_stage(a_lead.id, f.a.stages[1].id)
        .await
        .unwrap();
    assert_eq!(a.webhooks().emit("deal.won", &json!({})).await.unwrap(), 0);
    assert_not_found(
        a.leads().move_to_stage(b_lead.id, f.b.stages[1].id).await,
        "stage",
    );
    assert_not_found(
        a.leads().move_to_stage(b_lead.id, f.a.stages[1].id).await,
        "lead",
    );

    // A's own SQL under A's confinement changes nothing of B's.
    let changed = a
        .transaction(async |tx| {
            let org = tx.organization_id();
            let updated = sql::query(
                "UPDATE webhook_delivery_logs SET status = 'dead', next_retry_at = NULL \
                 WHERE id = $1",
            )
            .bind(b_delivery)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            let inserted = sql::query(
                "INSERT INTO webhook_delivery_logs (organization_id, subscription_id, \
                     event_type, payload, next_retry_at) \
                 SELECT $1, id, 'deal.won', '{}', now() FROM webhook_subscriptions WHERE id = $2",
            )
            .bind(org)
            .bind(b_hook)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            Ok(updated + inserted)
        })
        .await
        .unwrap();
    assert_eq!(changed, 0);

    assert_eq!(all_deliveries(&b, b_hook).await, before, "read as B");
}
