//! Members and invitations, and the rule that an organization keeps an owner.

use chrono::Duration;
use crmdb_store::models::MemberRole;
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use super::{assert_conflict, assert_forbidden, assert_not_found, fixture, user};

#[tokio::test]
async fn an_invitation_is_accepted_once_by_the_invited_address() {
    let f = fixture().await;
    let members = f.tenant_a().members();
    let invited = members
        .invite(
            "Bia@Example.com",
            MemberRole::Manager,
            Some(f.a.owner),
            Duration::days(7),
        )
        .await
        .unwrap();
    assert_eq!(invited.invitation.email, "bia@example.com");
    // Only the owner reads the stored hash; the application never does.
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM organization_invitations WHERE id = $1")
            .bind(invited.invitation.id)
            .fetch_one(&mut f.test_db.superuser_connect().await)
            .await
            .unwrap();
    assert_eq!(
        stored,
        crmdb_secrets::hash_token(&invited.token),
        "only the token's hash is stored"
    );
    let debug = format!("{invited:?}");
    assert!(
        !debug.contains(invited.token.expose_secret()),
        "Debug redacts the token"
    );

    let other = user(&f.db, "other@example.com").await;
    assert_forbidden(members.accept(&invited.token, other).await);
    let bia = user(&f.db, "bia@example.com").await;
    assert_not_found(
        members.accept(&SecretString::from("inv_wrong"), bia).await,
        "invitation",
    );
    let member = members.accept(&invited.token, bia).await.unwrap();
    assert_eq!(member.role, MemberRole::Manager);
    assert_eq!(member.invited_by, Some(f.a.owner));
    assert_not_found(members.accept(&invited.token, bia).await, "invitation");
    assert!(members.pending_invitations().await.unwrap().is_empty());
}

#[tokio::test]
async fn re_inviting_replaces_the_pending_invitation_and_expired_ones_are_refused() {
    let f = fixture().await;
    let members = f.tenant_a().members();
    let first = members
        .invite(
            "dan@example.com",
            MemberRole::Agent,
            None,
            Duration::days(1),
        )
        .await
        .unwrap();
    let second = members
        .invite(
            "dan@example.com",
            MemberRole::Admin,
            None,
            Duration::days(1),
        )
        .await
        .unwrap();
    let pending = members.pending_invitations().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, second.invitation.id);
    let dan = user(&f.db, "dan@example.com").await;
    assert_not_found(members.accept(&first.token, dan).await, "invitation");

    let revoked = members
        .revoke_invitation(second.invitation.id)
        .await
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_not_found(
        members.revoke_invitation(second.invitation.id).await,
        "invitation",
    );

    let short = members
        .invite(
            "dan@example.com",
            MemberRole::Agent,
            None,
            Duration::milliseconds(50),
        )
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    assert_forbidden(members.accept(&short.token, dan).await);
    assert!(members
        .invite("dan@example.com", MemberRole::Agent, None, Duration::zero())
        .await
        .is_err());
    assert_not_found(
        members
            .invite(
                "eve@example.com",
                MemberRole::Agent,
                Some(uuid::Uuid::now_v7()),
                Duration::days(1),
            )
            .await,
        "member",
    );
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() {
    let f = fixture().await;
    let members = f.tenant_a().members();
    assert_forbidden(members.change_role(f.a.owner, MemberRole::Admin).await);
    assert_forbidden(members.remove(f.a.owner).await);
    assert_eq!(
        members.get(f.a.owner).await.unwrap().role,
        MemberRole::Owner
    );

    let promoted = members
        .change_role(f.a.agent, MemberRole::Owner)
        .await
        .unwrap();
    assert_eq!(promoted.role, MemberRole::Owner);
    members
        .change_role(f.a.owner, MemberRole::Viewer)
        .await
        .unwrap();
    assert_forbidden(members.remove(f.a.agent).await);
    members.remove(f.a.owner).await.unwrap();
    assert_not_found(members.get(f.a.owner).await, "member");
    assert_not_found(members.remove(f.a.owner).await, "member");
    assert_not_found(
        members.change_role(f.a.owner, MemberRole::Agent).await,
        "member",
    );
    assert_eq!(members.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    tenant
        .members()
        .change_role(f.a.agent, MemberRole::Owner)
        .await
        .unwrap();
    let t1 = tenant.clone();
    let t2 = tenant.clone();
    let (owner, agent) = (f.a.owner, f.a.agent);
    let (r1, r2) = tokio::join!(
        async move { t1.members().change_role(owner, MemberRole::Admin).await },
        async move { t2.members().change_role(agent, MemberRole::Admin).await },
    );
    assert!(
        r1.is_ok() != r2.is_ok(),
        "exactly one demotion succeeds: {r1:?} {r2:?}"
    );
    let mut conn = f.test_db.superuser_connect().await;
    let owners: i64 = sqlx::query(
        "SELECT count(*) FROM organization_members WHERE organization_id = $1 AND role = 'owner'",
    )
    .bind(f.a.id())
    .fetch_one(&mut conn)
    .await
    .unwrap()
    .get(0);
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn a_user_is_added_once() {
    let f = fixture().await;
    let members = f.tenant_a().members();
    assert_conflict(
        members.add(f.a.agent, MemberRole::Agent).await,
        "uq_organization_members_organization_id_user_id",
    );
    assert_not_found(
        members.add(uuid::Uuid::now_v7(), MemberRole::Agent).await,
        "user",
    );
}
