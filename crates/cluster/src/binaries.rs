//! Finding the PostgreSQL server binaries on this machine and checking their version.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The oldest PostgreSQL major version the schema runs on.
pub const MIN_MAJOR: u32 = 15;

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// A directory that holds `initdb`, `pg_ctl` and `postgres`, with their version.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
    pub version: String,
    pub major: u32,
}

impl Binaries {
    /// Finds the binaries: `$PG_BINDIR`, then `pg_config --bindir`, then the newest
    /// `/usr/lib/postgresql/*/bin`, then `PATH`; refuses versions older than 15.
    ///
    /// An explicit `PG_BINDIR` that does not hold the binaries is an error rather than a
    /// silent fall-back, so a typo never starts a different server than the one asked for.
    pub fn find() -> Result<Binaries> {
        let dir = match env::var_os("PG_BINDIR").filter(|v| !v.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                if !holds_binaries(&dir) {
                    return Err(Error::BinDirInvalid { dir });
                }
                dir
            }
            None => from_pg_config()
                .or_else(newest_debian_bindir)
                .or_else(from_path)
                .ok_or(Error::BinariesNotFound)?,
        };
        Self::at(dir)
    }

    /// Reads the version of the binaries in `dir` and checks it.
    pub fn at(dir: PathBuf) -> Result<Binaries> {
        let out = Command::new(dir.join("postgres"))
            .arg("--version")
            .output()
            .map_err(Error::io(format!(
                "running {}/postgres --version",
                dir.display()
            )))?;
        if !out.status.success() {
            return Err(Error::BinariesUnusable {
                why: format!(
                    "failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                dir,
            });
        }
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let (version, major) = parse_version(&text).ok_or_else(|| Error::BinariesUnusable {
            dir: dir.clone(),
            why: format!("printed {text:?}, which is not a version"),
        })?;
        if major < MIN_MAJOR {
            return Err(Error::TooOld { dir, version });
        }
        Ok(Binaries {
            dir,
            version,
            major,
        })
    }

    /// The path of one of the server programs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn holds_binaries(dir: &Path) -> bool {
    REQUIRED.iter().all(|name| dir.join(name).is_file())
}

fn from_pg_config() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    holds_binaries(&dir).then_some(dir)
}

fn newest_debian_bindir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            holds_binaries(&bin).then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn from_path() -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .find(|dir| holds_binaries(dir))
        .map(|dir| {
            // A symlinked `initdb` (as in /usr/local/bin) should resolve to its real bin directory,
            // where the other programs and the share directory live.
            std::fs::canonicalize(dir.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .filter(|p| holds_binaries(p))
                .unwrap_or(dir)
        })
}

/// Parses `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` into `("15.18", 15)`.
fn parse_version(text: &str) -> Option<(String, u32)> {
    let version = text
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    let major = version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((version.to_owned(), major))
}

/// True when `name` looks like a server program we run (used to recognise a live postmaster).
pub(crate) fn is_postgres_command(cmdline: &[u8]) -> bool {
    let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    Path::new(OsStr::new(std::str::from_utf8(first).unwrap_or_default()))
        .file_name()
        .is_some_and(|n| n == "postgres" || n == "postmaster")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_plain_versions() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(("15.18".into(), 15))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 17beta2"),
            Some(("17beta2".into(), 17))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 9.6.24"),
            Some(("9.6.24".into(), 9))
        );
        assert_eq!(parse_version("garbage"), None);
    }

    /// What an unpacked relocatable build without its library links does.
    #[test]
    fn a_server_that_cannot_load_its_libraries_is_unusable_with_the_loader_message() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let postgres = dir.path().join("postgres");
        std::fs::write(
            &postgres,
            "#!/bin/sh\necho 'postgres: error while loading shared libraries: libicuuc.so.60' >&2\nexit 127\n",
        )
        .unwrap();
        std::fs::set_permissions(&postgres, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = Binaries::at(dir.path().to_owned()).unwrap_err();
        assert!(matches!(err, Error::BinariesUnusable { .. }), "{err}");
        assert!(err.to_string().contains("libicuuc.so.60"), "{err}");
    }

    #[test]
    fn recognises_postmaster_command_lines() {
        assert!(is_postgres_command(
            b"/usr/lib/postgresql/15/bin/postgres\0-D\0/x\0"
        ));
        assert!(!is_postgres_command(b"/bin/bash\0-c\0postgres\0"));
    }
}
