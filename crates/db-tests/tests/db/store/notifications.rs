//! Notifications: created by the operations that cause them (lead assigned, mention in a
//! note, task due), read and marked read by their member only.

use chrono::{Duration, Utc};
use crmdb_store::hot;
use crmdb_store::models::Notification;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::notifications::{LEAD_ASSIGNED, NOTE_MENTION, TASK_DUE};
use crmdb_store::ops::tasks::{NewTask, TaskChanges};
use crmdb_store::sql::query_scalar;
use crmdb_store::{Error, Tenant};
use serde_json::json;
use uuid::Uuid;

use super::{assert_forbidden, assert_invalid, assert_not_found, fixture};

/// Every notification of `user_id`, newest first, read as that member.
async fn all_of(tenant: &Tenant, user_id: Uuid) -> Vec<Notification> {
    tenant
        .acting_as(user_id)
        .notifications()
        .inbox(false, None, 200)
        .await
        .unwrap()
        .notifications
}

#[tokio::test]
async fn assigning_a_lead_notifies_the_new_assignee_once() {
    let f = fixture().await;
    let as_owner = f.tenant_a().acting_as(f.a.owner);
    let lead = as_owner
        .leads()
        .create(&NewLead::named("Ana"))
        .await
        .unwrap();
    as_owner
        .leads()
        .assign(lead.id, Some(f.a.agent))
        .await
        .unwrap();
    let inbox = all_of(&as_owner, f.a.agent).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].r#type, LEAD_ASSIGNED);
    assert_eq!(inbox[0].payload, json!({ "lead_id": lead.id }));
    assert_eq!(inbox[0].body.as_deref(), Some("Ana"));
    assert!(inbox[0].read_at.is_none());

    // Assigning the same member again is no news.
    as_owner
        .leads()
        .assign(lead.id, Some(f.a.agent))
        .await
        .unwrap();
    assert_eq!(all_of(&as_owner, f.a.agent).await.len(), 1);
    // Unassigning notifies nobody; taking the lead oneself neither.
    as_owner.leads().assign(lead.id, None).await.unwrap();
    as_owner
        .leads()
        .assign(lead.id, Some(f.a.owner))
        .await
        .unwrap();
    assert!(all_of(&as_owner, f.a.owner).await.is_empty());
    // Without an acting user (an automation), the assignee is notified.
    let automation = f.tenant_a();
    automation
        .leads()
        .assign(lead.id, Some(f.a.agent))
        .await
        .unwrap();
    assert_eq!(all_of(&automation, f.a.agent).await.len(), 2);
    // A failed assignment notifies nobody.
    assert_not_found(
        automation.leads().assign(lead.id, Some(f.b.agent)).await,
        "member",
    );
    assert!(all_of(&f.tenant_b(), f.b.agent).await.is_empty());
}

#[tokio::test]
async fn a_mention_in_a_note_notifies_each_mentioned_member_once() {
    let f = fixture().await;
    let tenant = f.tenant_a().acting_as(f.a.owner);
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let stranger = Uuid::now_v7();
    let body = format!(
        "@[{agent}] pode ligar? @[{agent}] @[{owner}] @[{b_agent}] @[{stranger}] ana@example.com",
        agent = f.a.agent,
        owner = f.a.owner,
        b_agent = f.b.agent,
    );
    let note = tenant
        .notes()
        .create(lead.id, Some(f.a.owner), &body)
        .await
        .unwrap();
    let inbox = all_of(&tenant, f.a.agent).await;
    assert_eq!(inbox.len(), 1, "mentioned twice, notified once");
    assert_eq!(inbox[0].r#type, NOTE_MENTION);
    assert_eq!(
        inbox[0].payload,
        json!({ "lead_id": lead.id, "note_id": note.id })
    );
    assert!(
        all_of(&tenant, f.a.owner).await.is_empty(),
        "not the author"
    );
    assert!(
        all_of(&f.tenant_b(), f.b.agent).await.is_empty(),
        "not a member of another organization"
    );
    // A note that fails is not announced.
    assert_not_found(
        tenant
            .notes()
            .create(Uuid::now_v7(), None, &format!("@[{}]", f.a.agent))
            .await,
        "lead",
    );
    assert_eq!(all_of(&tenant, f.a.agent).await.len(), 1);
}

#[tokio::test]
async fn the_inbox_pages_counts_and_marks_read() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let notifications = tenant.acting_as(f.a.agent).notifications();
    for name in ["L1", "L2", "L3", "L4", "L5"] {
        let lead = tenant.leads().create(&NewLead::named(name)).await.unwrap();
        tenant
            .leads()
            .assign(lead.id, Some(f.a.agent))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = notifications.inbox(false, after, 2).await.unwrap();
        assert!(page.notifications.len() <= 2);
        seen.extend(page.notifications.iter().map(|n| n.body.clone().unwrap()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["L5", "L4", "L3", "L2", "L1"],
        "newest first, every one once"
    );
    assert_eq!(notifications.unread_count().await.unwrap(), 5);

    let newest = all_of(&tenant, f.a.agent).await[0].clone();
    let read = notifications.mark_read(newest.id).await.unwrap();
    let read_at = read.read_at.expect("read");
    let again = notifications.mark_read(newest.id).await.unwrap();
    assert_eq!(again.read_at, Some(read_at), "keeps the first read time");
    assert_eq!(notifications.unread_count().await.unwrap(), 4);
    let unread = notifications.inbox(true, None, 10).await.unwrap();
    assert_eq!(unread.notifications.len(), 4);
    assert!(unread.notifications.iter().all(|n| n.id != newest.id));
    assert!(unread.next.is_none());

    // Another member of the same organization cannot mark mine read.
    let oldest = unread.notifications.last().unwrap().id;
    let owner = tenant.acting_as(f.a.owner).notifications();
    assert_not_found(owner.mark_read(oldest).await, "notification");
    assert_eq!(owner.mark_all_read().await.unwrap(), 0);
    assert_eq!(notifications.unread_count().await.unwrap(), 4);
    assert_not_found(
        notifications.mark_read(Uuid::now_v7()).await,
        "notification",
    );

    assert_eq!(notifications.mark_all_read().await.unwrap(), 4);
    assert_eq!(notifications.mark_all_read().await.unwrap(), 0);
    assert_eq!(notifications.unread_count().await.unwrap(), 0);
    assert!(notifications
        .inbox(true, None, 10)
        .await
        .unwrap()
        .notifications
        .is_empty());
    assert_invalid(notifications.inbox(false, None, 0).await, "limit");
}

#[tokio::test]
async fn due_tasks_are_notified_once_per_assignee_and_due_time() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let tasks = tenant.tasks();
    let now = Utc::now();
    let task = |title: &str, assignee: Option<Uuid>, due_in: Option<Duration>| NewTask {
        assigned_user_id: assignee,
        due_at: due_in.map(|d| now + d),
        ..NewTask::titled(title)
    };
    let soon = tasks
        .create(&task("Ligar", Some(f.a.agent), Some(Duration::minutes(30))))
        .await
        .unwrap();
    let later = tasks
        .create(&task("Depois", Some(f.a.agent), Some(Duration::days(2))))
        .await
        .unwrap();
    let done = tasks
        .create(&task("Feita", Some(f.a.agent), Some(Duration::minutes(10))))
        .await
        .unwrap();
    tasks.set_completed(done.id, true).await.unwrap();
    tasks
        .create(&task("Sem dono", None, Some(Duration::minutes(10))))
        .await
        .unwrap();
    tasks
        .create(&task(
            "Atrasada",
            Some(f.a.agent),
            Some(-Duration::hours(1)),
        ))
        .await
        .unwrap();
    tasks
        .create(&task("Sem prazo", Some(f.a.agent), None))
        .await
        .unwrap();

    let notifications = tenant.notifications();
    assert_eq!(
        notifications
            .notify_due_tasks(now, Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        notifications
            .notify_due_tasks(now, Duration::hours(1))
            .await
            .unwrap(),
        0,
        "idempotent"
    );
    let inbox = all_of(&tenant, f.a.agent).await;
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].r#type, TASK_DUE);
    assert_eq!(inbox[0].payload["task_id"], json!(soon.id));
    assert_eq!(inbox[0].body.as_deref(), Some("Ligar"));

    // Rescheduled into the window, a task is due anew; reassigned, its new assignee is told.
    tasks
        .update(
            later.id,
            &TaskChanges {
                due_at: Some(Some(now + Duration::minutes(45))),
                ..TaskChanges::default()
            },
        )
        .await
        .unwrap();
    tasks
        .update(
            soon.id,
            &TaskChanges {
                assigned_user_id: Some(Some(f.a.owner)),
                ..TaskChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        notifications
            .notify_due_tasks(now, Duration::hours(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(all_of(&tenant, f.a.owner).await.len(), 1);
    assert_invalid(
        notifications.notify_due_tasks(now, Duration::zero()).await,
        "window",
    );
    // B's tasks are B's business.
    assert!(all_of(&f.tenant_b(), f.b.agent).await.is_empty());
}

#[tokio::test]
async fn concurrent_due_task_runs_create_each_notification_once() {
    let f = fixture().await;
    let now = Utc::now();
    for i in 0..10 {
        f.tenant_a()
            .tasks()
            .create(&NewTask {
                assigned_user_id: Some(if i % 2 == 0 { f.a.agent } else { f.a.owner }),
                due_at: Some(now + Duration::minutes(5 + i)),
                ..NewTask::titled(format!("Tarefa {i}"))
            })
            .await
            .unwrap();
    }
    for _ in 0..3 {
        let (one, two) = (f.tenant_a(), f.worker_db.tenant(f.a.id()));
        let (first, second) = tokio::join!(
            async move {
                one.notifications()
                    .notify_due_tasks(now, Duration::hours(1))
                    .await
            },
            async move {
                two.notifications()
                    .notify_due_tasks(now, Duration::hours(1))
                    .await
            },
        );
        let created = first.unwrap() + second.unwrap();
        assert!(created == 10 || created == 0, "{created}");
    }
    let total =
        all_of(&f.tenant_a(), f.a.agent).await.len() + all_of(&f.tenant_a(), f.a.owner).await.len();
    assert_eq!(total, 10);
}

#[tokio::test]
async fn a_handle_cannot_read_or_mark_another_organizations_notifications() {
    let f = fixture().await;
    let (a, b) = (f.tenant_a(), f.tenant_b());
    let lead = b.leads().create(&NewLead::named("Bia")).await.unwrap();
    b.leads().assign(lead.id, Some(f.b.agent)).await.unwrap();
    let b_before = all_of(&b, f.b.agent).await;
    assert_eq!(b_before.len(), 1);
    let target = b_before[0].id;

    // Through A's handle, acting as B's member or as A's own.
    assert!(all_of(&a, f.b.agent).await.is_empty());
    for acting in [f.b.agent, f.a.agent] {
        let attacker = a.acting_as(acting).notifications();
        assert_eq!(attacker.unread_count().await.unwrap(), 0);
        assert_not_found(attacker.mark_read(target).await, "notification");
        assert_eq!(attacker.mark_all_read().await.unwrap(), 0);
    }
    let attacker = a.notifications();
    // A's due-task run does not reach B's tasks.
    b.tasks()
        .create(&NewTask {
            assigned_user_id: Some(f.b.agent),
            due_at: Some(Utc::now() + Duration::minutes(5)),
            ..NewTask::titled("B's")
        })
        .await
        .unwrap();
    assert_eq!(
        attacker
            .notify_due_tasks(Utc::now(), Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    // Mentioning B's member from A, or assigning A's lead to them, notifies nobody in B.
    let a_lead = a.leads().create(&NewLead::named("Ana")).await.unwrap();
    a.notes()
        .create(a_lead.id, None, &format!("@[{}]", f.b.agent))
        .await
        .unwrap();

    assert_eq!(all_of(&b, f.b.agent).await, b_before);
    assert_eq!(
        b.acting_as(f.b.agent)
            .notifications()
            .unread_count()
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn the_unread_count_uses_the_partial_index_of_unread_rows() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let plan: serde_json::Value = tenant
        .transaction(async |tx| {
            crmdb_store::sql::query("SET LOCAL enable_seqscan = off")
                .execute(&mut **tx)
                .await?;
            query_scalar(format!(
                "EXPLAIN (FORMAT JSON) {}",
                hot::UNREAD_NOTIFICATIONS
            ))
            .bind(f.a.id())
            .bind(f.a.agent)
            .fetch_one(&mut **tx)
            .await
        })
        .await
        .unwrap();
    assert!(
        plan.to_string()
            .contains("idx_notifications_organization_id_user_id_created_at_unread"),
        "{plan}"
    );
}

#[tokio::test]
async fn a_member_reads_and_marks_only_their_own_notifications() {
    let f = fixture().await;
    let (a, b) = (f.tenant_a(), f.tenant_b());
    for (tenant, assignee) in [(&a, f.a.owner), (&b, f.b.owner)] {
        let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
        tenant
            .leads()
            .assign(lead.id, Some(assignee))
            .await
            .unwrap();
    }
    let owners = all_of(&a, f.a.owner).await;
    assert_eq!(owners.len(), 1);
    let b_before = all_of(&b, f.b.owner).await;

    // A's agent, acting as themselves, sees an empty inbox and cannot touch the owner's.
    let attacker = a.acting_as(f.a.agent).notifications();
    assert!(attacker
        .inbox(false, None, 200)
        .await
        .unwrap()
        .notifications
        .is_empty());
    assert!(attacker
        .inbox(true, None, 200)
        .await
        .unwrap()
        .notifications
        .is_empty());
    assert_eq!(attacker.unread_count().await.unwrap(), 0);
    assert_not_found(attacker.mark_read(owners[0].id).await, "notification");
    assert_not_found(attacker.mark_read(b_before[0].id).await, "notification");
    assert_eq!(attacker.mark_all_read().await.unwrap(), 0);
    assert_eq!(
        all_of(&a, f.a.owner).await,
        owners,
        "the owner's stay unread"
    );
    assert_eq!(all_of(&b, f.b.owner).await, b_before);

    // A handle acting for nobody reads no inbox at all.
    let nobody = a.notifications();
    assert_forbidden(nobody.inbox(false, None, 10).await);
    assert_forbidden(nobody.unread_count().await);
    assert_forbidden(nobody.mark_read(owners[0].id).await);
    assert_forbidden(nobody.mark_all_read().await);
    match nobody.unread_count().await {
        Err(Error::Forbidden { why }) => {
            assert_eq!(why, "notifications are read as the acting user")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(all_of(&a, f.a.owner).await, owners);
}

#[tokio::test]
async fn a_suspended_assignee_is_not_notified_of_due_tasks() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let now = Utc::now();
    tenant
        .tasks()
        .create(&NewTask {
            assigned_user_id: Some(f.a.agent),
            due_at: Some(now + Duration::minutes(10)),
            ..NewTask::titled("Ligar")
        })
        .await
        .unwrap();
    let set_status = async |status: &str| {
        let changed = sqlx::query(
            "UPDATE organization_members SET status = $3 \
             WHERE organization_id = $1 AND user_id = $2",
        )
        .bind(f.a.id())
        .bind(f.a.agent)
        .bind(status)
        .execute(&mut f.test_db.superuser_connect().await)
        .await
        .unwrap();
        assert_eq!(changed.rows_affected(), 1);
    };
    set_status("suspended").await;
    let notifications = tenant.notifications();
    assert_eq!(
        notifications
            .notify_due_tasks(now, Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    // Reactivated while the task is still due, they are told.
    set_status("active").await;
    assert_eq!(
        notifications
            .notify_due_tasks(now, Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(all_of(&tenant, f.a.agent).await.len(), 1);
}
