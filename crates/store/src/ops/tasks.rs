//! Tasks: the to-dos of members, usually about a lead.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::models::{Task, TaskPriority, TaskType};
use crate::ops::common::page_size;
use crate::sql::query_as;
use crate::validate;

/// A task to create.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: String,
    pub description: Option<String>,
    pub lead_id: Option<Uuid>,
    pub assigned_user_id: Option<Uuid>,
    pub task_type: TaskType,
    pub priority: TaskPriority,
    pub due_at: Option<DateTime<Utc>>,
}

impl NewTask {
    /// A normal-priority follow-up with only a title.
    pub fn titled(title: impl Into<String>) -> NewTask {
        NewTask {
            title: title.into(),
            description: None,
            lead_id: None,
            assigned_user_id: None,
            task_type: TaskType::FollowUp,
            priority: TaskPriority::Normal,
            due_at: None,
        }
    }
}

/// Changes to a task: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub assigned_user_id: Option<Option<Uuid>>,
    pub task_type: Option<TaskType>,
    pub priority: Option<TaskPriority>,
    pub due_at: Option<Option<DateTime<Utc>>>,
}

/// The tasks of one organization.
#[derive(Debug, Clone)]
pub struct Tasks {
    tenant: Tenant,
}

impl Tenant {
    /// Tasks.
    pub fn tasks(&self) -> Tasks {
        Tasks {
            tenant: self.clone(),
        }
    }
}

fn references(error: Error) -> Error {
    error
        .missing_parent("fk_tasks_leads", entity::LEAD)
        .missing_parent("fk_tasks_organization_members", entity::MEMBER)
}

impl Tasks {
    /// Creates a task.
    #[tracing::instrument(name = "tasks.create", skip_all)]
    pub async fn create(&self, new: &NewTask) -> Result<Task> {
        let title = validate::required("title", &new.title)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "INSERT INTO tasks (organization_id, lead_id, assigned_user_id, title, \
                         description, type, priority, due_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
                )
                .bind(org)
                .bind(new.lead_id)
                .bind(new.assigned_user_id)
                .bind(&title)
                .bind(&new.description)
                .bind(new.task_type)
                .bind(new.priority)
                .bind(new.due_at)
                .fetch_one(Last(tx))
                .await
                .map_err(references)
            })
            .await
    }

    /// A task.
    #[tracing::instrument(name = "tasks.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<Task> {
        self.tenant
            .row_by_id(
                "SELECT * FROM tasks WHERE organization_id = $1 AND id = $2",
                id,
                entity::TASK,
            )
            .await
    }

    /// Applies `changes` to a task.
    #[tracing::instrument(name = "tasks.update", skip_all, fields(%id))]
    pub async fn update(&self, id: Uuid, changes: &TaskChanges) -> Result<Task> {
        let title =
            validate::optional(changes.title.as_deref(), |t| validate::required("title", t))?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE tasks SET \
                         title = coalesce($3, title), \
                         description = CASE WHEN $4 THEN $5 ELSE description END, \
                         assigned_user_id = CASE WHEN $6 THEN $7 ELSE assigned_user_id END, \
                         type = coalesce($8, type), \
                         priority = coalesce($9, priority), \
                         due_at = CASE WHEN $10 THEN $11 ELSE due_at END \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&title)
                .bind(changes.description.is_some())
                .bind(changes.description.clone().flatten())
                .bind(changes.assigned_user_id.is_some())
                .bind(changes.assigned_user_id.flatten())
                .bind(changes.task_type)
                .bind(changes.priority)
                .bind(changes.due_at.is_some())
                .bind(changes.due_at.flatten())
                .fetch_optional(&mut **tx)
                .await
                .map_err(references)?
                .ok_or(Error::not_found(entity::TASK))
            })
            .await
    }

    /// Marks a task done (`true`) or open again (`false`).
    #[tracing::instrument(name = "tasks.set_completed", skip_all, fields(%id))]
    pub async fn set_completed(&self, id: Uuid, completed: bool) -> Result<Task> {
        self.tenant
            .set_by_id(
                "UPDATE tasks SET completed_at = \
                     CASE WHEN $3 THEN coalesce(completed_at, now()) END \
                 WHERE organization_id = $1 AND id = $2 RETURNING *",
                id,
                completed,
                entity::TASK,
            )
            .await
    }

    /// Deletes a task.
    #[tracing::instrument(name = "tasks.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM tasks WHERE organization_id = $1 AND id = $2",
                id,
                entity::TASK,
            )
            .await
    }

    /// A member's open tasks, soonest due first (undated last).
    #[tracing::instrument(name = "tasks.open_for", skip_all, fields(%user_id))]
    pub async fn open_for(&self, user_id: Uuid, limit: i64) -> Result<Vec<Task>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        query_as(
            "SELECT * FROM tasks \
                     WHERE organization_id = $1 AND assigned_user_id = $2 AND completed_at IS NULL \
                     ORDER BY due_at NULLS LAST LIMIT $3",
        )
        .bind(org)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.tenant)
        .await
    }

    /// The tasks about a lead, soonest due first.
    #[tracing::instrument(name = "tasks.for_lead", skip_all, fields(%lead_id))]
    pub async fn for_lead(&self, lead_id: Uuid) -> Result<Vec<Task>> {
        let org = self.tenant.organization_id();
        query_as(
            "SELECT * FROM tasks WHERE organization_id = $1 AND lead_id = $2 \
                     ORDER BY due_at NULLS LAST, id",
        )
        .bind(org)
        .bind(lead_id)
        .fetch_all(&self.tenant)
        .await
    }
}
