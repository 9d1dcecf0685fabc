//! `crmdb migrate`: apply, revert, inspect and create migrations with the `crmdb-migrate`
//! engine, on the embedded migrations or on a directory given with `--migrations`.

mod apply;
mod baseline;
pub mod drift;
pub mod lint;
mod new;
mod repair;
mod revert;
mod status;
mod verify;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use crmdb_migrate::{Migrations, Options};

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show every version's state: applied, pending, changed, missing or partial.
    Status(status::Args),
    /// Apply pending migrations (all, or up to --to), resuming a half-applied one first.
    Apply(apply::Args),
    /// Run down files, newest first: the last one, --steps N, or all above --to V.
    Revert(revert::Args),
    /// Exit 0 only when every applied file still matches its recorded checksum.
    Verify(verify::Args),
    /// Mark every version up to V as applied without running it (adopt an existing database).
    Baseline(baseline::Args),
    /// Accept the edited file of an applied version, recording that it was accepted.
    Repair(repair::Args),
    /// Create the next numbered up/down pair of files.
    New(new::Args),
    /// Check migration files before they run: dangerous operations and tenant rules.
    Lint(lint::Args),
}

pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Status(args) => status::run(args, ctx).await,
        Command::Apply(args) => apply::run(args, ctx).await,
        Command::Revert(args) => revert::run(args, ctx).await,
        Command::Verify(args) => verify::run(args, ctx).await,
        Command::Baseline(args) => baseline::run(args, ctx).await,
        Command::Repair(args) => repair::run(args, ctx).await,
        Command::New(args) => new::run(args, ctx).await,
        Command::Lint(args) => lint::run(args, ctx).await,
    }
}

/// Where the migrations come from.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// Read the migrations from this directory instead of those embedded in the binary.
    #[arg(long, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
}

impl SourceArgs {
    pub fn load(&self) -> anyhow::Result<Migrations> {
        match &self.migrations {
            Some(dir) => Migrations::from_dir(dir)
                .with_context(|| format!("the migrations in {} are invalid", dir.display())),
            None => crmdb_schema::migrations().context("the embedded migrations are invalid"),
        }
    }
}

/// How long to wait, for the commands that change the database.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Seconds to wait for another runner's migration lock.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub lock_wait: Duration,
    /// Seconds a migration may wait for a table lock before it fails and retries (0: no limit).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    pub lock_timeout: Duration,
    /// Seconds any one statement may run (default: no limit).
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub statement_timeout: Option<Duration>,
}

impl WaitArgs {
    pub fn options(&self) -> Options {
        Options {
            lock_wait: self.lock_wait,
            lock_timeout: self.lock_timeout,
            statement_timeout: self.statement_timeout,
            ..options()
        }
    }
}

/// The engine's defaults, with this binary named in the history table.
pub fn options() -> Options {
    Options {
        client: format!("crmdb {}", env!("CARGO_PKG_VERSION")),
        ..Options::default()
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a valid duration"))
}

/// `0002_people` for version 2 named `people`, the way files are named.
pub fn label(version: i64, name: &str) -> String {
    format!("{version:04}_{name}")
}

/// Enough of a checksum to tell two apart.
pub fn short_checksum(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

/// A version, or `none`.
pub fn version_text(version: Option<i64>) -> String {
    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        use clap::Subcommand as _;
        let migrate = clap::Command::new("migrate")
            .version("0")
            .propagate_version(true);
        Command::augment_subcommands(migrate).debug_assert();
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_nonsense() {
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds("0"), Ok(Duration::ZERO));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
    }
}
