//! Leads: every operation and its error cases.

use std::collections::HashSet;

use crmdb_store::models::{FieldType, LeadSource, LeadStatus, MemberRole};
use crmdb_store::ops::custom_fields::NewCustomField;
use crmdb_store::ops::leads::{LeadChanges, NewLead};
use crmdb_store::ops::notifications::LEAD_ASSIGNED;
use crmdb_store::Tenant;
use rust_decimal::Decimal;
use sqlx::Row;
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, fixture};

#[tokio::test]
async fn a_lead_is_created_in_the_first_stage_of_the_default_pipeline() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    let lead = leads
        .create(&NewLead {
            email: Some("Ana@Example.com".into()),
            phone: Some("+5511999990000".into()),
            value: Decimal::new(150000, 2),
            source: Some(LeadSource::Whatsapp),
            ..NewLead::named("Ana Souza")
        })
        .await
        .unwrap();
    assert_eq!(lead.stage_id, f.a.stages[0].id);
    assert_eq!(lead.pipeline_id, f.a.pipeline_id());
    assert_eq!(lead.email.as_deref(), Some("ana@example.com"));
    assert_eq!(lead.currency, "BRL");
    assert_eq!(lead.source, LeadSource::Whatsapp);
    assert_eq!(lead.status, LeadStatus::Open);
    assert_eq!(lead.id.get_version_num(), 7, "ids are UUIDv7");
    assert_eq!(leads.get(lead.id).await.unwrap(), lead);

    let in_stage = leads
        .create(&NewLead {
            stage_id: Some(f.a.stages[2].id),
            ..NewLead::named("Bruno")
        })
        .await
        .unwrap();
    assert_eq!(in_stage.stage_id, f.a.stages[2].id);

    assert_invalid(leads.create(&NewLead::named(" ")).await, "name");
    let bad = |n: NewLead| {
        let tenant = f.tenant_a();
        async move { tenant.leads().create(&n).await }
    };
    assert_invalid(
        bad(NewLead {
            email: Some("nope".into()),
            ..NewLead::named("X")
        })
        .await,
        "email",
    );
    assert_invalid(
        bad(NewLead {
            phone: Some("123".into()),
            ..NewLead::named("X")
        })
        .await,
        "phone",
    );
    assert_invalid(
        bad(NewLead {
            lead_score: 101,
            ..NewLead::named("X")
        })
        .await,
        "lead_score",
    );
    assert_invalid(
        bad(NewLead {
            value: Decimal::new(-1, 0),
            ..NewLead::named("X")
        })
        .await,
        "value",
    );
    assert_not_found(
        bad(NewLead {
            stage_id: Some(f.b.stages[0].id),
            ..NewLead::named("X")
        })
        .await,
        "stage",
    );
    assert_not_found(
        bad(NewLead {
            pipeline_id: Some(f.a.pipeline_id()),
            stage_id: Some(uuid::Uuid::now_v7()),
            ..NewLead::named("X")
        })
        .await,
        "stage",
    );
    assert_not_found(
        bad(NewLead {
            assigned_user_id: Some(f.b.owner),
            ..NewLead::named("X")
        })
        .await,
        "member",
    );
}

#[tokio::test]
async fn updates_change_only_the_given_fields() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    f.tenant_a()
        .custom_fields()
        .define(&NewCustomField::new("cpf", "CPF", FieldType::Text))
        .await
        .unwrap();
    let lead = leads
        .create(&NewLead {
            email: Some("ana@example.com".into()),
            company: Some("ACME".into()),
            ..NewLead::named("Ana")
        })
        .await
        .unwrap();
    let updated = leads
        .update(
            lead.id,
            &LeadChanges {
                email: Some(None),
                lead_score: Some(80),
                value: Some(Decimal::new(999, 0)),
                status: Some((LeadStatus::Lost, Some("preço".into()))),
                custom_fields: Some(serde_json::json!({"cpf": "123"})),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.email, None);
    assert_eq!(updated.company.as_deref(), Some("ACME"));
    assert_eq!(updated.name, "Ana");
    assert_eq!(updated.lead_score, 80);
    assert_eq!(updated.status, LeadStatus::Lost);
    assert_eq!(updated.lost_reason.as_deref(), Some("preço"));
    assert!(updated.updated_at > lead.updated_at);

    let reopened = leads
        .update(
            lead.id,
            &LeadChanges {
                status: Some((LeadStatus::Open, None)),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(reopened.lost_reason, None);
    let bad_reason = LeadChanges {
        status: Some((LeadStatus::Won, Some("x".into()))),
        ..LeadChanges::default()
    };
    assert_invalid(leads.update(lead.id, &bad_reason).await, "lost_reason");
    let bad_email = LeadChanges {
        email: Some(Some("x".into())),
        ..LeadChanges::default()
    };
    assert_invalid(leads.update(lead.id, &bad_email).await, "email");
    assert_not_found(
        leads
            .update(uuid::Uuid::now_v7(), &LeadChanges::default())
            .await,
        "lead",
    );
}

#[tokio::test]
async fn a_deleted_lead_disappears_until_restored() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    let lead = leads.create(&NewLead::named("Ana Zebra")).await.unwrap();
    leads.delete(lead.id).await.unwrap();
    assert_not_found(leads.get(lead.id).await, "lead");
    assert_not_found(leads.delete(lead.id).await, "lead");
    assert!(leads.search("Zebra", 10).await.unwrap().is_empty());
    let page = leads
        .kanban_column(f.a.stages[0].id, None, 50)
        .await
        .unwrap();
    assert!(page.leads.is_empty());
    let restored = leads.restore(lead.id).await.unwrap();
    assert_eq!(restored.deleted_at, None);
    assert_not_found(leads.restore(lead.id).await, "deleted lead");
    assert_eq!(leads.search("zebra", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn moving_a_lead_records_its_stage_history_with_the_actor() {
    let f = fixture().await;
    let tenant = f.tenant_a().acting_as(f.a.agent);
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let moved = tenant
        .leads()
        .move_to_stage(lead.id, f.a.stages[3].id)
        .await
        .unwrap();
    assert_eq!(moved.stage_id, f.a.stages[3].id);
    assert!(moved.stage_changed_at > lead.stage_changed_at);
    let (other, other_stages) = tenant
        .pipelines()
        .create(
            "Outro",
            &[crmdb_store::ops::pipelines::NewStage::new(
                "Único",
                crmdb_store::models::StageType::Lead,
            )],
        )
        .await
        .unwrap();
    let across = tenant
        .leads()
        .move_to_stage(lead.id, other_stages[0].id)
        .await
        .unwrap();
    assert_eq!(across.pipeline_id, other.id);

    let mut conn = f.test_db.superuser_connect().await;
    let history = sqlx::query(
        "SELECT from_stage_id, to_stage_id, changed_by FROM lead_stage_history \
         WHERE organization_id = $1 AND lead_id = $2 ORDER BY changed_at, id",
    )
    .bind(f.a.id())
    .bind(lead.id)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(history.len(), 2);
    let first: (Option<uuid::Uuid>, Option<uuid::Uuid>, Option<uuid::Uuid>) =
        (history[0].get(0), history[0].get(1), history[0].get(2));
    assert_eq!(
        first,
        (
            Some(f.a.stages[0].id),
            Some(f.a.stages[3].id),
            Some(f.a.agent)
        )
    );

    assert_not_found(
        tenant
            .leads()
            .move_to_stage(lead.id, f.b.stages[0].id)
            .await,
        "stage",
    );
    assert_not_found(
        tenant
            .leads()
            .move_to_stage(uuid::Uuid::now_v7(), f.a.stages[0].id)
            .await,
        "lead",
    );
}

#[tokio::test]
async fn leads_are_assigned_favorited_and_tagged() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    let lead = leads.create(&NewLead::named("Ana")).await.unwrap();
    let assigned = leads.assign(lead.id, Some(f.a.agent)).await.unwrap();
    assert_eq!(assigned.assigned_user_id, Some(f.a.agent));
    assert_not_found(leads.assign(lead.id, Some(f.b.agent)).await, "member");
    assert_eq!(
        leads.assign(lead.id, None).await.unwrap().assigned_user_id,
        None
    );

    leads.favorite(lead.id, f.a.agent).await.unwrap();
    leads.favorite(lead.id, f.a.agent).await.unwrap();
    let favorites = leads.favorites(f.a.agent).await.unwrap();
    assert_eq!(
        favorites.iter().map(|l| l.id).collect::<Vec<_>>(),
        [lead.id]
    );
    assert_not_found(leads.favorite(lead.id, f.b.agent).await, "member");
    leads.unfavorite(lead.id, f.a.agent).await.unwrap();
    assert_not_found(leads.unfavorite(lead.id, f.a.agent).await, "favorite");
    assert!(leads.favorites(f.a.agent).await.unwrap().is_empty());

    let vip = leads.tag(lead.id, "VIP").await.unwrap();
    let again = leads.tag(lead.id, "VIP").await.unwrap();
    assert_eq!(vip.id, again.id, "the same tag is reused");
    leads.tag(lead.id, "Indicação").await.unwrap();
    let names: Vec<_> = leads
        .tags(lead.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Indicação", "VIP"]);
    leads.untag(lead.id, vip.id).await.unwrap();
    assert_not_found(leads.untag(lead.id, vip.id).await, "lead tag");
    assert_invalid(leads.tag(lead.id, "  ").await, "tag");
    assert_not_found(leads.tag(uuid::Uuid::now_v7(), "x").await, "lead");
}

#[tokio::test]
async fn search_finds_part_of_a_name_email_phone_or_company() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    leads
        .create(&NewLead {
            email: Some("mariana@florista.com.br".into()),
            phone: Some("+5511987654321".into()),
            company: Some("Floricultura Primavera".into()),
            ..NewLead::named("Mariana Lopes")
        })
        .await
        .unwrap();
    leads
        .create(&NewLead::named("Pedro 100%_Real"))
        .await
        .unwrap();
    for text in ["mariana", "LOPES", "florista.com", "98765", "primavera"] {
        let hits = leads.search(text, 10).await.unwrap();
        assert_eq!(hits.len(), 1, "{text}");
        assert_eq!(hits[0].name, "Mariana Lopes");
    }
    assert_eq!(
        leads.search("100%_", 10).await.unwrap().len(),
        1,
        "wildcards are literal"
    );
    assert!(leads.search("%", 10).await.unwrap().is_empty());
    assert!(f
        .tenant_b()
        .leads()
        .search("mariana", 10)
        .await
        .unwrap()
        .is_empty());
    assert_invalid(leads.search("  ", 10).await, "text");
    assert_invalid(leads.search("a", 0).await, "limit");
}

#[tokio::test]
async fn kanban_pages_walk_a_column_by_score_without_gaps_or_repeats() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    let stage = f.a.stages[1].id;
    let scores = [90, 50, 50, 50, 70, 10, 50];
    for (i, score) in scores.iter().enumerate() {
        leads
            .create(&NewLead {
                stage_id: Some(stage),
                lead_score: *score,
                value: Decimal::new(100 * (i as i64 + 1), 0),
                ..NewLead::named(format!("Lead {i}"))
            })
            .await
            .unwrap();
    }
    let won = leads
        .create(&NewLead {
            stage_id: Some(stage),
            ..NewLead::named("Won")
        })
        .await
        .unwrap();
    leads
        .update(
            won.id,
            &LeadChanges {
                status: Some((LeadStatus::Won, None)),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = leads.kanban_column(stage, cursor, 3).await.unwrap();
        seen.extend(page.leads.iter().map(|l| (l.lead_score, l.id)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), scores.len(), "open leads only, each once");
    let unique: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(unique.len(), seen.len());
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(seen, sorted, "score descending, then id");
    assert_invalid(leads.kanban_column(stage, None, 0).await, "limit");

    let summary = leads.kanban_summary(f.a.pipeline_id()).await.unwrap();
    assert_eq!(summary.len(), 5);
    assert_eq!(summary[1].lead_count, 7);
    assert_eq!(summary[1].total_value, Decimal::new(2800, 0));
    assert_eq!(summary[0].lead_count, 0);
    assert_eq!(summary[0].total_value, Decimal::ZERO);
    assert_not_found(leads.kanban_summary(uuid::Uuid::now_v7()).await, "pipeline");
}

#[tokio::test]
async fn my_leads_are_the_assigned_ones_most_recently_updated_first() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let leads = tenant.leads();
    let other = super::user(&f.db, "other@a.example").await;
    tenant
        .members()
        .add(other, MemberRole::Agent)
        .await
        .unwrap();
    let mut mine = Vec::new();
    for i in 0..3 {
        let lead = leads
            .create(&NewLead {
                assigned_user_id: Some(f.a.agent),
                ..NewLead::named(format!("M{i}"))
            })
            .await
            .unwrap();
        mine.push(lead.id);
    }
    leads
        .create(&NewLead {
            assigned_user_id: Some(other),
            ..NewLead::named("Theirs")
        })
        .await
        .unwrap();
    leads
        .update(
            mine[0],
            &LeadChanges {
                lead_score: Some(5),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();
    leads.delete(mine[1]).await.unwrap();
    let listed: Vec<_> = leads
        .my_leads(f.a.agent, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(listed, [mine[0], mine[2]]);
    assert_eq!(leads.my_leads(f.a.agent, 1).await.unwrap().len(), 1);
    assert_invalid(leads.my_leads(f.a.agent, 201).await, "limit");
}

/// Assigns `lead_id` to `assignee` while another transaction has it assigned to `meanwhile`
/// and not committed yet, committing that one once the assignment waits for the lead's row.
async fn assign_behind(f: &super::Fixture, lead_id: Uuid, meanwhile: Uuid, assignee: Uuid) {
    let tenant = f.tenant_a();
    let leads = tenant.leads();
    let mut first = tenant.begin().await.unwrap();
    crmdb_store::sql::query(
        "UPDATE leads SET assigned_user_id = $3 WHERE organization_id = $1 AND id = $2",
    )
    .bind(f.a.id())
    .bind(lead_id)
    .bind(meanwhile)
    .execute(&mut *first)
    .await
    .unwrap();
    let (assigned, ()) = tokio::join!(leads.assign(lead_id, Some(assignee)), async {
        let mut watcher = f.test_db.connect().await;
        for _ in 0..200 {
            let waiting: i64 =
                sqlx::query_scalar("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    .fetch_one(&mut watcher)
                    .await
                    .unwrap();
            if waiting > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        first.commit().await.unwrap();
    });
    assert_eq!(assigned.unwrap().assigned_user_id, Some(assignee));
}

/// How many `lead.assigned` notifications `user_id` has for `lead_id`.
async fn assigned_notices(tenant: &Tenant, user_id: Uuid, lead_id: Uuid) -> usize {
    tenant
        .acting_as(user_id)
        .notifications()
        .inbox(false, None, 200)
        .await
        .unwrap()
        .notifications
        .iter()
        .filter(|n| n.r#type == LEAD_ASSIGNED && n.payload["lead_id"] == lead_id.to_string())
        .count()
}

#[tokio::test]
async fn an_assignment_behind_another_sees_its_assignee() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    // Behind an assignment of the same member: no news, not a second notification.
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    assign_behind(&f, lead.id, f.a.agent, f.a.agent).await;
    assert_eq!(assigned_notices(&tenant, f.a.agent, lead.id).await, 0);

    // Behind an assignment to someone else: the member is the new assignee again, and told.
    let lead = tenant.leads().create(&NewLead::named("Bia")).await.unwrap();
    tenant
        .leads()
        .assign(lead.id, Some(f.a.agent))
        .await
        .unwrap();
    assert_eq!(assigned_notices(&tenant, f.a.agent, lead.id).await, 1);
    assign_behind(&f, lead.id, f.a.owner, f.a.agent).await;
    assert_eq!(assigned_notices(&tenant, f.a.agent, lead.id).await, 2);
}
