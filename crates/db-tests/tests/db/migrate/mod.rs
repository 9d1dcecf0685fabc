//! The migration engine against a real PostgreSQL server: apply, revert, resume, locking,
//! the recorded history against the files, and the errors a user sees. Shared here: the
//! fixtures and a runner quick to give up.

mod apply;
mod errors;
mod history;
mod locking;
mod resume;
mod revert;

use std::path::PathBuf;
use std::time::Duration;

use crmdb_migrate::{Migrations, Migrator, Options, State, VersionStatus};
use crmdb_testkit::TestDb;
use sqlx::PgConnection;

fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/migrate")
        .join(name)
}

fn fixture(name: &str) -> Migrations {
    Migrations::from_dir(&fixture_dir(name)).expect("a valid fixture")
}

fn files(list: &[(&str, &str)]) -> Migrations {
    Migrations::from_files(list.iter().copied()).expect("valid migrations")
}

/// Quick to give up, so that failing paths stay fast.
fn fast() -> Options {
    Options {
        lock_wait: Duration::from_secs(30),
        lock_timeout: Duration::from_millis(500),
        lock_retries: 1,
        retry_backoff: Duration::from_millis(50),
        ..Options::default()
    }
}

fn migrator(migrations: Migrations) -> Migrator {
    Migrator::new(migrations, fast())
}

async fn applied_versions(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM crmdb_schema_history ORDER BY version")
        .fetch_all(&mut db.connect().await)
        .await
        .unwrap()
}

async fn exists(conn: &mut PgConnection, relation: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(relation)
        .fetch_one(conn)
        .await
        .unwrap()
}

fn states(list: &[VersionStatus]) -> Vec<(i64, State)> {
    list.iter().map(|s| (s.version, s.state)).collect()
}
