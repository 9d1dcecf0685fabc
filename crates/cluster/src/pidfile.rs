//! Reading `postmaster.pid` to tell a live server from the stale file a crash leaves behind.

use std::fs;
use std::path::Path;

use crate::binaries::is_postgres_command;

/// The port of the live postmaster of `data_dir`, or `None` when no server runs there.
///
/// The pid in the file is checked against `/proc`: after a reboot or `kill -9` the pid may
/// belong to an unrelated process, which must not be taken for the server.
pub fn live_port(data_dir: &Path) -> Option<u16> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid: u32 = lines.next()?.trim().parse().ok()?;
    let port: u16 = lines.nth(2)?.trim().parse().ok()?;
    is_postmaster_of(pid, data_dir).then_some(port)
}

/// Deletes the lock files of a server that is no longer running, so a start after a crash
/// does not trip over them.
pub fn remove_stale(data_dir: &Path, socket_dir: &Path) {
    if live_port(data_dir).is_some() {
        return;
    }
    let _ = fs::remove_file(data_dir.join("postmaster.pid"));
    if let Ok(entries) = fs::read_dir(socket_dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".s.PGSQL.") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn is_postmaster_of(pid: u32, data_dir: &Path) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    if !is_postgres_command(&cmdline) {
        return false;
    }
    let want = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    match fs::read_link(proc_dir.join("cwd")) {
        Ok(cwd) => cwd == want,
        // Without the right to read the cwd, the command line names the data directory.
        Err(_) => cmdline
            .split(|b| *b == 0)
            .any(|arg| Path::new(&*String::from_utf8_lossy(arg)) == want),
    }
}
