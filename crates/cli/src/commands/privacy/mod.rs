//! `crmdb privacy`: LGPD data-subject requests (Lei 13.709/2018, art. 18) through the data
//! layer: `export` (access and portability) and `erase`, each naming one organization and the
//! subject by lead id, e-mail or phone.

mod erase;
mod export;

use anyhow::Context as _;
use crmdb_store::ops::privacy::Subject;
use crmdb_store::{Db, Tenant};
use uuid::Uuid;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print (or write with --out) one JSON document of every row about the subject.
    Export(export::Args),
    /// Delete or anonymise every field about the subject in one transaction.
    Erase(erase::Args),
}

pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Export(args) => export::run(args, ctx).await,
        Command::Erase(args) => erase::run(args, ctx).await,
    }
}

/// The organization and whom the request is about: exactly one of --lead, --email, --phone.
#[derive(Debug, clap::Args)]
pub struct SubjectArgs {
    /// The organization: its id or its slug.
    #[arg(long, value_name = "ORG")]
    org: String,
    /// The subject's lead.
    #[arg(long, value_name = "ID", group = "subject", required = true)]
    lead: Option<Uuid>,
    /// Every lead with this e-mail (case-insensitive).
    #[arg(long, value_name = "E", group = "subject")]
    email: Option<String>,
    /// Every lead with this phone's digits, however formatted.
    #[arg(long, value_name = "P", group = "subject")]
    phone: Option<String>,
}

impl SubjectArgs {
    fn subject(&self) -> Subject {
        match (&self.lead, &self.email, &self.phone) {
            (Some(id), _, _) => Subject::Lead(*id),
            (_, Some(email), _) => Subject::Email(email.clone()),
            (_, _, Some(phone)) => Subject::Phone(phone.clone()),
            // clap's required group lets exactly one through.
            (None, None, None) => unreachable!("clap requires one of --lead, --email, --phone"),
        }
    }

    /// The organization's handle, entered as the application role.
    async fn tenant(&self, ctx: &Context) -> anyhow::Result<Tenant> {
        let config = ctx.store_config().await?;
        let db = Db::connect_with(config, 2)
            .await
            .context("could not connect to the database")?;
        let id = crmdb_store::offboarding::organization_id(&db, &self.org)
            .await
            .with_context(|| format!("no organization {:?} (give its id or slug)", self.org))?;
        Ok(db.tenant(id))
    }
}
