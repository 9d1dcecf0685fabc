//! `crmdb migrate status`: every version with its state, as a table or JSON.

use crmdb_migrate::{Migrator, State, VersionStatus};

use super::SourceArgs;
use crate::context::Context;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    source: SourceArgs,
    /// Exit 1 when anything is pending, changed, missing or partial.
    #[arg(long)]
    exit_code: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let migrator = Migrator::new(args.source.load()?, super::options());
    let database = ctx.database().await?;
    let statuses = migrator.status(&database.options).await?;
    if ctx.out.is_json() {
        ctx.out.json(&statuses)?;
    } else {
        ctx.out.table(
            &["version", "name", "state", "applied at", "ms", "note"],
            statuses.iter().map(row).collect(),
        );
        ctx.out.line(summary(&statuses));
    }
    let clean = statuses.iter().all(|s| s.state == State::Applied);
    if args.exit_code && !clean {
        return Err(Exit(1).into());
    }
    Ok(())
}

fn row(s: &VersionStatus) -> Vec<String> {
    let mut notes = Vec::new();
    if s.transactional == Some(false) {
        notes.push("no transaction".to_owned());
    }
    if let (State::Partial, Some(done), Some(total)) =
        (s.state, s.statements_done, s.statements_total)
    {
        notes.push(format!("{done} of {total} statements done"));
    }
    if s.baselined {
        notes.push("baselined".to_owned());
    }
    if let Some(at) = s.repaired_at {
        notes.push(format!("repaired {}", at.format("%Y-%m-%d %H:%M")));
    }
    vec![
        s.version.to_string(),
        s.name.clone(),
        s.state.as_str().to_owned(),
        s.applied_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        s.execution_ms.map(|ms| ms.to_string()).unwrap_or_default(),
        notes.join(", "),
    ]
}

fn summary(statuses: &[VersionStatus]) -> String {
    let count = |state| statuses.iter().filter(|s| s.state == state).count();
    let mut parts = vec![format!("{} applied", count(State::Applied))];
    for state in [
        State::Pending,
        State::Changed,
        State::Missing,
        State::Partial,
    ] {
        let n = count(state);
        if n > 0 {
            parts.push(format!("{n} {}", state.as_str()));
        }
    }
    parts.join(", ")
}
