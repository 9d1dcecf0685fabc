//! The pooled database and the tenant handle: every operation of a [`Tenant`] runs in a
//! transaction as the application role with the organization set for row-level security.
//!
//! The pool logs in as whatever role the deployment gives it (the superuser of the embedded
//! cluster, a dedicated login in production); that login role must be a member of
//! `crm_app`, because each transaction switches to it with `SET LOCAL ROLE` semantics. As
//! `crm_app` the row-level security policies apply, so even a query that forgot its
//! `organization_id` filter sees one organization only. Queries still filter by
//! `organization_id`, because only an explicit condition lets the indexes serve them.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;

use crmdb_secrets::Keyring;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The role every tenant transaction runs as: DML rights, row-level security enforced.
pub const APP_ROLE: &str = "crm_app";

/// Switches the transaction to the application role and sets its organization and acting
/// user; all three are transaction-local (`is_local = true`), so nothing leaks to the pooled
/// connection's next user, and a transaction without an organization sees no tenant rows.
/// One statement, so entering costs a single round trip.
const ENTER: &str = "SELECT set_config('role', $1, true), \
                     set_config('app.current_organization_id', $2, true), \
                     set_config('app.current_user_id', $3, true)";

/// The CRM database: a connection pool and, for operations that seal secrets, the keyring.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    keyring: Option<Arc<Keyring>>,
}

impl Db {
    /// Connects a pool of up to 10 connections to `url`.
    pub async fn connect(url: &str) -> Result<Db> {
        let options = PgConnectOptions::from_str(url)?;
        Db::connect_with(options, 10).await
    }

    /// Connects a pool of up to `max_connections` connections.
    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Db> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        Ok(Db::from_pool(pool))
    }

    /// A database over an existing pool.
    pub fn from_pool(pool: PgPool) -> Db {
        Db {
            pool,
            keyring: None,
        }
    }

    /// The same database with the keyring that seals and opens secrets.
    pub fn with_keyring(self, keyring: Arc<Keyring>) -> Db {
        Db {
            keyring: Some(keyring),
            ..self
        }
    }

    /// The pool, for work outside any organization (migrations, maintenance, benchmarks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The keyring, or the error that says none is configured.
    pub fn keyring(&self) -> Result<&Keyring> {
        self.keyring
            .as_deref()
            .ok_or(Error::Secret(crmdb_secrets::Error::NoKey))
    }

    /// The handle through which everything of one organization is read and written.
    pub fn tenant(&self, organization_id: Uuid) -> Tenant {
        Tenant {
            db: self.clone(),
            organization_id,
            user_id: None,
        }
    }

    /// A transaction as the application role with no organization set: global tables
    /// (users, organizations) only, and, with `user_id`, that user's own memberships.
    pub(crate) async fn begin_global(
        &self,
        user_id: Option<Uuid>,
    ) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        enter(&mut tx, None, user_id).await?;
        Ok(tx)
    }
}

async fn enter(
    conn: &mut PgConnection,
    organization_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> Result<()> {
    let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    sqlx::query(ENTER)
        .bind(APP_ROLE)
        .bind(text(organization_id))
        .bind(text(user_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Everything of one organization. Cheap to clone; each operation is its own transaction.
#[derive(Clone, Debug)]
pub struct Tenant {
    db: Db,
    organization_id: Uuid,
    user_id: Option<Uuid>,
}

impl Tenant {
    /// The organization this handle reads and writes.
    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    /// The same handle acting for `user_id`: triggers record that user (e.g. as
    /// `changed_by` of a lead's stage history) through `app.current_user_id`.
    pub fn acting_as(&self, user_id: Uuid) -> Tenant {
        Tenant {
            user_id: Some(user_id),
            ..self.clone()
        }
    }

    /// The database this handle belongs to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A transaction as the application role in this organization: the escape hatch for
    /// work the typed operations do not cover, still under row-level security. Dropping it
    /// without [`TenantTx::commit`] rolls it back.
    pub async fn begin(&self) -> Result<TenantTx> {
        let mut tx = self.db.pool.begin().await?;
        enter(&mut tx, Some(self.organization_id), self.user_id).await?;
        Ok(TenantTx {
            tx,
            organization_id: self.organization_id,
        })
    }

    /// Runs `work` in one tenant transaction, committed when it succeeds.
    pub async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>,
    ) -> Result<T> {
        let mut tx = self.begin().await?;
        let value = work(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Runs read-only `work` in one tenant transaction and ends it without waiting for a
    /// COMMIT: dropping the transaction queues its ROLLBACK, which the pool sends when it
    /// takes the connection back, off the caller's path. For a read the outcome is the same
    /// and every call saves a round trip.
    pub async fn read<T>(&self, work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>) -> Result<T> {
        let mut tx = self.begin().await?;
        work(&mut tx).await
    }
}

/// An open tenant transaction. Dereferences to the connection, so `sqlx` queries run on it
/// directly (`query.fetch_all(&mut *tx)`).
#[derive(Debug)]
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    organization_id: Uuid,
}

impl TenantTx {
    /// The organization this transaction is confined to.
    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    /// Makes the transaction's changes permanent.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await.map_err(Error::from)
    }

    /// Discards the transaction's changes.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await.map_err(Error::from)
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
