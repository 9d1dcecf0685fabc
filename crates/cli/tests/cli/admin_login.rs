//! Every command as the admin login of a managed PostgreSQL service (RDS's master user,
//! Cloud SQL's `postgres`, Supabase, Neon): `LOGIN CREATEDB CREATEROLE`, neither superuser
//! nor BYPASSRLS, on a bare cluster of the test's own whose superuser only creates that
//! login. The admin login creates its databases itself.

use crmdb_cluster::{Cluster, Tuning, Watchdog};

use crate::support::{crmdb, database_url_line, psql, run, stderr, stdout, success};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The admin login the test creates, and its password.
const ADMIN: &str = "crm_admin";
const PASSWORD: &str = "managed-service-master-password";

/// A fresh cluster with nothing in it but its superuser; stopped and deleted on drop.
struct BareCluster {
    cluster: Cluster,
    watchdog: Option<Watchdog>,
    superuser_url: String,
    port: u16,
    _dir: tempfile::TempDir,
}

impl BareCluster {
    fn start() -> BareCluster {
        let dir = tempfile::Builder::new()
            .prefix("crmdb-admin-")
            .tempdir()
            .expect("a temporary directory");
        let cluster = Cluster::new(dir.path().join("home"));
        let (endpoint, watchdog) = cluster
            .start_watched(Tuning::Disposable)
            .expect("starting a bare cluster");
        BareCluster {
            cluster,
            watchdog: Some(watchdog),
            superuser_url: endpoint.url("postgres"),
            port: endpoint.port,
            _dir: dir,
        }
    }

    /// `database` as the admin login.
    fn admin_url(&self, database: &str) -> String {
        format!(
            "postgres://{ADMIN}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        )
    }
}

impl Drop for BareCluster {
    fn drop(&mut self) {
        drop(self.watchdog.take());
        let _ = self.cluster.purge();
    }
}

/// `crmdb --database-url URL ARGS…` with a fixed encryption key.
fn against(url: &str, args: &[&str]) -> String {
    let mut cmd = crmdb();
    cmd.arg("--database-url")
        .arg(url)
        .env("CRMDB_ENCRYPTION_KEY", KEY)
        .args(args);
    stdout(&success(run(&mut cmd)))
}

#[test]
fn every_command_works_as_a_managed_services_admin_login() {
    let server = BareCluster::start();
    psql(
        &server.superuser_url,
        &format!("CREATE ROLE {ADMIN} LOGIN CREATEDB CREATEROLE PASSWORD '{PASSWORD}'"),
    )
    .unwrap();
    let url = server.admin_url("crm");
    let attributes = psql(
        &server.admin_url("postgres"),
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .unwrap();
    assert_eq!(attributes, "f", "the admin login sees past nothing");

    let latest = crmdb_schema::migrations()
        .unwrap()
        .latest_version()
        .unwrap();
    let applied = against(&url, &["migrate", "apply"]);
    assert!(
        applied.contains(&format!("database at version {latest}")),
        "{applied}"
    );
    let owner = psql(
        &url,
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
    )
    .unwrap();
    assert_eq!(owner, ADMIN, "the admin login created the database");
    let status = against(&url, &["migrate", "status", "--exit-code"]);
    assert!(status.contains(&format!("{latest} applied")), "{status}");
    let verified = against(&url, &["migrate", "verify", "--drift"]);
    assert!(verified.contains("no drift"), "{verified}");
    let audit = against(&url, &["audit"]);
    assert!(audit.contains("0 violations"), "{audit}");
    let seeded = against(&url, &["seed"]);
    assert!(seeded.contains("5 plans"), "{seeded}");

    let demo = against(
        &url,
        &["seed", "demo", "--orgs", "2", "--leads-per-org", "30"],
    );
    assert!(demo.contains("2 organization(s) loaded"), "{demo}");
    let counts = psql(
        &server.superuser_url.replace("/postgres", "/crm"),
        "SELECT (SELECT count(*) FROM leads) || ' ' || ((SELECT count(*) FROM communications) > 0) \
           || ' ' || (SELECT count(*) FROM pg_class WHERE relforcerowsecurity)",
    );
    assert_eq!(
        counts.unwrap(),
        "60 true 32",
        "every lead loaded, row-level security still forced on the 32 tenant tables"
    );

    let report: serde_json::Value =
        serde_json::from_str(&against(&url, &["--json", "bench", "--duration", "1"])).unwrap();
    assert_bench(&report, 2);
    let fresh: serde_json::Value = serde_json::from_str(&against(
        &url,
        &[
            "--json",
            "bench",
            "--orgs",
            "2",
            "--leads-per-org",
            "20",
            "--duration",
            "1",
        ],
    ))
    .unwrap();
    assert_eq!(fresh["database"], "crm_bench");
    assert_bench(&fresh, 2);

    let reverted = against(&url, &["migrate", "revert", "--steps", "1"]);
    assert!(
        reverted.contains(&format!("database at version {}", latest - 1)),
        "{reverted}"
    );
    let reapplied = against(&url, &["migrate", "apply"]);
    assert!(
        reapplied.contains(&format!("database at version {latest}")),
        "{reapplied}"
    );

    let up_url = server.admin_url("crm_up");
    let mut up = crmdb();
    up.arg("--database-url")
        .arg(&up_url)
        .env("CRMDB_ENCRYPTION_KEY", KEY)
        .arg("up");
    let first = success(run(&mut up));
    let text = stdout(&first);
    assert!(text.contains("database:   created"), "{text}");
    assert!(text.contains("demo loaded: 3 organizations"), "{text}");
    assert_eq!(database_url_line(&first), up_url);
    let again = run(&mut up);
    assert!(
        stdout(&again).contains("nothing changed"),
        "{}{}",
        stdout(&again),
        stderr(&again)
    );
}

/// A benchmark report of `organizations` organizations, every hot query measured, as a
/// login that row-level security applies to.
#[track_caller]
fn assert_bench(report: &serde_json::Value, organizations: i64) {
    assert_eq!(report["organizations"], organizations, "{report}");
    assert!(report["communications"].as_i64().unwrap() > 0, "{report}");
    assert_eq!(report["sees_past_rls"], false);
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(
        queries.len(),
        crmdb_store::hot::HOT_QUERIES.len(),
        "{report}"
    );
    for query in queries {
        for field in ["p50_ms", "p99_ms", "qps", "raw_p99_ms"] {
            assert!(query[field].as_f64().unwrap() > 0.0, "{field} of {query}");
        }
        assert!(query["uses_index"].is_boolean(), "{query}");
        assert!(query["owner_p99_ms"].is_null(), "{query}");
    }
}
