//! `crmdb bench` end to end on a small demo database.

use crate::support::{crmdb, run, stdout, success};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[tokio::test]
async fn bench_reports_every_hot_query_in_json() {
    let db = crmdb_testkit::migrated_db().await;
    let against = |args: &[&str]| {
        let mut cmd = crmdb();
        cmd.arg("--database-url")
            .arg(db.superuser_url())
            .env("CRMDB_ENCRYPTION_KEY", KEY)
            .args(args);
        cmd
    };
    success(run(&mut against(&[
        "seed",
        "demo",
        "--orgs",
        "3",
        "--leads-per-org",
        "30",
    ])));
    let json = stdout(&success(run(&mut against(&[
        "--json",
        "bench",
        "--duration",
        "1",
    ]))));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<_> = report["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "kanban_column",
            "my_leads",
            "lead_timeline",
            "kanban_summary",
            "lead_search",
            "template_performance",
            "ai_session",
            "analytics_events",
            "next_job",
            "session_lookup",
            "unread_notifications",
            "next_webhook_delivery"
        ]
    );
    for query in report["queries"].as_array().unwrap() {
        for field in ["p50_ms", "p95_ms", "p99_ms", "qps", "raw_p99_ms"] {
            assert!(query[field].as_f64().unwrap() > 0.0, "{field} of {query}");
        }
        assert!(query["uses_index"].is_boolean());
    }
    assert_eq!(report["organizations"], 3);
    let left: i64 = {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.superuser_url())
            .await
            .unwrap();
        sqlx::query_scalar("SELECT count(*) FROM background_jobs WHERE queue = 'bench'")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(left, 0, "the benchmark removes its jobs");
    let (subscriptions, sessions): (i64, i64) = {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.superuser_url())
            .await
            .unwrap();
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM webhook_subscriptions WHERE url LIKE '%.invalid/%'), \
                    (SELECT count(*) FROM user_sessions WHERE user_agent LIKE 'crmdb-bench%')",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap()
    };
    assert_eq!(
        (subscriptions, sessions),
        (0, 0),
        "the benchmark removes its webhook subscriptions (with their deliveries) and sessions"
    );
}

#[test]
fn bench_arguments_beyond_their_ceilings_are_refused_before_any_work() {
    for args in [
        ["--duration", "3600"],
        ["--concurrency", "65"],
        ["--orgs", "100001"],
    ] {
        let output = run(crmdb()
            .args([
                "--database-url",
                "postgres://nobody@127.0.0.1:1/none",
                "bench",
            ])
            .args(args)
            .args(["--leads-per-org", "10"]));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let err = crate::support::stderr(&output);
        assert!(
            err.contains(args[0]) && err.contains("not in"),
            "{args:?}: {err}"
        );
    }
}
