//! The fresh benchmark database: `crm_bench` dropped and created again on the target's
//! server, with the privilege model's roles, migrated, loaded with demo data and analyzed.

use std::sync::Arc;

use crmdb_demo::{DemoOptions, NoProgress};
use crmdb_pg::ident::quote_ident;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::{Error, Progress};

/// The database [`prepare`] creates, on the server of the target database.
pub const BENCH_DATABASE: &str = "crm_bench";

/// How much demo data the fresh database gets.
#[derive(Debug, Clone, Copy)]
pub struct DemoSize {
    pub organizations: u32,
    pub leads_per_org: u32,
}

/// Creates [`BENCH_DATABASE`] afresh on the server of `target` (an old one must belong to
/// the login, which drops it), migrates it, loads `size` of demo data from `seed` and
/// refreshes statistics; a transaction pooler is refused before anything is dropped
/// ([`Error::TransactionPooler`]). [`run`](crate::run()) then takes the target's
/// connection settings with [`BENCH_DATABASE`] as their database.
pub async fn prepare(
    target: &PgConnectOptions,
    size: &DemoSize,
    seed: u64,
    keyring: crmdb_secrets::Keyring,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let server = target.clone().database("postgres");
    crmdb_pg::pooler::require_session(
        &server,
        "crmdb bench --orgs",
        "crm_bench is created, migrated and loaded by the migrator and the demo loader",
        Error::ConnectServer,
        Error::TransactionPooler,
    )
    .await?;
    let bench = target.clone().database(BENCH_DATABASE);
    let mut admin = PgConnection::connect_with(&server)
        .await
        .map_err(Error::ConnectServer)?;
    let owner: Option<(String, bool, String)> = sqlx::query_as(
        "SELECT pg_catalog.pg_get_userbyid(datdba)::text, pg_catalog.pg_has_role(datdba, 'MEMBER'), \
                current_user::text \
         FROM pg_catalog.pg_database WHERE datname = $1",
    )
    .bind(BENCH_DATABASE)
    .fetch_optional(&mut admin)
    .await?;
    if let Some((owner, false, login)) = owner {
        return Err(Error::NotOwner {
            grant: format!(
                "ALTER DATABASE {} OWNER TO {}",
                quote_ident(BENCH_DATABASE)?,
                quote_ident(&login)?
            ),
            owner,
            login,
        });
    }
    crmdb_pg::drop_database(&mut admin, BENCH_DATABASE)
        .await
        .map_err(Error::DropOld)?;
    crmdb_pg::create_database(&mut admin, BENCH_DATABASE, None)
        .await
        .map_err(Error::Create)?;
    admin.close().await.ok();
    crmdb_schema::roles::prepare_database(&bench)
        .await
        .map_err(Error::Roles)?;
    crmdb_migrate::Migrator::new(
        crmdb_schema::migrations()?,
        crmdb_migrate::Options::default(),
    )
    .apply(&bench, None)
    .await
    .map_err(Error::Migrate)?;
    progress.loading_demo(BENCH_DATABASE, size);
    let demo = DemoOptions {
        organizations: size.organizations,
        leads_per_org: size.leads_per_org,
        seed,
        connections: 2,
    };
    let report = crmdb_demo::load(
        &bench,
        keyring,
        &demo,
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
    .map_err(Error::Demo)?;
    progress.demo_loaded(&report);
    let mut conn = PgConnection::connect_with(&bench).await?;
    // Fresh statistics for the planner, and a visibility map for index-only scans.
    crmdb_pg::simple_query(&mut conn, "VACUUM (ANALYZE)")
        .await
        .map_err(Error::Vacuum)?;
    Ok(())
}
