//! Isolation between organizations: through the API every id of another organization is
//! "not found" and nothing of it changes; under row-level security a raw query that forgets
//! its organization filter still sees one organization only.

use chrono::{Duration, Utc};
use crmdb_pg::ident::quote_ident;
use crmdb_store::models::{
    AiChannel, CalendarProvider, CalendarSyncStatus, Channel, CommunicationStatus,
    MarketingPlatform, MemberRole, SuccessMetric, TemplateCategory, TemplateChannel, VoipProvider,
    WhatsappProvider,
};
use crmdb_store::ops::ai::NewConversation;
use crmdb_store::ops::analytics::NewEvent;
use crmdb_store::ops::communications::OutboundMessage;
use crmdb_store::ops::integrations::{NewWhatsapp, OAuthTokens};
use crmdb_store::ops::jobs::NewJob;
use crmdb_store::ops::leads::{LeadChanges, NewLead};
use crmdb_store::ops::pipelines::NewStage;
use crmdb_store::ops::tasks::{NewTask, TaskChanges};
use crmdb_store::ops::templates::{NewTemplate, TemplateChanges};
use crmdb_store::ops::webhooks::WebhookChanges;
use rust_decimal::Decimal;
use secrecy::SecretString;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

use super::{assert_not_found, fixture, Fixture};

/// The tables with an `organization_id` column.
async fn tenant_tables(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.table_name::text FROM information_schema.columns AS c \
         JOIN information_schema.tables AS t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' \
           AND t.table_type = 'BASE TABLE' \
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap()
}

/// A digest of every row of `organization` in every tenant table, read as the superuser.
async fn snapshot(f: &Fixture, organization: Uuid) -> Vec<(String, i64, Option<String>)> {
    let mut conn = f.test_db.superuser_connect().await;
    let mut digest = Vec::new();
    for table in tenant_tables(&mut conn).await {
        let sql = format!(
            "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t \
             WHERE organization_id = $1",
            quote_ident(&table).unwrap()
        );
        let row = sqlx::query(&sql)
            .bind(organization)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        digest.push((table, row.get(0), row.get(1)));
    }
    digest
}

fn tokens() -> OAuthTokens {
    OAuthTokens {
        access_token: SecretString::from("access-b"),
        refresh_token: Some(SecretString::from("refresh-b")),
        expires_at: None,
    }
}

#[tokio::test]
async fn no_operation_of_organization_a_reaches_a_row_of_organization_b() {
    let f = fixture().await;
    let b = f.tenant_b();
    // One of everything in B.
    let (b_pipeline, b_stages) = b
        .pipelines()
        .create(
            "B extra",
            &[NewStage::new("S", crmdb_store::models::StageType::Lead)],
        )
        .await
        .unwrap();
    let lead = b
        .leads()
        .create(&NewLead {
            assigned_user_id: Some(f.b.agent),
            ..NewLead::named("Bia Secreta")
        })
        .await
        .unwrap();
    let tag = b.leads().tag(lead.id, "vip").await.unwrap();
    b.leads().favorite(lead.id, f.b.agent).await.unwrap();
    let invitation = b
        .members()
        .invite("new@b.example", MemberRole::Agent, None, Duration::days(1))
        .await
        .unwrap();
    let message = b
        .communications()
        .record_outbound(&OutboundMessage::text(lead.id, Channel::Email, "oi"))
        .await
        .unwrap();
    let note = b.notes().create(lead.id, None, "nota").await.unwrap();
    let task = b
        .tasks()
        .create(&NewTask {
            lead_id: Some(lead.id),
            ..NewTask::titled("t")
        })
        .await
        .unwrap();
    let template = b
        .templates()
        .create(&NewTemplate {
            name: "B".into(),
            category: TemplateCategory::Other,
            channel: TemplateChannel::Any,
            content: "Oi {{lead_name}}".into(),
            language: None,
        })
        .await
        .unwrap();
    let usage = b
        .templates()
        .record_usage(template.id, Some(lead.id), None)
        .await
        .unwrap();
    let conversation = b
        .conversations()
        .start(&NewConversation {
            session_id: "b-session".into(),
            channel: AiChannel::Whatsapp,
            lead_id: Some(lead.id),
            model: None,
        })
        .await
        .unwrap();
    let event = b
        .analytics()
        .record(&NewEvent::of_type("lead.created"))
        .await
        .unwrap();
    let webhook = b
        .webhooks()
        .create("https://b.example/hook", &["*".to_owned()], None)
        .await
        .unwrap();
    let key = b
        .api_keys()
        .create("openai", "b", &SecretString::from("sk-b-123456789"), None)
        .await
        .unwrap();
    let calendar = b
        .integrations()
        .connect_calendar(f.b.agent, CalendarProvider::Google, None, &tokens())
        .await
        .unwrap();
    let marketing = b
        .integrations()
        .connect_marketing(MarketingPlatform::Google, "b-ads", &tokens())
        .await
        .unwrap();
    let whatsapp = b
        .integrations()
        .connect_whatsapp(&NewWhatsapp {
            provider: WhatsappProvider::WebApi,
            phone_number: "+5521999990000".into(),
            phone_number_id: None,
            business_account_id: None,
            credentials: SecretString::from("b-wa"),
            webhook_verify_token: None,
        })
        .await
        .unwrap();
    let voip = b
        .integrations()
        .configure_voip(
            VoipProvider::Telnyx,
            "+5521988880000",
            &SecretString::from("b-voip"),
            Decimal::ZERO,
        )
        .await
        .unwrap();
    let job = b
        .jobs()
        .enqueue(&NewJob::of_type("b.job", serde_json::json!({})))
        .await
        .unwrap();

    let before = snapshot(&f, f.b.id()).await;
    let a = f.tenant_a().acting_as(f.a.owner);

    // Leads.
    let leads = a.leads();
    assert_not_found(leads.get(lead.id).await, "lead");
    assert_not_found(
        leads
            .update(
                lead.id,
                &LeadChanges {
                    name: Some("x".into()),
                    ..LeadChanges::default()
                },
            )
            .await,
        "lead",
    );
    assert_not_found(leads.delete(lead.id).await, "lead");
    assert_not_found(leads.restore(lead.id).await, "deleted lead");
    assert_not_found(leads.move_to_stage(lead.id, f.a.stages[1].id).await, "lead");
    assert_not_found(leads.move_to_stage(lead.id, b_stages[0].id).await, "stage");
    assert_not_found(leads.assign(lead.id, Some(f.a.agent)).await, "lead");
    assert_not_found(leads.favorite(lead.id, f.a.agent).await, "lead");
    assert_not_found(leads.unfavorite(lead.id, f.b.agent).await, "favorite");
    assert_not_found(leads.tag(lead.id, "x").await, "lead");
    assert_not_found(leads.tags(lead.id).await, "lead");
    assert_not_found(leads.untag(lead.id, tag.id).await, "lead tag");
    assert!(leads.favorites(f.b.agent).await.unwrap().is_empty());
    assert!(leads.search("Secreta", 10).await.unwrap().is_empty());
    assert!(leads
        .kanban_column(f.b.stages[0].id, None, 50)
        .await
        .unwrap()
        .leads
        .is_empty());
    assert_not_found(leads.kanban_summary(f.b.pipeline_id()).await, "pipeline");
    assert!(leads.my_leads(f.b.agent, 50).await.unwrap().is_empty());

    // Pipelines and stages.
    let pipelines = a.pipelines();
    assert_not_found(pipelines.get(b_pipeline.id).await, "pipeline");
    assert_not_found(pipelines.rename(b_pipeline.id, "x").await, "pipeline");
    assert_not_found(pipelines.delete(b_pipeline.id).await, "pipeline");
    assert_not_found(pipelines.stages(b_pipeline.id).await, "pipeline");
    assert_not_found(
        pipelines
            .add_stage(
                b_pipeline.id,
                &NewStage::new("x", crmdb_store::models::StageType::Lead),
            )
            .await,
        "pipeline",
    );
    assert_not_found(
        pipelines
            .reorder_stages(b_pipeline.id, &[b_stages[0].id])
            .await,
        "pipeline",
    );
    assert_not_found(pipelines.rename_stage(b_stages[0].id, "x").await, "stage");
    assert_not_found(pipelines.delete_stage(b_stages[0].id).await, "stage");
    assert!(pipelines
        .list()
        .await
        .unwrap()
        .iter()
        .all(|p| p.organization_id == f.a.id()));

    // Members and invitations.
    let members = a.members();
    assert_not_found(members.get(f.b.agent).await, "member");
    assert_not_found(
        members.change_role(f.b.agent, MemberRole::Owner).await,
        "member",
    );
    assert_not_found(members.remove(f.b.agent).await, "member");
    assert_not_found(
        members.revoke_invitation(invitation.invitation.id).await,
        "invitation",
    );
    let newcomer = super::user(&f.db, "new@b.example").await;
    assert_not_found(
        members.accept(&invitation.token, newcomer).await,
        "invitation",
    );
    assert!(members
        .list()
        .await
        .unwrap()
        .iter()
        .all(|m| m.organization_id == f.a.id()));
    assert!(members.pending_invitations().await.unwrap().is_empty());

    // Communications, notes, tasks.
    let comms = a.communications();
    assert_not_found(comms.get(message.id).await, "communication");
    assert_not_found(
        comms
            .set_status(message.id, CommunicationStatus::Read, None)
            .await,
        "communication",
    );
    assert_not_found(comms.delete(message.id).await, "communication");
    assert!(comms
        .timeline(lead.id, None, 50)
        .await
        .unwrap()
        .communications
        .is_empty());
    assert_not_found(
        comms
            .record_outbound(&OutboundMessage::text(lead.id, Channel::Email, "x"))
            .await,
        "lead",
    );
    let notes = a.notes();
    assert_not_found(notes.get(note.id).await, "note");
    assert_not_found(notes.update(note.id, "x").await, "note");
    assert_not_found(notes.pin(note.id, true).await, "note");
    assert_not_found(notes.delete(note.id).await, "note");
    assert_not_found(notes.create(lead.id, None, "x").await, "lead");
    assert!(notes.list(lead.id).await.unwrap().is_empty());
    let tasks = a.tasks();
    assert_not_found(tasks.get(task.id).await, "task");
    assert_not_found(
        tasks
            .update(
                task.id,
                &TaskChanges {
                    title: Some("x".into()),
                    ..TaskChanges::default()
                },
            )
            .await,
        "task",
    );
    assert_not_found(tasks.set_completed(task.id, true).await, "task");
    assert_not_found(tasks.delete(task.id).await, "task");
    assert!(tasks.for_lead(lead.id).await.unwrap().is_empty());

    // Templates.
    let templates = a.templates();
    assert_not_found(templates.get(template.id).await, "template");
    assert_not_found(
        templates
            .update(
                template.id,
                &TemplateChanges {
                    name: Some("x".into()),
                    ..TemplateChanges::default()
                },
            )
            .await,
        "template",
    );
    assert_not_found(templates.delete(template.id).await, "template");
    assert_not_found(templates.render(template.id, lead.id).await, "template");
    assert_not_found(
        templates.record_usage(template.id, None, None).await,
        "template",
    );
    assert_not_found(
        templates
            .record_outcome(usage.id, SuccessMetric::DealWon, true)
            .await,
        "template usage",
    );
    assert!(templates
        .list()
        .await
        .unwrap()
        .iter()
        .all(|t| t.organization_id == f.a.id()));

    // AI, analytics.
    let ai = a.conversations();
    assert_not_found(ai.get(conversation.id).await, "conversation");
    assert_not_found(ai.append(conversation.id, &[], 1).await, "conversation");
    assert_not_found(ai.qualify(conversation.id, 1, None).await, "conversation");
    assert_not_found(ai.delete(conversation.id).await, "conversation");
    assert!(ai.by_session("b-session", 10).await.unwrap().is_empty());
    assert_not_found(a.analytics().get(event.id).await, "event");
    assert!(a
        .analytics()
        .recent("lead.created", Utc::now() - Duration::days(1), 10)
        .await
        .unwrap()
        .is_empty());

    // Sealed things.
    let webhooks = a.webhooks();
    let hook = webhook.subscription.id;
    assert_not_found(webhooks.get(hook).await, "webhook subscription");
    assert_not_found(webhooks.secret(hook).await, "webhook subscription");
    assert_not_found(webhooks.rotate_secret(hook).await, "webhook subscription");
    assert_not_found(
        webhooks
            .update(
                hook,
                &WebhookChanges {
                    is_active: Some(false),
                    ..WebhookChanges::default()
                },
            )
            .await,
        "webhook subscription",
    );
    assert_not_found(webhooks.delete(hook).await, "webhook subscription");
    assert!(webhooks.list().await.unwrap().is_empty());
    let keys = a.api_keys();
    assert_not_found(keys.get(key.id).await, "api key");
    assert_not_found(keys.reveal(key.id).await, "api key");
    assert_not_found(keys.set_active(key.id, false).await, "api key");
    assert_not_found(keys.delete(key.id).await, "api key");
    assert!(keys.list().await.unwrap().is_empty());
    let integrations = a.integrations();
    assert_not_found(
        integrations.calendar(calendar.id).await,
        "calendar integration",
    );
    assert_not_found(
        integrations.calendar_tokens(calendar.id).await,
        "calendar integration",
    );
    assert_not_found(
        integrations
            .record_calendar_sync(calendar.id, CalendarSyncStatus::Active, None)
            .await,
        "calendar integration",
    );
    assert_not_found(
        integrations.disconnect_calendar(calendar.id).await,
        "calendar integration",
    );
    assert!(integrations.calendars().await.unwrap().is_empty());
    assert_not_found(
        integrations.marketing(marketing.id).await,
        "marketing integration",
    );
    assert_not_found(
        integrations.marketing_tokens(marketing.id).await,
        "marketing integration",
    );
    assert_not_found(
        integrations.record_import(marketing.id, 1).await,
        "marketing integration",
    );
    assert_not_found(
        integrations.disconnect_marketing(marketing.id).await,
        "marketing integration",
    );
    assert_not_found(
        integrations.whatsapp_credentials(whatsapp.id).await,
        "whatsapp config",
    );
    assert_not_found(integrations.voip_credentials(voip.id).await, "voip config");

    // Jobs.
    let jobs = a.jobs();
    assert_not_found(jobs.get(job.id).await, "job");
    assert_not_found(jobs.cancel(job.id).await, "queued job");
    assert_not_found(
        jobs.complete(job.id, "w").await,
        "running job held by this worker",
    );
    assert_not_found(
        jobs.fail(job.id, "w", "x").await,
        "running job held by this worker",
    );

    assert_eq!(snapshot(&f, f.b.id()).await, before, "nothing of B changed");
    assert_eq!(b.leads().get(lead.id).await.unwrap().name, "Bia Secreta");
}

#[tokio::test]
async fn a_raw_query_without_the_organization_filter_sees_one_organization() {
    let f = fixture().await;
    for (tenant, name) in [(f.tenant_a(), "Ana"), (f.tenant_b(), "Bia")] {
        let lead = tenant.leads().create(&NewLead::named(name)).await.unwrap();
        tenant.notes().create(lead.id, None, "n").await.unwrap();
        tenant
            .jobs()
            .enqueue(&NewJob::of_type("x.y", serde_json::json!({})))
            .await
            .unwrap();
    }
    let mut admin = f.test_db.superuser_connect().await;
    let tables = tenant_tables(&mut admin).await;
    let mut with_rows_of_both = 0;
    for table in &tables {
        let table = quote_ident(table).unwrap();
        let all: i64 = sqlx::query_scalar(&format!(
            "SELECT count(DISTINCT organization_id) FROM {table}"
        ))
        .fetch_one(&mut admin)
        .await
        .unwrap();
        if all == 2 {
            with_rows_of_both += 1;
        }
        let mut tx = f.tenant_a().begin().await.unwrap();
        let seen: Vec<Uuid> =
            crmdb_store::sql::query_scalar(format!("SELECT DISTINCT organization_id FROM {table}"))
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        assert!(
            seen.iter().all(|o| *o == f.a.id()),
            "{table} showed {seen:?}"
        );
        tx.rollback().await.unwrap();
    }
    assert!(
        with_rows_of_both >= 8,
        "the check saw rows of both organizations in many tables"
    );

    // Writing a row of B through A's transaction is refused by the policy.
    let mut tx = f.tenant_a().begin().await.unwrap();
    let refused =
        crmdb_store::sql::query("INSERT INTO tags (organization_id, name) VALUES ($1, 'intruso')")
            .bind(f.b.id())
            .execute(&mut *tx)
            .await
            .unwrap_err();
    assert_eq!(
        refused.sqlstate(),
        Some(crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE)
    );
    drop(tx);

    // Without an organization the application role sees nothing at all (fail closed).
    let mut conn = PgConnection::connect(&f.test_db.app_url().await)
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SET LOCAL ROLE crm_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(leads, 0);
    let row = sqlx::query("SELECT count(*) FROM search_leads($1, 'Ana', 10)")
        .bind(f.a.id())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(
        row.get::<i64, _>(0),
        0,
        "search_leads checks the organization setting"
    );
}
