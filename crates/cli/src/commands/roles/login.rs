//! `crmdb roles login NAME --for app|worker|readonly`.

use crmdb_schema::roles::{LoginKind, LoginOutcome};
use serde::Serialize;

use crate::context::Context;
use crate::logins;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The login's name (a new role, or a login crmdb created before).
    name: String,
    /// What the login is for: `app` (APP_DATABASE_URL, the web application), `worker`
    /// (WORKER_DATABASE_URL, background workers) or `readonly` (reporting).
    #[arg(long = "for", value_enum)]
    kind: Kind,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    App,
    Worker,
    Readonly,
}

impl From<Kind> for LoginKind {
    fn from(kind: Kind) -> LoginKind {
        match kind {
            Kind::App => LoginKind::App,
            Kind::Worker => LoginKind::Worker,
            Kind::Readonly => LoginKind::Readonly,
        }
    }
}

#[derive(Debug, Serialize)]
struct Created {
    login: String,
    role: &'static str,
    /// False when the login existed and got a new password.
    created: bool,
    url: String,
}

pub async fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let database = ctx.database().await?;
    let kind = LoginKind::from(args.kind);
    let (password, outcome) = logins::create(&database, &args.name, kind).await?;
    let created = Created {
        url: logins::url_for(&database.url, &args.name, &password)?,
        login: args.name,
        role: kind.role(),
        created: outcome == LoginOutcome::Created,
    };
    if ctx.out.is_json() {
        return ctx.out.json(&created);
    }
    ctx.out.line(format!(
        "{} {} (member of {}); its password is shown once, in this URL:",
        if created.created {
            "created login"
        } else {
            "new password for login"
        },
        created.login,
        created.role
    ));
    ctx.out.line(&created.url);
    Ok(())
}
