//! The job queue: enqueue, claim, complete, retry with backoff, and concurrent workers, all
//! as the worker login (neither superuser nor BYPASSRLS), which alone may claim.

use std::collections::HashSet;

use chrono::Utc;
use crmdb_store::models::{BackgroundJob, JobStatus};
use crmdb_store::ops::jobs::{retry_delay, NewJob};
use crmdb_store::{hot, sql};
use serde_json::json;

use super::{assert_invalid, assert_not_found, fixture};

/// The fixture's database through a pool whose sessions are `crm_app` itself (`SET SESSION
/// AUTHORIZATION`, so not even `SET ROLE` back to the superuser login is possible): what a
/// production login without BYPASSRLS sees, with row-level security in force.
#[tokio::test]
async fn a_job_is_claimed_once_and_completed_by_its_worker() {
    let f = fixture().await;
    let jobs = f.tenant_a().jobs();
    let low = jobs
        .enqueue(&NewJob {
            priority: Some(500),
            ..NewJob::of_type("email.send", json!({"to": "a"}))
        })
        .await
        .unwrap();
    let high = jobs
        .enqueue(&NewJob {
            priority: Some(10),
            ..NewJob::of_type("email.send", json!({"to": "b"}))
        })
        .await
        .unwrap();
    let later = jobs
        .enqueue(&NewJob {
            run_at: Some(Utc::now() + chrono::Duration::hours(1)),
            ..NewJob::of_type("report.build", json!({}))
        })
        .await
        .unwrap();
    assert_eq!(high.status, JobStatus::Queued);

    let worker = f.worker_db.worker("w1");
    let claimed = worker.claim("default").await.unwrap().unwrap();
    assert_eq!(claimed.id, high.id, "lowest priority number first");
    assert_eq!((claimed.status, claimed.attempts), (JobStatus::Running, 1));
    assert_eq!(claimed.locked_by.as_deref(), Some("w1"));
    assert_eq!(worker.claim("default").await.unwrap().unwrap().id, low.id);
    assert!(
        worker.claim("default").await.unwrap().is_none(),
        "the later job is not due"
    );
    assert!(worker.claim("other").await.unwrap().is_none());

    assert_not_found(
        f.worker_db.worker("w2").complete(&claimed).await,
        "running job held by this worker",
    );
    let done = worker.complete(&claimed).await.unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert!(done.finished_at.is_some() && done.locked_by.is_none());
    assert_not_found(
        worker.complete(&claimed).await,
        "running job held by this worker",
    );

    let cancelled = jobs.cancel(later.id).await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    assert_not_found(jobs.cancel(later.id).await, "queued job");
    assert_eq!(jobs.list(JobStatus::Succeeded, 10).await.unwrap().len(), 1);
    assert_eq!(jobs.get(low.id).await.unwrap().status, JobStatus::Running);

    assert_invalid(
        jobs.enqueue(&NewJob::of_type("Bad Type", json!({}))).await,
        "job_type",
    );
    assert_invalid(
        jobs.enqueue(&NewJob::of_type("a.b", json!([]))).await,
        "payload",
    );
    assert_invalid(
        jobs.enqueue(&NewJob {
            priority: Some(1001),
            ..NewJob::of_type("a.b", json!({}))
        })
        .await,
        "priority",
    );
    assert_invalid(
        jobs.enqueue(&NewJob {
            queue: Some("Bad.Queue".into()),
            ..NewJob::of_type("a.b", json!({}))
        })
        .await,
        "queue",
    );
}

#[tokio::test]
async fn a_failed_job_backs_off_and_fails_for_good_after_max_attempts() {
    let f = fixture().await;
    let jobs = f.tenant_a().jobs();
    let job = jobs
        .enqueue(&NewJob {
            max_attempts: Some(2),
            ..NewJob::of_type("sync.calendar", json!({}))
        })
        .await
        .unwrap();
    let worker = f.worker_db.worker("w1");
    let claimed = worker.claim("default").await.unwrap().unwrap();
    let before = Utc::now();
    let retried = worker.fail(&claimed, "timeout").await.unwrap();
    assert_eq!(retried.status, JobStatus::Queued);
    assert_eq!(retried.last_error.as_deref(), Some("timeout"));
    assert!(retried.locked_by.is_none());
    let wait = retried.run_at - before;
    let expected = chrono::Duration::from_std(retry_delay(1)).unwrap();
    assert!(
        wait >= expected - chrono::Duration::seconds(1)
            && wait <= expected + chrono::Duration::seconds(5),
        "{wait}"
    );
    assert!(
        worker.claim("default").await.unwrap().is_none(),
        "not due during the backoff"
    );

    let mut conn = f.test_db.connect().await;
    sqlx::query("UPDATE background_jobs SET run_at = now() WHERE id = $1")
        .bind(job.id)
        .execute(&mut conn)
        .await
        .unwrap();
    let second = worker.claim("default").await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    let failed = worker.fail(&second, "timeout again").await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert!(failed.finished_at.is_some());
    assert!(worker.claim("default").await.unwrap().is_none());
    assert_not_found(
        worker.fail(&second, "x").await,
        "running job held by this worker",
    );
}

#[tokio::test]
async fn a_worker_without_bypassrls_claims_jobs_of_every_organization() {
    let f = fixture().await;
    let a = f
        .tenant_a()
        .jobs()
        .enqueue(&NewJob {
            priority: Some(10),
            ..NewJob::of_type("email.send", json!({"org": "a"}))
        })
        .await
        .unwrap();
    let b = f
        .tenant_b()
        .jobs()
        .enqueue(&NewJob {
            priority: Some(20),
            ..NewJob::of_type("email.send", json!({"org": "b"}))
        })
        .await
        .unwrap();
    let db = &f.worker_db;

    let mut tx = db.begin_maintenance().await.unwrap();
    let (user, bypass): (String, bool) = sql::query_as(
        "SELECT current_user::text, rolsuper OR rolbypassrls FROM pg_roles \
         WHERE rolname = session_user",
    )
    .fetch_one(&mut tx)
    .await
    .unwrap();
    assert_eq!((user.as_str(), bypass), ("crmdb_test_worker", false));
    // The claim statement itself, outside the function, sees no job at all.
    sql::query("SELECT set_config('role', 'crm_worker', true)")
        .execute(&mut tx)
        .await
        .unwrap();
    let raw: Option<BackgroundJob> = sql::query_as(hot::NEXT_JOB)
        .bind("default")
        .bind("raw")
        .fetch_optional(&mut tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(raw.is_none(), "row-level security hides the queue");

    let worker = db.worker("w1");
    let first = worker.claim("default").await.unwrap().unwrap();
    let second = worker.claim("default").await.unwrap().unwrap();
    assert!(worker.claim("default").await.unwrap().is_none());
    assert_eq!(
        (
            first.id,
            first.organization_id,
            second.id,
            second.organization_id
        ),
        (a.id, f.a.id(), b.id, f.b.id()),
        "lowest priority number first, across organizations"
    );
    assert_eq!((first.status, first.attempts), (JobStatus::Running, 1));
    assert_eq!(second.locked_by.as_deref(), Some("w1"));

    assert_eq!(
        worker.complete(&first).await.unwrap().status,
        JobStatus::Succeeded
    );
    let retried = worker.fail(&second, "timeout").await.unwrap();
    assert_eq!(
        (retried.status, retried.last_error.as_deref()),
        (JobStatus::Queued, Some("timeout"))
    );
    assert_not_found(
        worker.complete(&first).await,
        "running job held by this worker",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_claiming_concurrently_never_get_the_same_job() {
    let f = fixture().await;
    // Both workers log in without BYPASSRLS, as in production.
    let db = &f.worker_db;
    for tenant in [f.tenant_a(), f.tenant_b()] {
        for i in 0..40 {
            tenant
                .jobs()
                .enqueue(&NewJob::of_type("email.send", json!({"n": i})))
                .await
                .unwrap();
        }
    }
    let run = |name: &'static str| {
        let worker = db.worker(name);
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            while let Some(job) = worker.claim("default").await.unwrap() {
                claimed.push(job.id);
                worker.complete(&job).await.unwrap();
            }
            claimed
        })
    };
    let (one, two) = tokio::join!(run("w1"), run("w2"));
    let (one, two) = (one.unwrap(), two.unwrap());
    let a: HashSet<_> = one.iter().collect();
    let b: HashSet<_> = two.iter().collect();
    assert_eq!(a.len(), one.len());
    assert_eq!(b.len(), two.len());
    assert!(a.is_disjoint(&b), "a job was claimed by both workers");
    assert_eq!(a.len() + b.len(), 80, "every job was claimed");
}

#[tokio::test]
async fn the_application_login_cannot_claim_jobs() {
    let f = fixture().await;
    let job = f
        .tenant_b()
        .jobs()
        .enqueue(&NewJob::of_type("email.send", json!({"secret": "of b"})))
        .await
        .unwrap();
    // The application login cannot enter the worker role...
    let error = f.db.worker("intruder").claim("default").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied to set role \"crm_worker\""),
        "{error}"
    );
    // ...and as the application role the claim function is not executable.
    let mut tx = f.tenant_a().begin().await.unwrap();
    let error = sql::query("SELECT * FROM claim_background_job('default', 'intruder')")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("permission denied for function claim_background_job"),
        "{error}"
    );
    drop(tx);
    let still = f.tenant_b().jobs().get(job.id).await.unwrap();
    assert_eq!(still, job, "B's job is untouched");
}
