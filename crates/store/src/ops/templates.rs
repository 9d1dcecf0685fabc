//! Message templates: create and update (their `variables` kept equal to the
//! `{{placeholders}}` of the content), render for a lead, record uses and outcomes, and the
//! performance report.

use crate::sql::{query, query_as, query_scalar, row_struct};
use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::{
    MessageTemplate, SuccessMetric, TemplateCategory, TemplateChannel, TemplateUsage,
};
use crate::validate;

/// A template to create.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub name: String,
    pub category: TemplateCategory,
    pub channel: TemplateChannel,
    /// The body, with `{{variable}}` placeholders.
    pub content: String,
    /// `pt-BR` when not given.
    pub language: Option<String>,
}

/// Changes to a template: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TemplateChanges {
    pub name: Option<String>,
    pub category: Option<TemplateCategory>,
    pub channel: Option<TemplateChannel>,
    pub content: Option<String>,
    pub is_active: Option<bool>,
}

/// A template rendered for one lead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rendered {
    pub template_id: Uuid,
    pub content: String,
}

row_struct! {
    /// Uses and successes of one template over a period (hot query 6).
    #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
    pub struct TemplatePerformance {
        pub template_id: Uuid,
        pub name: String,
        pub uses: i64,
        pub successes: i64,
    }
}

/// The variables every template can use, filled from the lead, its organization, its
/// assignee and its next meeting. Custom fields of the organization add their keys.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "lead_name",
    "first_name",
    "email",
    "phone",
    "company",
    "job_title",
    "value",
    "organization_name",
    "agent_name",
    "meeting_date",
    "meeting_time",
    "meeting_url",
];

/// The message templates of one organization.
#[derive(Debug, Clone)]
pub struct Templates {
    tenant: Tenant,
}

impl Tenant {
    /// Message templates.
    pub fn templates(&self) -> Templates {
        Templates {
            tenant: self.clone(),
        }
    }
}

/// The placeholders of `content` as the schema stores them: a sorted array of names.
fn variables(content: &str) -> JsonValue {
    let mut names = crmdb_seed::template::placeholders(content);
    names.sort_unstable();
    JsonValue::from(names)
}

row_struct! {
    /// What rendering reads about a lead, in one row.
    struct LeadContext {
        lead_name: String,
        email: Option<String>,
        phone: Option<String>,
        company: Option<String>,
        job_title: Option<String>,
        value: Decimal,
        currency: String,
        custom_fields: JsonValue,
        organization_name: String,
        agent_name: Option<String>,
        meeting_date: Option<String>,
        meeting_time: Option<String>,
        meeting_url: Option<String>,
    }
}

impl Templates {
    /// Creates a template; its `variables` are the placeholders of `content`.
    #[tracing::instrument(name = "templates.create", skip_all)]
    pub async fn create(&self, new: &NewTemplate) -> Result<MessageTemplate> {
        let name = validate::required("name", &new.name)?;
        let content = validate::required("content", &new.content)?;
        let org = self.tenant.organization_id();
        query_as(
            "INSERT INTO message_templates (organization_id, name, category, channel, \
                         content, variables, language) \
                     VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 'pt-BR')) RETURNING *",
        )
        .bind(org)
        .bind(&name)
        .bind(new.category)
        .bind(new.channel)
        .bind(&content)
        .bind(variables(&content))
        .bind(&new.language)
        .fetch_one(&self.tenant)
        .await
    }

    /// A template.
    #[tracing::instrument(name = "templates.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<MessageTemplate> {
        self.tenant
            .row_by_id(
                "SELECT * FROM message_templates WHERE organization_id = $1 AND id = $2",
                id,
                entity::TEMPLATE,
            )
            .await
    }

    /// Every template, by name.
    #[tracing::instrument(name = "templates.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<MessageTemplate>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM message_templates WHERE organization_id = $1 ORDER BY name, id",
            )
            .await
    }

    /// Applies `changes`; new content brings its variables along.
    #[tracing::instrument(name = "templates.update", skip_all, fields(%id))]
    pub async fn update(&self, id: Uuid, changes: &TemplateChanges) -> Result<MessageTemplate> {
        let name = validate::optional(changes.name.as_deref(), |n| validate::required("name", n))?;
        let content = validate::optional(changes.content.as_deref(), |c| {
            validate::required("content", c)
        })?;
        let vars = content.as_deref().map(variables);
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE message_templates SET \
                         name = coalesce($3, name), \
                         category = coalesce($4, category), \
                         channel = coalesce($5, channel), \
                         content = coalesce($6, content), \
                         variables = coalesce($7, variables), \
                         is_active = coalesce($8, is_active) \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&name)
                .bind(changes.category)
                .bind(changes.channel)
                .bind(&content)
                .bind(&vars)
                .bind(changes.is_active)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::TEMPLATE))
            })
            .await
    }

    /// Deletes a template (messages sent with it keep their text; its statistics go).
    #[tracing::instrument(name = "templates.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM message_templates WHERE organization_id = $1 AND id = $2",
                id,
                entity::TEMPLATE,
            )
            .await
    }

    /// Renders an active template for a lead. A placeholder that is neither a built-in
    /// variable ([`BUILTIN_VARIABLES`]) nor a custom field (defined, or set on the lead), or
    /// one the lead has no value for, is an [`Error::InvalidInput`] naming it.
    #[tracing::instrument(name = "templates.render", skip_all, fields(%id, %lead_id))]
    pub async fn render(&self, id: Uuid, lead_id: Uuid) -> Result<Rendered> {
        let org = self.tenant.organization_id();
        let (template, lead, custom_keys) = self
            .tenant
            .read(async |tx| {
                let template: MessageTemplate = query_as(
                    "SELECT * FROM message_templates WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::TEMPLATE))?;
                let lead: LeadContext = query_as(
                    "SELECT l.name AS lead_name, l.email, l.phone, l.company, l.job_title, \
                            l.value, l.currency, l.custom_fields, \
                            o.name AS organization_name, u.full_name AS agent_name, \
                            to_char(e.starts_at AT TIME ZONE o.timezone, 'DD/MM/YYYY') AS meeting_date, \
                            to_char(e.starts_at AT TIME ZONE o.timezone, 'HH24:MI') AS meeting_time, \
                            e.meeting_url \
                     FROM leads AS l \
                     JOIN organizations AS o ON o.id = l.organization_id \
                     LEFT JOIN users AS u ON u.id = l.assigned_user_id \
                     LEFT JOIN LATERAL ( \
                         SELECT starts_at, meeting_url FROM calendar_events AS c \
                         WHERE c.organization_id = l.organization_id AND c.lead_id = l.id \
                           AND c.status <> 'cancelled' AND c.starts_at >= now() \
                         ORDER BY c.starts_at LIMIT 1) AS e ON true \
                     WHERE l.organization_id = $1 AND l.id = $2 AND l.deleted_at IS NULL",
                )
                .bind(org)
                .bind(lead_id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::LEAD))?;
                let custom_keys: Vec<String> = query_scalar(
                    "SELECT key FROM custom_field_definitions \
                     WHERE organization_id = $1 AND entity = 'lead'",
                )
                .bind(org)
                .fetch_all(&mut **tx)
                .await?;
                Ok((template, lead, custom_keys))
            })
            .await?;
        if !template.is_active {
            return Err(Error::forbidden("the template is inactive"));
        }
        let values = lead_values(&lead);
        let mut unknown = None;
        let content = crmdb_seed::template::render(&template.content, |name| {
            let known = BUILTIN_VARIABLES.contains(&name)
                || custom_keys.iter().any(|k| k == name)
                || values.contains_key(name);
            if !known {
                unknown.get_or_insert_with(|| name.to_owned());
            }
            values.get(name).cloned()
        });
        match (content, unknown) {
            (Ok(content), _) => Ok(Rendered {
                template_id: id,
                content,
            }),
            (Err(_), Some(name)) => Err(Error::InvalidInput {
                field: name.into(),
                rule: "is not a known template variable".into(),
            }),
            (Err(name), None) => Err(Error::InvalidInput {
                field: name.to_owned().into(),
                rule: "has no value for this lead".into(),
            }),
        }
    }

    /// Records one use of a template (for a lead, by a member) and counts it on the template.
    #[tracing::instrument(
        name = "templates.record_usage",
        skip_all,
        fields(
            %template_id,
            lead_id = lead_id.map(tracing::field::display),
            user_id = user_id.map(tracing::field::display),
        )
    )]
    pub async fn record_usage(
        &self,
        template_id: Uuid,
        lead_id: Option<Uuid>,
        user_id: Option<Uuid>,
    ) -> Result<TemplateUsage> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let counted = query(
                    "UPDATE message_templates SET usage_count = usage_count + 1 \
                     WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(template_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if counted == 0 {
                    return Err(Error::not_found(entity::TEMPLATE));
                }
                query_as(
                    "INSERT INTO template_usage_stats (organization_id, template_id, lead_id, user_id) \
                     VALUES ($1, $2, $3, $4) RETURNING *",
                )
                .bind(org)
                .bind(template_id)
                .bind(lead_id)
                .bind(user_id)
                .fetch_one(Last(tx))
                .await
                .map_err(|e| {
                    e
                        .missing_parent("fk_template_usage_stats_leads", entity::LEAD)
                        .missing_parent(
                            "fk_template_usage_stats_organization_members",
                            entity::MEMBER,
                        )
                })
            })
            .await
    }

    /// Records what a use led to.
    #[tracing::instrument(name = "templates.record_outcome", skip_all, fields(%usage_id))]
    pub async fn record_outcome(
        &self,
        usage_id: Uuid,
        metric: SuccessMetric,
        success: bool,
    ) -> Result<TemplateUsage> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE template_usage_stats SET success_metric = $3, success_value = $4 \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(usage_id)
                .bind(metric)
                .bind(success)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::TEMPLATE_USAGE))
            })
            .await
    }

    /// Uses and successes per template over the last `days` days, most used first.
    #[tracing::instrument(name = "templates.performance", skip_all)]
    pub async fn performance(&self, days: i32) -> Result<Vec<TemplatePerformance>> {
        if !(1..=366).contains(&days) {
            return Err(Error::invalid("days", "must be between 1 and 366"));
        }
        let org = self.tenant.organization_id();
        query_as(hot::TEMPLATE_PERFORMANCE)
            .bind(org)
            .bind(Utc::now() - Duration::days(i64::from(days)))
            .fetch_all(&self.tenant)
            .await
    }
}

/// The values of the variables a lead has.
fn lead_values(lead: &LeadContext) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            values.insert(name.to_owned(), value);
        }
    };
    put(
        "first_name",
        lead.lead_name.split_whitespace().next().map(str::to_owned),
    );
    put("lead_name", Some(lead.lead_name.clone()));
    put("email", lead.email.clone());
    put("phone", lead.phone.clone());
    put("company", lead.company.clone());
    put("job_title", lead.job_title.clone());
    put("value", Some(money(lead.value, &lead.currency)));
    put("organization_name", Some(lead.organization_name.clone()));
    put("agent_name", lead.agent_name.clone());
    put("meeting_date", lead.meeting_date.clone());
    put("meeting_time", lead.meeting_time.clone());
    put("meeting_url", lead.meeting_url.clone());
    if let JsonValue::Object(fields) = &lead.custom_fields {
        for (key, value) in fields {
            let text = match value {
                JsonValue::String(s) => Some(s.clone()),
                JsonValue::Number(n) => Some(n.to_string()),
                JsonValue::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            put(key, text);
        }
    }
    values
}

/// A money amount the Brazilian way: `R$ 1.234,56` for BRL, `USD 1.234,56` otherwise.
fn money(value: Decimal, currency: &str) -> String {
    let cents = value.round_dp(2);
    let text = format!("{cents:.2}");
    let (units, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let symbol = if currency == "BRL" { "R$" } else { currency };
    format!("{symbol} {grouped},{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_the_brazilian_way() {
        assert_eq!(money(Decimal::new(123456, 2), "BRL"), "R$ 1.234,56");
        assert_eq!(money(Decimal::new(5, 0), "USD"), "USD 5,00");
        assert_eq!(money(Decimal::new(100000000, 2), "BRL"), "R$ 1.000.000,00");
    }

    #[test]
    fn variables_are_sorted_placeholders() {
        assert_eq!(
            variables("{{value}} e {{lead_name}} e {{value}}"),
            serde_json::json!(["lead_name", "value"])
        );
    }
}
