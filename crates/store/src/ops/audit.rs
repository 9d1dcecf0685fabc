//! The audit log: who changed security-relevant state in an organization (members and
//! roles, invitations, API keys, integration credentials, webhook secrets, billing, privacy
//! requests), appended in the same transaction as the change, and read back with filters a
//! page at a time.
//!
//! An entry goes into the transaction of the operation it records, deferred, so it costs no
//! round trip of its own and exists exactly when the change committed. The actor is the
//! acting user of the handle (`app.current_user_id`, set by [`crate::Tenant::acting_as`]),
//! read by the database itself, so no operation can record someone else; the system (no
//! acting user) is recorded as `NULL`. Entries name what changed and never carry a secret:
//! a key's service and label, not the key; a role's old and new value.

use chrono::{DateTime, Utc};
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Conn, Tenant};
use crate::error::Result;
use crate::models::AuditLog;
use crate::ops::common::{next_cursor, page_size};
use crate::sql::{query, query_as};
use crate::validate;

/// One entry to append: a dotted action (`member.role_changed`), the kind of thing acted on
/// (`member`), its id, and what changed (`{"role": {"old": "agent", "new": "admin"}}`).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    action: &'static str,
    entity_type: &'static str,
    entity_id: Option<Uuid>,
    changes: JsonValue,
}

impl Entry {
    /// An entry with no recorded changes.
    pub(crate) fn new(
        action: &'static str,
        entity_type: &'static str,
        entity_id: impl Into<Option<Uuid>>,
    ) -> Entry {
        Entry {
            action,
            entity_type,
            entity_id: entity_id.into(),
            changes: JsonValue::Object(serde_json::Map::new()),
        }
    }

    /// The entry with `changes`, an object of the fields that changed.
    pub(crate) fn with_changes(self, changes: JsonValue) -> Entry {
        Entry { changes, ..self }
    }
}

/// Defers the INSERT of `entry` into `tx`: it goes out with the transaction's next statement
/// (or its `COMMIT`), and is rolled back with everything else if the operation fails.
pub(crate) fn record(tx: &mut Conn, organization_id: Uuid, entry: Entry) {
    tx.defer(
        query(
            "INSERT INTO audit_logs (organization_id, actor_user_id, action, entity_type, \
                                     entity_id, changes) \
             VALUES ($1, NULLIF(current_setting('app.current_user_id', true), '')::uuid, \
                     $2, $3, $4, $5)",
        )
        .bind(organization_id)
        .bind(entry.action)
        .bind(entry.entity_type)
        .bind(entry.entity_id)
        .bind(entry.changes)
        .into_statement(),
    );
}

/// Which entries to read; every field left `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// An action (`member.role_changed`) or a dotted prefix of actions (`member` matches
    /// every `member.…`).
    pub action: Option<String>,
    /// The kind of thing acted on (`member`, `api_key`, …).
    pub entity_type: Option<String>,
    /// The thing acted on.
    pub entity_id: Option<Uuid>,
    /// Who acted.
    pub actor_user_id: Option<Uuid>,
    /// Entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// Where a page of the audit log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditLog>,
    /// `None` on the last page.
    pub next: Option<AuditCursor>,
}

/// The audit log of one organization, read-only: entries are appended by the operations
/// they record.
#[derive(Debug, Clone)]
pub struct AuditLogs {
    tenant: Tenant,
}

impl Tenant {
    /// The audit log.
    pub fn audit_log(&self) -> AuditLogs {
        AuditLogs {
            tenant: self.clone(),
        }
    }
}

// One statement for every combination of filters: a filter left NULL matches all, and the
// keyset condition follows the index on (organization_id, created_at DESC).
const PAGE: &str = "SELECT * FROM audit_logs \
     WHERE organization_id = $1 \
       AND ($2::text IS NULL OR action = $2 OR starts_with(action, $2 || '.')) \
       AND ($3::text IS NULL OR entity_type = $3) \
       AND ($4::uuid IS NULL OR entity_id = $4) \
       AND ($5::uuid IS NULL OR actor_user_id = $5) \
       AND ($6::timestamptz IS NULL OR created_at >= $6) \
       AND ($7::timestamptz IS NULL OR created_at < $7) \
       AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9)) \
     ORDER BY created_at DESC, id DESC \
     LIMIT $10";

impl AuditLogs {
    /// A page of the entries `filter` matches, newest first, after `after` when given.
    #[tracing::instrument(name = "audit_log.page", skip_all)]
    pub async fn page(
        &self,
        filter: &AuditFilter,
        after: Option<AuditCursor>,
        limit: i64,
    ) -> Result<AuditPage> {
        let limit = page_size(limit)?;
        let action = validate::optional(filter.action.as_deref(), |a| {
            validate::dotted_name("action", a)
        })?;
        let entries: Vec<AuditLog> = query_as(PAGE)
            .bind(self.tenant.organization_id())
            .bind(action)
            .bind(filter.entity_type.as_deref())
            .bind(filter.entity_id)
            .bind(filter.actor_user_id)
            .bind(filter.since)
            .bind(filter.until)
            .bind(after.map(|c| c.created_at))
            .bind(after.map(|c| c.id))
            .bind(limit)
            .fetch_all(&self.tenant)
            .await?;
        let next = next_cursor(&entries, limit, |last| AuditCursor {
            created_at: last.created_at,
            id: last.id,
        });
        Ok(AuditPage { entries, next })
    }
}
