//! Which operating-system account runs the server, and spawning its programs as that account.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::unistd::{Gid, Uid, User};

use crate::error::{Error, Result};

/// The account PostgreSQL's programs run as when crmdb itself runs as root.
pub const SERVER_ACCOUNT: &str = "postgres";

/// The `PATH` of the server's programs: the system's directories, nothing of crmdb's own.
const SERVER_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The account that owns and runs the cluster: the current user, or `postgres` under root.
#[derive(Debug, Clone)]
pub struct Account {
    switch_to: Option<(Uid, Gid)>,
}

impl Account {
    /// The current user when it is not root; otherwise the unprivileged server account,
    /// because `initdb` and `postgres` refuse to run as root.
    pub fn for_current_user() -> Result<Account> {
        if !Uid::effective().is_root() {
            return Ok(Account { switch_to: None });
        }
        let user = User::from_name(SERVER_ACCOUNT)
            .ok()
            .flatten()
            .ok_or_else(|| Error::NoServerAccount {
                account: SERVER_ACCOUNT.to_owned(),
            })?;
        Ok(Account {
            switch_to: Some((user.uid, user.gid)),
        })
    }

    /// The user id that owns the cluster's files and runs the server.
    pub fn uid(&self) -> Uid {
        self.switch_to.map_or_else(Uid::effective, |(uid, _)| uid)
    }

    /// True when the server runs as another account than crmdb (crmdb is root).
    pub fn is_switched(&self) -> bool {
        self.switch_to.is_some()
    }

    /// A command for `program` that runs as this account, in `cwd`, which the account can
    /// enter (`initdb` fails in a working directory it cannot read).
    pub fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        // The server gets a minimal environment, not crmdb's: CRMDB_ENCRYPTION_KEY, tokens
        // and passwords in crmdb's environment would otherwise be readable in
        // /proc/<postmaster>/environ and by `COPY … FROM PROGRAM 'env'`.
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", SERVER_PATH)
            .env("LC_ALL", "C.UTF-8");
        if let Some(tz) = std::env::var_os("TZ") {
            cmd.env("TZ", tz);
        }
        if let Some((uid, gid)) = self.switch_to {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    /// Gives `path` to this account (a no-op when crmdb runs as that account already).
    pub fn give(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid)) = self.switch_to {
            nix::unistd::chown(path, Some(uid), Some(gid)).map_err(|errno| Error::Io {
                action: format!(
                    "giving {} to the `{SERVER_ACCOUNT}` account",
                    path.display()
                ),
                source: errno.into(),
            })?;
        }
        Ok(())
    }
}
