//! In-app notifications of members: the inbox a member reads and marks read, and the
//! creation of notifications by the operations that cause them — a lead assigned
//! (`lead.assigned`), a mention in a note (`note.mention`), a task coming due (`task.due`).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Conn, Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::Notification;
use crate::ops::common::{next_cursor, page_size};
use crate::sql::{query, query_as, query_scalar};

/// A member was made the assignee of a lead; payload `{"lead_id"}`.
pub const LEAD_ASSIGNED: &str = "lead.assigned";
/// A note mentions a member; payload `{"lead_id", "note_id"}`.
pub const NOTE_MENTION: &str = "note.mention";
/// An open task assigned to a member comes due; payload `{"task_id", "due_at"}`.
pub const TASK_DUE: &str = "task.due";

/// The longest excerpt of a text (a note) a notification's body carries, in characters.
const EXCERPT_CHARS: usize = 200;

/// The key of the transaction-level advisory lock under which one organization's due tasks
/// are notified (the second key is the organization's hash), so two runs at once do not
/// both see a task as not yet notified.
const TASK_DUE_LOCK: i32 = 0x7461_736b; // "task"

/// Where an inbox page ended: pass it back for the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InboxCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of a member's inbox, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InboxPage {
    pub notifications: Vec<Notification>,
    /// `None` on the last page.
    pub next: Option<InboxCursor>,
}

/// The notifications of the members of one organization.
#[derive(Debug, Clone)]
pub struct Notifications {
    tenant: Tenant,
}

impl Tenant {
    /// Members' notifications.
    pub fn notifications(&self) -> Notifications {
        Notifications {
            tenant: self.clone(),
        }
    }
}

/// Notifies `user_id` in the transaction of the operation that causes it: the `INSERT` is
/// deferred, so it goes out with the operation's next statement or its `COMMIT` and costs
/// no round trip. Only an active member of the organization is notified, and never the
/// transaction's acting user of their own doing (assigning a lead to oneself).
pub(crate) fn notify(
    tx: &mut Conn,
    organization_id: Uuid,
    user_id: Uuid,
    kind: &'static str,
    title: String,
    body: Option<String>,
    payload: JsonValue,
) {
    tx.defer(
        query(
            "INSERT INTO notifications (organization_id, user_id, type, title, body, payload) \
             SELECT m.organization_id, m.user_id, $3, $4, $5, $6 \
             FROM organization_members AS m \
             WHERE m.organization_id = $1 AND m.user_id = $2 AND m.status = 'active' \
               AND m.user_id IS DISTINCT FROM \
                   nullif(current_setting('app.current_user_id', true), '')::uuid",
        )
        .bind(organization_id)
        .bind(user_id)
        .bind(kind)
        .bind(title)
        .bind(body)
        .bind(payload)
        .into_statement(),
    );
}

/// The start of `text`, at most [`EXCERPT_CHARS`] characters, for a notification's body.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The members a note's text mentions, each once, in order of first mention. A mention is
/// written `@[<user id>]` (what the editor inserts when a member is picked); anything else
/// after an `@` — an e-mail address, a malformed id — is text.
pub fn mentions(text: &str) -> Vec<Uuid> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("@[") {
        rest = &rest[start + 2..];
        if let Some((id, _)) = rest.split_once(']') {
            if let Ok(user_id) = Uuid::parse_str(id) {
                if id.len() == 36 && !found.contains(&user_id) {
                    found.push(user_id);
                }
            }
        }
    }
    found
}

impl Notifications {
    /// The member whose inbox this handle reads: its acting user. A member's notifications
    /// are theirs alone, so a handle acting for nobody reads no inbox.
    fn reader(&self) -> Result<Uuid> {
        self.tenant.acting_user().ok_or(Error::forbidden(
            "notifications are read as the acting user",
        ))
    }

    /// A page of the acting user's notifications, newest first, after `after` (the previous
    /// page's `next`), only the unread ones when `unread_only`; `limit` from 1 to
    /// [`crate::ops::MAX_PAGE`]. Forbidden without an acting user.
    #[tracing::instrument(name = "notifications.inbox", skip_all, fields(unread_only))]
    pub async fn inbox(
        &self,
        unread_only: bool,
        after: Option<InboxCursor>,
        limit: i64,
    ) -> Result<InboxPage> {
        let user_id = self.reader()?;
        let limit = page_size(limit)?;
        // Two statements, not one with `($3 OR read_at IS NULL)`: only a literal
        // `read_at IS NULL` lets the planner use the partial index of unread rows.
        let sql = if unread_only {
            "SELECT * FROM notifications \
             WHERE organization_id = $1 AND user_id = $2 AND read_at IS NULL \
               AND created_at <= coalesce($3, 'infinity'::timestamptz) \
               AND ($3 IS NULL OR created_at < $3 OR id < $4) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        } else {
            "SELECT * FROM notifications \
             WHERE organization_id = $1 AND user_id = $2 \
               AND created_at <= coalesce($3, 'infinity'::timestamptz) \
               AND ($3 IS NULL OR created_at < $3 OR id < $4) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        };
        let notifications: Vec<Notification> = query_as(sql)
            .bind(self.tenant.organization_id())
            .bind(user_id)
            .bind(after.map(|c| c.created_at))
            .bind(after.map(|c| c.id))
            .bind(limit)
            .fetch_all(&self.tenant)
            .await?;
        let next = next_cursor(&notifications, limit, |n| InboxCursor {
            created_at: n.created_at,
            id: n.id,
        });
        Ok(InboxPage {
            notifications,
            next,
        })
    }

    /// How many of the acting user's notifications are unread (the badge), from the partial
    /// index of unread rows ([`hot::UNREAD_NOTIFICATIONS`]). Forbidden without an acting user.
    #[tracing::instrument(name = "notifications.unread_count", skip_all)]
    pub async fn unread_count(&self) -> Result<i64> {
        let user_id = self.reader()?;
        query_scalar(hot::UNREAD_NOTIFICATIONS)
            .bind(self.tenant.organization_id())
            .bind(user_id)
            .fetch_one(&self.tenant)
            .await
    }

    /// Marks one of the acting user's notifications read (again: it keeps its first
    /// `read_at`). Another member's notification is "not found" like a missing one.
    /// Forbidden without an acting user.
    #[tracing::instrument(name = "notifications.mark_read", skip_all, fields(%id))]
    pub async fn mark_read(&self, id: Uuid) -> Result<Notification> {
        let user_id = self.reader()?;
        query_as(
            "UPDATE notifications SET read_at = coalesce(read_at, now()) \
             WHERE organization_id = $1 AND id = $2 AND user_id = $3 RETURNING *",
        )
        .bind(self.tenant.organization_id())
        .bind(id)
        .bind(user_id)
        .fetch_optional(&self.tenant)
        .await?
        .ok_or(Error::not_found(entity::NOTIFICATION))
    }

    /// Marks every unread notification of the acting user read; returns how many were
    /// unread. Forbidden without an acting user.
    #[tracing::instrument(name = "notifications.mark_all_read", skip_all)]
    pub async fn mark_all_read(&self) -> Result<u64> {
        let user_id = self.reader()?;
        Ok(query(
            "UPDATE notifications SET read_at = now() \
             WHERE organization_id = $1 AND user_id = $2 AND read_at IS NULL",
        )
        .bind(self.tenant.organization_id())
        .bind(user_id)
        .execute(&self.tenant)
        .await?
        .rows_affected())
    }

    /// Notifies the assignee of every open task due from `now` to `now + window` that was not
    /// notified for that assignee and due time yet (a rescheduled or reassigned task is
    /// notified again); returns how many notifications were created. As with every
    /// notification, only an active member is notified: a suspended assignee is skipped, and
    /// notified by a run after their reactivation while the task is still in its window.
    /// Idempotent, and safe to run from several workers at once: the runs of one
    /// organization take turns, and each sees what the one before it created.
    #[tracing::instrument(name = "notifications.notify_due_tasks", skip_all)]
    pub async fn notify_due_tasks(&self, now: DateTime<Utc>, window: Duration) -> Result<u64> {
        if window <= Duration::zero() {
            return Err(Error::invalid("window", "must be positive"));
        }
        let org = self.tenant.organization_id();
        let until = now + window;
        self.tenant
            .write(async |tx| {
                // Under READ COMMITTED the INSERT below takes its snapshot after the lock is
                // granted, so it sees the notifications of the run that held it.
                tx.defer(
                    query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
                        .bind(TASK_DUE_LOCK)
                        .bind(org)
                        .into_statement(),
                );
                let created = query(
                    "INSERT INTO notifications (organization_id, user_id, type, title, body, payload) \
                     SELECT t.organization_id, t.assigned_user_id, $4, 'Task due', t.title, \
                            jsonb_build_object('task_id', t.id, 'due_at', t.due_at) \
                     FROM tasks AS t \
                     JOIN organization_members AS m \
                       ON m.organization_id = t.organization_id \
                      AND m.user_id = t.assigned_user_id AND m.status = 'active' \
                     WHERE t.organization_id = $1 AND t.completed_at IS NULL \
                       AND t.due_at >= $2 AND t.due_at <= $3 \
                       AND NOT EXISTS ( \
                           SELECT 1 FROM notifications AS n \
                           WHERE n.organization_id = t.organization_id \
                             AND n.user_id = t.assigned_user_id AND n.type = $4 \
                             AND n.payload ->> 'task_id' = t.id::text \
                             AND (n.payload ->> 'due_at')::timestamptz = t.due_at)",
                )
                .bind(org)
                .bind(now)
                .bind(until)
                .bind(TASK_DUE)
                .execute(Last(tx))
                .await?;
                Ok(created.rows_affected())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_user_ids_in_brackets_each_once() {
        let ana = Uuid::now_v7();
        let bia = Uuid::now_v7();
        let text = format!("@[{ana}] e @[{bia}], vejam; de novo @[{ana}]");
        assert_eq!(mentions(&text), [ana, bia]);
        assert!(mentions("write to ana@example.com or @ana").is_empty());
        assert!(mentions("@[not-a-uuid] @[").is_empty());
        let simple = ana.simple().to_string();
        assert!(
            mentions(&format!("@[{simple}]")).is_empty(),
            "only the hyphenated form"
        );
    }

    #[test]
    fn excerpts_are_cut_on_a_character() {
        assert_eq!(excerpt("curto"), "curto");
        let long = "ç".repeat(EXCERPT_CHARS + 5);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
