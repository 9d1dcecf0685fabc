//! Sign-in sessions and e-mailed tokens: found by their token only while live, single use,
//! scoped to their user, and never stored in clear.

use std::net::IpAddr;

use chrono::Duration;
use crmdb_store::ops::organizations::NewUser;
use crmdb_store::ops::sessions::Device;
use crmdb_store::Db;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, fixture, user};

fn device() -> Device {
    Device {
        user_agent: Some("Mozilla/5.0 (test)".to_owned()),
        ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
    }
}

async fn user_with_password(db: &Db, email: &str, password: &str) -> Uuid {
    db.users()
        .create(&NewUser {
            email: email.to_owned(),
            full_name: "Pat Reset".to_owned(),
            phone: None,
            password: Some(SecretString::from(password.to_owned())),
        })
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn sign_in_creates_a_session_found_by_its_token() {
    let f = fixture().await;
    let sessions = f.db.sessions();
    let signed_in = sessions
        .create(f.a.owner, &device(), Duration::days(30))
        .await
        .unwrap();
    let session = &signed_in.session;
    assert_eq!(session.user_id, f.a.owner);
    assert_eq!(session.ip, device().ip);
    assert_eq!(session.user_agent.as_deref(), Some("Mozilla/5.0 (test)"));
    assert!(session.revoked_at.is_none());
    assert!(signed_in.refresh_token.expose_secret().starts_with("rt_"));
    assert!(
        !format!("{signed_in:?}").contains(signed_in.refresh_token.expose_secret()),
        "Debug redacts the token"
    );

    let live = sessions
        .by_token(&signed_in.refresh_token)
        .await
        .unwrap()
        .expect("a live session");
    assert_eq!(live.session_id, session.id);
    assert_eq!(live.user_id, f.a.owner);
    assert_eq!(live.expires_at, session.expires_at);
    assert_eq!(
        sessions
            .by_token(&SecretString::from("rt_unknown"))
            .await
            .unwrap(),
        None
    );
    let listed = sessions.list(f.a.owner).await.unwrap();
    assert_eq!(listed, vec![session.clone()]);

    // Without a device and on an IPv6 address.
    let bare = sessions
        .create(
            f.a.owner,
            &Device {
                user_agent: None,
                ip: Some("2001:db8::1".parse().unwrap()),
            },
            Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(bare.session.ip, Some("2001:db8::1".parse().unwrap()));
    assert_eq!(sessions.list(f.a.owner).await.unwrap().len(), 2);
}

#[tokio::test]
async fn bad_session_input_is_refused() {
    let f = fixture().await;
    let sessions = f.db.sessions();
    assert_invalid(
        sessions
            .create(f.a.owner, &device(), Duration::zero())
            .await,
        "ttl",
    );
    assert_not_found(
        sessions
            .create(Uuid::now_v7(), &device(), Duration::hours(1))
            .await,
        "user",
    );
    assert_not_found(sessions.revoke(f.a.owner, Uuid::now_v7()).await, "session");
}

#[tokio::test]
async fn tokens_are_stored_only_as_their_sha256() {
    let f = fixture().await;
    let signed_in =
        f.db.sessions()
            .create(f.a.owner, &device(), Duration::days(1))
            .await
            .unwrap();
    let reset =
        f.db.auth_tokens()
            .issue_password_reset("owner@a.example", Duration::hours(1))
            .await
            .unwrap()
            .unwrap();
    let verification =
        f.db.auth_tokens()
            .issue_email_verification(f.a.agent, Duration::hours(1))
            .await
            .unwrap();

    // As the owner of the tables (row-level security is not forced on global tables).
    let mut owner = f.test_db.connect().await;
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT refresh_token_hash FROM user_sessions")
        .fetch_all(&mut owner)
        .await
        .unwrap();
    assert_eq!(
        stored,
        vec![crmdb_secrets::hash_token(&signed_in.refresh_token)]
    );
    let stored_tokens: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT token_hash FROM auth_tokens ORDER BY created_at, id")
            .fetch_all(&mut owner)
            .await
            .unwrap();
    assert_eq!(
        stored_tokens,
        vec![
            crmdb_secrets::hash_token(&reset),
            crmdb_secrets::hash_token(&verification)
        ]
    );
    for (hash, token) in
        stored
            .iter()
            .chain(&stored_tokens)
            .zip([&signed_in.refresh_token, &reset, &verification])
    {
        assert_eq!(hash.len(), 32);
        assert_ne!(hash.as_slice(), token.expose_secret().as_bytes());
    }
    // No text column of either table holds a token.
    for token in [&signed_in.refresh_token, &reset, &verification] {
        let found: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM user_sessions AS s WHERE s::text LIKE '%' || $1 || '%') \
                  + (SELECT count(*) FROM auth_tokens AS t WHERE t::text LIKE '%' || $1 || '%')",
        )
        .bind(token.expose_secret())
        .fetch_one(&mut owner)
        .await
        .unwrap();
        assert_eq!(found, 0);
    }
}

#[tokio::test]
async fn revoked_expired_and_deactivated_sessions_are_not_found() {
    let f = fixture().await;
    let sessions = f.db.sessions();
    let revoked = sessions
        .create(f.a.owner, &device(), Duration::days(1))
        .await
        .unwrap();
    let first = sessions
        .revoke(f.a.owner, revoked.session.id)
        .await
        .unwrap();
    assert!(first.revoked_at.is_some());
    assert_eq!(
        sessions.by_token(&revoked.refresh_token).await.unwrap(),
        None
    );
    // A retried revocation succeeds and changes nothing.
    let again = sessions
        .revoke(f.a.owner, revoked.session.id)
        .await
        .unwrap();
    assert_eq!(again.revoked_at, first.revoked_at);

    let short = sessions
        .create(f.a.owner, &device(), Duration::seconds(1))
        .await
        .unwrap();
    assert!(sessions
        .by_token(&short.refresh_token)
        .await
        .unwrap()
        .is_some());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(sessions.by_token(&short.refresh_token).await.unwrap(), None);
    assert!(sessions.list(f.a.owner).await.unwrap().is_empty());

    let agents = sessions
        .create(f.a.agent, &device(), Duration::days(1))
        .await
        .unwrap();
    sqlx::query("UPDATE users SET is_active = false WHERE id = $1")
        .bind(f.a.agent)
        .execute(&mut f.test_db.connect().await)
        .await
        .unwrap();
    assert_eq!(
        sessions.by_token(&agents.refresh_token).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn revoke_all_signs_the_user_out_everywhere() {
    let f = fixture().await;
    let sessions = f.db.sessions();
    let mut created = Vec::new();
    for _ in 0..3 {
        created.push(
            sessions
                .create(f.a.owner, &device(), Duration::days(1))
                .await
                .unwrap(),
        );
    }
    sessions
        .revoke(f.a.owner, created[0].session.id)
        .await
        .unwrap();
    assert_eq!(sessions.revoke_all(f.a.owner).await.unwrap(), 2);
    assert_eq!(sessions.revoke_all(f.a.owner).await.unwrap(), 0);
    assert!(sessions.list(f.a.owner).await.unwrap().is_empty());
    for signed_in in &created {
        assert_eq!(
            sessions.by_token(&signed_in.refresh_token).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn a_user_cannot_list_or_revoke_another_users_sessions() {
    let f = fixture().await;
    let sessions = f.db.sessions();
    let victim = f.b.owner;
    let attacker = f.a.agent;
    let victims = sessions
        .create(victim, &device(), Duration::days(1))
        .await
        .unwrap();
    let attackers = sessions
        .create(attacker, &device(), Duration::days(1))
        .await
        .unwrap();
    let before = sessions.list(victim).await.unwrap();

    assert_eq!(
        sessions.list(attacker).await.unwrap(),
        vec![attackers.session.clone()]
    );
    assert_not_found(
        sessions.revoke(attacker, victims.session.id).await,
        "session",
    );
    assert_eq!(sessions.revoke_all(attacker).await.unwrap(), 1);

    assert_eq!(sessions.list(victim).await.unwrap(), before);
    assert!(sessions
        .by_token(&victims.refresh_token)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_password_reset_token_sets_the_password_once_and_signs_out() {
    let f = fixture().await;
    let tokens = f.db.auth_tokens();
    let pat = user_with_password(&f.db, "pat@example.com", "old password 1").await;
    let signed_in =
        f.db.sessions()
            .create(pat, &device(), Duration::days(1))
            .await
            .unwrap();

    assert!(tokens
        .issue_password_reset("nobody@example.com", Duration::hours(1))
        .await
        .unwrap()
        .is_none());
    assert_invalid(
        tokens
            .issue_password_reset("not an address", Duration::hours(1))
            .await,
        "email",
    );
    assert_invalid(
        tokens
            .issue_password_reset("pat@example.com", Duration::seconds(-1))
            .await,
        "ttl",
    );
    let token = tokens
        .issue_password_reset("Pat@Example.com", Duration::hours(1))
        .await
        .unwrap()
        .expect("a token for a known address");

    let new_password = SecretString::from("new password 2");
    assert_eq!(
        tokens.reset_password(&token, &new_password).await.unwrap(),
        pat
    );
    let users = f.db.users();
    assert!(users
        .authenticate("pat@example.com", &new_password)
        .await
        .unwrap()
        .is_some());
    assert!(users
        .authenticate("pat@example.com", &SecretString::from("old password 1"))
        .await
        .unwrap()
        .is_none());
    // The stored hash is an argon2id PHC string.
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(pat)
        .fetch_one(&mut f.test_db.connect().await)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"));
    // Every session was signed out.
    assert_eq!(
        f.db.sessions()
            .by_token(&signed_in.refresh_token)
            .await
            .unwrap(),
        None
    );

    // Single use, and no other purpose.
    assert_not_found(
        tokens
            .reset_password(&token, &SecretString::from("third password 3"))
            .await,
        "auth token",
    );
    assert_not_found(tokens.verify_email(&token).await, "auth token");
    assert_not_found(
        tokens
            .reset_password(&SecretString::from("pwr_unknown"), &new_password)
            .await,
        "auth token",
    );
}

#[tokio::test]
async fn an_expired_password_reset_token_is_refused() {
    let f = fixture().await;
    let tokens = f.db.auth_tokens();
    let pat = user_with_password(&f.db, "pat@example.com", "old password 1").await;
    let token = tokens
        .issue_password_reset("pat@example.com", Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    // Aged as the tables' owner: the CHECK wants it created before it expires.
    sqlx::query(
        "UPDATE auth_tokens SET created_at = now() - interval '2 hours', \
                                expires_at = now() - interval '1 hour' \
         WHERE user_id = $1",
    )
    .bind(pat)
    .execute(&mut f.test_db.connect().await)
    .await
    .unwrap();
    assert_not_found(
        tokens
            .reset_password(&token, &SecretString::from("new password 2"))
            .await,
        "auth token",
    );
    assert!(f
        .db
        .users()
        .authenticate("pat@example.com", &SecretString::from("old password 1"))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn an_email_verification_token_marks_the_address_verified_once() {
    let f = fixture().await;
    let tokens = f.db.auth_tokens();
    let ana = user(&f.db, "ana@example.com").await;
    assert!(f
        .db
        .users()
        .get(ana)
        .await
        .unwrap()
        .email_verified_at
        .is_none());
    assert_not_found(
        tokens
            .issue_email_verification(Uuid::now_v7(), Duration::hours(1))
            .await,
        "user",
    );
    assert_invalid(
        tokens.issue_email_verification(ana, Duration::zero()).await,
        "ttl",
    );

    let token = tokens
        .issue_email_verification(ana, Duration::hours(1))
        .await
        .unwrap();
    assert!(token.expose_secret().starts_with("emv_"));
    // Not a password-reset token.
    assert_not_found(
        tokens
            .reset_password(&token, &SecretString::from("new password 2"))
            .await,
        "auth token",
    );
    assert_eq!(tokens.verify_email(&token).await.unwrap(), ana);
    let verified = f.db.users().get(ana).await.unwrap().email_verified_at;
    assert!(verified.is_some());
    assert_not_found(tokens.verify_email(&token).await, "auth token");

    let short = tokens
        .issue_email_verification(ana, Duration::seconds(1))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_not_found(tokens.verify_email(&short).await, "auth token");
    assert_eq!(
        f.db.users().get(ana).await.unwrap().email_verified_at,
        verified
    );
}
