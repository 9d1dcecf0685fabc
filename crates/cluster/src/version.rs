//! The version guard: a home's data directory is opened only by server binaries of the
//! major version that created it, as its `PG_VERSION` file records.
//!
//! Starting it with another major version cannot work: the data files are incompatible, and
//! even before the server reads them the `postgresql.conf` of a newer `initdb` names settings an
//! older server rejects (18 writes `autovacuum_worker_slots`, which 15 refuses to start with).
//! Refusing up front turns either failure into one error that says what to do.

use std::fs;
use std::path::Path;

use crate::binaries::Binaries;
use crate::error::{Error, Result};

/// The major version recorded in the data directory's `PG_VERSION` file.
fn data_major(home: &Path, data_dir: &Path) -> Result<u32> {
    let path = data_dir.join("PG_VERSION");
    let text = fs::read_to_string(&path).map_err(|e| Error::Damaged {
        home: home.to_owned(),
        why: format!("its version file {} cannot be read ({e})", path.display()),
    })?;
    text.trim().parse().map_err(|_| Error::Damaged {
        home: home.to_owned(),
        why: format!(
            "its version file {} says {:?}, which is not a major version",
            path.display(),
            text.trim()
        ),
    })
}

/// Refuses `binaries` for the data directory of `home` unless they are of its major version.
pub(crate) fn check(home: &Path, data_dir: &Path, binaries: &Binaries) -> Result<()> {
    let data_major = data_major(home, data_dir)?;
    if data_major == binaries.major {
        return Ok(());
    }
    Err(Error::VersionMismatch {
        home: home.to_owned(),
        data_major,
        binaries_major: binaries.major,
        binaries_dir: binaries.dir.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binaries(major: u32) -> Binaries {
        Binaries {
            dir: format!("/usr/lib/postgresql/{major}/bin").into(),
            version: format!("{major}.1"),
            major,
        }
    }

    #[test]
    fn another_major_is_refused_naming_both_versions_and_the_remedies() {
        let data = tempfile::tempdir().unwrap();
        fs::write(data.path().join("PG_VERSION"), "18\n").unwrap();
        assert!(check(Path::new("/h"), data.path(), &binaries(18)).is_ok());
        let err = check(Path::new("/h"), data.path(), &binaries(15)).unwrap_err();
        assert!(matches!(
            err,
            Error::VersionMismatch {
                data_major: 18,
                binaries_major: 15,
                ..
            }
        ));
        let text = err.to_string();
        assert!(text.contains("created by PostgreSQL 18"), "{text}");
        assert!(text.contains("are PostgreSQL 15"), "{text}");
        assert!(text.contains("PG_BINDIR"), "{text}");
        assert!(text.contains("crmdb down --purge"), "{text}");
    }

    #[test]
    fn a_missing_or_garbled_version_file_is_damage() {
        let data = tempfile::tempdir().unwrap();
        let err = check(Path::new("/h"), data.path(), &binaries(15)).unwrap_err();
        assert!(matches!(err, Error::Damaged { .. }), "{err}");
        fs::write(data.path().join("PG_VERSION"), "fifteen").unwrap();
        let err = check(Path::new("/h"), data.path(), &binaries(15)).unwrap_err();
        assert!(err.to_string().contains("\"fifteen\""), "{err}");
    }
}
