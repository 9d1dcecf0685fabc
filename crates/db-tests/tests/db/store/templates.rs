//! Message templates: variables, rendering for a lead, usage and performance.

use crmdb_store::models::{FieldType, SuccessMetric, TemplateCategory, TemplateChannel};
use crmdb_store::ops::custom_fields::NewCustomField;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::templates::{NewTemplate, TemplateChanges};
use crmdb_store::Error;
use rust_decimal::Decimal;

use super::{assert_conflict, assert_forbidden, assert_invalid, assert_not_found, fixture};

fn template(content: &str) -> NewTemplate {
    NewTemplate {
        name: "Proposta curta".into(),
        category: TemplateCategory::Proposal,
        channel: TemplateChannel::Whatsapp,
        content: content.into(),
        language: None,
    }
}

#[tokio::test]
async fn a_template_keeps_its_variables_equal_to_its_placeholders() {
    let f = fixture().await;
    let templates = f.tenant_a().templates();
    let created = templates
        .create(&template(
            "Oi {{first_name}}, segue a proposta de {{value}} da {{ organization_name }}.",
        ))
        .await
        .unwrap();
    assert_eq!(
        created.variables,
        serde_json::json!(["first_name", "organization_name", "value"])
    );
    let updated = templates
        .update(
            created.id,
            &TemplateChanges {
                content: Some("Oi {{lead_name}}!".into()),
                ..TemplateChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.variables, serde_json::json!(["lead_name"]));
    assert_eq!(updated.name, "Proposta curta");
    assert_eq!(templates.get(created.id).await.unwrap(), updated);
    assert_conflict(
        templates.create(&template("x")).await,
        "uq_message_templates_organization_id_name",
    );
    assert_invalid(
        templates
            .create(&NewTemplate {
                name: "Vazio".into(),
                ..template(" ")
            })
            .await,
        "content",
    );
    templates.delete(created.id).await.unwrap();
    assert_not_found(templates.delete(created.id).await, "template");
    assert_not_found(templates.get(created.id).await, "template");
}

#[tokio::test]
async fn rendering_fills_variables_from_the_lead_or_names_the_one_missing() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let templates = tenant.templates();
    tenant
        .custom_fields()
        .define(&NewCustomField::new("plano", "Plano", FieldType::Text))
        .await
        .unwrap();
    let lead = tenant
        .leads()
        .create(&NewLead {
            value: Decimal::new(123456, 2),
            custom_fields: Some(serde_json::json!({"plano": "Ouro"})),
            ..NewLead::named("Ana Souza")
        })
        .await
        .unwrap();
    let proposal = templates
        .create(&template(
            "Oi {{first_name}}, a proposta de {{value}} da {{organization_name}} está pronta.",
        ))
        .await
        .unwrap();
    let rendered = templates.render(proposal.id, lead.id).await.unwrap();
    assert_eq!(
        rendered.content,
        "Oi Ana, a proposta de R$ 1.234,56 da Org a está pronta."
    );

    let with_agent = templates
        .create(&NewTemplate {
            name: "Agente".into(),
            ..template("Sou {{agent_name}}.")
        })
        .await
        .unwrap();
    match templates.render(with_agent.id, lead.id).await {
        Err(Error::InvalidInput { field, rule }) => {
            assert_eq!(field, "agent_name");
            assert!(rule.contains("no value"), "{rule}");
        }
        other => panic!("{other:?}"),
    }
    tenant
        .leads()
        .assign(lead.id, Some(f.a.agent))
        .await
        .unwrap();
    assert_eq!(
        templates
            .render(with_agent.id, lead.id)
            .await
            .unwrap()
            .content,
        "Sou User agent@a.example."
    );

    let unknown = templates
        .create(&NewTemplate {
            name: "Desconhecida".into(),
            ..template("Plano {{plano}} e {{cupom}}")
        })
        .await
        .unwrap();
    match templates.render(unknown.id, lead.id).await {
        Err(Error::InvalidInput { field, rule }) => {
            assert_eq!(field, "cupom");
            assert!(rule.contains("not a known"), "{rule}");
        }
        other => panic!("{other:?}"),
    }

    templates
        .update(
            with_agent.id,
            &TemplateChanges {
                is_active: Some(false),
                ..TemplateChanges::default()
            },
        )
        .await
        .unwrap();
    assert_forbidden(templates.render(with_agent.id, lead.id).await);
    assert_not_found(
        templates.render(proposal.id, uuid::Uuid::now_v7()).await,
        "lead",
    );
    assert_not_found(
        templates.render(uuid::Uuid::now_v7(), lead.id).await,
        "template",
    );
}

#[tokio::test]
async fn uses_and_outcomes_feed_the_performance_report() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let templates = tenant.templates();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let t = templates
        .create(&template("Oi {{lead_name}}"))
        .await
        .unwrap();
    let first = templates
        .record_usage(t.id, Some(lead.id), Some(f.a.agent))
        .await
        .unwrap();
    templates
        .record_usage(t.id, Some(lead.id), None)
        .await
        .unwrap();
    templates.record_usage(t.id, None, None).await.unwrap();
    let marked = templates
        .record_outcome(first.id, SuccessMetric::ResponseReceived, true)
        .await
        .unwrap();
    assert_eq!(marked.success_metric, Some(SuccessMetric::ResponseReceived));
    assert_eq!(templates.get(t.id).await.unwrap().usage_count, 3);

    let report = templates.performance(30).await.unwrap();
    let row = report.iter().find(|r| r.template_id == t.id).unwrap();
    assert_eq!((row.uses, row.successes), (3, 1));
    assert_eq!(report[0].template_id, t.id, "most used first");
    assert!(report
        .iter()
        .filter(|r| r.template_id != t.id)
        .all(|r| r.uses == 0));

    assert_not_found(
        templates
            .record_usage(uuid::Uuid::now_v7(), None, None)
            .await,
        "template",
    );
    assert_not_found(
        templates
            .record_usage(t.id, Some(uuid::Uuid::now_v7()), None)
            .await,
        "lead",
    );
    assert_not_found(
        templates.record_usage(t.id, None, Some(f.b.agent)).await,
        "member",
    );
    assert_not_found(
        templates
            .record_outcome(uuid::Uuid::now_v7(), SuccessMetric::DealWon, true)
            .await,
        "template usage",
    );
    assert_invalid(templates.performance(0).await, "days");
}
