//! The background job queue: organizations enqueue jobs; workers claim the next due job
//! of a queue across organizations with `FOR UPDATE SKIP LOCKED` (through the
//! `claim_background_job` function, as row-level security hides other organizations'
//! jobs), then complete it or fail it in the job's organization, which retries it with
//! exponential backoff until `max_attempts`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Db, Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::{BackgroundJob, JobStatus};
use crate::ops::common::page_size;
use crate::sql::{query_as, query_scalar};
use crate::validate;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Lower-case queue name; `default` when not given.
    pub queue: Option<String>,
    /// Dotted lower-case, e.g. `email.send`.
    pub job_type: String,
    pub payload: JsonValue,
    /// 0 (first) to 1000; 100 when not given.
    pub priority: Option<i32>,
    /// 5 when not given.
    pub max_attempts: Option<i32>,
    /// Now when not given.
    pub run_at: Option<DateTime<Utc>>,
}

impl NewJob {
    /// A job of `job_type` on the default queue, due now.
    pub fn of_type(job_type: impl Into<String>, payload: JsonValue) -> NewJob {
        NewJob {
            queue: None,
            job_type: job_type.into(),
            payload,
            priority: None,
            max_attempts: None,
            run_at: None,
        }
    }
}

/// The first retry waits this long; each further one twice as long as the one before.
pub const RETRY_BASE: Duration = Duration::from_secs(10);
/// No retry waits longer than this.
pub const RETRY_MAX: Duration = Duration::from_secs(3600);

/// How long to wait before running a job again after its `attempts`-th failure.
pub fn retry_delay(attempts: i32) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    RETRY_BASE.saturating_mul(1 << doublings).min(RETRY_MAX)
}

/// The jobs of one organization.
#[derive(Debug, Clone)]
pub struct Jobs {
    tenant: Tenant,
}

impl Tenant {
    /// Background jobs.
    pub fn jobs(&self) -> Jobs {
        Jobs {
            tenant: self.clone(),
        }
    }
}

impl Jobs {
    /// Enqueues a job.
    #[tracing::instrument(name = "jobs.enqueue", skip_all)]
    pub async fn enqueue(&self, new: &NewJob) -> Result<BackgroundJob> {
        let job_type = validate::dotted_name("job_type", &new.job_type)?;
        if let Some(queue) = &new.queue {
            if validate::dotted_name("queue", queue).is_err() || queue.contains('.') {
                return Err(Error::invalid(
                    "queue",
                    "must be a lower-case word (a-z, 0-9, _)",
                ));
            }
        }
        if !new.payload.is_object() {
            return Err(Error::invalid("payload", "must be a JSON object"));
        }
        if new.priority.is_some_and(|p| !(0..=1000).contains(&p)) {
            return Err(Error::invalid("priority", "must be between 0 and 1000"));
        }
        if new.max_attempts.is_some_and(|m| m < 1) {
            return Err(Error::invalid("max_attempts", "must be at least 1"));
        }
        let org = self.tenant.organization_id();
        query_as(
            "INSERT INTO background_jobs (organization_id, queue, job_type, payload, \
                         priority, max_attempts, run_at) \
                     VALUES ($1, coalesce($2, 'default'), $3, $4, coalesce($5, 100), \
                             coalesce($6, 5), coalesce($7, now())) \
                     RETURNING *",
        )
        .bind(org)
        .bind(&new.queue)
        .bind(&job_type)
        .bind(&new.payload)
        .bind(new.priority)
        .bind(new.max_attempts)
        .bind(new.run_at)
        .fetch_one(&self.tenant)
        .await
    }

    /// A job.
    #[tracing::instrument(name = "jobs.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<BackgroundJob> {
        self.tenant
            .row_by_id(
                "SELECT * FROM background_jobs WHERE organization_id = $1 AND id = $2",
                id,
                entity::JOB,
            )
            .await
    }

    /// The organization's jobs in `status`, newest first.
    #[tracing::instrument(name = "jobs.list", skip_all)]
    pub async fn list(&self, status: JobStatus, limit: i64) -> Result<Vec<BackgroundJob>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        query_as(
            "SELECT * FROM background_jobs WHERE organization_id = $1 AND status = $2 \
                     ORDER BY created_at DESC LIMIT $3",
        )
        .bind(org)
        .bind(status)
        .bind(limit)
        .fetch_all(&self.tenant)
        .await
    }

    /// Cancels a job that has not started.
    #[tracing::instrument(name = "jobs.cancel", skip_all, fields(%id))]
    pub async fn cancel(&self, id: Uuid) -> Result<BackgroundJob> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE background_jobs SET status = 'cancelled', finished_at = now() \
                     WHERE organization_id = $1 AND id = $2 AND status = 'queued' RETURNING *",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::QUEUED_JOB))
            })
            .await
    }

    /// Marks a job this worker holds as done.
    #[tracing::instrument(name = "jobs.complete", skip_all, fields(%id))]
    pub async fn complete(&self, id: Uuid, worker: &str) -> Result<BackgroundJob> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE background_jobs SET status = 'succeeded', finished_at = now(), \
                         locked_at = NULL, locked_by = NULL, last_error = NULL \
                     WHERE organization_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3 \
                     RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(worker)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::HELD_JOB))
            })
            .await
    }

    /// Records the failure of a job this worker holds: it runs again after
    /// [`retry_delay`], or, once it has used its `max_attempts`, fails for good.
    #[tracing::instrument(name = "jobs.fail", skip_all, fields(%id))]
    pub async fn fail(&self, id: Uuid, worker: &str, error: &str) -> Result<BackgroundJob> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let attempts: i32 = query_scalar(
                    "SELECT attempts FROM background_jobs \
                     WHERE organization_id = $1 AND id = $2 AND status = 'running' AND locked_by = $3 \
                     FOR UPDATE",
                )
                .bind(org)
                .bind(id)
                .bind(worker)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::HELD_JOB))?;
                query_as(
                    "UPDATE background_jobs SET \
                         status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                         finished_at = CASE WHEN attempts >= max_attempts THEN now() END, \
                         run_at = CASE WHEN attempts >= max_attempts THEN run_at \
                                       ELSE now() + make_interval(secs => $3) END, \
                         locked_at = NULL, locked_by = NULL, last_error = $4 \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(retry_delay(attempts).as_secs_f64())
                .bind(error)
                .fetch_one(Last(tx))
                .await
            })
            .await
    }
}

/// A worker that claims jobs of every organization.
///
/// Like every other operation it runs as the application role (`crm_app`), so the pool's
/// login needs no BYPASSRLS. Claiming reads the queue across organizations, which
/// row-level security would hide, so it goes through the narrow `SECURITY DEFINER`
/// function `claim_background_job` (owned by `crm_owner`), which only `crm_worker` may
/// call: the database must be connected as the worker login (`WORKER_DATABASE_URL`). The
/// claimed job carries its `organization_id`, and completing and failing it go through that
/// organization like every other operation, as `crm_worker` under row-level security.
#[derive(Debug, Clone)]
pub struct Worker {
    db: Db,
    name: String,
}

impl Db {
    /// A worker named `name` (recorded in `locked_by` of the jobs it holds).
    pub fn worker(&self, name: impl Into<String>) -> Worker {
        Worker {
            db: self.clone(),
            name: name.into(),
        }
    }
}

impl Worker {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Claims the next due job of `queue` (lowest priority number, then earliest), or
    /// `None` when there is none free. Concurrent workers never get the same job.
    #[tracing::instrument(name = "worker.claim", skip_all)]
    pub async fn claim(&self, queue: &str) -> Result<Option<BackgroundJob>> {
        let mut tx = self
            .db
            .begin_entered(crate::db::WORKER_ROLE, None, None)
            .await?;
        query_as(hot::CLAIM_JOB)
            .bind(queue)
            .bind(&self.name)
            .fetch_optional(Last(&mut tx))
            .await
    }

    /// Marks a claimed job as done.
    #[tracing::instrument(name = "worker.complete", skip_all, fields(job_id = %job.id))]
    pub async fn complete(&self, job: &BackgroundJob) -> Result<BackgroundJob> {
        self.db
            .worker_tenant(job.organization_id)
            .jobs()
            .complete(job.id, &self.name)
            .await
    }

    /// Records the failure of a claimed job (retried with backoff until `max_attempts`).
    #[tracing::instrument(name = "worker.fail", skip_all, fields(job_id = %job.id))]
    pub async fn fail(&self, job: &BackgroundJob, error: &str) -> Result<BackgroundJob> {
        self.db
            .worker_tenant(job.organization_id)
            .jobs()
            .fail(job.id, &self.name, error)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::from_secs(10));
        assert_eq!(retry_delay(2), Duration::from_secs(20));
        assert_eq!(retry_delay(4), Duration::from_secs(80));
        assert_eq!(retry_delay(30), RETRY_MAX);
        assert_eq!(retry_delay(0), RETRY_BASE);
    }
}
