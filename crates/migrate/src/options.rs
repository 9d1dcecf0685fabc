//! How the engine runs: lock waits, time-outs, retries and what it may apply.

use std::time::Duration;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for another runner's migration lock.
    pub lock_wait: Duration,
    /// `lock_timeout` of every migration: a DDL stuck behind a long transaction fails this
    /// fast instead of queueing every query on its table behind it. Zero disables it.
    pub lock_timeout: Duration,
    /// How many times a migration (or statement) that hit `lock_timeout` is retried.
    pub lock_retries: u32,
    /// The pause before the first retry; it doubles with each further one.
    pub retry_backoff: Duration,
    /// `statement_timeout` of every migration; `None` for no limit.
    pub statement_timeout: Option<Duration>,
    /// Apply pending versions older than the newest applied one.
    pub allow_out_of_order: bool,
    /// Apply even though applied versions have no file.
    pub ignore_missing: bool,
    /// Recorded in the history with the database user, e.g. `crmdb 0.1.0`.
    pub client: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lock_wait: Duration::from_secs(60),
            lock_timeout: Duration::from_secs(5),
            lock_retries: 3,
            retry_backoff: Duration::from_secs(1),
            statement_timeout: None,
            allow_out_of_order: false,
            ignore_missing: false,
            client: concat!("crmdb-migrate ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}
