//! `crmdb url`: print the database URL, starting the embedded cluster if needed; with
//! `--app` or `--worker`, the URL of the embedded cluster's application or worker login.

use crate::context::Context;
use crate::logins;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The application login's URL (APP_DATABASE_URL) instead of the admin's.
    #[arg(long, conflicts_with = "worker")]
    app: bool,
    /// The worker login's URL (WORKER_DATABASE_URL) instead of the admin's.
    #[arg(long)]
    worker: bool,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let login = match (args.app, args.worker) {
        (true, _) => Some(&logins::APP),
        (_, true) => Some(&logins::WORKER),
        _ => None,
    };
    let url = match login {
        None => database.url,
        Some(login) => {
            if ctx.embedded().is_none() {
                anyhow::bail!(
                    "--app and --worker name the logins of the embedded cluster; for the \
                     server of DATABASE_URL create one with `crmdb roles login NAME --for {}`",
                    if args.app { "app" } else { "worker" }
                );
            }
            logins::embedded(&ctx.global.home, &database, login)
                .await?
                .0
        }
    };
    ctx.out.line(&url);
    ctx.out.json(&serde_json::json!({ "url": url }))
}
