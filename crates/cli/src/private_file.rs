//! Secrets kept in the home (the encryption key, the logins' passwords): files readable by
//! their owner only, written whole under a private name first, so no reader ever sees half
//! a secret and no other user ever sees it at all.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Writes `contents` to a new mode-0600 file beside `path`, and returns its name; the
/// caller moves it into place (a link to keep a concurrent writer's file, a rename to
/// replace it).
pub fn stage(path: &Path, contents: &[u8]) -> anyhow::Result<PathBuf> {
    let staging = path.with_extension(format!("{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&staging)
        .with_context(|| format!("could not create {}", staging.display()))?;
    file.write_all(contents)
        .with_context(|| format!("could not write {}", staging.display()))?;
    Ok(staging)
}
