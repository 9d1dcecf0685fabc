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

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::Poll;

use crmdb_pg::ident::quote_literal;
use crmdb_pg::tenancy::{ORGANIZATION_SETTING, USER_SETTING};
use crmdb_secrets::Keyring;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Client, NoTls};
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::sql::{Executor, Fetched, QueryScalar, Statement};

/// The role every tenant transaction runs as: DML rights, row-level security enforced.
pub const APP_ROLE: &str = "crm_app";

/// The role of the worker path: the application's rights plus the cross-organization job
/// claim.
pub const WORKER_ROLE: &str = "crm_worker";

const BEGIN: &str = "BEGIN";

/// The start of a read that must see every table at the same instant.
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

const COMMIT: &str = "COMMIT";

const ROLLBACK: &str = "ROLLBACK";

/// Undoes, before a transaction of the caller's own SQL commits, any session-level setting
/// or role that SQL made (an injected `set_config(..., false)`): inside the transaction, so
/// that it holds on the server connection the transaction ran on even behind a transaction
/// pooler, where the next transaction on this client's connection may run on another
/// server connection and this one serves another client. A rollback undoes such settings
/// by itself. (`role` is not among the settings `RESET ALL` resets.)
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
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    config: Arc<tokio_postgres::Config>,
    statements: Statements,
    keyring: Option<Arc<Keyring>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("pool", &self.pool.status())
            .field("statements", &self.statements)
            .field("keyring", &self.keyring.is_some())
            .finish()
    }
}

impl Db {
    /// Connects a pool of up to 10 connections to `url` (a `postgresql://` URL or a libpq
    /// `key=value` string).
    pub async fn connect(url: &str) -> Result<Db> {
        let config = tokio_postgres::Config::from_str(url)?;
        Db::connect_with(config, 10).await
    }

    /// Connects a pool of up to `max_connections` connections. One connection is made
    /// here, so a wrong address or password is reported now, not at the first operation.
    #[tracing::instrument(name = "db.connect", skip_all, fields(max_connections = max_connections))]
    pub async fn connect_with(
        config: tokio_postgres::Config,
        max_connections: usize,
    ) -> Result<Db> {
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            // Nothing is sent when a connection is taken from the pool: every transaction
            // sets its role and tenant itself, and a transaction of the caller's own SQL
            // resets the session before it commits (see `RESET_SESSION`), so checking that
            // the connection is open is all a pooled connection needs, and no round trip is
            // spent on it.
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        drop(pool.get().await?);
        let statements = Statements::for_server(&config).await?;
        Ok(Db {
            pool,
            config: Arc::new(config),
            statements,
            keyring: None,
        })
    }

    /// The same database with the keyring that seals and opens secrets.
    pub fn with_keyring(self, keyring: Arc<Keyring>) -> Db {
        Db {
            keyring: Some(keyring),
            ..self
        }
    }

    /// How this database's statements go out: prepared, or unnamed behind a transaction
    /// pooler.
    pub fn statements(&self) -> Statements {
        self.statements
    }

    /// The keyring, or the error that says none is configured.
    pub fn keyring(&self) -> Result<&Keyring> {
        self.keyring
            .as_deref()
            .ok_or(Error::Secret(crmdb_secrets::Error::NoKey))
    }

    /// The live schema, for the operations that walk every table (privacy requests, an
    /// organization's export and deletion), so that a table added by a later migration is
    /// covered without a change to them. Read on a connection of its own by the schema
    /// crate's catalog reader, in one repeatable-read transaction of its own.
    pub(crate) async fn catalog(&self) -> Result<crmdb_schema::catalog::Schema> {
        use sqlx::Connection as _;
        let options = session_options(&self.config);
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(Error::Catalog)?;
        let schema = crmdb_schema::catalog::Schema::read(&mut conn)
            .await
            .map_err(Error::Catalog)?;
        conn.close().await.ok();
        Ok(schema)
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
    pub(crate) async fn begin_global(&self, user_id: Option<Uuid>) -> Result<Conn> {
        self.begin_entered(APP_ROLE, None, user_id).await
    }

    /// A transaction in `role`, with the organization and acting user set (or not).
    pub(crate) async fn begin_entered(
        &self,
        role: &'static str,
        organization_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<Conn> {
        self.begin_with(begin_and_enter(BEGIN, role, organization_id, user_id))
            .await
    }

    /// A read-only, repeatable-read transaction in `role` and the organization: one snapshot
    /// for a read of every table (an organization's export), consistent across them.
    pub(crate) async fn begin_snapshot(
        &self,
        role: &'static str,
        organization_id: Uuid,
    ) -> Result<Conn> {
        self.begin_with(begin_and_enter(
            BEGIN_SNAPSHOT,
            role,
            Some(organization_id),
            None,
        ))
        .await
    }

    /// A transaction as the login itself, entering no role: maintenance that sees every
    /// organization (key rotation, deleting an organization), which only the tables' owner
    /// (the migrating login) may run. An application or worker login reads nothing this
    /// way; the SQL run in it is the caller's, so its session is reset before it commits.
    pub async fn begin_maintenance(&self) -> Result<Conn> {
        let mut conn = self.begin_with(BEGIN.to_owned()).await?;
        conn.callers_sql = true;
        Ok(conn)
    }

    /// A pooled connection whose first statement will go out behind `begin`.
    async fn begin_with(&self, begin: String) -> Result<Conn> {
        let client = self.pool.get().await?;
        Ok(Conn {
            client: Some(client),
            ahead: vec![Ahead::Begin(begin)],
            open: false,
            callers_sql: false,
            statements: self.statements,
        })
    }
}

/// How statements go out: prepared once per connection and reused (the server keeps their
/// plans, and a statement costs only Bind/Execute), or unnamed, parsed and planned anew each
/// time. Prepared on a direct connection; unnamed behind a transaction pooler, which hands
/// the server connection to another client after each transaction, where a prepared
/// statement is missing or another client's of the same name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statements {
    Prepared,
    Unnamed,
}

impl Statements {
    /// Prepared, unless the server is reached through a transaction pooler (told from the
    /// outside, by `crmdb_pg::pooler`, on two connections of its own).
    async fn for_server(config: &tokio_postgres::Config) -> Result<Statements> {
        let pooled = crmdb_pg::pooler::detect(&session_options(config))
            .await
            .map_err(Error::Catalog)?;
        Ok(match pooled {
            Some(_) => Statements::Unnamed,
            None => Statements::Prepared,
        })
    }
}

/// The same server, database and login as sqlx connection options, for the work done on a
/// session of its own (reading the catalog, telling whether a pooler is in between).
fn session_options(config: &tokio_postgres::Config) -> sqlx::postgres::PgConnectOptions {
    let mut options = sqlx::postgres::PgConnectOptions::new_without_pgpass();
    if let Some(user) = config.get_user() {
        options = options.username(user);
    }
    if let Some(password) = config.get_password() {
        options = options.password(&String::from_utf8_lossy(password));
    }
    if let Some(database) = config.get_dbname() {
        options = options.database(database);
    }
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => options = options.host(host),
        Some(tokio_postgres::config::Host::Unix(dir)) => options = options.socket(dir),
        None => {}
    }
    if let Some(port) = config.get_ports().first() {
        options = options.port(*port);
    }
    options
}

/// `begin`, then entering: the transaction switches to `role` and sets its organization and
/// acting user, all three transaction-local (`is_local = true`), so nothing leaks to the
/// pooled connection's next user, and a transaction without an organization sees no tenant
/// rows. One simple-protocol message for both, because its values are a role of this crate
/// and two ids, never the caller's text (each quoted as a literal all the same): one message
/// less for the server to parse, bind and answer than a bound statement after `BEGIN`, on
/// every transaction.
fn begin_and_enter(
    begin: &str,
    role: &'static str,
    organization_id: Option<Uuid>,
    user_id: Option<Uuid>,
) -> String {
    let text = |id: Option<Uuid>| quote_literal(&id.map(|id| id.to_string()).unwrap_or_default());
    format!(
        "{begin}; SELECT set_config('role', {}, true), set_config({}, {}, true), \
         set_config({}, {}, true)",
        quote_literal(role),
        quote_literal(ORGANIZATION_SETTING),
        text(organization_id),
        quote_literal(USER_SETTING),
        text(user_id),
    )
}

/// What a transaction sends ahead of its next statement, in the same write.
enum Ahead {
    /// `BEGIN` (with its isolation, and entering the role and tenant): from now on the
    /// connection is in a transaction.
    Begin(String),
    /// A statement whose rows nobody reads ([`Conn::defer`]).
    Statement(Statement<'static>),
}

/// An open transaction on a pooled connection; dropping it without [`Conn::commit`] rolls
/// it back.
///
/// Statements are pipelined: what the transaction still has to send — its `BEGIN`,
/// entering the tenant, deferred writes — goes out together with the next statement, and
/// [`Conn::commit`] sends what is left together with `COMMIT`. So a transaction costs one
/// round trip per statement whose answer the next one needs, plus one for the commit, and
/// an operation that needs no answer in between costs one round trip in all.
pub struct Conn {
    /// `None` only while being dropped.
    client: Option<Object>,
    ahead: Vec<Ahead>,
    /// `BEGIN` went out and neither `COMMIT` nor `ROLLBACK` did.
    open: bool,
    /// The transaction runs SQL the data layer did not write, which may have changed the
    /// session: reset it before committing.
    callers_sql: bool,
    statements: Statements,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("open", &self.open)
            .field("ahead", &self.ahead.len())
            .finish()
    }
}

impl Conn {
    pub(crate) fn client(&self) -> &Client {
        self.client
            .as_deref()
            .expect("a connection until it is dropped")
    }

    /// Sends `statement` after whatever is still ahead of it, in one write, and returns its
    /// answer; an error of an earlier statement is returned in its place.
    pub(crate) async fn run(&mut self, statement: Statement<'_>) -> Result<Fetched> {
        let fetched = self.pipeline(Some(&statement), &[]).await?;
        Ok(fetched.unwrap_or_default())
    }

    /// Sends what is still ahead (`BEGIN`, entering, deferred writes) and waits for it, for
    /// a statement that is then read row by row.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if !self.ahead.is_empty() {
            self.pipeline(None, &[]).await?;
        }
        Ok(())
    }

    /// Sends `statement` when the transaction sends its next one (or commits): for a write
    /// whose answer nothing needs, which then costs no round trip of its own. Its error is
    /// the error of that next statement or of the commit.
    pub fn defer(&mut self, statement: Statement<'static>) {
        self.ahead.push(Ahead::Statement(statement));
    }

    /// Enters `organization_id` for the rest of this transaction (deferred, like a write):
    /// for the Stripe worker, which learns the organization only from the event it has
    /// claimed, and must apply the event there in the transaction that holds the claim, so
    /// that applying and marking it processed are one. Transaction-local, as when entered
    /// at `BEGIN`; the organization is bound, never formatted into the SQL.
    pub(crate) fn enter_organization(&mut self, organization_id: Uuid) {
        self.defer(
            crate::sql::query("SELECT set_config($1, $2, true)")
                .bind(ORGANIZATION_SETTING)
                .bind(organization_id.to_string())
                .into_statement(),
        );
    }

    /// Makes the transaction's changes permanent: what is still ahead and `COMMIT` go out
    /// together. A transaction that sent nothing has nothing to commit and costs nothing.
    pub async fn commit(mut self) -> Result<()> {
        self.finish(None).await.map(drop)
    }

    /// Discards the transaction's changes.
    pub async fn rollback(mut self) -> Result<()> {
        self.ahead.clear();
        if self.open {
            self.open = false;
            self.client().batch_execute(ROLLBACK).await?;
        }
        Ok(())
    }

    /// Sends what is ahead, `last` (if any) and `COMMIT` in one write: a transaction of one
    /// statement in one round trip. Returns `last`'s answer.
    pub(crate) async fn finish(&mut self, last: Option<&Statement<'_>>) -> Result<Option<Fetched>> {
        let sends_anything = self.open
            || last.is_some()
            || self.ahead.iter().any(|a| matches!(a, Ahead::Statement(_)));
        if !sends_anything {
            self.ahead.clear();
            return Ok(None);
        }
        let tail: &[&'static str] = if self.callers_sql {
            &[RESET_SESSION, COMMIT]
        } else {
            &[COMMIT]
        };
        let result = self.pipeline(last, tail).await;
        // COMMIT went out behind everything else: whatever failed before it, the server
        // ended the transaction (a COMMIT of a failed transaction rolls it back).
        self.open = false;
        result
    }

    /// Writes everything ahead, then `statement`, then the simple statements of `tail`, and
    /// waits for all their answers: one round trip. Returns `statement`'s answer, or the
    /// first error in the order they were sent (later ones are its consequences: "current
    /// transaction is aborted").
    async fn pipeline(
        &mut self,
        statement: Option<&Statement<'_>>,
        tail: &[&'static str],
    ) -> Result<Option<Fetched>> {
        let ahead = std::mem::take(&mut self.ahead);
        if ahead.iter().any(|a| matches!(a, Ahead::Begin(_))) {
            self.open = true;
        }
        let wrapper = self
            .client
            .as_deref()
            .expect("a connection until it is dropped");
        let client: &Client = wrapper;
        // Every statement is prepared (or found prepared) before anything goes out: a
        // statement prepared in the middle would wait for its own round trip while the
        // requests behind it, the COMMIT among them, were already sent.
        let statements: Vec<&Statement<'_>> = ahead
            .iter()
            .filter_map(|item| match item {
                Ahead::Statement(statement) => Some(statement),
                Ahead::Begin(_) => None,
            })
            .chain(statement)
            .collect();
        let mut prepared = Vec::new();
        if self.statements == Statements::Prepared {
            for statement in &statements {
                prepared.push(
                    wrapper
                        .prepare_typed_cached(statement.sql(), &statement.types())
                        .await?,
                );
            }
        }
        let mut requests: Vec<Sent<'_>> = Vec::with_capacity(ahead.len() + 1 + tail.len());
        let mut sent = 0;
        for item in &ahead {
            requests.push(match item {
                Ahead::Begin(begin) => simple(client, begin),
                Ahead::Statement(statement) => {
                    sent += 1;
                    send(client, prepared.get(sent - 1), statement)
                }
            });
        }
        let main = statement.map(|statement| {
            requests.push(send(client, prepared.get(sent), statement));
            requests.len() - 1
        });
        requests.extend(tail.iter().map(|sql| simple(client, sql)));
        let mut answers = in_order(requests).await.into_iter();
        let mut main_answer = None;
        for (i, answer) in answers.by_ref().enumerate() {
            let fetched = answer?;
            if Some(i) == main {
                main_answer = Some(fetched);
            }
        }
        Ok(main_answer)
    }
}

impl Executor for &mut Conn {
    async fn run(self, statement: Statement<'_>) -> Result<Fetched> {
        Conn::run(self, statement).await
    }
}

/// A transaction's last statement: what is still ahead, the statement and `COMMIT` go out
/// together, and the transaction is committed when it answers without error.
pub struct Last<'c>(pub &'c mut Conn);

impl Executor for Last<'_> {
    async fn run(self, statement: Statement<'_>) -> Result<Fetched> {
        Ok(self.0.finish(Some(&statement)).await?.unwrap_or_default())
    }
}

impl Executor for &Tenant {
    async fn run(self, statement: Statement<'_>) -> Result<Fetched> {
        self.run_alone(statement).await
    }
}

impl Conn {
    /// Calls `each` with the first column of every row of `query` as it arrives, so a
    /// result larger than memory (a table of an export) is never held whole; returns the
    /// number of rows.
    pub async fn for_each<T: tokio_postgres::types::FromSqlOwned>(
        &mut self,
        query: QueryScalar<'_, T>,
        mut each: impl FnMut(T) -> Result<()>,
    ) -> Result<u64> {
        self.flush().await?;
        let statement = query.0;
        let stream = self
            .client()
            .query_typed_raw(statement.sql(), statement.params())
            .await?;
        futures_util::pin_mut!(stream);
        let mut rows = 0;
        while let Some(row) = futures_util::TryStreamExt::try_next(&mut stream).await? {
            each(row.try_get(0)?)?;
            rows += 1;
        }
        Ok(rows)
    }
}

/// A request of a pipeline, answered by the rows of its statement.
type Sent<'f> = Pin<Box<dyn Future<Output = Result<Fetched, tokio_postgres::Error>> + Send + 'f>>;

/// A statement's request: as `prepared` on this connection when given, unnamed otherwise.
fn send<'f, 's: 'f>(
    client: &'f Client,
    prepared: Option<&'f tokio_postgres::Statement>,
    statement: &'f Statement<'s>,
) -> Sent<'f> {
    match prepared {
        Some(prepared) => Box::pin(statement.send_prepared(client, prepared)),
        None => Box::pin(statement.send(client)),
    }
}

/// A simple-protocol request (`BEGIN …`, `COMMIT`), which answers no rows.
fn simple<'f>(client: &'f Client, sql: &'f str) -> Sent<'f> {
    Box::pin(async move { client.batch_execute(sql).await.map(|()| Fetched::default()) })
}

/// Polls `requests` in their order until all are answered. Each request is written to the
/// connection when its future is first polled, so this order is the order on the wire: the
/// whole list goes out in one write and its answers come back in one round trip.
async fn in_order<T>(mut requests: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut answers: Vec<Option<T>> = requests.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (request, answer) in requests.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none() {
                match request.as_mut().poll(cx) {
                    Poll::Ready(value) => *answer = Some(value),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    answers
        .into_iter()
        .map(|a| a.expect("every request answered"))
        .collect()
}

impl Drop for Conn {
    /// A transaction still open rolls back off the caller's path: the connection goes back
    /// to the pool once the server has answered the `ROLLBACK`, and is closed instead when
    /// that fails or no runtime is left to send it, so the pool never hands out a connection
    /// inside a transaction.
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if !self.open {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if client.batch_execute(ROLLBACK).await.is_err() {
                        drop(Object::take(client));
                    }
                });
            }
            Err(_) => drop(Object::take(client)),
        }
    }
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

    /// The user this handle acts for, if any.
    pub(crate) fn acting_user(&self) -> Option<Uuid> {
        self.user_id
    }

    /// The database this handle belongs to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A transaction as the application role in this organization: the escape hatch for
    /// work the typed operations do not cover, still under row-level security. Run
    /// statements of [`crate::sql`] on it; dropping it without [`TenantTx::commit`] rolls
    /// it back.
    pub async fn begin(&self) -> Result<TenantTx> {
        let mut tx = self.open().instrument(self.span()).await?;
        tx.conn.callers_sql = true;
        Ok(tx)
    }

    /// Runs `work` — SQL of your own, under the same confinement as the typed operations —
    /// in one tenant transaction, committed when it succeeds.
    pub async fn transaction<T>(
        &self,
        work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>,
    ) -> Result<T> {
        async {
            let mut tx = self.open().await?;
            tx.conn.callers_sql = true;
            let value = work(&mut tx).await?;
            tx.commit().await?;
            Ok(value)
        }
        .instrument(self.span())
        .await
    }

    /// Runs a typed operation's `work` in one tenant transaction, committed when it
    /// succeeds; the operation's last write can be deferred ([`Conn::defer`]) to go out
    /// with the `COMMIT`.
    pub(crate) async fn write<T>(
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

    /// Runs read-only `work` in one tenant transaction and ends it without waiting: the
    /// `ROLLBACK` goes out when the transaction is dropped and the connection returns to
    /// the pool once it is answered, off the caller's path.
    pub async fn read<T>(&self, work: impl AsyncFnOnce(&mut TenantTx) -> Result<T>) -> Result<T> {
        async {
            let mut tx = self.open().await?;
            work(&mut tx).await
        }
        .instrument(self.span())
        .await
    }

    /// Runs one statement as a transaction of its own: `BEGIN`, entering, the statement and
    /// `COMMIT` go out in one write and are answered in one round trip.
    pub(crate) async fn run_alone(&self, statement: Statement<'_>) -> Result<Fetched> {
        async {
            let mut tx = self.open().await?;
            let fetched = tx.conn.finish(Some(&statement)).await?;
            Ok(fetched.unwrap_or_default())
        }
        .instrument(self.span())
        .await
    }

    /// The span every transaction of this handle runs in. Every typed operation goes
    /// through [`Tenant::write`], [`Tenant::read`] or one statement of its own, so the
    /// organization, role and acting user are recorded here, once, for everything the
    /// operation logs.
    fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "tenant",
            organization_id = %self.organization_id,
            role = %self.role,
            user_id = self.user_id.map(tracing::field::display),
        )
    }

    /// This handle's transaction, entered for its organization (nothing is sent until its
    /// first statement); the callers run it in the handle's span.
    async fn open(&self) -> Result<TenantTx> {
        let conn = self
            .db
            .begin_entered(self.role, Some(self.organization_id), self.user_id)
            .await?;
        Ok(TenantTx {
            conn,
            organization_id: self.organization_id,
        })
    }
}

/// An open tenant transaction. Dereferences to its [`Conn`], so statements of
/// [`crate::sql`] run on it directly (`query.fetch_all(&mut **tx)`).
#[derive(Debug)]
pub struct TenantTx {
    conn: Conn,
    organization_id: Uuid,
}

impl TenantTx {
    /// The organization this transaction is confined to.
    pub fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    /// Makes the transaction's changes permanent.
    pub async fn commit(self) -> Result<()> {
        self.conn.commit().await
    }

    /// Discards the transaction's changes.
    pub async fn rollback(self) -> Result<()> {
        self.conn.rollback().await
    }
}

impl Deref for TenantTx {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.conn
    }
}
