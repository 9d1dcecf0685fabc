//! Calendar events mirrored from members' connected calendars: the sync's idempotent upsert
//! by the provider's event id, links to a lead and a task, a member's agenda and a lead's
//! meetings.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::models::{CalendarEvent, CalendarEventStatus};
use crate::sql::{query_as, FromRow};
use crate::validate;

/// An event as the provider has it, for [`Calendar::upsert`].
#[derive(Debug, Clone)]
pub struct SyncedEvent {
    /// The member's calendar integration the event was synced from.
    pub integration_id: Uuid,
    /// The provider's id of the event.
    pub external_event_id: String,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: CalendarEventStatus,
    /// An `https://` link to the online meeting.
    pub meeting_url: Option<String>,
    /// The lead the meeting is with; `None` keeps the event's link as it is.
    pub lead_id: Option<Uuid>,
    /// The task the meeting fulfils; `None` keeps the event's link as it is.
    pub task_id: Option<Uuid>,
}

/// What an upsert did to the stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upserted {
    /// The event was new.
    Inserted,
    /// The event changed.
    Updated,
    /// The provider sent what was already stored: nothing was written.
    Unchanged,
}

/// The calendar events of one organization.
#[derive(Debug, Clone)]
pub struct Calendar {
    tenant: Tenant,
}

impl Tenant {
    /// Calendar events.
    pub fn calendar(&self) -> Calendar {
        Calendar {
            tenant: self.clone(),
        }
    }
}

fn references(error: Error) -> Error {
    error
        .missing_parent(
            "fk_calendar_events_calendar_integrations",
            entity::CALENDAR_INTEGRATION,
        )
        .missing_parent("fk_calendar_events_leads", entity::LEAD)
        .missing_parent("fk_calendar_events_tasks", entity::TASK)
}

/// The values of an event the schema's checks hold, checked first to name the field.
struct Checked {
    external_event_id: String,
    title: String,
    meeting_url: Option<String>,
}

fn check(event: &SyncedEvent) -> Result<Checked> {
    let external_event_id = validate::required("external_event_id", &event.external_event_id)?;
    let title = validate::required("title", &event.title)?;
    if event.ends_at < event.starts_at {
        return Err(Error::invalid("ends_at", "must not be before starts_at"));
    }
    let meeting_url = validate::optional(event.meeting_url.as_deref(), |u| {
        validate::https_url("meeting_url", u)
    })?;
    Ok(Checked {
        external_event_id,
        title,
        meeting_url,
    })
}

/// A row of the upsert: the event and what happened to it.
struct UpsertRow {
    event: CalendarEvent,
    outcome: String,
}

impl FromRow for UpsertRow {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self> {
        Ok(UpsertRow {
            event: CalendarEvent::from_row(row)?,
            outcome: row.try_get("outcome")?,
        })
    }
}

impl Calendar {
    /// Stores an event the sync read from the provider, by its id there: inserted when new,
    /// updated when it changed, left alone (its `updated_at` too) when the provider sent the
    /// same again. The integration, lead and task must be the organization's ("calendar
    /// integration", "lead", "task" not found otherwise).
    #[tracing::instrument(
        name = "calendar.upsert",
        skip_all,
        fields(integration_id = %event.integration_id)
    )]
    pub async fn upsert(&self, event: &SyncedEvent) -> Result<(CalendarEvent, Upserted)> {
        let checked = check(event)?;
        // One statement: the upsert, whose update applies only when a value differs; and
        // when it wrote nothing, the stored row from the statement's snapshot (the conflict
        // means the row was there). `xmax = 0` tells an inserted row from an updated one.
        let row: Option<UpsertRow> = query_as(
            "WITH upsert AS ( \
                 INSERT INTO calendar_events AS e (organization_id, integration_id, \
                     external_event_id, title, description, location, starts_at, ends_at, \
                     status, meeting_url, lead_id, task_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (organization_id, integration_id, external_event_id) DO UPDATE SET \
                     title = EXCLUDED.title, description = EXCLUDED.description, \
                     location = EXCLUDED.location, starts_at = EXCLUDED.starts_at, \
                     ends_at = EXCLUDED.ends_at, status = EXCLUDED.status, \
                     meeting_url = EXCLUDED.meeting_url, \
                     lead_id = coalesce(EXCLUDED.lead_id, e.lead_id), \
                     task_id = coalesce(EXCLUDED.task_id, e.task_id) \
                 WHERE (e.title, e.description, e.location, e.starts_at, e.ends_at, e.status, \
                        e.meeting_url, e.lead_id, e.task_id) \
                       IS DISTINCT FROM \
                       (EXCLUDED.title, EXCLUDED.description, EXCLUDED.location, \
                        EXCLUDED.starts_at, EXCLUDED.ends_at, EXCLUDED.status, \
                        EXCLUDED.meeting_url, coalesce(EXCLUDED.lead_id, e.lead_id), \
                        coalesce(EXCLUDED.task_id, e.task_id)) \
                 RETURNING e.*, CASE WHEN e.xmax = 0 THEN 'inserted' ELSE 'updated' END AS outcome) \
             SELECT * FROM upsert \
             UNION ALL \
             SELECT e.*, 'unchanged' AS outcome FROM calendar_events AS e \
             WHERE e.organization_id = $1 AND e.integration_id = $2 \
               AND e.external_event_id = $3 AND NOT EXISTS (SELECT 1 FROM upsert)",
        )
        .bind(self.tenant.organization_id())
        .bind(event.integration_id)
        .bind(&checked.external_event_id)
        .bind(&checked.title)
        .bind(&event.description)
        .bind(&event.location)
        .bind(event.starts_at)
        .bind(event.ends_at)
        .bind(event.status)
        .bind(&checked.meeting_url)
        .bind(event.lead_id)
        .bind(event.task_id)
        .fetch_optional(&self.tenant)
        .await
        .map_err(references)?;
        match row {
            Some(UpsertRow { event, outcome }) => {
                let upserted = match outcome.as_str() {
                    "inserted" => Upserted::Inserted,
                    "updated" => Upserted::Updated,
                    _ => Upserted::Unchanged,
                };
                Ok((event, upserted))
            }
            // The row the conflict found was committed after this statement's snapshot was
            // taken (a sync of the same event at the same moment): it holds these values.
            None => Ok((
                self.by_external_id(event.integration_id, &checked.external_event_id)
                    .await?,
                Upserted::Unchanged,
            )),
        }
    }

    async fn by_external_id(
        &self,
        integration_id: Uuid,
        external_event_id: &str,
    ) -> Result<CalendarEvent> {
        query_as(
            "SELECT * FROM calendar_events \
             WHERE organization_id = $1 AND integration_id = $2 AND external_event_id = $3",
        )
        .bind(self.tenant.organization_id())
        .bind(integration_id)
        .bind(external_event_id)
        .fetch_optional(&self.tenant)
        .await?
        .ok_or(Error::not_found(entity::CALENDAR_EVENT))
    }

    /// An event.
    #[tracing::instrument(name = "calendar.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<CalendarEvent> {
        self.tenant
            .row_by_id(
                "SELECT * FROM calendar_events WHERE organization_id = $1 AND id = $2",
                id,
                entity::CALENDAR_EVENT,
            )
            .await
    }

    /// Links an event to the lead it is with and the task it fulfils (`None` unlinks).
    #[tracing::instrument(name = "calendar.link", skip_all, fields(%id))]
    pub async fn link(
        &self,
        id: Uuid,
        lead_id: Option<Uuid>,
        task_id: Option<Uuid>,
    ) -> Result<CalendarEvent> {
        query_as(
            "UPDATE calendar_events SET lead_id = $3, task_id = $4 \
             WHERE organization_id = $1 AND id = $2 RETURNING *",
        )
        .bind(self.tenant.organization_id())
        .bind(id)
        .bind(lead_id)
        .bind(task_id)
        .fetch_optional(&self.tenant)
        .await
        .map_err(references)?
        .ok_or(Error::not_found(entity::CALENDAR_EVENT))
    }

    /// A member's agenda: the events of the calendars `user_id` connected that overlap
    /// [`from`, `to`), by start; cancelled ones only when `include_cancelled`.
    #[tracing::instrument(name = "calendar.agenda", skip_all, fields(%user_id))]
    pub async fn agenda(
        &self,
        user_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        include_cancelled: bool,
    ) -> Result<Vec<CalendarEvent>> {
        if to <= from {
            return Err(Error::invalid("to", "must be after from"));
        }
        // An event of no duration at `from` is in the period too.
        query_as(
            "SELECT e.* FROM calendar_events AS e \
             JOIN calendar_integrations AS i \
               ON i.organization_id = e.organization_id AND i.id = e.integration_id \
             WHERE e.organization_id = $1 AND i.user_id = $2 \
               AND e.starts_at < $4 AND (e.ends_at > $3 OR e.starts_at >= $3) \
               AND ($5 OR e.status <> 'cancelled') \
             ORDER BY e.starts_at, e.id",
        )
        .bind(self.tenant.organization_id())
        .bind(user_id)
        .bind(from)
        .bind(to)
        .bind(include_cancelled)
        .fetch_all(&self.tenant)
        .await
    }

    /// The meetings with a lead, in time order, cancelled ones included.
    #[tracing::instrument(name = "calendar.lead_meetings", skip_all, fields(%lead_id))]
    pub async fn lead_meetings(&self, lead_id: Uuid) -> Result<Vec<CalendarEvent>> {
        query_as(
            "SELECT * FROM calendar_events WHERE organization_id = $1 AND lead_id = $2 \
             ORDER BY starts_at, id",
        )
        .bind(self.tenant.organization_id())
        .bind(lead_id)
        .fetch_all(&self.tenant)
        .await
    }
}
