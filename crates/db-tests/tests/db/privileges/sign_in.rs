//! The narrow sign-in functions, as the application login: each takes the secret (or its
//! hash) and returns a verdict or a row without secrets; tokens are single-use and expire.

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::{enter, scene, Scene};

/// One statement's single value, as the application role with nothing entered but the
/// acting user (if any): the situation of a request before sign-in.
async fn call<T>(s: &Scene, user: Option<Uuid>, sql: &str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    let mut conn: PgConnection = s.app().await;
    let mut tx = conn.begin().await.unwrap();
    enter(&mut tx, None, user.map(|u| u.to_string()).as_deref()).await;
    let value = sqlx::query_scalar(sql)
        .fetch_one(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    tx.commit().await.unwrap();
    value
}

#[tokio::test]
async fn a_session_is_found_by_its_token_only_while_live() {
    let s = scene().await;
    let a = s.a.user;
    let _: i32 = call(
        &s,
        Some(a),
        &format!(
            "WITH s AS (INSERT INTO user_sessions (user_id, refresh_token_hash, expires_at) \
             VALUES ('{a}', sha256('live'), now() + interval '1 day') RETURNING 1) \
             SELECT count(*)::int FROM s"
        ),
    )
    .await;
    let found: Option<Uuid> = call(
        &s,
        None,
        "SELECT user_id FROM session_by_token(sha256('live'))",
    )
    .await;
    assert_eq!(found, Some(a));
    // The graph's sessions are revoked; an unknown token finds nothing.
    let revoked: Option<Uuid> = call(
        &s,
        None,
        "SELECT (SELECT user_id FROM session_by_token(sha256('a-refresh')))",
    )
    .await;
    assert_eq!(revoked, None);
    let unknown: Option<Uuid> = call(
        &s,
        None,
        "SELECT (SELECT user_id FROM session_by_token(sha256('guess')))",
    )
    .await;
    assert_eq!(unknown, None);
}

#[tokio::test]
async fn a_password_reset_token_works_once_and_signs_every_session_out() {
    let mut s = scene().await;
    let issued: bool = call(
        &s,
        None,
        "SELECT issue_password_reset('USER-A@example.com', sha256('r1'), now() + interval '1 hour')",
    )
    .await;
    assert!(issued);
    let unknown: bool = call(
        &s,
        None,
        "SELECT issue_password_reset('nobody@example.com', sha256('r2'), now() + interval '1 hour')",
    )
    .await;
    assert!(!unknown);
    let new_hash = "$argon2id$v=19$m=8,t=1,p=1$bmV3$bmV3";
    let reset: Option<Uuid> = call(
        &s,
        None,
        &format!("SELECT reset_password(sha256('r1'), '{new_hash}')"),
    )
    .await;
    assert_eq!(reset, Some(s.a.user));
    let again: Option<Uuid> = call(
        &s,
        None,
        &format!("SELECT reset_password(sha256('r1'), '{new_hash}')"),
    )
    .await;
    assert_eq!(again, None, "single use");
    let (hash, live_sessions): (String, i64) = sqlx::query_as(
        "SELECT password_hash, (SELECT count(*) FROM user_sessions \
                                 WHERE user_id = u.id AND revoked_at IS NULL) \
         FROM users u WHERE id = $1",
    )
    .bind(s.a.user)
    .fetch_one(&mut s.superuser)
    .await
    .unwrap();
    assert_eq!((hash.as_str(), live_sessions), (new_hash, 0));
}

#[tokio::test]
async fn an_expired_or_other_purpose_token_is_refused_and_verification_marks_the_e_mail() {
    let mut s = scene().await;
    let a = s.a.user;
    sqlx::query(
        "INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at, created_at) VALUES \
         ($1, 'email_verification', sha256('v1'), now() + interval '1 hour', now()), \
         ($1, 'magic_link', sha256('old'), now() - interval '1 minute', now() - interval '1 hour')",
    )
    .bind(a)
    .execute(&mut s.superuser)
    .await
    .unwrap();
    sqlx::query("UPDATE users SET email_verified_at = NULL WHERE id = $1")
        .bind(a)
        .execute(&mut s.superuser)
        .await
        .unwrap();
    let wrong: Option<Uuid> = call(
        &s,
        None,
        "SELECT consume_auth_token('magic_link', sha256('v1'))",
    )
    .await;
    assert_eq!(wrong, None, "another purpose");
    let expired: Option<Uuid> = call(
        &s,
        None,
        "SELECT consume_auth_token('magic_link', sha256('old'))",
    )
    .await;
    assert_eq!(expired, None);
    let verified: Option<Uuid> = call(
        &s,
        None,
        "SELECT consume_auth_token('email_verification', sha256('v1'))",
    )
    .await;
    assert_eq!(verified, Some(a));
    let at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT email_verified_at FROM users WHERE id = $1")
            .bind(a)
            .fetch_one(&mut s.superuser)
            .await
            .unwrap();
    assert!(at.is_some());
}

#[tokio::test]
async fn the_two_factor_secret_is_the_acting_user_s_alone() {
    let s = scene().await;
    let own: Option<Vec<u8>> = call(
        &s,
        Some(s.a.user),
        "SELECT (SELECT secret_ciphertext FROM two_factor_secret())",
    )
    .await;
    assert_eq!(own, Some(vec![1, 2]));
    let none: Option<Vec<u8>> = call(
        &s,
        None,
        "SELECT (SELECT secret_ciphertext FROM two_factor_secret())",
    )
    .await;
    assert_eq!(none, None, "no acting user, no secret");
}

#[tokio::test]
async fn an_inbound_webhook_finds_its_organization_before_any_is_entered() {
    let s = scene().await;
    let org: Option<Uuid> = call(
        &s,
        None,
        "SELECT (SELECT organization_id FROM route_inbound('whatsapp', 'pnid-b'))",
    )
    .await;
    assert_eq!(org, Some(s.b.org));
    let none: Option<Uuid> = call(
        &s,
        None,
        "SELECT (SELECT organization_id FROM route_inbound('whatsapp', 'unknown'))",
    )
    .await;
    assert_eq!(none, None);
}
