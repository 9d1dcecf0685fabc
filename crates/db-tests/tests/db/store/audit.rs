//! The audit log: security-relevant changes append an entry in their own transaction (with
//! the acting user, never a secret), a failed change appends nothing, reads filter and page
//! by keyset, and one organization never reads or rewrites another's log.

use chrono::{Duration, Utc};
use crmdb_store::models::{AuditLog, MemberRole};
use crmdb_store::ops::audit::{AuditFilter, AuditPage};
use crmdb_store::ops::privacy::Subject;
use crmdb_store::ops::webhooks::WithSecret;
use crmdb_store::{sql, Tenant};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, fixture, user};

/// Every entry of the organization, newest first, read page by page through the layer.
async fn all_entries(tenant: &Tenant, filter: &AuditFilter) -> Vec<AuditLog> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let AuditPage {
            entries: page,
            next,
        } = tenant.audit_log().page(filter, after, 2).await.unwrap();
        entries.extend(page);
        match next {
            Some(cursor) => after = Some(cursor),
            None => return entries,
        }
    }
}

/// The API key the tests store (a secret that must never reach the log).
fn api_key() -> SecretString {
    SecretString::from("sk-live-0123456789abcdef")
}

/// A webhook subscription of `tenant` to `lead.created`, with its secret.
async fn subscribe(tenant: &Tenant) -> WithSecret {
    tenant
        .webhooks()
        .create(
            "https://hooks.example.com/a",
            &["lead.created".into()],
            None,
        )
        .await
        .unwrap()
}

fn actions(entries: &[AuditLog]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn security_changes_are_logged_with_their_actor_and_no_secret() {
    let f = fixture().await;
    let a = f.tenant_a().acting_as(f.a.owner);
    let newcomer = user(&f.db, "newcomer@a.example").await;
    let since = AuditFilter {
        since: Some(Utc::now()),
        ..AuditFilter::default()
    };

    a.members().add(newcomer, MemberRole::Agent).await.unwrap();
    a.members()
        .change_role(newcomer, MemberRole::Manager)
        .await
        .unwrap();
    let invitation = a
        .members()
        .invite(
            "bia@example.com",
            MemberRole::Agent,
            None,
            Duration::days(1),
        )
        .await
        .unwrap();
    a.members()
        .revoke_invitation(invitation.invitation.id)
        .await
        .unwrap();
    let key = api_key();
    let api_key = a
        .api_keys()
        .create("openai", "production", &key, None)
        .await
        .unwrap();
    a.api_keys().set_active(api_key.id, false).await.unwrap();
    a.api_keys().delete(api_key.id).await.unwrap();
    let webhook = subscribe(&a).await;
    a.webhooks()
        .rotate_secret(webhook.subscription.id)
        .await
        .unwrap();
    a.members().remove(newcomer).await.unwrap();

    let entries = all_entries(&a, &since).await;
    assert_eq!(
        actions(&entries),
        [
            "member.removed",
            "webhook_subscription.secret_rotated",
            "webhook_subscription.created",
            "api_key.deleted",
            "api_key.deactivated",
            "api_key.created",
            "invitation.revoked",
            "invitation.created",
            "member.role_changed",
            "member.added",
        ],
        "every change once, newest first"
    );
    assert!(entries.iter().all(|e| e.actor_user_id == Some(f.a.owner)));
    assert_eq!(entries[0].entity_id, Some(newcomer));
    assert_eq!(
        entries[8].changes,
        json!({"role": {"old": "agent", "new": "manager"}})
    );
    assert_eq!(
        entries[2].changes,
        json!({"url_host": {"new": "hooks.example.com"}, "events": {"new": ["lead.created"]}}),
        "of a webhook URL only its host, whose path may carry a token"
    );
    assert_eq!(
        entries[5].changes,
        json!({"service_name": {"new": "openai"}, "key_name": {"new": "production"}})
    );
    let text = serde_json::to_string(&entries).unwrap();
    for secret in [
        key.expose_secret(),
        webhook.secret.expose_secret(),
        invitation.token.expose_secret(),
    ] {
        assert!(!text.contains(secret), "a secret reached the audit log");
    }

    // Without an acting user the system is the actor.
    f.tenant_a()
        .api_keys()
        .create("anthropic", "batch", &key, None)
        .await
        .unwrap();
    let system = all_entries(&a, &AuditFilter::default()).await;
    assert_eq!(system[0].action, "api_key.created");
    assert_eq!(system[0].actor_user_id, None);

    // A data subject's access request is on record too, with counts only.
    a.privacy()
        .export(&Subject::Email("nobody@example.com".into()))
        .await
        .unwrap();
    let latest = &all_entries(&a, &AuditFilter::default()).await[0];
    assert_eq!(latest.action, "privacy.exported");
    assert_eq!(latest.changes, json!({"leads": 0, "tables": 0}));
}

#[tokio::test]
async fn a_change_that_fails_logs_nothing() {
    let f = fixture().await;
    let a = f.tenant_a().acting_as(f.a.owner);
    let since = AuditFilter {
        since: Some(Utc::now()),
        ..AuditFilter::default()
    };
    assert_not_found(
        a.members().revoke_invitation(Uuid::now_v7()).await,
        "invitation",
    );
    assert_not_found(
        a.members()
            .change_role(Uuid::now_v7(), MemberRole::Admin)
            .await,
        "member",
    );
    assert_not_found(a.api_keys().delete(Uuid::now_v7()).await, "api key");
    assert!(a
        .members()
        .remove(f.a.owner)
        .await
        .is_err_and(|e| matches!(e, crmdb_store::Error::Forbidden { .. })));
    assert!(all_entries(&a, &since).await.is_empty());
}

#[tokio::test]
async fn a_change_to_the_same_value_logs_nothing() {
    let f = fixture().await;
    let a = f.tenant_a().acting_as(f.a.owner);
    let key = a
        .api_keys()
        .create("openai", "production", &api_key(), None)
        .await
        .unwrap();
    let webhook = subscribe(&a).await;
    let since = AuditFilter {
        since: Some(Utc::now()),
        ..AuditFilter::default()
    };
    assert!(
        a.api_keys()
            .set_active(key.id, true)
            .await
            .unwrap()
            .is_active
    );
    a.members()
        .change_role(f.a.agent, MemberRole::Agent)
        .await
        .unwrap();
    a.webhooks()
        .update(webhook.subscription.id, &Default::default())
        .await
        .unwrap();
    assert!(all_entries(&a, &since).await.is_empty());
    assert_not_found(
        a.api_keys().set_active(Uuid::now_v7(), true).await,
        "api key",
    );

    // A URL with credentials in it is refused before it could reach the log.
    assert_invalid(
        a.webhooks()
            .create(
                "https://user:pass@hooks.example.com/a",
                &["lead.created".into()],
                None,
            )
            .await,
        "url",
    );
}

#[tokio::test]
async fn reads_filter_and_page_by_keyset() {
    let f = fixture().await;
    let a = f.tenant_a().acting_as(f.a.owner);
    let start = Utc::now();
    let key = api_key();
    let mut ids = Vec::new();
    for name in ["k1", "k2", "k3", "k4", "k5"] {
        ids.push(
            a.api_keys()
                .create("openai", name, &key, None)
                .await
                .unwrap()
                .id,
        );
    }
    f.tenant_a()
        .acting_as(f.a.agent)
        .api_keys()
        .set_active(ids[0], false)
        .await
        .unwrap();

    let keys = all_entries(
        &a,
        &AuditFilter {
            action: Some("api_key".into()),
            ..AuditFilter::default()
        },
    )
    .await;
    assert_eq!(keys.len(), 6, "the prefix matches every api_key.* action");
    let mut seen: Vec<Uuid> = keys.iter().map(|e| e.id).collect();
    seen.dedup();
    assert_eq!(seen.len(), 6, "pages do not overlap");
    assert!(keys
        .windows(2)
        .all(|w| (w[0].created_at, w[0].id) > (w[1].created_at, w[1].id)));

    let created = AuditFilter {
        action: Some("api_key.created".into()),
        ..AuditFilter::default()
    };
    assert_eq!(all_entries(&a, &created).await.len(), 5);
    let by_agent = AuditFilter {
        actor_user_id: Some(f.a.agent),
        ..AuditFilter::default()
    };
    assert_eq!(
        actions(&all_entries(&a, &by_agent).await),
        ["api_key.deactivated"]
    );
    let of_first = AuditFilter {
        entity_type: Some("api_key".into()),
        entity_id: Some(ids[0]),
        ..AuditFilter::default()
    };
    assert_eq!(all_entries(&a, &of_first).await.len(), 2);
    let window = AuditFilter {
        since: Some(start),
        until: Some(Utc::now()),
        ..created.clone()
    };
    assert_eq!(all_entries(&a, &window).await.len(), 5);
    let future = AuditFilter {
        since: Some(Utc::now() + Duration::hours(1)),
        ..AuditFilter::default()
    };
    assert!(all_entries(&a, &future).await.is_empty());

    // A prefix is a whole dotted segment, not a pattern.
    let partial = AuditFilter {
        action: Some("api".into()),
        ..AuditFilter::default()
    };
    assert!(all_entries(&a, &partial).await.is_empty());
    let bad = AuditFilter {
        action: Some("Api Key".into()),
        ..AuditFilter::default()
    };
    assert!(a.audit_log().page(&bad, None, 10).await.is_err());
    assert!(a
        .audit_log()
        .page(&AuditFilter::default(), None, 0)
        .await
        .is_err());
}

#[tokio::test]
async fn one_organization_neither_reads_nor_rewrites_anothers_log() {
    let f = fixture().await;
    let key = api_key();
    f.tenant_b()
        .acting_as(f.b.owner)
        .api_keys()
        .create("openai", "b-key", &key, None)
        .await
        .unwrap();
    let b_before = all_entries(&f.tenant_b(), &AuditFilter::default()).await;
    assert!(!b_before.is_empty());

    let a = f.tenant_a().acting_as(f.a.owner);
    assert!(all_entries(&a, &AuditFilter::default())
        .await
        .iter()
        .all(|e| e.organization_id == f.a.id()));
    let b_entity = AuditFilter {
        entity_id: b_before[0].entity_id,
        ..AuditFilter::default()
    };
    assert!(all_entries(&a, &b_entity).await.is_empty());

    // The attacker's own SQL through A's handle: B's rows are invisible, and the log is
    // append-only even for A's own rows.
    let b_id = f.b.id();
    let seen: i64 = a
        .transaction(async |tx| {
            sql::query_scalar("SELECT count(*) FROM audit_logs WHERE organization_id = $1")
                .bind(b_id)
                .fetch_one(&mut **tx)
                .await
        })
        .await
        .unwrap();
    assert_eq!(seen, 0);
    let changed = a
        .transaction(async |tx| {
            sql::query("UPDATE audit_logs SET changes = '{}' WHERE organization_id = $1")
                .bind(b_id)
                .execute(&mut **tx)
                .await
        })
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 0);
    assert!(a
        .transaction(async |tx| {
            sql::query("DELETE FROM audit_logs")
                .execute(&mut **tx)
                .await
        })
        .await
        .is_err());
    let forged = a
        .transaction(async |tx| {
            sql::query(
                "INSERT INTO audit_logs (organization_id, action, entity_type) \
                 VALUES ($1, 'member.removed', 'member')",
            )
            .bind(b_id)
            .execute(&mut **tx)
            .await
        })
        .await;
    assert!(
        forged.is_err(),
        "row-level security refuses B's organization"
    );

    assert_eq!(
        all_entries(&f.tenant_b(), &AuditFilter::default()).await,
        b_before,
        "B's log is unchanged"
    );
}
