//! LGPD (Lei 13.709/2018, art. 18): a data subject's access and portability (`export`) and
//! erasure (`erase`) across every tenant table, each in one tenant transaction as the
//! application role. Which rows are about the subject is read from the live catalog, so a
//! new table or column joins without a change here:
//!
//! - the subject's leads (by id, by e-mail case-insensitively, or by the phone's digits);
//! - rows of every table with a foreign key to `leads` that points at one of them, and rows
//!   that reference such a row (training data drawn from the subject's AI conversation);
//! - rows that name a lead through an `(entity_type, entity_id)` pair (the audit log);
//! - rows whose personal-data columns (the map of migration 0012: `pii: contact`,
//!   `identifier` or `content`) contain one of the subject's e-mails, phones or lead ids
//!   (a webhook payload, a notification, a job).
//!
//! Erasure deletes the leads and the rows that cascade from them, and blanks the
//! personal-data columns of every other row about the subject (a counted analytics event
//! stays, without its payload). Table and column names come from the catalog and are
//! quoted with `crmdb_pg::ident::quote_ident`; every value is bound.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crmdb_schema::catalog::{OnDelete, Schema, Scope, Table};
use crmdb_schema::pii::Pii;
use serde::Serialize;
use serde_json::{json, Value as JsonValue};
use uuid::Uuid;

use crate::catalog_sql::{is_secret, json_object, may, order_by, quote};
use crate::db::{Tenant, TenantTx};
use crate::error::Result;
use crate::ops::audit::{self, Entry};
use crate::sql::{query, query_as, query_scalar};

/// Whom a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// One lead, by id.
    Lead(Uuid),
    /// Every lead with this e-mail (compared case-insensitively).
    Email(String),
    /// Every lead whose phone has these digits, however it is formatted.
    Phone(String),
}

/// Everything the organization holds about a subject: the answer to an access or
/// portability request. Rows are JSON objects as the table stores them, but for secrets
/// (`bytea` ciphertexts and `_hash` columns), which are the organization's, not the subject's.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    pub organization_id: Uuid,
    pub subject: Subject,
    /// The newest migration this data layer was built for.
    pub schema_version: Option<i64>,
    pub exported_at: DateTime<Utc>,
    /// The subject's leads, sorted.
    pub leads: Vec<Uuid>,
    /// Table → its rows about the subject, ordered by primary key; tables without any are
    /// left out.
    pub tables: BTreeMap<String, Vec<JsonValue>>,
}

/// What an erasure changed (or, dry, would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    pub organization_id: Uuid,
    pub dry_run: bool,
    /// The subject's leads, deleted.
    pub leads: Vec<Uuid>,
    /// Table → rows deleted and anonymised; tables untouched are left out.
    pub tables: BTreeMap<String, TableErasure>,
}

impl Erasure {
    /// Whether the erasure found nothing left to change.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableErasure {
    pub deleted: u64,
    pub anonymised: u64,
}

/// The audit-log action an erasure records (with counts only, never whom).
pub const ERASED_ACTION: &str = "privacy.erased";

/// The audit-log action an export records (with counts only, never whom): that the
/// organization answered an access request, for its own accountability (LGPD art. 37).
pub const EXPORTED_ACTION: &str = "privacy.exported";

/// The data-subject requests of one organization.
#[derive(Debug, Clone)]
pub struct Privacy {
    tenant: Tenant,
}

impl Tenant {
    /// LGPD data-subject requests: export and erasure.
    pub fn privacy(&self) -> Privacy {
        Privacy {
            tenant: self.clone(),
        }
    }
}

/// The subject's leads, and the `LIKE` patterns of the lower-case strings whose presence in
/// a personal-data column makes a row theirs.
struct Found {
    leads: Vec<Uuid>,
    patterns: Vec<String>,
}

const LEADS_BY_ID: &str = "SELECT id, email, phone FROM leads \
                           WHERE organization_id = $1 AND id = $2";
const LEADS_BY_EMAIL: &str = "SELECT id, email, phone FROM leads \
                              WHERE organization_id = $1 AND lower(email) = lower($2) ORDER BY id";
const LEADS_BY_PHONE: &str = "SELECT id, email, phone FROM leads \
                              WHERE organization_id = $1 AND $2 <> '' \
                                AND regexp_replace(phone, '\\D', '', 'g') = $2 ORDER BY id";

/// Insert of the erasure's own audit entry: who erased, when, and how many rows per table.
const RECORD_ERASURE: &str = "INSERT INTO audit_logs \
     (organization_id, actor_user_id, action, entity_type, changes) \
     VALUES ($1, NULLIF(current_setting('app.current_user_id', true), '')::uuid, $2, 'lead', $3)";

/// `%needle%` with the needle's own `%`, `_` and backslash escaped: a pattern that matches text
/// containing it.
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

async fn find(tx: &mut TenantTx, subject: &Subject) -> Result<Found> {
    let org = tx.organization_id();
    let rows: Vec<(Uuid, Option<String>, Option<String>)> = match subject {
        Subject::Lead(id) => {
            query_as(LEADS_BY_ID)
                .bind(org)
                .bind(id)
                .fetch_all(&mut **tx)
                .await?
        }
        Subject::Email(email) => {
            query_as(LEADS_BY_EMAIL)
                .bind(org)
                .bind(email.trim())
                .fetch_all(&mut **tx)
                .await?
        }
        Subject::Phone(phone) => {
            query_as(LEADS_BY_PHONE)
                .bind(org)
                .bind(digits(phone))
                .fetch_all(&mut **tx)
                .await?
        }
    };
    let mut needles = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim().to_lowercase();
        // A needle shorter than a real e-mail or phone would match unrelated text.
        if s.chars().count() >= 6 && !needles.contains(&s) {
            needles.push(s);
        }
    };
    match subject {
        Subject::Lead(id) => add(&id.to_string()),
        Subject::Email(email) => add(email),
        Subject::Phone(phone) => {
            add(phone);
            add(&digits(phone));
        }
    }
    let mut leads = Vec::new();
    for (id, email, phone) in rows {
        leads.push(id);
        add(&id.to_string());
        if let Some(email) = email {
            add(&email);
        }
        if let Some(phone) = phone {
            add(&phone);
            add(&digits(&phone));
        }
    }
    let patterns = needles.iter().map(|n| contains_pattern(n)).collect();
    Ok(Found { leads, patterns })
}

/// The statements of one tenant table, built from its catalog entry. `$1` is the
/// organization, `$2` the subject's leads (`uuid[]`), `$3` the needles as `LIKE` patterns
/// (`text[]`): one array comparison per row, about three times cheaper than a search per
/// needle over an organization's million communications.
struct TablePlan {
    table: String,
    /// Rows about the subject.
    about: String,
    /// Rows that go with the subject's leads: the leads themselves and the rows of a
    /// cascading foreign key to them. `None` when the table has no such rows.
    owned: Option<String>,
    /// Personal-data columns the application may update, with the expression (over the row
    /// `t`) that blanks each.
    blanks: Vec<(String, Blank)>,
    /// The exported row as a JSON object: every column the application may read but
    /// secrets (ciphertexts and hashes), which are the organization's, not the subject's.
    row: String,
    order_by: String,
}

/// How a personal-data column is blanked: the value set, and the test that it already is
/// (so a second erasure counts nothing). NULL where allowed, else the emptiest value of its
/// type; an erased text reads `erased-<uuid>`, unique because a provider id may be part of a
/// unique key.
struct Blank {
    value: String,
    is_blank: String,
}

fn blank(column: &str, data_type: &str, not_null: bool) -> Blank {
    let (value, is_blank) = if !not_null {
        ("NULL".to_owned(), format!("{column} IS NULL"))
    } else if data_type.ends_with("[]") {
        ("'{}'".to_owned(), format!("{column} = '{{}}'"))
    } else if data_type == "jsonb" || data_type == "json" {
        (
            format!(
                "CASE jsonb_typeof({column}::jsonb) WHEN 'array' THEN '[]'::jsonb \
                 ELSE '{{}}'::jsonb END"
            ),
            format!("{column}::jsonb IN ('{{}}'::jsonb, '[]'::jsonb)"),
        )
    } else {
        (
            "'erased-' || gen_random_uuid()".to_owned(),
            format!("{column}::text LIKE 'erased-%'"),
        )
    };
    Blank { value, is_blank }
}

/// The columns of `table` that reference `target`'s `id` (through its foreign keys), each
/// with the foreign key's `ON DELETE`.
fn id_references<'t>(table: &'t Table, target: &str) -> Vec<(&'t str, OnDelete)> {
    table
        .foreign_keys()
        .filter(|(_, fk)| fk.table == target)
        .filter_map(|(constraint, fk)| {
            let at = fk.columns.iter().position(|c| c == "id")?;
            Some((constraint.columns[at].as_str(), fk.on_delete))
        })
        .collect()
}

impl TablePlan {
    fn of(table: &Table, schema: &Schema) -> Result<Option<TablePlan>> {
        let mut about = Vec::new();
        let mut owned = Vec::new();
        if table.name == "leads" {
            owned.push("t.id = ANY($2)".to_owned());
        }
        for (column, on_delete) in id_references(table, "leads") {
            let test = format!("t.{} = ANY($2)", quote(column)?);
            if on_delete == OnDelete::Cascade {
                owned.push(test);
            } else {
                about.push(test);
            }
        }
        // One step further: a row that references a row about the subject (training data
        // drawn from their AI conversation) is about them too.
        for (constraint, fk) in table.foreign_keys() {
            let Some(parent) = schema.tables.get(&fk.table).filter(|p| p.name != "leads") else {
                continue;
            };
            let parent_tests = id_references(parent, "leads")
                .into_iter()
                .map(|(column, _)| Ok(format!("p.{} = ANY($2)", quote(column)?)))
                .collect::<Result<Vec<_>>>()?;
            let Some(at) = fk.columns.iter().position(|c| c == "id") else {
                continue;
            };
            if parent_tests.is_empty() {
                continue;
            }
            about.push(format!(
                "t.{} IN (SELECT p.id FROM {} AS p WHERE p.organization_id = $1 AND ({}))",
                quote(&constraint.columns[at])?,
                quote(&parent.name)?,
                parent_tests.join(" OR ")
            ));
        }
        if table.column("entity_type").is_some() && table.column("entity_id").is_some() {
            about.push("(t.entity_type = 'lead' AND t.entity_id = ANY($2))".to_owned());
        }
        let personal: Vec<_> = table
            .columns
            .iter()
            .filter(|c| c.pii().is_some_and(Pii::is_personal) && may(table, "SELECT", &c.name))
            .collect();
        if !personal.is_empty() {
            let text = personal
                .iter()
                .map(|c| Ok(format!("t.{}::text", quote(&c.name)?)))
                .collect::<Result<Vec<_>>>()?
                .join(", ");
            about.push(format!(
                "lower(concat_ws(' ', {text})) LIKE ANY($3::text[])"
            ));
        }
        about.extend(owned.iter().cloned());
        if about.is_empty() {
            return Ok(None);
        }
        let blanks = personal
            .iter()
            .filter(|c| may(table, "UPDATE", &c.name))
            .map(|c| {
                let name = quote(&c.name)?;
                let value = blank(&format!("t.{name}"), &c.data_type, c.not_null);
                Ok((name, value))
            })
            .collect::<Result<Vec<_>>>()?;
        let exported: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !is_secret(&c.name, &c.data_type) && may(table, "SELECT", &c.name))
            .map(|c| c.name.clone())
            .collect();
        Ok(Some(TablePlan {
            table: quote(&table.name)?,
            about: about.join(" OR "),
            owned: (!owned.is_empty()).then(|| owned.join(" OR ")),
            blanks,
            row: json_object(&exported)?,
            order_by: order_by(table)?,
        }))
    }

    fn export(&self) -> String {
        format!(
            "SELECT {} FROM {} AS t WHERE t.organization_id = $1 AND ({}) ORDER BY {}",
            self.row, self.table, self.about, self.order_by
        )
    }

    /// Blanks the personal-data columns of the rows about the subject that stay, where
    /// anything is left to blank (so a second erasure counts nothing).
    fn anonymise(&self) -> Option<String> {
        if self.blanks.is_empty() {
            return None;
        }
        let set = self
            .blanks
            .iter()
            .map(|(c, b)| format!("{c} = {}", b.value))
            .collect::<Vec<_>>()
            .join(", ");
        let changed = self
            .blanks
            .iter()
            .map(|(_, b)| format!("NOT ({})", b.is_blank))
            .collect::<Vec<_>>()
            .join(" OR ");
        let kept = match &self.owned {
            Some(owned) => format!(" AND NOT coalesce({owned}, false)"),
            None => String::new(),
        };
        Some(format!(
            "UPDATE {} AS t SET {set} WHERE t.organization_id = $1 AND ({}){kept} AND ({changed})",
            self.table, self.about
        ))
    }

    fn delete(&self) -> Option<String> {
        self.owned.as_ref().map(|owned| {
            format!(
                "DELETE FROM {} AS t WHERE t.organization_id = $1 AND ({owned})",
                self.table
            )
        })
    }
}

/// The plans of every tenant table that can hold rows about a subject, by table name (the
/// leads last among deletions, so that their cascades count under their own tables).
async fn plans(tenant: &Tenant) -> Result<BTreeMap<String, TablePlan>> {
    let schema: Schema = tenant.db().catalog().await?;
    let mut plans = BTreeMap::new();
    for table in schema.tables.values() {
        if table.scope() != Some(Scope::Tenant) {
            continue;
        }
        if let Some(plan) = TablePlan::of(table, &schema)? {
            plans.insert(table.name.clone(), plan);
        }
    }
    Ok(plans)
}

impl Privacy {
    /// Every row about `subject` in every tenant table of the organization (LGPD art. 18,
    /// II and V: access and portability).
    #[tracing::instrument(name = "privacy.export", skip_all)]
    pub async fn export(&self, subject: &Subject) -> Result<SubjectExport> {
        let subject = subject.clone();
        let plans = plans(&self.tenant).await?;
        self.tenant
            .write(async |tx| {
                let found = find(tx, &subject).await?;
                let mut tables = BTreeMap::new();
                for (name, plan) in plans {
                    let rows: Vec<JsonValue> = query_scalar(plan.export())
                        .bind(tx.organization_id())
                        .bind(&found.leads)
                        .bind(&found.patterns)
                        .fetch_all(&mut **tx)
                        .await?;
                    if !rows.is_empty() {
                        tables.insert(name, rows);
                    }
                }
                let org = tx.organization_id();
                audit::record(
                    tx,
                    org,
                    Entry::new(EXPORTED_ACTION, "lead", None).with_changes(json!({
                        "leads": found.leads.len(),
                        "tables": tables.len(),
                    })),
                );
                Ok(SubjectExport {
                    organization_id: tx.organization_id(),
                    subject: subject.clone(),
                    schema_version: crmdb_schema::migrations()
                        .ok()
                        .and_then(|m| m.latest_version()),
                    exported_at: Utc::now(),
                    leads: found.leads,
                    tables,
                })
            })
            .await
    }

    /// Deletes the subject's leads and what cascades from them, and blanks the personal-data
    /// columns of every other row about them, in one transaction (LGPD art. 18, VI). Records
    /// the erasure in the audit log with counts only. `dry_run` does the same work and rolls
    /// it back, so the counts are exact. A second erasure finds nothing and records nothing.
    #[tracing::instrument(name = "privacy.erase", skip_all, fields(dry_run))]
    pub async fn erase(&self, subject: &Subject, dry_run: bool) -> Result<Erasure> {
        let subject = subject.clone();
        let plans = plans(&self.tenant).await?;
        let mut tx = self.tenant.begin().await?;
        let org = tx.organization_id();
        let found = find(&mut tx, &subject).await?;
        let mut tables: BTreeMap<String, TableErasure> = BTreeMap::new();
        for (name, plan) in &plans {
            if let Some(sql) = plan.anonymise() {
                let done = query(&sql)
                    .bind(org)
                    .bind(&found.leads)
                    .bind(&found.patterns)
                    .execute(&mut *tx)
                    .await?;
                tables.entry(name.clone()).or_default().anonymised = done.rows_affected();
            }
        }
        let deletions = plans
            .iter()
            .filter(|(name, _)| *name != "leads")
            .chain(plans.get_key_value("leads"));
        for (name, plan) in deletions {
            if let Some(sql) = plan.delete() {
                let done = query(&sql)
                    .bind(org)
                    .bind(&found.leads)
                    .execute(&mut *tx)
                    .await?;
                tables.entry(name.clone()).or_default().deleted = done.rows_affected();
            }
        }
        tables.retain(|_, t| t.deleted + t.anonymised > 0);
        let erasure = Erasure {
            organization_id: org,
            dry_run,
            leads: found.leads,
            tables,
        };
        if dry_run {
            tx.rollback().await?;
            return Ok(erasure);
        }
        if !erasure.is_empty() {
            let counts =
                serde_json::json!({ "leads": erasure.leads.len(), "tables": erasure.tables });
            query(RECORD_ERASURE)
                .bind(org)
                .bind(ERASED_ACTION)
                .bind(counts)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(erasure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_respect_nullability_and_type() {
        assert_eq!(blank("t.c", "text", false).value, "NULL");
        assert_eq!(blank("t.c", "text", false).is_blank, "t.c IS NULL");
        assert_eq!(
            blank("t.c", "text", true).is_blank,
            "t.c::text LIKE 'erased-%'"
        );
        assert_eq!(blank("t.c", "text[]", true).value, "'{}'");
        assert!(blank("t.c", "jsonb", true)
            .value
            .contains("jsonb_typeof(t.c::jsonb)"));
    }

    #[test]
    fn patterns_match_the_needle_literally() {
        assert_eq!(contains_pattern("ana_souza@x.com"), "%ana\\_souza@x.com%");
        assert_eq!(contains_pattern("100%\\"), "%100\\%\\\\%");
    }

    #[test]
    fn phone_digits_ignore_formatting() {
        assert_eq!(digits("+55 (11) 99999-0000"), "5511999990000");
    }
}
