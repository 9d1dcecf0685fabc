//! The command tree: global options and one subcommand, each a module of `commands`.

use clap::{ArgAction, Parser, Subcommand};

use crate::commands;
use crate::context::{Context, GlobalArgs};

/// crmdb: the database of a multi-tenant CRM — schema, migrations, seeds and tools.
#[derive(Debug, Parser)]
#[command(name = "crmdb", version, about, propagate_version = true)]
pub struct Cli {
    /// Log what crmdb does to stderr: -v its steps, -vv their details, -vvv traces; with -v,
    /// RUST_LOG (when set) chooses what is logged instead.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start (or reuse) the database, create `crm`, apply all migrations; prints DATABASE_URL.
    Up(commands::up::Args),
    /// Stop the embedded cluster (data kept); `--purge` deletes it.
    Down(commands::down::Args),
    /// Print the database URL (starting the embedded cluster if needed).
    Url(commands::url::Args),
    /// List the clusters of the shared directory and their homes; `prune` removes orphans.
    Clusters(commands::clusters::Args),
    /// Check the live database against the schema conventions; exits 1 on any violation.
    Audit(commands::audit::Args),
    /// Apply, revert, inspect and create migrations.
    #[command(subcommand)]
    Migrate(commands::migrate::Command),
    /// Seed the defaults of every organization (idempotent); `seed demo` loads demo data.
    Seed(commands::seed::Args),
    /// The logins of the privilege model (`roles login NAME --for app|worker|readonly`).
    #[command(subcommand)]
    Roles(commands::roles::Command),
    /// Maintain the secrets sealed at rest (`secrets rotate`).
    #[command(subcommand)]
    Secrets(commands::secrets::Command),
    /// An organization as a whole: export it, or delete it (offboarding).
    #[command(subcommand)]
    Org(commands::org::Command),
    /// LGPD data-subject requests: export and erase everything about one person.
    #[command(subcommand)]
    Privacy(commands::privacy::Command),
    /// Time the catalog's hot queries through the data layer and as raw SQL.
    Bench(commands::bench::Args),
    /// Generate the schema documentation (docs/schema/); `--check` exits 1 when it is stale.
    Docs(commands::docs::Args),
}

impl Cli {
    /// True when the output, errors included, is JSON.
    pub fn json(&self) -> bool {
        self.global.json
    }

    pub async fn run(self) -> anyhow::Result<()> {
        let ctx = Context::new(self.global);
        match self.command {
            Command::Up(args) => commands::up::run(args, &ctx).await,
            Command::Down(args) => commands::down::run(args, &ctx).await,
            Command::Url(args) => commands::url::run(args, &ctx).await,
            Command::Clusters(args) => commands::clusters::run(args, &ctx).await,
            Command::Audit(args) => commands::audit::run(args, &ctx).await,
            Command::Migrate(command) => commands::migrate::run(command, &ctx).await,
            Command::Seed(args) => commands::seed::run(args, &ctx).await,
            Command::Docs(args) => commands::docs::run(args, &ctx).await,
            Command::Roles(command) => commands::roles::run(command, &ctx).await,
            Command::Secrets(command) => commands::secrets::run(command, &ctx).await,
            Command::Org(command) => commands::org::run(command, &ctx).await,
            Command::Privacy(command) => commands::privacy::run(command, &ctx).await,
            Command::Bench(args) => commands::bench::run(args, &ctx).await,
        }
    }
}
