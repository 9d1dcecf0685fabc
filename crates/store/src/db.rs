//! The pooled database and the tenant handle: every operation of a [`Tenant`] runs in a
//! transaction as the application role with the organization set for row-level security.
//!
//! The pool logs in as the application login (`APP_DATABASE_URL`: `LOGIN NOINHERIT`, a
//! member of `crm_app` only) or, for workers, the worker login (`WORKER_DATABASE_URL`,
//! member of `crm_worker`). Such a login has no rights of its own: only inside a
//! transaction that entered the role with `SET LOCAL ROLE` semantics does it read anything,
//! so code that forgets to enter, or runs in autocommit, gets "permission denied" instead
//! of every organization. As `crm_app` the row-level security policies apply, so even a
//! query that forgot its `organization_id` filter sees one organization only. Queries
//! still filter by `organization_id`, because only an explicit condition lets the indexes
//! serve them.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;

use crmdb_pg::tenancy::{ORGANIZATION_SETTING, USER_SETTING};
use crmdb_secrets::Keyring;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres, Transaction};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The role every tenant transaction runs as: DML rights, row-level security enforced.
pub const APP_ROLE: &str = "crm_app";

/// The role of the worker path: the application's rights plus the cross-organization job
/// claim.
pub const WORKER_ROLE: &str = "crm_worker";

/// Switches the transaction to the application role and sets its organization and acting
/// user; all three are transaction-local (`is_local = true`), so nothing leaks to the pooled
/// connection's next user, and a transaction without an organization sees no tenant rows.
/// One statement, so entering costs a single round trip.
/// The setting names are bound ([`ORGANIZATION_SETTING`], [`USER_SETTING`]).
const ENTER: &str = "SELECT set_config('role', $1, true), \
                     set_config($2, $3, true), \
                     set_config($4, $5, true)";

/// The isolation of a read that must see every table at the same instant; it must be the
/// transaction's first statement.
const SNAPSHOT: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// What a connection goes back to the pool without: session-level settings and role.
/// (`role` is not among the settings `RESET ALL` resets.)
const RESET_SESSION: &str = "RESET ALL; RESET ROLE";

/// The CRM database: a connection pool and, for operations that seal secrets, the keyring.
///
/// One per process, cloned wherever it is needed (the clones share the pool). Global work —
/// sign-up, sign-in, creating organizations, the job worker — hangs off it directly; the
/// work of one organization goes through [`Db::tenant`].
///
/// # Examples
///
/// Connect as the application login and sign a user up, telling a taken e-mail address
/// (the unique key `uq_users_email`) from other failures:
///
/// ```no_run
/// use crmdb_store::ops::organizations::NewUser;
/// use crmdb_store::{Db, Error};
/// # async fn sign_up() -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect(&std::env::var("APP_DATABASE_URL")?).await?;
/// let new = NewUser {
///     email: "ana@example.com".to_owned(),
///     full_name: "Ana Souza".to_owned(),
///     phone: None,
///     password: None,
/// };
/// let user_id = match db.users().create(&new).await {
///     Ok(user) => Some(user.id),
///     Err(Error::Conflict { constraint }) if constraint == "uq_users_email" => None,
///     Err(other) => return Err(other.into()),
/// };
/// # Ok(())
/// # }
/// ```
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
    #[tracing::instrument(name = "db.connect", skip_all, fields(max_connections = max_connections))]
    pub async fn connect_with(options: PgConnectOptions, max_connections: u32) -> Result<Db> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            // Everything the data layer sets is transaction-local; a statement that set a
            // role or a setting for the session (an injected `set_config(..., false)`)
            // must not outlive its request, so a connection comes back clean. Off the
            // caller's path: it runs as the connection returns to the pool.
            .after_release(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(conn, RESET_SESSION).await?;
                    Ok(true)
                })
            })
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
            role: APP_ROLE,
        }
    }

    /// A worker's handle on one organization: as [`Db::tenant`], in the worker role.
    pub(crate) fn worker_tenant(&self, organization_id: Uuid) -> Tenant {
        Tenant {
            role: WORKER_ROLE,
            ..self.tenant(organization_id)
        }
    }

    /// A transaction as the application role with no organization entered: the acting
    /// user's own account, memberships, organizations and sign-in rows when `user_id` is
    /// given, the sign-in functions, and no tenant row.
    pub(crate) async fn begin_global(
        &self,
        user_id: Option<Uuid>,
    ) -> Result<Transaction<'static, Postgres>> {
        self.begin_entered(APP_ROLE, None, user_id).await
    }

    /// A transaction in `role`, with the organization and acting user set (or not).
    pub(crate) async fn begin_entered(
        &self,
        role: &'static str,
        organization_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        enter(&mut tx, role, organization_id, user_id).await?;
        Ok(tx)
    }

    /// A read-only, repeatable-read transaction in `role` and the organization: one snapshot
    /// for a read of every table (an organization's export), consistent across them.
    pub(crate) async fn begin_snapshot(
        &self,
        role: &'static str,
        organization_id: Uuid,
    ) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(SNAPSHOT).execute(&mut *tx).await?;
        enter(&mut tx, role, Some(organization_id), None).await?;
        Ok(tx)
    }

    /// A transaction as the login itself, entering no role: maintenance that sees every
    /// organization (key rotation), which only the tables' owner (the migrating login) may
    /// run. An application or worker login reads nothing this way.
    pub(crate) async fn begin_maintenance(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

async fn enter(
    conn: &mut PgConnection,
    role: &'static str,
    organization_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> Result<()> {
    let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    sqlx::query(ENTER)
        .bind(role)
        .bind(ORGANIZATION_SETTING)
        .bind(text(organization_id))
        .bind(USER_SETTING)
        .bind(text(user_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Everything of one organization. Cheap to clone; each operation is its own transaction.
///
/// Each area of the CRM is a method returning a small handle (`leads()`, `pipelines()`,
/// `members()`, …; see [`crate::ops`]); [`Tenant::transaction`] runs SQL of your own in
/// the same confinement.
///
/// # Examples
///
/// Move a lead for the signed-in member (the stage history records who moved it). A lead
/// or stage of another organization is "not found" like a missing one, so the answer does
/// not tell whether an id exists elsewhere:
///
/// ```no_run
/// use crmdb_store::{entity, Db, Error};
/// use uuid::Uuid;
/// # async fn move_lead(
/// #     organization_id: Uuid,
/// #     member_id: Uuid,
/// #     lead_id: Uuid,
/// #     stage_id: Uuid,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// let db = Db::connect(&std::env::var("APP_DATABASE_URL")?).await?;
/// let tenant = db.tenant(organization_id).acting_as(member_id);
/// match tenant.leads().move_to_stage(lead_id, stage_id).await {
///     Ok(lead) => assert_eq!(lead.stage_id, stage_id),
///     Err(Error::NotFound {
///         entity: entity::LEAD | entity::STAGE,
///     }) => { /* answer 404 */ }
///     Err(other) => return Err(other.into()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Tenant {
    db: Db,
    organization_id: Uuid,
    user_id: Option<Uuid>,
    role: &'static str,
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
        self.open().instrument(self.span()).await
    }

    /// Runs `work` in one tenant transaction, committed when it succeeds.
    pub async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>,
    ) -> Result<T> {
        async {
            let mut tx = self.open().await?;
            let value = work(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .instrument(self.span())
        .await
    }

    /// Runs read-only `work` in one tenant transaction and ends it without waiting for a
    /// COMMIT: dropping the transaction queues its ROLLBACK, which the pool sends when it
    /// takes the connection back, off the caller's path. For a read the outcome is the same
    /// and every call saves a round trip.
    pub async fn read<T>(&self, work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>) -> Result<T> {
        async {
            let mut tx = self.open().await?;
            work(&mut tx).await
        }
        .instrument(self.span())
        .await
    }

    /// The span every transaction of this handle runs in. Every typed operation goes
    /// through [`Tenant::transaction`] or [`Tenant::read`], so the organization, role and
    /// acting user are recorded here, once, for everything the operation logs.
    fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "tenant",
            organization_id = %self.organization_id,
            role = %self.role,
            user_id = self.user_id.map(tracing::field::display),
        )
    }

    /// Begins this handle's transaction, entered for its organization; the callers run it in
    /// the handle's span.
    async fn open(&self) -> Result<TenantTx> {
        let tx = self
            .db
            .begin_entered(self.role, Some(self.organization_id), self.user_id)
            .await?;
        Ok(TenantTx {
            tx,
            organization_id: self.organization_id,
        })
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
