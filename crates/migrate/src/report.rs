//! What the engine's commands return; all serialisable, for `--json`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Drift;
use crate::splitter::Statement;

/// A version's state, comparing the files with the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Recorded and its file matches the recorded checksum.
    Applied,
    /// A file not recorded yet.
    Pending,
    /// Recorded, but the file's checksum differs (it was edited after it ran).
    Changed,
    /// Recorded, but there is no file for it.
    Missing,
    /// A non-transactional file that stopped half-way; `apply` resumes it.
    Partial,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Changed => "changed",
            State::Missing => "missing",
            State::Partial => "partial",
        }
    }
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct VersionStatus {
    pub version: i64,
    pub name: String,
    pub state: State,
    /// The up file; `None` when missing.
    pub file: Option<String>,
    pub transactional: Option<bool>,
    pub applied_at: Option<DateTime<Utc>>,
    pub execution_ms: Option<i64>,
    pub applied_by: Option<String>,
    /// The file's checksum now.
    pub checksum: Option<String>,
    /// The checksum recorded when it ran.
    pub recorded_checksum: Option<String>,
    pub statements_done: Option<i32>,
    pub statements_total: Option<i32>,
    /// Marked applied by `baseline` rather than run.
    pub baselined: bool,
    /// When `repair` accepted an edited file, and its note.
    pub repaired_at: Option<DateTime<Utc>>,
    pub repair_note: Option<String>,
}

/// One migration that `apply` ran (or finished).
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub file: String,
    pub duration_ms: u64,
    pub transactional: bool,
    pub statements: usize,
    /// For a resumed non-transactional file: the 1-based statement it resumed at.
    pub resumed_at: Option<usize>,
    /// Attempts of the statement or file that needed the most (lock time-outs retry).
    pub attempts: u32,
    /// INVALID indexes, left by an earlier failed concurrent build, dropped before rebuilding.
    pub dropped_invalid_indexes: Vec<String>,
}

/// What `apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub applied: Vec<Applied>,
    /// Nothing was pending.
    pub up_to_date: bool,
    pub version_before: Option<i64>,
    pub version_after: Option<i64>,
    /// Time spent waiting for another runner's lock.
    pub lock_wait_ms: u64,
}

/// One file `apply` would run.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedMigration {
    pub version: i64,
    pub name: String,
    pub file: String,
    pub transactional: bool,
    /// For a partial non-transactional file: the 1-based statement it would resume at.
    pub resume_at: Option<usize>,
    /// The statements it would run (from `resume_at` on, for a resumed file).
    pub statements: Vec<Statement>,
}

/// What `apply --dry-run` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub version_before: Option<i64>,
    pub migrations: Vec<PlannedMigration>,
}

/// One migration `revert` undid.
#[derive(Debug, Clone, Serialize)]
pub struct Reverted {
    pub version: i64,
    pub name: String,
    pub file: String,
    pub duration_ms: u64,
}

/// What `revert` did.
#[derive(Debug, Clone, Serialize)]
pub struct RevertReport {
    pub reverted: Vec<Reverted>,
    pub version_before: Option<i64>,
    pub version_after: Option<i64>,
}

/// What `verify` found: `ok` only when every applied file matches its checksum.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    /// Applied versions whose file was compared.
    pub checked: usize,
    pub changed: Vec<Drift>,
    pub missing: Vec<i64>,
    pub partial: Vec<i64>,
}

/// What `baseline` recorded.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineReport {
    pub version: i64,
    /// Versions of files marked applied.
    pub marked: Vec<i64>,
    /// True when no file has the baseline version itself, so a marker row stands for it.
    pub marker_row: bool,
}

/// What `repair` changed.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    pub version: i64,
    pub name: String,
    pub previous_checksum: String,
    pub checksum: String,
    /// False when the file already matched: nothing was written.
    pub changed: bool,
}
