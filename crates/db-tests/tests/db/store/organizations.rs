//! Organizations and users: creation with defaults, the organizations of a user, accounts.

use crmdb_seed::NewOrganization;
use crmdb_store::models::MemberRole;
use crmdb_store::ops::organizations::NewUser;
use secrecy::SecretString;

use super::{assert_conflict, assert_invalid, assert_not_found, fixture, user};

#[tokio::test]
async fn an_organization_is_created_with_its_defaults_and_owner() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    assert_eq!(tenant.organization().await.unwrap().slug, "org-a");
    let names: Vec<_> = f.a.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["Lead", "Contato", "Proposta", "Negociação", "Fechado"]
    );
    assert!(tenant.templates().list().await.unwrap().len() >= 8);
    let owner = tenant.members().get(f.a.owner).await.unwrap();
    assert_eq!(owner.role, MemberRole::Owner);

    let taken =
        f.db.organizations()
            .create(&NewOrganization::new("Again", "org-a"), None)
            .await;
    assert_conflict(taken, "uq_organizations_slug");
    let bad =
        f.db.organizations()
            .create(&NewOrganization::new("Bad", "Not A Slug"), None)
            .await;
    assert_invalid(bad, "slug");
    let nobody =
        f.db.organizations()
            .create(
                &NewOrganization::new("Ghost", "ghost"),
                Some(uuid::Uuid::now_v7()),
            )
            .await;
    assert_not_found(nobody, "user");
    assert!(
        f.db.organizations()
            .list_for_user(f.a.owner)
            .await
            .unwrap()
            .len()
            == 1,
        "a failed creation leaves nothing behind"
    );
}

#[tokio::test]
async fn a_user_lists_only_their_own_organizations() {
    let f = fixture().await;
    f.tenant_b()
        .members()
        .add(f.a.agent, MemberRole::Viewer)
        .await
        .unwrap();
    let mine = f.db.organizations().list_for_user(f.a.agent).await.unwrap();
    let seen: Vec<_> = mine
        .iter()
        .map(|m| (m.organization.slug.as_str(), m.role))
        .collect();
    assert_eq!(
        seen,
        [("org-a", MemberRole::Agent), ("org-b", MemberRole::Viewer)]
    );
    let stranger = user(&f.db, "stranger@example.com").await;
    assert!(f
        .db
        .organizations()
        .list_for_user(stranger)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn users_are_unique_by_email_and_authenticate_with_their_password() {
    let f = fixture().await;
    let new = NewUser {
        email: "Carla@Example.com".into(),
        full_name: "Carla".into(),
        phone: Some("+5511988887777".into()),
        password: Some(SecretString::from("correct horse")),
    };
    let carla = f.db.users().create(&new).await.unwrap();
    assert_eq!(carla.email, "carla@example.com");
    // Only the owner reads the stored hash; the application never does.
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(carla.id)
        .fetch_one(&mut f.test_db.connect().await)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"));
    assert_eq!(f.db.users().get(carla.id).await.unwrap(), carla);
    assert_conflict(f.db.users().create(&new).await, "uq_users_email");
    let bad_phone = NewUser {
        phone: Some("11 98888".into()),
        email: "x@example.com".into(),
        ..new.clone()
    };
    assert_invalid(f.db.users().create(&bad_phone).await, "phone");

    let users = f.db.users();
    let ok = users
        .authenticate("CARLA@example.com", &SecretString::from("correct horse"))
        .await
        .unwrap();
    assert_eq!(ok.map(|u| u.id), Some(carla.id));
    let wrong = users
        .authenticate("carla@example.com", &SecretString::from("wrong"))
        .await
        .unwrap();
    assert!(wrong.is_none());
    assert_not_found(users.get(uuid::Uuid::now_v7()).await, "user");
}

#[tokio::test]
async fn a_totp_secret_is_sealed_enrolled_and_confirmed() {
    let f = fixture().await;
    let users = f.db.users();
    let user = f.a.agent;
    assert_not_found(users.two_factor_secret(user).await, "two-factor enrolment");
    assert_not_found(users.confirm_two_factor(user).await, "two-factor enrolment");
    users
        .enroll_two_factor(user, &SecretString::from("JBSWY3DPEHPK3PXP"))
        .await
        .unwrap();
    users.confirm_two_factor(user).await.unwrap();
    users
        .enroll_two_factor(user, &SecretString::from("KRSXG5CTMVRXEZLU"))
        .await
        .unwrap();
    let secret = users.two_factor_secret(user).await.unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&secret),
        "KRSXG5CTMVRXEZLU"
    );
    let mut conn = f.test_db.connect().await;
    let enabled: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT enabled_at FROM user_two_factor WHERE user_id = $1")
            .bind(user)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(
        enabled.is_none(),
        "re-enrolling waits for a new confirmation"
    );
    assert_not_found(
        users
            .enroll_two_factor(uuid::Uuid::now_v7(), &SecretString::from("x"))
            .await,
        "user",
    );
}
