//! The benchmark's own sign-in sessions: signed in through the data layer for sampled
//! members before the run, so that the session look-up finds real sessions by refresh
//! tokens the benchmark holds, and deleted afterwards.

use std::sync::Arc;

use crmdb_secrets::SecretString;
use crmdb_store::ops::sessions::Device;
use crmdb_store::sql::query;
use crmdb_store::Db;
use uuid::Uuid;

use crate::Error;

/// The user agent of the benchmark's sessions, by which they are deleted afterwards.
const BENCH_USER_AGENT: &str = "crmdb-bench (benchmark session, deleted after the run)";

/// How long a benchmark session lives, should the run die before deleting it.
const SESSION_TTL: chrono::Duration = chrono::Duration::hours(24);

/// A session the benchmark signed in: its refresh token, for the data layer's look-up, and
/// the token's SHA-256, for the raw statement.
#[derive(Debug)]
pub(crate) struct BenchSession {
    pub(crate) refresh_token: SecretString,
    pub(crate) token_hash: Vec<u8>,
}

/// Signs each of `users` in once through the data layer, after deleting any session an
/// earlier, interrupted run left.
pub(crate) async fn sign_in(db: &Db, users: &[Uuid]) -> Result<Vec<Arc<BenchSession>>, Error> {
    sign_out(db).await.map_err(Error::SignIn)?;
    let device = Device {
        user_agent: Some(BENCH_USER_AGENT.to_owned()),
        ip: None,
    };
    let mut sessions = Vec::with_capacity(users.len());
    for user in users {
        let signed_in = db
            .sessions()
            .create(*user, &device, SESSION_TTL)
            .await
            .map_err(Error::SignIn)?;
        let token_hash = crmdb_secrets::hash_token(&signed_in.refresh_token);
        sessions.push(Arc::new(BenchSession {
            refresh_token: signed_in.refresh_token,
            token_hash,
        }));
    }
    Ok(sessions)
}

/// Deletes the benchmark's sessions, as the login itself: the application role may only
/// revoke a session, not delete it.
pub(crate) async fn sign_out(db: &Db) -> Result<(), crmdb_store::Error> {
    let mut conn = db.begin_maintenance().await?;
    conn.defer(
        query("DELETE FROM user_sessions WHERE user_agent = $1")
            .bind(BENCH_USER_AGENT)
            .into_statement(),
    );
    conn.commit().await
}
