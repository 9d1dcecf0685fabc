//! The clusters kept under the shared directory when crmdb runs as root: whose home each
//! belongs to, and removing those whose home is gone (deleted without `crmdb down
//! --purge`), which nothing else would ever find.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::{
    pidfile, remove_dir_all_if_exists, Account, Binaries, HOME_RECORD, ROOT_CLUSTERS,
    SOCKET_DIR_RECORD,
};

/// One cluster directory under the shared directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SharedCluster {
    pub dir: PathBuf,
    /// The home it was made for; `None` when it does not say (made by an older crmdb, or
    /// emptied by a test harness).
    pub home: Option<PathBuf>,
    /// True when that home still exists and its `cluster` link points here.
    pub home_exists: bool,
    /// True when a server runs on its data.
    pub running: bool,
    /// True when it holds a data directory.
    pub has_data: bool,
    /// Bytes on disk.
    pub bytes: u64,
}

impl SharedCluster {
    /// Nothing uses it: its home is gone or points elsewhere, or it says no home and holds
    /// no data. A cluster with data that names no home (made before homes were recorded)
    /// is never taken for an orphan: only its owner can tell.
    pub fn is_orphan(&self) -> bool {
        match self.home {
            Some(_) => !self.home_exists,
            None => !self.has_data,
        }
    }
}

/// The clusters under the shared directory, sorted by directory; empty when there is none.
pub fn shared_clusters() -> Result<Vec<SharedCluster>> {
    clusters_in(Path::new(ROOT_CLUSTERS))
}

/// Removes every orphaned cluster under the shared directory (stopping its server first if
/// one still runs) and returns what it removed.
pub fn prune_shared_clusters() -> Result<Vec<SharedCluster>> {
    prune_in(Path::new(ROOT_CLUSTERS))
}

fn clusters_in(parent: &Path) -> Result<Vec<SharedCluster>> {
    let entries = match fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("listing {}", parent.display()))(e)),
    };
    let mut clusters = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io(format!("listing {}", parent.display())))?;
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let home = fs::read_to_string(dir.join(HOME_RECORD))
            .ok()
            .map(|text| PathBuf::from(text.trim()));
        let home_exists = home
            .as_ref()
            .is_some_and(|home| fs::read_link(home.join("cluster")).ok().as_deref() == Some(&dir));
        clusters.push(SharedCluster {
            running: pidfile::live_port(&dir.join("data")).is_some(),
            has_data: dir.join("data").is_dir(),
            bytes: size_of(&dir),
            dir,
            home,
            home_exists,
        });
    }
    clusters.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(clusters)
}

fn prune_in(parent: &Path) -> Result<Vec<SharedCluster>> {
    let mut removed = Vec::new();
    for cluster in clusters_in(parent)? {
        if !cluster.is_orphan() {
            continue;
        }
        if cluster.running {
            stop(&cluster.dir)?;
        }
        if let Ok(text) = fs::read_to_string(cluster.dir.join(SOCKET_DIR_RECORD)) {
            let socket_dir = PathBuf::from(text.trim());
            if socket_dir.starts_with(std::env::temp_dir()) {
                remove_dir_all_if_exists(&socket_dir)?;
            }
        }
        remove_dir_all_if_exists(&cluster.dir)?;
        removed.push(cluster);
    }
    Ok(removed)
}

fn stop(dir: &Path) -> Result<()> {
    let binaries = Binaries::find()?;
    let output = Account::for_current_user()?
        .command(&binaries.program("pg_ctl"), Path::new("/"))
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-m", "fast", "-w", "-t", "60", "stop"])
        .output()
        .map_err(Error::io("running pg_ctl stop"))?;
    crate::check(
        output,
        "pg_ctl",
        "stopping an orphaned cluster",
        &dir.join("server.log"),
    )
}

/// Bytes of the files below `dir`, links not followed; unreadable parts count as zero.
fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => size_of(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clusters_whose_home_is_gone_or_elsewhere_are_pruned() {
        let base = tempfile::tempdir().unwrap();
        let parent = base.path().join("clusters");
        let live_home = base.path().join("live");
        let gone_home = base.path().join("gone");
        let moved_home = base.path().join("moved");
        for (name, home) in [("a", &live_home), ("b", &gone_home), ("c", &moved_home)] {
            let dir = parent.join(name);
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(HOME_RECORD), home.display().to_string()).unwrap();
            fs::write(dir.join("data.bin"), [0u8; 10]).unwrap();
        }
        fs::create_dir_all(&live_home).unwrap();
        std::os::unix::fs::symlink(parent.join("a"), live_home.join("cluster")).unwrap();
        fs::create_dir_all(&moved_home).unwrap();
        std::os::unix::fs::symlink(parent.join("elsewhere"), moved_home.join("cluster")).unwrap();
        fs::create_dir_all(parent.join("d")).unwrap();
        fs::create_dir_all(parent.join("e/data")).unwrap();

        let listed = clusters_in(&parent).unwrap();
        let orphans: Vec<_> = listed
            .iter()
            .map(|c| (c.dir.file_name().unwrap().to_str().unwrap(), c.is_orphan()))
            .collect();
        assert_eq!(
            orphans,
            [
                ("a", false),
                ("b", true),
                ("c", true),
                ("d", true),
                ("e", false)
            ]
        );
        assert_eq!(
            listed[0].bytes,
            10 + live_home.display().to_string().len() as u64
        );
        assert!(listed.iter().all(|c| !c.running));

        let removed = prune_in(&parent).unwrap();
        assert_eq!(removed.len(), 3);
        let left: Vec<_> = clusters_in(&parent)
            .unwrap()
            .into_iter()
            .map(|c| c.dir)
            .collect();
        assert_eq!(left, [parent.join("a"), parent.join("e")]);
    }
}
