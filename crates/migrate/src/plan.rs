//! Comparing the files with the history table: states, what `apply` and `revert` would run,
//! and the rules that refuse to run (drift, missing files, out-of-order versions).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::{Drift, Error};
use crate::history::HistoryRow;
use crate::report::{State, VerifyReport, VersionStatus};
use crate::source::{Migration, Migrations};

/// One file `apply` will run, and where it resumes.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    pub migration: &'a Migration,
    /// Statements already done, for a partial non-transactional file.
    pub resume_from: Option<usize>,
}

/// Which applied versions `revert` undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RevertTarget {
    /// The newest `n` applied versions.
    Steps(usize),
    /// Every applied version above this one.
    To(i64),
}

/// The newest version that is fully applied.
pub fn database_version(rows: &[HistoryRow]) -> Option<i64> {
    rows.iter().filter(|r| r.finished).map(|r| r.version).max()
}

fn drift(m: &Migration, row: &HistoryRow) -> Option<Drift> {
    (row.finished && !row.is_baseline_marker() && row.checksum != m.up.checksum).then(|| Drift {
        version: m.version,
        file: m.up.file.clone(),
        recorded: row.checksum.clone(),
        actual: m.up.checksum.clone(),
    })
}

/// Every version known to the files or the history, in order.
pub fn statuses(migrations: &Migrations, rows: &[HistoryRow]) -> Vec<VersionStatus> {
    let versions: BTreeSet<i64> = migrations
        .iter()
        .map(|m| m.version)
        .chain(rows.iter().map(|r| r.version))
        .collect();
    versions
        .into_iter()
        .map(|version| {
            let file = migrations.get(version);
            let row = rows.iter().find(|r| r.version == version);
            let state = match (file, row) {
                (Some(_), None) => State::Pending,
                (_, Some(r)) if !r.finished => State::Partial,
                (None, Some(r)) if r.is_baseline_marker() => State::Applied,
                (None, _) => State::Missing,
                (Some(m), Some(r)) if drift(m, r).is_some() => State::Changed,
                (Some(_), Some(_)) => State::Applied,
            };
            VersionStatus {
                version,
                name: file.map_or_else(
                    || row.map(|r| r.name.clone()).unwrap_or_default(),
                    |m| m.name.clone(),
                ),
                state,
                file: file.map(|m| m.up.file.clone()),
                transactional: file
                    .map(|m| m.up.transactional())
                    .or(row.map(|r| r.transactional)),
                applied_at: row.map(|r| r.applied_at),
                execution_ms: row.map(|r| r.execution_ms),
                applied_by: row.map(|r| format!("{} ({})", r.applied_by, r.client)),
                checksum: file.map(|m| m.up.checksum.clone()),
                recorded_checksum: row.map(|r| r.checksum.clone()),
                statements_done: row.map(|r| r.statements_done),
                statements_total: row.map(|r| r.statements_total),
                baselined: row.is_some_and(|r| r.baselined),
                repaired_at: row.and_then(|r| r.repaired_at),
                repair_note: row.and_then(|r| r.repair_note.clone()),
            }
        })
        .collect()
}

/// What `apply` runs, in order, or why it must not run at all.
pub fn apply_steps<'a>(
    migrations: &'a Migrations,
    rows: &[HistoryRow],
    to: Option<i64>,
    allow_out_of_order: bool,
    ignore_missing: bool,
) -> Result<Vec<Step<'a>>, Error> {
    let changed: Vec<Drift> = rows
        .iter()
        .filter_map(|r| migrations.get(r.version).and_then(|m| drift(m, r)))
        .collect();
    if !changed.is_empty() {
        return Err(Error::Changed(changed));
    }
    let missing: Vec<i64> = rows
        .iter()
        .filter(|r| !r.is_baseline_marker() && migrations.get(r.version).is_none())
        .map(|r| r.version)
        .collect();
    if !missing.is_empty() && !ignore_missing {
        return Err(Error::Missing(missing));
    }
    let mut steps = Vec::new();
    for row in rows.iter().filter(|r| !r.finished) {
        let Some(m) = migrations.get(row.version) else {
            continue;
        };
        let done = usize::try_from(row.statements_done).unwrap_or(0);
        let same_prefix = m.up.prefix_checksum(done) == row.progress_checksum;
        if m.up.transactional() || (row.checksum != m.up.checksum && !same_prefix) {
            return Err(Error::PartialChanged {
                version: m.version,
                file: m.up.file.clone(),
                statements_done: done,
            });
        }
        steps.push(Step {
            migration: m,
            resume_from: Some(done),
        });
    }
    let latest_applied = rows.iter().map(|r| r.version).max();
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| to.is_none_or(|to| m.version <= to))
        .filter(|m| rows.iter().all(|r| r.version != m.version))
        .collect();
    if let Some(latest) = latest_applied {
        let old: Vec<i64> = pending
            .iter()
            .map(|m| m.version)
            .filter(|&v| v < latest)
            .collect();
        if !old.is_empty() && !allow_out_of_order {
            return Err(Error::OutOfOrder {
                versions: old,
                latest_applied: latest,
            });
        }
    }
    steps.extend(pending.into_iter().map(|migration| Step {
        migration,
        resume_from: None,
    }));
    Ok(steps)
}

/// What `revert` undoes, newest first, each with its down file; refused as a whole when one
/// of them has no down file.
pub fn revert_steps<'a>(
    migrations: &'a Migrations,
    rows: &[HistoryRow],
    target: RevertTarget,
) -> Result<Vec<&'a Migration>, Error> {
    let mut applied: Vec<&HistoryRow> = rows.iter().collect();
    applied.sort_by_key(|r| std::cmp::Reverse(r.version));
    let chosen: Vec<&HistoryRow> = match target {
        RevertTarget::Steps(n) => applied.into_iter().take(n).collect(),
        RevertTarget::To(v) => applied.into_iter().filter(|r| r.version > v).collect(),
    };
    let no_down: Vec<i64> = chosen
        .iter()
        .filter(|r| migrations.get(r.version).is_none_or(|m| m.down.is_none()))
        .map(|r| r.version)
        .collect();
    if !no_down.is_empty() {
        return Err(Error::NoDownFile(no_down));
    }
    Ok(chosen
        .iter()
        .filter_map(|r| migrations.get(r.version))
        .collect())
}

/// Compares every applied version with its file.
pub fn verify(migrations: &Migrations, rows: &[HistoryRow]) -> VerifyReport {
    let mut report = VerifyReport {
        ok: true,
        checked: 0,
        changed: Vec::new(),
        missing: Vec::new(),
        partial: Vec::new(),
    };
    for row in rows.iter().filter(|r| !r.is_baseline_marker()) {
        match migrations.get(row.version) {
            None => report.missing.push(row.version),
            Some(m) => {
                report.checked += 1;
                if !row.finished {
                    report.partial.push(row.version);
                }
                if row.checksum != m.up.checksum {
                    report.changed.push(Drift {
                        version: m.version,
                        file: m.up.file.clone(),
                        recorded: row.checksum.clone(),
                        actual: m.up.checksum.clone(),
                    });
                }
            }
        }
    }
    report.ok = report.changed.is_empty() && report.missing.is_empty();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn files(list: &[(i64, &str)]) -> Migrations {
        Migrations::from_files(list.iter().flat_map(|&(v, sql)| {
            [
                (format!("{v:04}_m{v}.up.sql"), sql.to_owned()),
                (format!("{v:04}_m{v}.down.sql"), String::new()),
            ]
        }))
        .unwrap()
    }

    fn row(m: &Migration) -> HistoryRow {
        HistoryRow {
            version: m.version,
            name: m.name.clone(),
            checksum: m.up.checksum.clone(),
            checksum_algorithm: crate::source::CHECKSUM_ALGORITHM.into(),
            transactional: m.up.transactional(),
            statements_total: 1,
            statements_done: 1,
            progress_checksum: String::new(),
            finished: true,
            applied_at: Utc::now(),
            execution_ms: 1,
            applied_by: "me".into(),
            client: "test".into(),
            baselined: false,
            repaired_at: None,
            repair_note: None,
        }
    }

    fn versions(steps: &[Step<'_>]) -> Vec<i64> {
        steps.iter().map(|s| s.migration.version).collect()
    }

    #[test]
    fn pending_up_to_target() {
        let m = files(&[(1, "SELECT 1"), (2, "SELECT 2"), (3, "SELECT 3")]);
        let rows = vec![row(m.get(1).unwrap())];
        assert_eq!(
            versions(&apply_steps(&m, &rows, None, false, false).unwrap()),
            [2, 3]
        );
        assert_eq!(
            versions(&apply_steps(&m, &rows, Some(2), false, false).unwrap()),
            [2]
        );
        assert!(apply_steps(&m, &rows, Some(1), false, false)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn changed_files_block_apply_and_show_in_status() {
        let m = files(&[(1, "SELECT 1")]);
        let mut r = row(m.get(1).unwrap());
        r.checksum = "0".repeat(64);
        assert!(matches!(
            apply_steps(&m, &[r.clone()], None, false, false),
            Err(Error::Changed(_))
        ));
        assert_eq!(statuses(&m, &[r.clone()])[0].state, State::Changed);
        assert!(!verify(&m, &[r]).ok);
    }

    #[test]
    fn missing_files_block_apply_unless_ignored() {
        let all = files(&[(1, "SELECT 1"), (2, "SELECT 2"), (3, "SELECT 3")]);
        let rows = vec![row(all.get(1).unwrap()), row(all.get(2).unwrap())];
        let some = files(&[(1, "SELECT 1"), (3, "SELECT 3")]);
        assert!(matches!(
            apply_steps(&some, &rows, None, false, false),
            Err(Error::Missing(ref v)) if v == &[2]
        ));
        assert_eq!(
            versions(&apply_steps(&some, &rows, None, false, true).unwrap()),
            [3]
        );
        assert_eq!(statuses(&some, &rows)[1].state, State::Missing);
    }

    #[test]
    fn out_of_order_refused_unless_allowed() {
        let m = files(&[(1, "SELECT 1"), (2, "SELECT 2"), (3, "SELECT 3")]);
        let rows = vec![row(m.get(1).unwrap()), row(m.get(3).unwrap())];
        assert!(matches!(
            apply_steps(&m, &rows, None, false, false),
            Err(Error::OutOfOrder { ref versions, latest_applied: 3 }) if versions == &[2]
        ));
        assert_eq!(
            versions(&apply_steps(&m, &rows, None, true, false).unwrap()),
            [2]
        );
    }

    #[test]
    fn partial_files_resume_first_and_allow_edits_after_the_failure() {
        let sql = "-- crmdb:no-transaction\nCREATE INDEX CONCURRENTLY a ON t (x);\nCREATE INDEX CONCURRENTLY b ON t (y);";
        let m = files(&[(1, sql), (2, "SELECT 2")]);
        let mut r = row(m.get(1).unwrap());
        r.finished = false;
        r.statements_done = 1;
        r.progress_checksum = m.get(1).unwrap().up.prefix_checksum(1);
        let steps = apply_steps(&m, &[r.clone()], None, false, false).unwrap();
        assert_eq!(versions(&steps), [1, 2]);
        assert_eq!(steps[0].resume_from, Some(1));
        assert_eq!(statuses(&m, &[r.clone()])[0].state, State::Partial);

        let edited_after = files(&[(1, &sql.replace("(y)", "(y, x)")), (2, "SELECT 2")]);
        assert!(apply_steps(&edited_after, &[r.clone()], None, false, false).is_ok());
        let edited_before = files(&[(1, &sql.replace("(x)", "(x, y)")), (2, "SELECT 2")]);
        assert!(matches!(
            apply_steps(&edited_before, &[r], None, false, false),
            Err(Error::PartialChanged {
                statements_done: 1,
                ..
            })
        ));
    }

    #[test]
    fn revert_newest_first_and_refuses_without_down_files() {
        let m = files(&[(1, "SELECT 1"), (2, "SELECT 2"), (3, "SELECT 3")]);
        let rows: Vec<HistoryRow> = m.iter().map(row).collect();
        let got: Vec<i64> = revert_steps(&m, &rows, RevertTarget::Steps(2))
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(got, [3, 2]);
        let got: Vec<i64> = revert_steps(&m, &rows, RevertTarget::To(0))
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(got, [3, 2, 1]);
        let no_down = Migrations::from_files([
            ("0001_m1.up.sql", "SELECT 1"),
            ("0001_m1.down.sql", ""),
            ("0002_m2.up.sql", "SELECT 2"),
        ])
        .unwrap();
        let rows: Vec<HistoryRow> = no_down.iter().map(row).collect();
        assert!(matches!(
            revert_steps(&no_down, &rows, RevertTarget::To(0)),
            Err(Error::NoDownFile(ref v)) if v == &[2]
        ));
    }

    #[test]
    fn baseline_marker_rows_are_neither_missing_nor_changed() {
        let m = files(&[(5, "SELECT 5")]);
        let mut marker = row(m.get(5).unwrap());
        marker.version = 4;
        marker.baselined = true;
        marker.checksum_algorithm = crate::history::BASELINE_MARKER.into();
        assert_eq!(statuses(&m, &[marker.clone()])[0].state, State::Applied);
        assert_eq!(
            versions(&apply_steps(&m, &[marker.clone()], None, false, false).unwrap()),
            [5]
        );
        assert!(verify(&m, &[marker]).ok);
    }
}
