//! Lead notes and tasks.

use chrono::{Duration, Utc};
use crmdb_store::models::{TaskPriority, TaskType};
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::tasks::{NewTask, TaskChanges};

use super::{assert_invalid, assert_not_found, fixture};

#[tokio::test]
async fn notes_are_written_pinned_edited_and_deleted() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let notes = tenant.notes();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let first = notes
        .create(lead.id, Some(f.a.agent), "Ligou às 10h")
        .await
        .unwrap();
    let second = notes.create(lead.id, None, "Pediu desconto").await.unwrap();
    assert_eq!(first.author_user_id, Some(f.a.agent));
    let pinned = notes.pin(first.id, true).await.unwrap();
    assert!(pinned.is_pinned);
    let order: Vec<_> = notes
        .list(lead.id)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(order, [first.id, second.id], "pinned first");
    let edited = notes
        .update(second.id, "Pediu 10% de desconto")
        .await
        .unwrap();
    assert_eq!(edited.body, "Pediu 10% de desconto");
    assert_eq!(notes.get(second.id).await.unwrap(), edited);
    assert_invalid(notes.update(second.id, " ").await, "body");
    assert_invalid(notes.create(lead.id, None, "").await, "body");
    assert_not_found(notes.create(uuid::Uuid::now_v7(), None, "x").await, "lead");
    assert_not_found(notes.create(lead.id, Some(f.b.agent), "x").await, "member");
    notes.delete(second.id).await.unwrap();
    assert_not_found(notes.delete(second.id).await, "note");
    assert_not_found(notes.get(second.id).await, "note");
    assert_not_found(notes.pin(second.id, false).await, "note");
}

#[tokio::test]
async fn tasks_are_created_updated_completed_and_listed() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let tasks = tenant.tasks();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let soon = Utc::now() + Duration::hours(1);
    let call = tasks
        .create(&NewTask {
            lead_id: Some(lead.id),
            assigned_user_id: Some(f.a.agent),
            task_type: TaskType::Call,
            priority: TaskPriority::High,
            due_at: Some(soon + Duration::hours(1)),
            ..NewTask::titled("Ligar para Ana")
        })
        .await
        .unwrap();
    let email = tasks
        .create(&NewTask {
            assigned_user_id: Some(f.a.agent),
            due_at: Some(soon),
            ..NewTask::titled("Enviar proposta")
        })
        .await
        .unwrap();
    let undated = tasks
        .create(&NewTask {
            assigned_user_id: Some(f.a.agent),
            ..NewTask::titled("Revisar")
        })
        .await
        .unwrap();
    let open: Vec<_> = tasks
        .open_for(f.a.agent, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(open, [email.id, call.id, undated.id]);

    let done = tasks.set_completed(email.id, true).await.unwrap();
    assert!(done.completed_at.is_some());
    let again = tasks.set_completed(email.id, true).await.unwrap();
    assert_eq!(
        again.completed_at, done.completed_at,
        "completing twice keeps the first time"
    );
    assert_eq!(tasks.open_for(f.a.agent, 50).await.unwrap().len(), 2);
    assert!(tasks
        .set_completed(email.id, false)
        .await
        .unwrap()
        .completed_at
        .is_none());

    let changed = tasks
        .update(
            call.id,
            &TaskChanges {
                title: Some("Ligar de novo".into()),
                assigned_user_id: Some(None),
                due_at: Some(None),
                priority: Some(TaskPriority::Urgent),
                ..TaskChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.title, "Ligar de novo");
    assert_eq!(changed.assigned_user_id, None);
    assert_eq!(changed.due_at, None);
    assert_eq!(changed.r#type, TaskType::Call);
    assert_eq!(tasks.for_lead(lead.id).await.unwrap().len(), 1);
    assert_eq!(tasks.get(call.id).await.unwrap(), changed);

    assert_invalid(tasks.create(&NewTask::titled(" ")).await, "title");
    let foreign = NewTask {
        lead_id: Some(uuid::Uuid::now_v7()),
        ..NewTask::titled("x")
    };
    assert_not_found(tasks.create(&foreign).await, "lead");
    let stranger = TaskChanges {
        assigned_user_id: Some(Some(f.b.agent)),
        ..TaskChanges::default()
    };
    assert_not_found(tasks.update(call.id, &stranger).await, "member");
    tasks.delete(undated.id).await.unwrap();
    assert_not_found(tasks.delete(undated.id).await, "task");
    assert_not_found(tasks.get(undated.id).await, "task");
}
