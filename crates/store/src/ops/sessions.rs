//! Sign-in sessions and e-mailed tokens, the global side of authentication: a session per
//! device identified by the SHA-256 of its refresh token, password resets and e-mail
//! verification. Tokens exist in clear only in the values returned here; the database keeps
//! their hashes, which the application role can write but never read back: a token is
//! matched by the narrow `SECURITY DEFINER` functions of migration 0011.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use uuid::Uuid;

use crate::db::{Db, Last};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::UserSession;
use crate::sealing;
use crate::sql::{query, query_as, query_scalar, row_struct};

/// The columns of `user_sessions` the application reads: all but the token's hash.
macro_rules! session_columns {
    () => {
        "id, user_id, ip, user_agent, expires_at, revoked_at, last_seen_at, created_at, updated_at"
    };
}

/// A session just created at sign-in: the row, and the refresh token to hand to the client.
/// The token exists only here — the database keeps its SHA-256.
#[derive(Debug)]
pub struct SignedIn {
    pub session: UserSession,
    pub refresh_token: SecretString,
}

/// Where a new session comes from, as the sign-in request shows it.
#[derive(Debug, Clone, Default)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<IpAddr>,
}

row_struct! {
    /// A live session found by its refresh token: not revoked, not expired, of an active user.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LiveSession {
        pub session_id: Uuid,
        pub user_id: Uuid,
        pub expires_at: DateTime<Utc>,
    }
}

/// Sessions of signed-in users (global, each user sees only their own).
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Db,
}

/// Single-use e-mailed tokens: password reset and e-mail verification (global).
#[derive(Debug, Clone)]
pub struct AuthTokens {
    db: Db,
}

impl Db {
    /// Sign-in sessions: create, find by refresh token, list, revoke.
    pub fn sessions(&self) -> Sessions {
        Sessions { db: self.clone() }
    }

    /// Password-reset and e-mail verification tokens.
    pub fn auth_tokens(&self) -> AuthTokens {
        AuthTokens { db: self.clone() }
    }
}

/// `ttl` in seconds for `make_interval(secs => …)`, refused unless positive.
fn ttl_seconds(field: &'static str, ttl: Duration) -> Result<f64> {
    if ttl <= Duration::zero() {
        return Err(Error::invalid(field, "must be positive"));
    }
    Ok(ttl.num_milliseconds() as f64 / 1000.0)
}

impl Sessions {
    /// Signs `user_id` (authenticated by the caller) in on `device`: a new session valid for
    /// `ttl`, with a fresh random refresh token.
    #[tracing::instrument(name = "sessions.create", skip_all, fields(%user_id))]
    pub async fn create(&self, user_id: Uuid, device: &Device, ttl: Duration) -> Result<SignedIn> {
        let ttl = ttl_seconds("ttl", ttl)?;
        let refresh_token = sealing::random_secret("rt_");
        let token_hash = crmdb_secrets::hash_token(&refresh_token);
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        let session = query_as(concat!(
            "INSERT INTO user_sessions (user_id, refresh_token_hash, ip, user_agent, expires_at) \
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING ",
            session_columns!()
        ))
        .bind(user_id)
        .bind(&token_hash)
        .bind(device.ip)
        .bind(device.user_agent.as_deref())
        .bind(ttl)
        .fetch_one(Last(&mut tx))
        .await
        .map_err(|e| e.missing_parent("fk_user_sessions_users", entity::USER))?;
        Ok(SignedIn {
            session,
            refresh_token,
        })
    }

    /// The live session whose refresh token is `refresh_token`; `None` for an unknown,
    /// expired or revoked one, or one of a deactivated user. Needs no acting user: the token
    /// is the credential.
    #[tracing::instrument(name = "sessions.by_token", skip_all)]
    pub async fn by_token(&self, refresh_token: &SecretString) -> Result<Option<LiveSession>> {
        let token_hash = crmdb_secrets::hash_token(refresh_token);
        let mut tx = self.db.begin_global(None).await?;
        query_as(hot::SESSION_BY_TOKEN)
            .bind(&token_hash)
            .fetch_optional(Last(&mut tx))
            .await
    }

    /// The live sessions (not revoked, not expired) of the signed-in user `user_id`, newest
    /// first: the "where you are signed in" list.
    #[tracing::instrument(name = "sessions.list", skip_all, fields(%user_id))]
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<UserSession>> {
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM user_sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .fetch_all(Last(&mut tx))
        .await
    }

    /// Signs the session `session_id` of the signed-in user `user_id` out. Revoking a
    /// revoked session again returns it unchanged (a retried request succeeds); another
    /// user's session is "session not found".
    #[tracing::instrument(name = "sessions.revoke", skip_all, fields(%user_id, %session_id))]
    pub async fn revoke(&self, user_id: Uuid, session_id: Uuid) -> Result<UserSession> {
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        query_as(concat!(
            "UPDATE user_sessions SET revoked_at = coalesce(revoked_at, now()) \
             WHERE user_id = $1 AND id = $2 RETURNING ",
            session_columns!()
        ))
        .bind(user_id)
        .bind(session_id)
        .fetch_optional(Last(&mut tx))
        .await?
        .ok_or(Error::not_found(entity::SESSION))
    }

    /// Signs the user `user_id` out everywhere; returns how many sessions were still live
    /// (not revoked before).
    #[tracing::instrument(name = "sessions.revoke_all", skip_all, fields(%user_id))]
    pub async fn revoke_all(&self, user_id: Uuid) -> Result<u64> {
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        Ok(query(
            "UPDATE user_sessions SET revoked_at = now() \
             WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .execute(Last(&mut tx))
        .await?
        .rows_affected())
    }
}

impl AuthTokens {
    /// Issues a password-reset token for the active user with `email`, valid for `ttl`, to
    /// be e-mailed to them. `None` when no active user has that address: the caller answers
    /// the same either way, so the answer does not tell which addresses have accounts.
    #[tracing::instrument(name = "auth_tokens.issue_password_reset", skip_all)]
    pub async fn issue_password_reset(
        &self,
        email: &str,
        ttl: Duration,
    ) -> Result<Option<SecretString>> {
        let email = crate::validate::email("email", email)?;
        let ttl = ttl_seconds("ttl", ttl)?;
        let token = sealing::random_secret("pwr_");
        let token_hash = crmdb_secrets::hash_token(&token);
        let mut tx = self.db.begin_global(None).await?;
        let issued: bool =
            query_scalar("SELECT issue_password_reset($1, $2, now() + make_interval(secs => $3))")
                .bind(&email)
                .bind(&token_hash)
                .bind(ttl)
                .fetch_one(Last(&mut tx))
                .await?;
        Ok(issued.then_some(token))
    }

    /// Sets a new password with a password-reset token (single use) and signs the user out
    /// of every session; returns the user. An unknown, used or expired token is "auth token
    /// not found" ([`entity::AUTH_TOKEN`]). The password is stored as an argon2id hash.
    #[tracing::instrument(name = "auth_tokens.reset_password", skip_all)]
    pub async fn reset_password(
        &self,
        token: &SecretString,
        new_password: &SecretString,
    ) -> Result<Uuid> {
        let token_hash = crmdb_secrets::hash_token(token);
        let password_hash = crmdb_secrets::hash_password(new_password)?;
        let mut tx = self.db.begin_global(None).await?;
        let user_id: Option<Uuid> = query_scalar("SELECT reset_password($1, $2)")
            .bind(&token_hash)
            .bind(&password_hash)
            .fetch_one(Last(&mut tx))
            .await?;
        user_id.ok_or(Error::not_found(entity::AUTH_TOKEN))
    }

    /// Issues an e-mail verification token for the signed-in user `user_id`, valid for
    /// `ttl`, to be e-mailed to their address.
    #[tracing::instrument(name = "auth_tokens.issue_email_verification", skip_all, fields(%user_id))]
    pub async fn issue_email_verification(
        &self,
        user_id: Uuid,
        ttl: Duration,
    ) -> Result<SecretString> {
        let ttl = ttl_seconds("ttl", ttl)?;
        let token = sealing::random_secret("emv_");
        let token_hash = crmdb_secrets::hash_token(&token);
        let mut tx = self.db.begin_global(Some(user_id)).await?;
        query(
            "INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at) \
             VALUES ($1, 'email_verification', $2, now() + make_interval(secs => $3))",
        )
        .bind(user_id)
        .bind(&token_hash)
        .bind(ttl)
        .execute(Last(&mut tx))
        .await
        .map_err(|e| e.missing_parent("fk_auth_tokens_users", entity::USER))?;
        Ok(token)
    }

    /// Consumes an e-mail verification token (single use), marking its user's e-mail
    /// verified; returns the user. An unknown, used or expired token is "auth token not
    /// found" ([`entity::AUTH_TOKEN`]).
    #[tracing::instrument(name = "auth_tokens.verify_email", skip_all)]
    pub async fn verify_email(&self, token: &SecretString) -> Result<Uuid> {
        let token_hash = crmdb_secrets::hash_token(token);
        let mut tx = self.db.begin_global(None).await?;
        let user_id: Option<Uuid> =
            query_scalar("SELECT consume_auth_token('email_verification', $1)")
                .bind(&token_hash)
                .fetch_one(Last(&mut tx))
                .await?;
        user_id.ok_or(Error::not_found(entity::AUTH_TOKEN))
    }
}
