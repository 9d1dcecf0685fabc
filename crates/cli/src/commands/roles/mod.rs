//! `crmdb roles`: the logins of the privilege model. `crmdb roles login` creates one.

pub mod login;

use crate::context::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a login for the application, the workers or reporting (or give an existing one
    /// a new password) and print its URL once.
    ///
    /// The login is LOGIN NOINHERIT and a member of one role only (crm_app, crm_worker or
    /// crm_readonly): it reads nothing until a transaction enters that role. The password is
    /// generated and sent to the server as a SCRAM verifier, so it appears nowhere but in the
    /// printed URL; store it in your secret manager.
    Login(login::Args),
}

pub async fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Login(args) => login::run(args, ctx).await,
    }
}
