//! The engine's entry points: apply, plan, status, revert, verify, baseline and repair, each
//! on a database given by its connection options.

use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tracing::{info, instrument};

use crate::error::Error;
use crate::history::{self, HistoryRow, NewRow};
use crate::lock::AdvisoryLock;
use crate::options::Options;
use crate::plan::{self, RevertTarget};
use crate::report::{
    Applied, ApplyReport, BaselineReport, Plan, PlannedMigration, RepairReport, RevertReport,
    Reverted, VerifyReport, VersionStatus,
};
use crate::runner::{self, Record, Target};
use crate::source::Migrations;

/// Runs a set of migrations against databases.
///
/// # Examples
///
/// Applying every pending migration of a directory, then reading the report:
///
/// ```no_run
/// use std::path::Path;
///
/// use crmdb_migrate::{Migrations, Migrator, Options};
/// use sqlx::postgres::PgConnectOptions;
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // `0001_accounts.up.sql`, `0001_accounts.down.sql`, …; `Migrations::from_files` takes
///     // `(file name, text)` pairs instead, e.g. files embedded in the binary.
///     let migrations = Migrations::from_dir(Path::new("migrations"))?;
///     let db: PgConnectOptions = "postgres://crm@localhost:5432/crm".parse()?;
///     let report = Migrator::new(migrations, Options::default())
///         .apply(&db, None)
///         .await?;
///     for applied in &report.applied {
///         println!(
///             "applied {} {} in {} ms",
///             applied.version, applied.name, applied.duration_ms
///         );
///     }
///     if report.up_to_date {
///         println!("nothing to apply");
///     }
///     println!("the database is at version {:?}", report.version_after);
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Migrations,
    options: Options,
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Migrator {
    pub fn new(migrations: Migrations, options: Options) -> Migrator {
        Migrator {
            migrations,
            options,
        }
    }

    pub fn migrations(&self) -> &Migrations {
        &self.migrations
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    async fn connect(&self, db: &PgConnectOptions) -> Result<PgConnection, Error> {
        let options = db
            .clone()
            .application_name(&format!("crmdb-migrate (pid {})", std::process::id()));
        PgConnection::connect_with(&options)
            .await
            .map_err(Error::Connect)
    }

    async fn rows(&self, db: &PgConnectOptions) -> Result<Vec<HistoryRow>, Error> {
        let mut conn = self.connect(db).await?;
        let rows = history::load(&mut conn).await;
        conn.close().await.ok();
        rows
    }

    /// Every version with its state; takes no lock and creates nothing.
    #[instrument(name = "status", skip_all)]
    pub async fn status(&self, db: &PgConnectOptions) -> Result<Vec<VersionStatus>, Error> {
        let statuses = plan::statuses(&self.migrations, &self.rows(db).await?);
        info!(versions = statuses.len(), "read the status");
        Ok(statuses)
    }

    /// Compares every applied version's file with its recorded checksum.
    #[instrument(name = "verify", skip_all)]
    pub async fn verify(&self, db: &PgConnectOptions) -> Result<VerifyReport, Error> {
        let report = plan::verify(&self.migrations, &self.rows(db).await?);
        info!(
            checked = report.checked,
            changed = report.changed.len(),
            missing = report.missing.len(),
            partial = report.partial.len(),
            "verified the checksums"
        );
        Ok(report)
    }

    /// What `apply` would run now, without running it or taking the lock.
    #[instrument(name = "plan", skip(self, db))]
    pub async fn plan(&self, db: &PgConnectOptions, to: Option<i64>) -> Result<Plan, Error> {
        let rows = self.rows(db).await?;
        let steps = plan::apply_steps(
            &self.migrations,
            &rows,
            to,
            self.options.allow_out_of_order,
            self.options.ignore_missing,
        )?;
        let migrations = steps
            .iter()
            .map(|step| {
                let m = step.migration;
                let from = step.resume_from.unwrap_or(0);
                PlannedMigration {
                    version: m.version,
                    name: m.name.clone(),
                    file: m.up.file.clone(),
                    transactional: m.up.transactional(),
                    resume_at: step.resume_from.map(|done| done + 1),
                    statements: m.up.statements.iter().skip(from).cloned().collect(),
                }
            })
            .collect();
        let version_before = plan::database_version(&rows);
        info!(version = ?version_before, pending = steps.len(), "planned");
        Ok(Plan {
            version_before,
            migrations,
        })
    }

    /// Applies pending versions up to `to` (all when `None`) under the migration lock,
    /// resuming a non-transactional file that stopped half-way first.
    #[instrument(name = "apply", skip(self, db))]
    pub async fn apply(
        &self,
        db: &PgConnectOptions,
        to: Option<i64>,
    ) -> Result<ApplyReport, Error> {
        self.locked(db, async |conn, waited| {
            self.apply_locked(conn, to, waited).await
        })
        .await
    }

    async fn apply_locked(
        &self,
        conn: &mut PgConnection,
        to: Option<i64>,
        waited: Duration,
    ) -> Result<ApplyReport, Error> {
        history::ensure(conn).await?;
        let rows = history::load(conn).await?;
        let steps = plan::apply_steps(
            &self.migrations,
            &rows,
            to,
            self.options.allow_out_of_order,
            self.options.ignore_missing,
        )?;
        let version_before = plan::database_version(&rows);
        let mut version = version_before;
        let mut applied = Vec::new();
        for step in &steps {
            let m = step.migration;
            let started = Instant::now();
            let target = Target {
                version: m.version,
                script: &m.up,
                reverting: false,
                database_version: version,
            };
            let progress = m.up.prefix_checksum(if m.up.transactional() {
                m.up.statements.len()
            } else {
                0
            });
            let row = runner::new_row(m.version, &m.name, &m.up, &progress, &self.options.client);
            let record = Record::Insert(&row);
            let ran = if m.up.transactional() {
                runner::run_transactional(conn, &self.options, target, record).await?
            } else {
                runner::run_statements(conn, &self.options, target, step.resume_from, record)
                    .await?
            };
            let duration_ms = elapsed_ms(started);
            info!(
                version = m.version,
                name = %m.name,
                duration_ms,
                attempts = ran.attempts,
                "applied"
            );
            version = version.max(Some(m.version));
            applied.push(Applied {
                version: m.version,
                name: m.name.clone(),
                file: m.up.file.clone(),
                duration_ms,
                transactional: m.up.transactional(),
                statements: m.up.statements.len(),
                resumed_at: step.resume_from.map(|done| done + 1),
                attempts: ran.attempts,
                dropped_invalid_indexes: ran.dropped_invalid_indexes,
            });
        }
        info!(
            version_before = ?version_before,
            version_after = ?version,
            applied = applied.len(),
            "apply done"
        );
        Ok(ApplyReport {
            up_to_date: applied.is_empty(),
            applied,
            version_before,
            version_after: version,
            lock_wait_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Runs down files newest first, each in a transaction with the removal of its history
    /// row; refuses before running anything when one of them has no down file.
    #[instrument(name = "revert", skip(self, db))]
    pub async fn revert(
        &self,
        db: &PgConnectOptions,
        target: RevertTarget,
    ) -> Result<RevertReport, Error> {
        self.locked(db, async |conn, _| self.revert_locked(conn, target).await)
            .await
    }

    async fn revert_locked(
        &self,
        conn: &mut PgConnection,
        target: RevertTarget,
    ) -> Result<RevertReport, Error> {
        let mut rows = history::load(conn).await?;
        let steps = plan::revert_steps(&self.migrations, &rows, target)?;
        let version_before = plan::database_version(&rows);
        let mut reverted = Vec::new();
        for m in steps {
            let Some(down) = &m.down else {
                continue;
            };
            let started = Instant::now();
            let target = Target {
                version: m.version,
                script: down,
                reverting: true,
                database_version: plan::database_version(&rows),
            };
            let record = Record::Delete(m.version);
            if down.transactional() {
                runner::run_transactional(conn, &self.options, target, record).await?;
            } else {
                runner::run_statements(conn, &self.options, target, None, record).await?;
            }
            rows.retain(|r| r.version != m.version);
            let duration_ms = elapsed_ms(started);
            info!(version = m.version, name = %m.name, duration_ms, "reverted");
            reverted.push(Reverted {
                version: m.version,
                name: m.name.clone(),
                file: down.file.clone(),
                duration_ms,
            });
        }
        let version_after = plan::database_version(&rows);
        info!(
            version_before = ?version_before,
            version_after = ?version_after,
            reverted = reverted.len(),
            "revert done"
        );
        Ok(RevertReport {
            reverted,
            version_before,
            version_after,
        })
    }

    /// Adopts a database built by other means: records every file up to `version` as
    /// applied without running it (and a marker row when no file has that version).
    #[instrument(name = "baseline", skip(self, db))]
    pub async fn baseline(
        &self,
        db: &PgConnectOptions,
        version: i64,
    ) -> Result<BaselineReport, Error> {
        self.locked(db, async |conn, _| {
            self.baseline_locked(conn, version).await
        })
        .await
    }

    async fn baseline_locked(
        &self,
        conn: &mut PgConnection,
        version: i64,
    ) -> Result<BaselineReport, Error> {
        history::ensure(conn).await?;
        let rows = history::load(conn).await?;
        if !rows.is_empty() {
            return Err(Error::BaselineNotEmpty {
                applied: rows.len(),
            });
        }
        let mut tx = conn
            .begin()
            .await
            .map_err(Error::db("could not begin a transaction"))?;
        let mut marked = Vec::new();
        for m in self.migrations.iter().filter(|m| m.version <= version) {
            let total = m.up.statements.len();
            let progress = m.up.prefix_checksum(total);
            let row = NewRow {
                statements_done: total,
                finished: true,
                baselined: true,
                ..runner::new_row(m.version, &m.name, &m.up, &progress, &self.options.client)
            };
            history::insert(&mut tx, &row)
                .await
                .map_err(Error::db("could not record the baseline"))?;
            marked.push(m.version);
        }
        let marker_row = self.migrations.get(version).is_none();
        if marker_row {
            let row = NewRow {
                version,
                name: "baseline",
                checksum: "",
                checksum_algorithm: history::BASELINE_MARKER,
                transactional: true,
                statements_total: 0,
                statements_done: 0,
                progress_checksum: "",
                finished: true,
                execution_ms: 0,
                client: &self.options.client,
                baselined: true,
            };
            history::insert(&mut tx, &row)
                .await
                .map_err(Error::db("could not record the baseline"))?;
        }
        tx.commit()
            .await
            .map_err(Error::db("could not record the baseline"))?;
        info!(version, marked = marked.len(), marker_row, "baselined");
        Ok(BaselineReport {
            version,
            marked,
            marker_row,
        })
    }

    /// Accepts the current text of an applied file whose checksum no longer matches, and
    /// records that it did so, and when.
    #[instrument(name = "repair", skip(self, db))]
    pub async fn repair(&self, db: &PgConnectOptions, version: i64) -> Result<RepairReport, Error> {
        let m = self
            .migrations
            .get(version)
            .ok_or(Error::NoSuchVersion { version })?;
        self.locked(db, async |conn, _| {
            let rows = history::load(conn).await?;
            match rows.into_iter().find(|r| r.version == version) {
                None => Err(Error::NotApplied { version }),
                Some(row) if row.checksum == m.up.checksum => Ok(RepairReport {
                    version,
                    name: m.name.clone(),
                    previous_checksum: row.checksum.clone(),
                    checksum: row.checksum,
                    changed: false,
                }),
                Some(row) => {
                    let note = format!(
                        "accepted edited {} by `repair`: checksum {} ({}) replaced",
                        m.up.file, row.checksum, row.checksum_algorithm
                    );
                    history::repair(conn, version, &m.up.checksum, &note).await?;
                    info!(version, "accepted the edited file's checksum");
                    Ok(RepairReport {
                        version,
                        name: m.name.clone(),
                        previous_checksum: row.checksum,
                        checksum: m.up.checksum.clone(),
                        changed: true,
                    })
                }
            }
        })
        .await
    }

    /// Runs `work` on its own connection while this runner holds the database's advisory
    /// lock; the connection is closed and the lock released on every path, errors included.
    /// Refuses a transaction pooler first ([`Error::TransactionPooler`]): the lock is a
    /// session's, and behind such a pooler it would stay on a server connection the runner
    /// has already left.
    async fn locked<T>(
        &self,
        db: &PgConnectOptions,
        work: impl AsyncFnOnce(&mut PgConnection, Duration) -> Result<T, Error>,
    ) -> Result<T, Error> {
        crmdb_pg::pooler::require_session(
            db,
            "crmdb migrate",
            "its advisory lock and session settings",
            Error::Connect,
            Error::TransactionPooler,
        )
        .await?;
        let (lock, waited) = AdvisoryLock::acquire(db, self.options.lock_wait).await?;
        let result = match self.connect(db).await {
            Ok(mut conn) => {
                let result = work(&mut conn, waited).await;
                conn.close().await.ok();
                result
            }
            Err(e) => Err(e),
        };
        lock.release().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    /// Callers spawn these futures on multi-threaded runtimes.
    #[test]
    fn futures_are_send() {
        let m = Migrator::new(Migrations::default(), Options::default());
        let db = PgConnectOptions::new();
        assert_send(m.apply(&db, None));
        assert_send(m.plan(&db, None));
        assert_send(m.status(&db));
        assert_send(m.verify(&db));
        assert_send(m.revert(&db, RevertTarget::Steps(1)));
        assert_send(m.baseline(&db, 1));
        assert_send(m.repair(&db, 1));
    }
}
