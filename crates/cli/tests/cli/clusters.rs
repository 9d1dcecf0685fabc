//! The embedded cluster's hygiene: the server's environment, its socket directory, and the
//! clusters of the shared directory (`crmdb clusters [prune]`).

use std::os::unix::fs::MetadataExt;

use crate::support::{psql, run, stdout, success, Home};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn the_server_gets_none_of_crmdbs_environment_and_a_private_socket_dir() {
    let home = Home::new();
    let output = success(run(home
        .crmdb(&["up", "--no-demo"])
        .env("CRMDB_ENCRYPTION_KEY", KEY)
        .env("CRMDB_TEST_TOKEN", "tok-7f3a9c")));
    let environ = std::fs::read(format!("/proc/{}/environ", home.postmaster_pid())).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !environ.contains(KEY),
        "the key reached the server: {environ}"
    );
    assert!(
        !environ.contains("tok-7f3a9c"),
        "a token reached the server: {environ}"
    );
    assert!(!environ.contains("CRMDB_"), "{environ}");

    let url = crate::support::database_url_line(&output);
    let socket_dir = psql(&url, "SHOW unix_socket_directories").unwrap();
    let meta = std::fs::symlink_metadata(&socket_dir).unwrap();
    assert!(meta.is_dir(), "{socket_dir}");
    assert_eq!(meta.mode() & 0o777, 0o700, "{socket_dir}");
    let data = std::fs::metadata(home.path().join("cluster/data")).unwrap();
    assert_eq!(
        meta.uid(),
        data.uid(),
        "owned by the server's account: {socket_dir}"
    );
}

fn clusters(args: &[&str]) -> serde_json::Value {
    let mut cmd = crate::support::crmdb();
    cmd.arg("--json").arg("clusters").args(args);
    serde_json::from_str(&stdout(&success(run(&mut cmd)))).unwrap()
}

#[test]
fn clusters_names_each_home_and_prune_removes_only_the_orphans() {
    if !nix::unistd::Uid::effective().is_root() {
        // Only root keeps clusters in the shared directory; a user's live in their homes.
        let text = stdout(&success(run(crate::support::crmdb().arg("clusters"))));
        assert!(
            text.contains("no clusters in the shared directory"),
            "{text}"
        );
        return;
    }
    let kept = Home::new();
    let dropped = Home::new();
    success(run(&mut kept.crmdb(&["up", "--no-demo"])));
    success(run(&mut dropped.crmdb(&["up", "--no-demo"])));
    let dir_of = |home: &Home| std::fs::read_link(home.path().join("cluster")).unwrap();
    let (kept_dir, dropped_dir) = (dir_of(&kept), dir_of(&dropped));
    let entry = |listing: &serde_json::Value, dir: &std::path::Path| {
        listing
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["dir"] == dir.display().to_string())
            .cloned()
    };

    let listing = clusters(&[]);
    let before = entry(&listing, &dropped_dir).expect("the cluster is listed");
    assert_eq!(
        before["home"],
        std::fs::canonicalize(dropped.path())
            .unwrap()
            .display()
            .to_string()
    );
    assert_eq!(before["home_exists"], true);
    assert_eq!(before["running"], true);

    // The home deleted by hand, its server still running: an orphan nothing else finds.
    std::fs::remove_dir_all(dropped.path()).unwrap();
    let orphan = entry(&clusters(&[]), &dropped_dir).unwrap();
    assert_eq!(orphan["home_exists"], false);

    let removed = clusters(&["prune"]);
    assert!(entry(&removed, &dropped_dir).is_some(), "{removed}");
    assert!(entry(&removed, &kept_dir).is_none(), "{removed}");
    assert!(!dropped_dir.exists());
    assert!(kept_dir.join("data").exists());
    assert!(entry(&clusters(&[]), &kept_dir).is_some());
}
