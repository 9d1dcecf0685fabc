//! What can stop a benchmark.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not connect to the server's `postgres` database to create crm_bench")]
    ConnectServer(#[source] sqlx::Error),
    /// The target is reached through a transaction pooler: crm_bench is created, migrated
    /// and loaded by the session commands, so it is refused before the old one is dropped.
    #[error(transparent)]
    TransactionPooler(crmdb_pg::pooler::NeedsSession),
    /// An old crm_bench that another role owns, which only that role may drop.
    #[error(
        "crm_bench already exists and belongs to {owner}, so {login} may not drop it to start \
         afresh: ask {owner} or an administrator to run `{grant}` (or to drop crm_bench)"
    )]
    NotOwner {
        owner: String,
        login: String,
        grant: String,
    },
    #[error(transparent)]
    Identifier(#[from] crmdb_pg::InvalidIdentifier),
    #[error("could not drop the old crm_bench")]
    DropOld(#[source] crmdb_pg::DatabaseError),
    #[error("could not create crm_bench")]
    Create(#[source] crmdb_pg::DatabaseError),
    #[error("could not prepare the roles of the privilege model")]
    Roles(#[source] crmdb_schema::roles::RolesError),
    #[error(transparent)]
    Migrations(#[from] crmdb_migrate::SourceError),
    #[error("could not migrate crm_bench")]
    Migrate(#[source] crmdb_migrate::Error),
    #[error("could not load the demo data")]
    Demo(#[source] crmdb_demo::DemoError),
    #[error("could not vacuum crm_bench")]
    Vacuum(#[source] sqlx::Error),
    #[error("could not connect to the benchmark database")]
    Connect(#[source] crmdb_store::Error),
    #[error("could not build the pool of the raw statements")]
    RawPool(#[source] deadpool_postgres::BuildError),
    #[error("no connection for a raw statement")]
    RawConnection(#[from] deadpool_postgres::PoolError),
    #[error("could not list the organizations")]
    ListOrganizations(#[source] crmdb_store::Error),
    #[error("the database has no organizations with leads")]
    NoOrganizations,
    /// None of the sampled organizations has the rows the query's parameters come from
    /// (a stage with open leads, a member with leads, an AI session, …).
    #[error("no sampled organization has the rows that {query} needs as parameters")]
    NothingToSample { query: &'static str },
    #[error("could not fill the benchmark queue")]
    FillQueue(#[source] crmdb_store::Error),
    /// A claim found the queue empty: the run claimed more jobs than it queued.
    #[error(
        "the benchmark's job queue ran dry (it holds at most {} jobs); run with a shorter \
         --duration or a lower --concurrency",
        crate::run::MAX_QUEUED_JOBS
    )]
    QueueRanDry,
    #[error("could not remove the benchmark's jobs")]
    EmptyQueue(#[source] crmdb_store::Error),
    #[error("could not fill the benchmark's webhook deliveries")]
    FillOutbox(#[source] crmdb_store::Error),
    /// A claim found no delivery of the benchmark's due: the run claimed more than it
    /// queued.
    #[error(
        "the benchmark's webhook deliveries ran out (it queues at most {} of them); run with \
         a shorter --duration or a lower --concurrency",
        crate::run::MAX_QUEUED_JOBS
    )]
    OutboxRanDry,
    #[error("could not remove the benchmark's webhook subscriptions and deliveries")]
    EmptyOutbox(#[source] crmdb_store::Error),
    #[error("could not sign the benchmark's sessions in")]
    SignIn(#[source] crmdb_store::Error),
    /// A session the benchmark signed in was not found by its refresh token: revoked or
    /// deleted during the run, or its user deactivated.
    #[error("a session the benchmark signed in was not found by its refresh token")]
    SessionGone,
    #[error("could not delete the benchmark's sessions")]
    SignOut(#[source] crmdb_store::Error),
    /// A statement of the fresh database's preparation, which runs on sessions of its own.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A statement of the raw path, sent on a pooled client of its own.
    #[error(transparent)]
    Raw(#[from] tokio_postgres::Error),
    /// A statement sent through the data layer: its typed operations, and the
    /// benchmark's own statements in its transactions.
    #[error(transparent)]
    Store(#[from] crmdb_store::Error),
    #[error(transparent)]
    Client(#[from] tokio::task::JoinError),
}
