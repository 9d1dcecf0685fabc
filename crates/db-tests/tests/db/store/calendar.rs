//! Calendar events: the sync's idempotent upsert, links to leads and tasks, agendas.

use chrono::{DateTime, TimeZone, Utc};
use crmdb_store::models::{CalendarEventStatus, CalendarProvider};
use crmdb_store::ops::calendar::{SyncedEvent, Upserted};
use crmdb_store::ops::integrations::OAuthTokens;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::tasks::NewTask;
use crmdb_store::Tenant;
use secrecy::SecretString;
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, fixture};

async fn connect(tenant: &Tenant, user_id: Uuid) -> Uuid {
    tenant
        .integrations()
        .connect_calendar(
            user_id,
            CalendarProvider::Google,
            Some("primary"),
            &OAuthTokens {
                access_token: SecretString::from("ya29.x".to_owned()),
                refresh_token: None,
                expires_at: None,
            },
        )
        .await
        .unwrap()
        .id
}

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 5, 6, hour, 0, 0).unwrap()
}

fn event(integration_id: Uuid, external: &str, hour: u32) -> SyncedEvent {
    SyncedEvent {
        integration_id,
        external_event_id: external.to_owned(),
        title: format!("Reunião {external}"),
        description: None,
        location: None,
        starts_at: at(hour),
        ends_at: at(hour + 1),
        status: CalendarEventStatus::Confirmed,
        meeting_url: Some("https://meet.example.com/abc".to_owned()),
        lead_id: None,
        task_id: None,
    }
}

#[tokio::test]
async fn a_resync_of_the_same_event_changes_nothing() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let calendar = tenant.calendar();
    let integration = connect(&tenant, f.a.agent).await;
    let synced = event(integration, "evt-1", 10);
    let (first, outcome) = calendar.upsert(&synced).await.unwrap();
    assert_eq!(outcome, Upserted::Inserted);
    assert_eq!(first.title, "Reunião evt-1");
    let (again, outcome) = calendar.upsert(&synced).await.unwrap();
    assert_eq!(outcome, Upserted::Unchanged);
    assert_eq!(again, first, "updated_at not bumped");
    assert_eq!(
        calendar.get(first.id).await.unwrap().updated_at,
        first.updated_at
    );

    let moved = SyncedEvent {
        starts_at: at(11),
        ends_at: at(12),
        ..synced.clone()
    };
    let (updated, outcome) = calendar.upsert(&moved).await.unwrap();
    assert_eq!(outcome, Upserted::Updated);
    assert_eq!(updated.id, first.id);
    assert_eq!(updated.starts_at, at(11));
    assert!(updated.updated_at > first.updated_at);
    assert_eq!(
        calendar.upsert(&moved).await.unwrap().1,
        Upserted::Unchanged
    );
}

#[tokio::test]
async fn events_link_to_leads_and_tasks() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let calendar = tenant.calendar();
    let integration = connect(&tenant, f.a.agent).await;
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let task = tenant
        .tasks()
        .create(&NewTask::titled("Apresentar proposta"))
        .await
        .unwrap();
    let (meeting, _) = calendar
        .upsert(&SyncedEvent {
            lead_id: Some(lead.id),
            task_id: Some(task.id),
            ..event(integration, "evt-1", 10)
        })
        .await
        .unwrap();
    assert_eq!(
        (meeting.lead_id, meeting.task_id),
        (Some(lead.id), Some(task.id))
    );
    // A resync without links keeps them.
    let (resynced, outcome) = calendar
        .upsert(&event(integration, "evt-1", 10))
        .await
        .unwrap();
    assert_eq!(outcome, Upserted::Unchanged);
    assert_eq!(resynced.lead_id, Some(lead.id));
    let (other, _) = calendar
        .upsert(&event(integration, "evt-2", 8))
        .await
        .unwrap();
    let linked = calendar.link(other.id, Some(lead.id), None).await.unwrap();
    assert_eq!(linked.lead_id, Some(lead.id));
    let meetings: Vec<_> = calendar
        .lead_meetings(lead.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(meetings, [other.id, meeting.id], "in time order");
    let unlinked = calendar.link(other.id, None, None).await.unwrap();
    assert_eq!(unlinked.lead_id, None);
    // Deleting the task keeps the meeting.
    tenant.tasks().delete(task.id).await.unwrap();
    assert_eq!(calendar.get(meeting.id).await.unwrap().task_id, None);
}

#[tokio::test]
async fn bad_events_are_refused() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let calendar = tenant.calendar();
    let integration = connect(&tenant, f.a.agent).await;
    let good = event(integration, "evt-1", 10);
    let cases = [
        (
            SyncedEvent {
                title: " ".into(),
                ..good.clone()
            },
            "title",
        ),
        (
            SyncedEvent {
                external_event_id: "".into(),
                ..good.clone()
            },
            "external_event_id",
        ),
        (
            SyncedEvent {
                ends_at: at(9),
                ..good.clone()
            },
            "ends_at",
        ),
        (
            SyncedEvent {
                meeting_url: Some("http://meet.example.com".into()),
                ..good.clone()
            },
            "meeting_url",
        ),
    ];
    for (bad, field) in cases {
        assert_invalid(calendar.upsert(&bad).await, field);
    }
    assert_not_found(
        calendar
            .upsert(&SyncedEvent {
                integration_id: Uuid::now_v7(),
                ..good.clone()
            })
            .await,
        "calendar integration",
    );
    assert_not_found(
        calendar
            .upsert(&SyncedEvent {
                lead_id: Some(Uuid::now_v7()),
                ..good.clone()
            })
            .await,
        "lead",
    );
    assert_not_found(
        calendar
            .upsert(&SyncedEvent {
                task_id: Some(Uuid::now_v7()),
                ..good.clone()
            })
            .await,
        "task",
    );
    assert_not_found(calendar.get(Uuid::now_v7()).await, "calendar event");
    assert_not_found(
        calendar.link(Uuid::now_v7(), None, None).await,
        "calendar event",
    );
    assert_invalid(
        calendar.agenda(f.a.agent, at(10), at(10), false).await,
        "to",
    );
}

#[tokio::test]
async fn the_agenda_is_the_members_own_calendars_in_the_period() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let calendar = tenant.calendar();
    let mine = connect(&tenant, f.a.agent).await;
    let theirs = connect(&tenant, f.a.owner).await;
    let before = calendar.upsert(&event(mine, "before", 6)).await.unwrap().0;
    let overlapping = calendar
        .upsert(&SyncedEvent {
            starts_at: at(8),
            ends_at: at(10),
            ..event(mine, "overlapping", 8)
        })
        .await
        .unwrap()
        .0;
    let inside = calendar.upsert(&event(mine, "inside", 12)).await.unwrap().0;
    let instant = calendar
        .upsert(&SyncedEvent {
            ends_at: at(9),
            ..event(mine, "instant", 9)
        })
        .await
        .unwrap()
        .0;
    let cancelled = calendar
        .upsert(&SyncedEvent {
            status: CalendarEventStatus::Cancelled,
            ..event(mine, "cancelled", 13)
        })
        .await
        .unwrap()
        .0;
    calendar
        .upsert(&event(mine, "at-the-end", 15))
        .await
        .unwrap();
    calendar.upsert(&event(theirs, "owners", 12)).await.unwrap();

    let ids = |events: Vec<crmdb_store::models::CalendarEvent>| -> Vec<Uuid> {
        events.into_iter().map(|e| e.id).collect()
    };
    let agenda = calendar
        .agenda(f.a.agent, at(9), at(15), false)
        .await
        .unwrap();
    assert_eq!(ids(agenda), [overlapping.id, instant.id, inside.id]);
    let with_cancelled = calendar
        .agenda(f.a.agent, at(9), at(15), true)
        .await
        .unwrap();
    assert_eq!(
        ids(with_cancelled),
        [overlapping.id, instant.id, inside.id, cancelled.id]
    );
    assert!(!calendar
        .agenda(f.a.agent, at(0), at(23), true)
        .await
        .unwrap()
        .iter()
        .any(|e| e.integration_id == theirs));
    assert_eq!(
        ids(calendar
            .agenda(f.a.agent, at(5), at(7), false)
            .await
            .unwrap()),
        [before.id]
    );
}

#[tokio::test]
async fn a_handle_cannot_write_into_or_read_another_organizations_calendar() {
    let f = fixture().await;
    let (a, b) = (f.tenant_a(), f.tenant_b());
    let b_integration = connect(&b, f.b.agent).await;
    let b_lead = b.leads().create(&NewLead::named("Bia")).await.unwrap();
    let b_task = b
        .tasks()
        .create(&NewTask::titled("Reunião com a Bia"))
        .await
        .unwrap();
    let (b_event, _) = b
        .calendar()
        .upsert(&SyncedEvent {
            lead_id: Some(b_lead.id),
            task_id: Some(b_task.id),
            ..event(b_integration, "evt-b", 10)
        })
        .await
        .unwrap();
    let b_before = b
        .calendar()
        .agenda(f.b.agent, at(0), at(23), true)
        .await
        .unwrap();

    let attacker = a.calendar();
    // The composite foreign key refuses A's rows in B's integration, with B's id or not.
    assert_not_found(
        attacker.upsert(&event(b_integration, "evt-b", 11)).await,
        "calendar integration",
    );
    assert_not_found(
        attacker.upsert(&event(b_integration, "evt-new", 11)).await,
        "calendar integration",
    );
    // B's lead cannot be linked from A.
    let a_integration = connect(&a, f.a.agent).await;
    assert_not_found(
        attacker
            .upsert(&SyncedEvent {
                lead_id: Some(b_lead.id),
                ..event(a_integration, "evt-a", 10)
            })
            .await,
        "lead",
    );
    // Nor B's task (calendar_events.task_id, migration 0013), on upsert or by link.
    assert_not_found(
        attacker
            .upsert(&SyncedEvent {
                task_id: Some(b_task.id),
                ..event(a_integration, "evt-a", 10)
            })
            .await,
        "task",
    );
    let (a_event, _) = attacker
        .upsert(&event(a_integration, "evt-a", 10))
        .await
        .unwrap();
    assert_not_found(
        attacker.link(a_event.id, None, Some(b_task.id)).await,
        "task",
    );
    assert_not_found(attacker.get(b_event.id).await, "calendar event");
    assert_not_found(
        attacker.link(b_event.id, None, None).await,
        "calendar event",
    );
    assert!(attacker
        .agenda(f.b.agent, at(0), at(23), true)
        .await
        .unwrap()
        .is_empty());
    assert!(attacker.lead_meetings(b_lead.id).await.unwrap().is_empty());

    assert_eq!(
        b.calendar()
            .agenda(f.b.agent, at(0), at(23), true)
            .await
            .unwrap(),
        b_before
    );
    assert_eq!(b.calendar().get(b_event.id).await.unwrap(), b_event);
}
