//! Custom field definitions, and lead values checked against them on create and update.

use crmdb_store::models::FieldType;
use crmdb_store::ops::custom_fields::{CustomFieldChanges, NewCustomField};
use crmdb_store::ops::leads::{LeadChanges, NewLead};
use crmdb_store::{Error, Tenant};
use serde_json::json;

use super::{assert_conflict, assert_invalid, assert_not_found, fixture};

/// A required select `segment` (smb, enterprise) and an optional field of every other type.
async fn define_all(tenant: &Tenant) {
    let fields = tenant.custom_fields();
    let definitions = [
        NewCustomField {
            options: vec!["smb".into(), "enterprise".into()],
            is_required: true,
            position: 0,
            ..NewCustomField::new("segment", "Segment", FieldType::Select)
        },
        NewCustomField {
            position: 1,
            ..NewCustomField::new("budget", "Budget", FieldType::Number)
        },
        NewCustomField {
            position: 2,
            ..NewCustomField::new("birthday", "Birthday", FieldType::Date)
        },
        NewCustomField {
            position: 3,
            ..NewCustomField::new("vip", "VIP", FieldType::Boolean)
        },
        NewCustomField {
            position: 4,
            ..NewCustomField::new("notes", "Notes", FieldType::Text)
        },
        NewCustomField {
            options: vec!["email".into(), "phone".into()],
            position: 5,
            ..NewCustomField::new("channels", "Channels", FieldType::Multiselect)
        },
    ];
    for definition in &definitions {
        fields.define(definition).await.unwrap();
    }
}

fn lead_with(values: serde_json::Value) -> NewLead {
    NewLead {
        custom_fields: Some(values),
        ..NewLead::named("Ana")
    }
}

#[tokio::test]
async fn definitions_are_defined_listed_updated_and_deleted() {
    let f = fixture().await;
    let fields = f.tenant_a().custom_fields();
    let budget = fields
        .define(&NewCustomField {
            position: 2,
            ..NewCustomField::new("budget", "Budget", FieldType::Number)
        })
        .await
        .unwrap();
    let segment = fields
        .define(&NewCustomField {
            options: vec!["smb".into(), " enterprise ".into()],
            position: 1,
            ..NewCustomField::new("segment", "Segment", FieldType::Select)
        })
        .await
        .unwrap();
    assert_eq!(segment.options, json!(["smb", "enterprise"]), "trimmed");
    assert_eq!(budget.options, json!([]));
    let order: Vec<_> = fields
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.key)
        .collect();
    assert_eq!(order, ["segment", "budget"], "by position");

    let changed = fields
        .update(
            segment.id,
            &CustomFieldChanges {
                label: Some("Market segment".into()),
                options: Some(vec!["smb".into(), "mid".into()]),
                is_required: Some(true),
                position: Some(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.label, "Market segment");
    assert_eq!(changed.options, json!(["smb", "mid"]));
    assert!(changed.is_required);
    assert_eq!(fields.get(segment.id).await.unwrap(), changed);

    fields.delete(budget.id).await.unwrap();
    assert_not_found(fields.get(budget.id).await, "custom field");
    assert_not_found(fields.delete(budget.id).await, "custom field");
    assert_not_found(
        fields
            .update(budget.id, &CustomFieldChanges::default())
            .await,
        "custom field",
    );
}

#[tokio::test]
async fn bad_definitions_are_refused() {
    let f = fixture().await;
    let fields = f.tenant_a().custom_fields();
    let text = fields
        .define(&NewCustomField::new("notes", "Notes", FieldType::Text))
        .await
        .unwrap();
    assert_conflict(
        fields
            .define(&NewCustomField::new("notes", "Other", FieldType::Number))
            .await,
        "uq_custom_field_definitions_organization_id_entity_key",
    );
    for bad_key in ["Notes", "1st", "with-dash", ""] {
        assert_invalid(
            fields
                .define(&NewCustomField::new(bad_key, "X", FieldType::Text))
                .await,
            "key",
        );
    }
    assert_invalid(
        fields
            .define(&NewCustomField::new("empty_label", " ", FieldType::Text))
            .await,
        "label",
    );
    assert_invalid(
        fields
            .define(&NewCustomField {
                options: vec!["a".into()],
                ..NewCustomField::new("text_with_options", "X", FieldType::Text)
            })
            .await,
        "options",
    );
    for options in [vec![], vec!["a".into(), "a".into()], vec![" ".into()]] {
        assert_invalid(
            fields
                .define(&NewCustomField {
                    options,
                    ..NewCustomField::new("choice", "X", FieldType::Multiselect)
                })
                .await,
            "options",
        );
    }
    assert_invalid(
        fields
            .define(&NewCustomField {
                position: -1,
                ..NewCustomField::new("negative", "X", FieldType::Text)
            })
            .await,
        "position",
    );
    // The type is not known to the update: the schema's check answers, as `options`.
    assert_invalid(
        fields
            .update(
                text.id,
                &CustomFieldChanges {
                    options: Some(vec!["a".into()]),
                    ..CustomFieldChanges::default()
                },
            )
            .await,
        "options",
    );
    assert_invalid(
        fields
            .update(
                text.id,
                &CustomFieldChanges {
                    label: Some("".into()),
                    ..CustomFieldChanges::default()
                },
            )
            .await,
        "label",
    );
}

#[tokio::test]
async fn lead_values_of_every_type_are_accepted() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    define_all(&tenant).await;
    let values = json!({
        "segment": "smb",
        "budget": 1500.5,
        "birthday": "1990-02-28",
        "vip": true,
        "notes": "Prefers mornings",
        "channels": ["phone", "email"],
    });
    let lead = tenant
        .leads()
        .create(&lead_with(values.clone()))
        .await
        .unwrap();
    assert_eq!(lead.custom_fields, values);
    let updated = tenant
        .leads()
        .update(
            lead.id,
            &LeadChanges {
                custom_fields: Some(json!({"segment": "enterprise", "vip": null})),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.custom_fields,
        json!({"segment": "enterprise", "vip": null})
    );
    // An update that leaves the custom fields alone does not check them.
    tenant
        .leads()
        .update(
            lead.id,
            &LeadChanges {
                name: Some("Ana Souza".into()),
                ..LeadChanges::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_lead_values_are_refused_naming_the_field() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    define_all(&tenant).await;
    let leads = tenant.leads();
    let cases = [
        (
            json!({"segment": "smb", "unknown": 1}),
            "custom_fields.unknown",
        ),
        (
            json!({"segment": "smb", "budget": "1500"}),
            "custom_fields.budget",
        ),
        (
            json!({"segment": "smb", "birthday": "28/02/1990"}),
            "custom_fields.birthday",
        ),
        (json!({"segment": "smb", "vip": "yes"}), "custom_fields.vip"),
        (json!({"segment": "smb", "notes": 7}), "custom_fields.notes"),
        (json!({"segment": "mid"}), "custom_fields.segment"),
        (
            json!({"segment": "smb", "channels": ["fax"]}),
            "custom_fields.channels",
        ),
        (
            json!({"segment": "smb", "channels": ["email", "email"]}),
            "custom_fields.channels",
        ),
        (json!({"budget": 1}), "custom_fields.segment"),
        (json!([1, 2]), "custom_fields"),
    ];
    for (values, field) in &cases {
        assert_invalid(leads.create(&lead_with(values.clone())).await, field);
    }
    assert_invalid(
        leads.create(&NewLead::named("No fields")).await,
        "custom_fields.segment",
    );
    let lead = leads
        .create(&lead_with(json!({"segment": "smb"})))
        .await
        .unwrap();
    for (values, field) in &cases {
        let changes = LeadChanges {
            custom_fields: Some(values.clone()),
            ..LeadChanges::default()
        };
        assert_invalid(leads.update(lead.id, &changes).await, field);
    }
    assert_eq!(
        leads.get(lead.id).await.unwrap().custom_fields,
        json!({"segment": "smb"}),
        "refused updates changed nothing"
    );
}

#[tokio::test]
async fn definitions_are_isolated_between_organizations() {
    let f = fixture().await;
    let (a, b) = (f.tenant_a(), f.tenant_b());
    define_all(&a).await;
    let b_field = b
        .custom_fields()
        .define(&NewCustomField {
            is_required: true,
            ..NewCustomField::new("region", "Region", FieldType::Text)
        })
        .await
        .unwrap();
    let b_before = b.custom_fields().list().await.unwrap();

    // A's definitions do not apply to B's leads, nor B's to A's.
    b.leads()
        .create(&lead_with(json!({"region": "South"})))
        .await
        .unwrap();
    assert_invalid(
        b.leads()
            .create(&lead_with(json!({"region": "South", "segment": "smb"})))
            .await,
        "custom_fields.segment",
    );
    assert_invalid(
        a.leads()
            .create(&lead_with(json!({"segment": "smb", "region": "South"})))
            .await,
        "custom_fields.region",
    );

    // Through A's handle, B's definition does not exist.
    let a_fields = a.custom_fields();
    assert_not_found(a_fields.get(b_field.id).await, "custom field");
    assert_not_found(
        a_fields
            .update(
                b_field.id,
                &CustomFieldChanges {
                    is_required: Some(false),
                    ..CustomFieldChanges::default()
                },
            )
            .await,
        "custom field",
    );
    assert_not_found(a_fields.delete(b_field.id).await, "custom field");
    assert!(a_fields
        .list()
        .await
        .unwrap()
        .iter()
        .all(|d| d.organization_id == f.a.id()));
    // A key B uses is free in A.
    a_fields
        .define(&NewCustomField::new("region", "Region", FieldType::Text))
        .await
        .unwrap();

    assert_eq!(b.custom_fields().list().await.unwrap(), b_before);
}

#[tokio::test]
async fn a_stored_definition_that_does_not_decode_is_not_the_callers_fault() {
    let f = fixture().await;
    let leads = f.tenant_a().leads();
    let lead = leads.create(&NewLead::named("Ana")).await.unwrap();
    // Options the schema allows (a JSON array) but no choice field has: numbers.
    sqlx::query(
        "INSERT INTO custom_field_definitions (organization_id, key, label, field_type, options) \
         VALUES ($1, 'segment', 'Segment', 'select', '[1, 2]')",
    )
    .bind(f.a.id())
    .execute(&mut f.test_db.superuser_connect().await)
    .await
    .unwrap();
    let created = leads.create(&NewLead::named("Bia")).await;
    let updated = leads
        .update(
            lead.id,
            &LeadChanges {
                custom_fields: Some(json!({})),
                ..LeadChanges::default()
            },
        )
        .await;
    for result in [created.map(|_| ()), updated.map(|_| ())] {
        assert!(matches!(result, Err(Error::Database(_))), "{result:?}");
    }
    // Moving a lead reads no rules, so it is unaffected.
    leads
        .move_to_stage(lead.id, f.a.stages[1].id)
        .await
        .unwrap();
}
