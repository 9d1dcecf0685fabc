//! Custom fields: the extra fields an organization defines for its leads, and the check of
//! a lead's `custom_fields` values against those definitions, which lead create and update
//! run in the same transaction as their write.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value as JsonValue;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::db::{Tenant, TenantTx};
use crate::error::{entity, Error, Result};
use crate::models::{CustomFieldDefinition, FieldType};
use crate::sql::{query_as, query_scalar};
use crate::validate;

/// The longest value a text field holds, in characters.
pub const TEXT_MAX_CHARS: usize = 2000;

/// The organization's lead field definitions as the rules [`check_values`] applies, in one
/// JSON array: a scalar subquery of `$1` the organization. A literal, so statements that
/// read the rules — [`check_lead_values`], and lead create as a column of its placement
/// query — build on the one text with `concat!`.
macro_rules! lead_rules {
    () => {
        "(SELECT coalesce(jsonb_agg(jsonb_build_object(\
             'key', d.key, 'field_type', d.field_type, 'options', d.options, \
             'is_required', d.is_required)), '[]'::jsonb) \
          FROM custom_field_definitions AS d \
          WHERE d.organization_id = $1 AND d.entity = 'lead')"
    };
}
pub(crate) use lead_rules;

/// A field to define on the organization's leads.
#[derive(Debug, Clone)]
pub struct NewCustomField {
    /// The property name in `leads.custom_fields`: snake_case, 1 to 63 characters.
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    /// The choices of a select or multiselect field (non-empty, distinct); empty otherwise.
    pub options: Vec<String>,
    pub is_required: bool,
    /// The field's place in forms, from 0.
    pub position: i32,
}

impl NewCustomField {
    /// An optional field of `field_type` at position 0, without options.
    pub fn new(key: impl Into<String>, label: impl Into<String>, field_type: FieldType) -> Self {
        NewCustomField {
            key: key.into(),
            label: label.into(),
            field_type,
            options: Vec::new(),
            is_required: false,
            position: 0,
        }
    }
}

/// Changes to a field definition: `None` leaves a field as it is. The key and type are
/// fixed once defined, since lead values are stored under them.
#[derive(Debug, Clone, Default)]
pub struct CustomFieldChanges {
    pub label: Option<String>,
    /// The new choices of a select or multiselect field.
    pub options: Option<Vec<String>>,
    pub is_required: Option<bool>,
    pub position: Option<i32>,
}

/// The custom field definitions of one organization.
#[derive(Debug, Clone)]
pub struct CustomFields {
    tenant: Tenant,
}

impl Tenant {
    /// Custom field definitions.
    pub fn custom_fields(&self) -> CustomFields {
        CustomFields {
            tenant: self.clone(),
        }
    }
}

/// A field key: what the schema's `ck_custom_field_definitions_key` allows.
fn key(value: &str) -> Result<String> {
    let mut chars = value.chars();
    let valid = value.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(Error::invalid(
            "key",
            "must be snake_case: a lower-case letter, then up to 62 lower-case letters, digits or _",
        ));
    }
    Ok(value.to_owned())
}

/// The choices of a select or multiselect field: at least one, each non-blank (trimmed),
/// no two alike.
fn options(values: &[String]) -> Result<Vec<String>> {
    if values.is_empty() {
        return Err(Error::invalid(
            "options",
            "a select or multiselect field needs at least one option",
        ));
    }
    let mut seen = HashSet::new();
    values
        .iter()
        .map(|option| {
            let option = validate::required("options", option)?;
            if !seen.insert(option.clone()) {
                return Err(Error::invalid("options", "must not repeat an option"));
            }
            Ok(option)
        })
        .collect()
}

fn position(value: i32) -> Result<i32> {
    if value < 0 {
        return Err(Error::invalid("position", "must not be negative"));
    }
    Ok(value)
}

fn is_choice(field_type: FieldType) -> bool {
    matches!(field_type, FieldType::Select | FieldType::Multiselect)
}

/// The options check of the schema, for a definition whose type the operation did not know:
/// reported as the field the caller gave.
fn options_of_choice_fields(error: Error) -> Error {
    match error {
        Error::InvalidInput { field, .. } if field == "options_field_type" => {
            Error::invalid("options", "only select and multiselect fields have options")
        }
        other => other,
    }
}

impl CustomFields {
    /// Defines a lead field. A key already defined is a conflict on
    /// `uq_custom_field_definitions_organization_id_entity_key`.
    #[tracing::instrument(name = "custom_fields.define", skip_all, fields(key = %new.key))]
    pub async fn define(&self, new: &NewCustomField) -> Result<CustomFieldDefinition> {
        let key = key(&new.key)?;
        let label = validate::required("label", &new.label)?;
        let options = if is_choice(new.field_type) {
            options(&new.options)?
        } else if new.options.is_empty() {
            Vec::new()
        } else {
            return Err(Error::invalid(
                "options",
                "only select and multiselect fields have options",
            ));
        };
        let position = position(new.position)?;
        query_as(
            "INSERT INTO custom_field_definitions (organization_id, entity, key, label, \
                 field_type, options, is_required, position) \
             VALUES ($1, 'lead', $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(self.tenant.organization_id())
        .bind(key)
        .bind(label)
        .bind(new.field_type)
        .bind(JsonValue::from(options))
        .bind(new.is_required)
        .bind(position)
        .fetch_one(&self.tenant)
        .await
    }

    /// A field definition.
    #[tracing::instrument(name = "custom_fields.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<CustomFieldDefinition> {
        self.tenant
            .row_by_id(
                "SELECT * FROM custom_field_definitions WHERE organization_id = $1 AND id = $2",
                id,
                entity::CUSTOM_FIELD,
            )
            .await
    }

    /// Every lead field, in form order (position, then key).
    #[tracing::instrument(name = "custom_fields.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<CustomFieldDefinition>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM custom_field_definitions \
                 WHERE organization_id = $1 AND entity = 'lead' ORDER BY position, key",
            )
            .await
    }

    /// Applies `changes`. Values leads already hold are not re-checked: a removed option or
    /// a field made required is enforced on each lead's next change of its custom fields.
    #[tracing::instrument(name = "custom_fields.update", skip_all, fields(%id))]
    pub async fn update(
        &self,
        id: Uuid,
        changes: &CustomFieldChanges,
    ) -> Result<CustomFieldDefinition> {
        let label =
            validate::optional(changes.label.as_deref(), |l| validate::required("label", l))?;
        let options = validate::optional(changes.options.as_deref(), options)?;
        let position = validate::optional(changes.position, position)?;
        query_as(
            "UPDATE custom_field_definitions SET \
                 label = coalesce($3, label), \
                 options = coalesce($4, options), \
                 is_required = coalesce($5, is_required), \
                 position = coalesce($6, position) \
             WHERE organization_id = $1 AND id = $2 RETURNING *",
        )
        .bind(self.tenant.organization_id())
        .bind(id)
        .bind(label)
        .bind(options.map(JsonValue::from))
        .bind(changes.is_required)
        .bind(position)
        .fetch_optional(&self.tenant)
        .await
        .map_err(options_of_choice_fields)?
        .ok_or(Error::not_found(entity::CUSTOM_FIELD))
    }

    /// Deletes a field definition. Values leads hold under its key stay until each lead's
    /// next change of its custom fields, which refuses them as unknown.
    #[tracing::instrument(name = "custom_fields.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM custom_field_definitions WHERE organization_id = $1 AND id = $2",
                id,
                entity::CUSTOM_FIELD,
            )
            .await
    }
}

/// What a lead's custom field value must satisfy: one definition, as [`lead_rules!`] reads
/// it. Read as `Json<Vec<FieldRule>>`, so stored definitions that do not decode are the
/// driver's decoding error ([`Error::Database`]), a fault of the server's data, not of the
/// caller's input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct FieldRule {
    pub key: String,
    pub field_type: FieldType,
    pub options: Vec<String>,
    pub is_required: bool,
}

/// An invalid value of custom field `key`.
fn invalid_value(key: &str, rule: impl Into<Cow<'static, str>>) -> Error {
    Error::InvalidInput {
        field: Cow::Owned(format!("custom_fields.{key}")),
        rule: rule.into(),
    }
}

/// Checks a lead's whole `custom_fields` object against the organization's `rules`: every
/// key must be defined, every value of its field's type, every required field present.
/// `null` stands for no value. Errors name the field as `custom_fields.<key>`.
pub(crate) fn check_values(rules: &[FieldRule], values: &JsonValue) -> Result<()> {
    let Some(values) = values.as_object() else {
        return Err(Error::invalid("custom_fields", "must be a JSON object"));
    };
    for (key, value) in values {
        let Some(rule) = rules.iter().find(|r| &r.key == key) else {
            return Err(invalid_value(key, "is not a defined custom field"));
        };
        if !value.is_null() {
            check_value(rule, value)?;
        }
    }
    for rule in rules.iter().filter(|r| r.is_required) {
        if !values.get(&rule.key).is_some_and(has_value) {
            return Err(invalid_value(&rule.key, "is required"));
        }
    }
    Ok(())
}

/// Whether `value` fills a required field: not null, not blank text, not an empty choice.
fn has_value(value: &JsonValue) -> bool {
    match value {
        JsonValue::Null => false,
        JsonValue::String(text) => !text.trim().is_empty(),
        JsonValue::Array(items) => !items.is_empty(),
        _ => true,
    }
}

fn check_value(rule: &FieldRule, value: &JsonValue) -> Result<()> {
    let key = &rule.key;
    let one_of = |option: &JsonValue| {
        option
            .as_str()
            .is_some_and(|o| rule.options.iter().any(|known| known == o))
    };
    match rule.field_type {
        FieldType::Text => match value.as_str() {
            Some(text) if text.chars().count() <= TEXT_MAX_CHARS => Ok(()),
            Some(_) => Err(invalid_value(
                key,
                format!("must be at most {TEXT_MAX_CHARS} characters"),
            )),
            None => Err(invalid_value(key, "must be a string")),
        },
        FieldType::Number if value.is_number() => Ok(()),
        FieldType::Number => Err(invalid_value(key, "must be a number")),
        FieldType::Date if value.as_str().is_some_and(is_iso_date) => Ok(()),
        FieldType::Date => Err(invalid_value(key, "must be a date as a YYYY-MM-DD string")),
        FieldType::Boolean if value.is_boolean() => Ok(()),
        FieldType::Boolean => Err(invalid_value(key, "must be true or false")),
        FieldType::Select if one_of(value) => Ok(()),
        FieldType::Select => Err(invalid_value(key, "must be one of the field's options")),
        FieldType::Multiselect => {
            let Some(items) = value.as_array() else {
                return Err(invalid_value(
                    key,
                    "must be an array of the field's options",
                ));
            };
            if !items.iter().all(one_of) {
                return Err(invalid_value(key, "must hold only the field's options"));
            }
            let distinct: HashSet<&str> = items.iter().filter_map(JsonValue::as_str).collect();
            if distinct.len() != items.len() {
                return Err(invalid_value(key, "must not repeat an option"));
            }
            Ok(())
        }
    }
}

/// `YYYY-MM-DD`, a day that exists.
fn is_iso_date(text: &str) -> bool {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// Reads the organization's rules in `tx` (one round trip) and checks `values`, the whole
/// object a lead will hold, against them.
pub(crate) async fn check_lead_values(
    tx: &mut TenantTx,
    org: Uuid,
    values: &JsonValue,
) -> Result<()> {
    let Json(rules): Json<Vec<FieldRule>> = query_scalar(concat!("SELECT ", lead_rules!()))
        .bind(org)
        .fetch_one(&mut **tx)
        .await?;
    check_values(&rules, values)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(key: &str, field_type: FieldType, options: &[&str], is_required: bool) -> FieldRule {
        FieldRule {
            key: key.to_owned(),
            field_type,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            is_required,
        }
    }

    fn rules() -> Vec<FieldRule> {
        vec![
            rule("notes", FieldType::Text, &[], false),
            rule("budget", FieldType::Number, &[], false),
            rule("birthday", FieldType::Date, &[], false),
            rule("vip", FieldType::Boolean, &[], false),
            rule("segment", FieldType::Select, &["smb", "enterprise"], true),
            rule(
                "channels",
                FieldType::Multiselect,
                &["email", "phone"],
                false,
            ),
        ]
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::InvalidInput { field, .. } => field.into_owned(),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn values_of_every_type_pass() {
        let values = json!({
            "notes": "Prefers mornings",
            "budget": 1500.5,
            "birthday": "1990-02-28",
            "vip": true,
            "segment": "smb",
            "channels": ["phone", "email"],
        });
        check_values(&rules(), &values).unwrap();
        check_values(&rules(), &json!({"segment": "enterprise", "notes": null})).unwrap();
        check_values(&[], &json!({})).unwrap();
    }

    #[test]
    fn each_wrong_value_names_its_field() {
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
            (
                json!({"segment": "smb", "birthday": "1990-02-30"}),
                "custom_fields.birthday",
            ),
            (
                json!({"segment": "smb", "birthday": "1990-2-3"}),
                "custom_fields.birthday",
            ),
            (json!({"segment": "smb", "vip": "yes"}), "custom_fields.vip"),
            (
                json!({"segment": "smb", "notes": 42}),
                "custom_fields.notes",
            ),
            (json!({"segment": "mid"}), "custom_fields.segment"),
            (json!({"segment": ["smb"]}), "custom_fields.segment"),
            (
                json!({"segment": "smb", "channels": "email"}),
                "custom_fields.channels",
            ),
            (
                json!({"segment": "smb", "channels": ["fax"]}),
                "custom_fields.channels",
            ),
            (
                json!({"segment": "smb", "channels": ["email", "email"]}),
                "custom_fields.channels",
            ),
            (json!({}), "custom_fields.segment"),
            (json!({"segment": null}), "custom_fields.segment"),
            (
                json!({"segment": "smb", "notes": "x".repeat(TEXT_MAX_CHARS + 1)}),
                "custom_fields.notes",
            ),
            (json!(["segment"]), "custom_fields"),
        ];
        for (values, field) in cases {
            let error = check_values(&rules(), &values).unwrap_err();
            assert_eq!(field_of(error), field, "{values}");
        }
    }

    #[test]
    fn required_fields_need_a_real_value() {
        let rules = [
            rule("name", FieldType::Text, &[], true),
            rule("tags", FieldType::Multiselect, &["a"], true),
        ];
        for values in [
            json!({"name": " ", "tags": ["a"]}),
            json!({"name": "x", "tags": []}),
        ] {
            assert!(check_values(&rules, &values).is_err(), "{values}");
        }
        check_values(&rules, &json!({"name": "x", "tags": ["a"]})).unwrap();
    }

    #[test]
    fn keys_and_options_are_checked_before_the_database() {
        assert!(key("budget_2024").is_ok());
        for bad in ["", "Budget", "2budget", "budget-x", &"a".repeat(64)] {
            assert_eq!(field_of(key(bad).unwrap_err()), "key", "{bad}");
        }
        assert_eq!(options(&[" a ".into(), "b".into()]).unwrap(), ["a", "b"]);
        assert!(options(&[]).is_err());
        assert!(options(&["a".into(), "a ".into()]).is_err());
        assert!(options(&["".into()]).is_err());
    }

    #[test]
    fn rules_decode_from_the_aggregate() {
        let decoded: Vec<FieldRule> = serde_json::from_value(json!([
            {"key": "segment", "field_type": "select", "options": ["smb"], "is_required": true}
        ]))
        .unwrap();
        assert_eq!(
            decoded,
            [rule("segment", FieldType::Select, &["smb"], true)]
        );
        assert!(serde_json::from_value::<Vec<FieldRule>>(json!([]))
            .unwrap()
            .is_empty());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn field_type() -> impl Strategy<Value = FieldType> {
            prop::sample::select(FieldType::ALL.to_vec())
        }

        /// A value of `field_type` that its rule (options "a", "b", "c") accepts.
        fn valid_value(field_type: FieldType) -> BoxedStrategy<JsonValue> {
            match field_type {
                FieldType::Text => "[^\u{0}]{0,40}".prop_map(JsonValue::from).boxed(),
                FieldType::Number => any::<i64>().prop_map(JsonValue::from).boxed(),
                FieldType::Date => (1i32..=9999, 1u32..=12, 1u32..=28)
                    .prop_map(|(y, m, d)| json!(format!("{y:04}-{m:02}-{d:02}")))
                    .boxed(),
                FieldType::Boolean => any::<bool>().prop_map(JsonValue::from).boxed(),
                FieldType::Select => prop::sample::select(vec!["a", "b", "c"])
                    .prop_map(JsonValue::from)
                    .boxed(),
                FieldType::Multiselect => prop::sample::subsequence(vec!["a", "b", "c"], 0..=3)
                    .prop_map(JsonValue::from)
                    .boxed(),
            }
        }

        fn choice_options(field_type: FieldType) -> &'static [&'static str] {
            if is_choice(field_type) {
                &["a", "b", "c"]
            } else {
                &[]
            }
        }

        proptest! {
            #[test]
            fn a_valid_value_of_each_type_passes(
                (field_type, value) in field_type().prop_flat_map(|t| (Just(t), valid_value(t)))
            ) {
                let rules = [rule("field", field_type, choice_options(field_type), false)];
                let values = json!({ "field": value });
                prop_assert!(check_values(&rules, &values).is_ok(), "{}", values);
            }

            #[test]
            fn a_key_without_a_definition_is_refused(
                unknown in "[a-z][a-z0-9_]{0,20}",
                field_type in field_type(),
            ) {
                prop_assume!(unknown != "field");
                let rules = [rule("field", field_type, choice_options(field_type), false)];
                let error = check_values(&rules, &json!({ unknown.clone(): true })).unwrap_err();
                prop_assert_eq!(field_of(error), format!("custom_fields.{unknown}"));
            }

            #[test]
            fn a_value_of_another_type_is_refused(
                field_type in field_type(),
                other in field_type(),
                seed in any::<u64>(),
            ) {
                // Text takes any string, so a date or select value is also text; numbers,
                // booleans and arrays are each only their own type.
                let distinct_json_kind = |t: FieldType| match t {
                    FieldType::Text | FieldType::Date | FieldType::Select => "string",
                    FieldType::Number => "number",
                    FieldType::Boolean => "boolean",
                    FieldType::Multiselect => "array",
                };
                prop_assume!(distinct_json_kind(field_type) != distinct_json_kind(other));
                let value = match other {
                    FieldType::Number => json!(seed),
                    FieldType::Boolean => json!(seed % 2 == 0),
                    FieldType::Multiselect => json!(["a"]),
                    _ => json!("a"),
                };
                let rules = [rule("field", field_type, choice_options(field_type), false)];
                let values = json!({ "field": value });
                prop_assert!(check_values(&rules, &values).is_err(), "{}", values);
            }
        }
    }
}
