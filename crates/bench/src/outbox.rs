//! The benchmark's own webhook deliveries: a subscription in each sampled organization,
//! its signing secret sealed with the benchmark's own keyring (the claim opens it to sign
//! the delivery), and due pending deliveries for them, filled before the run so that the
//! delivery claim takes real rows throughout, and removed afterwards with their
//! subscriptions.

use std::time::Duration;

use crmdb_secrets::{Key, Keyring, SecretString};
use crmdb_store::ops::outbox::LEASE_MAX;
use crmdb_store::sealing::binding;
use crmdb_store::sql::query;
use crmdb_store::Db;
use rand::Rng;
use uuid::Uuid;

use crate::entering::entering;
use crate::queue::alone;
use crate::Error;

/// The event of the benchmark's deliveries: a claim that takes another one has run past them.
pub(crate) const BENCH_EVENT: &str = "bench.noop";

/// The endpoint of the benchmark's subscriptions, by which they (and, with them, their
/// deliveries) are removed afterwards. `.invalid` never resolves.
const BENCH_URL: &str = "https://crmdb-bench.invalid/webhooks";

/// The lease of each claim: longer than any run, so no delivery is claimed twice.
pub(crate) const LEASE: Duration = LEASE_MAX;

/// Deliveries inserted per statement: each statement of the fill stays short.
const FILL_CHUNK: u64 = 50_000;

/// Where the subscriptions' secrets are sealed (see `crmdb_store::sealing::SEALED_TABLES`).
const SECRET_TABLE: &str = "webhook_subscriptions";
const SECRET_COLUMN: &str = "secret_ciphertext";

/// A keyring of one fresh key, for the benchmark's database handle: it seals the secrets of
/// the benchmark's subscriptions and nothing else, so the run needs no key of the
/// database's own.
pub(crate) fn keyring() -> Result<Keyring, Error> {
    Keyring::new(vec![Key::generate()]).map_err(|e| Error::Store(e.into()))
}

/// Replaces the benchmark's subscriptions and deliveries with a subscription in each of
/// `organizations` and `deliveries` due pending deliveries spread over them, in statements
/// of [`FILL_CHUNK`] deliveries, each committed on its own. They fall due in the year 2000,
/// before any real delivery, so the claims take them first.
pub(crate) async fn fill(db: &Db, organizations: &[Uuid], deliveries: u64) -> Result<(), Error> {
    empty(db).await.map_err(Error::FillOutbox)?;
    let keyring = db.keyring().map_err(Error::FillOutbox)?;
    let mut subscriptions = Vec::with_capacity(organizations.len());
    let mut conn = db.begin_maintenance().await?;
    for org in organizations {
        let id = Uuid::now_v7();
        let secret = SecretString::from(format!(
            "whsec_bench_{:032x}",
            rand::thread_rng().gen::<u128>()
        ));
        let sealed = keyring.seal(&secret, binding(Some(*org), SECRET_TABLE, SECRET_COLUMN));
        conn.defer(entering(*org));
        conn.defer(
            query(
                "INSERT INTO webhook_subscriptions \
                     (organization_id, id, url, description, secret_ciphertext, \
                      encryption_key_id, events) \
                 VALUES ($1, $2, $3, 'crmdb bench', $4, $5, ARRAY[$6])",
            )
            .bind(*org)
            .bind(id)
            .bind(BENCH_URL)
            .bind(sealed.ciphertext)
            .bind(sealed.key_id)
            .bind(BENCH_EVENT)
            .into_statement(),
        );
        subscriptions.push(id);
    }
    conn.commit().await.map_err(Error::FillOutbox)?;
    let mut queued = 0;
    while queued < deliveries {
        let chunk = FILL_CHUNK.min(deliveries - queued);
        let insert = query(
            "INSERT INTO webhook_delivery_logs \
                 (organization_id, subscription_id, event_type, payload, status, next_retry_at) \
             SELECT ($2::uuid[])[1 + g % cardinality($2::uuid[])], \
                    ($3::uuid[])[1 + g % cardinality($3::uuid[])], $4, \
                    jsonb_build_object('id', uuid_generate_v7(), 'type', $4::text, \
                                       'occurred_at', now(), 'data', jsonb_build_object('n', g)), \
                    'pending', timestamptz '2000-01-01 00:00:00+00' + g * interval '1 millisecond' \
             FROM generate_series($5::bigint + 1, $5::bigint + $1) AS g",
        )
        .bind(chunk as i64)
        .bind(organizations.to_vec())
        .bind(subscriptions.clone())
        .bind(BENCH_EVENT)
        .bind(queued as i64);
        alone(db, insert.into_statement())
            .await
            .map_err(Error::FillOutbox)?;
        queued += chunk;
    }
    alone(db, query("ANALYZE webhook_delivery_logs").into_statement())
        .await
        .map_err(Error::FillOutbox)
}

/// Removes the benchmark's subscriptions, and their deliveries with them.
pub(crate) async fn empty(db: &Db) -> Result<(), crmdb_store::Error> {
    let delete = query("DELETE FROM webhook_subscriptions WHERE url = $1").bind(BENCH_URL);
    alone(db, delete.into_statement()).await
}
