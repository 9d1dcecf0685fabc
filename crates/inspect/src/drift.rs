//! Schema drift: the live database's schema against the one its migrations produce, built in
//! a scratch database on the same server (`crm_drift_<random>`, dropped afterwards). Each
//! schema is flattened into named facts (`column leads.name` → its type, nullability and
//! default); a fact missing, unexpected or different is one difference.

use std::collections::BTreeMap;

use crmdb_migrate::{Migrations, Migrator, Options};
use rand::Rng;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crmdb_schema::catalog::{Grant, Schema};

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The migrations create it; the live database lacks it.
    Missing,
    /// The live database has it; no migration creates it.
    Unexpected,
    /// Both have it, defined differently.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What differs, e.g. `column leads.name` or `policy leads.tenant_isolation`.
    pub object: String,
    pub change: Change,
    /// As the migrations define it.
    pub expected: Option<String>,
    /// As the live database has it.
    pub actual: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.change {
            Change::Missing => write!(f, "missing {}", self.object),
            Change::Unexpected => write!(f, "unexpected {}", self.object),
            Change::Changed => write!(
                f,
                "changed {}: expected {} but found {}",
                self.object,
                self.expected.as_deref().unwrap_or_default(),
                self.actual.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// Compares the live database with a scratch database migrated from `migrations`.
pub async fn check(
    live: &PgConnectOptions,
    migrations: Migrations,
) -> Result<Vec<Difference>, Error> {
    let mut conn = PgConnection::connect_with(live)
        .await
        .map_err(Error::Catalog)?;
    let actual = Schema::read(&mut conn).await.map_err(Error::Catalog);
    conn.close().await.ok();
    let expected = scratch_schema(live, migrations).await?;
    Ok(diff(&expected, &actual?))
}

/// The schema `migrations` produce: applied to a new scratch database on the server of
/// `server`, read, and the database dropped again.
pub async fn scratch_schema(
    server: &PgConnectOptions,
    migrations: Migrations,
) -> Result<Schema, Error> {
    let mut conn = PgConnection::connect_with(server)
        .await
        .map_err(Error::Catalog)?;
    let name = format!("crm_drift_{:016x}", rand::thread_rng().gen::<u64>());
    crmdb_pg::create_database(&mut conn, &name, Some("template0"))
        .await
        .map_err(|source| Error::Scratch {
            action: "create",
            name: name.clone(),
            source,
        })?;
    let schema = migrated_schema(server.clone().database(&name), migrations).await;
    let dropped = crmdb_pg::drop_database(&mut conn, &name)
        .await
        .map_err(|source| Error::Scratch {
            action: "drop",
            name,
            source,
        });
    conn.close().await.ok();
    let schema = schema?;
    dropped?;
    Ok(schema)
}

async fn migrated_schema(
    scratch: PgConnectOptions,
    migrations: Migrations,
) -> Result<Schema, Error> {
    let options = Options {
        client: concat!("crmdb drift ", env!("CARGO_PKG_VERSION")).to_owned(),
        ..Options::default()
    };
    crmdb_schema::roles::prepare_database(&scratch).await?;
    Migrator::new(migrations, options)
        .apply(&scratch, None)
        .await?;
    let mut conn = PgConnection::connect_with(&scratch)
        .await
        .map_err(Error::Catalog)?;
    let schema = Schema::read(&mut conn).await.map_err(Error::Catalog);
    conn.close().await.ok();
    schema
}

/// Every difference between two schemas, ordered by object.
pub fn diff(expected: &Schema, actual: &Schema) -> Vec<Difference> {
    let expected = facts(expected);
    let mut actual = facts(actual);
    let mut differences = Vec::new();
    for (object, want) in expected {
        match actual.remove(&object) {
            None => differences.push(Difference {
                object,
                change: Change::Missing,
                expected: Some(want),
                actual: None,
            }),
            Some(have) if have != want => differences.push(Difference {
                object,
                change: Change::Changed,
                expected: Some(want),
                actual: Some(have),
            }),
            Some(_) => {}
        }
    }
    differences.extend(actual.into_iter().map(|(object, have)| Difference {
        object,
        change: Change::Unexpected,
        expected: None,
        actual: Some(have),
    }));
    differences.sort_by(|a, b| a.object.cmp(&b.object));
    differences
}

/// The schema as named facts: one per object, whose value is its definition.
fn facts(schema: &Schema) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    for (name, table) in &schema.tables {
        facts.insert(format!("table {name}"), "table".to_owned());
        let rls = match (table.rls_enabled, table.rls_forced) {
            (true, true) => "enabled, forced",
            (true, false) => "enabled",
            (false, true) => "forced but not enabled",
            (false, false) => "disabled",
        };
        facts.insert(format!("row level security of {name}"), rls.to_owned());
        if let Some(comment) = &table.comment {
            facts.insert(format!("comment on table {name}"), comment.clone());
        }
        for column in &table.columns {
            let mut definition = column.data_type.clone();
            if column.not_null {
                definition.push_str(" NOT NULL");
            }
            if let Some(default) = &column.default {
                definition.push_str(&format!(" DEFAULT {default}"));
            }
            if let Some(generated) = &column.generated {
                definition.push_str(&format!(" GENERATED {generated}"));
            }
            facts.insert(format!("column {name}.{}", column.name), definition);
            if let Some(comment) = &column.comment {
                facts.insert(
                    format!("comment on column {name}.{}", column.name),
                    comment.clone(),
                );
            }
        }
        for constraint in &table.constraints {
            facts.insert(
                format!("constraint {name}.{}", constraint.name),
                constraint.definition.clone(),
            );
        }
        for index in &table.indexes {
            facts.insert(format!("index {name}.{}", index.name), index.text());
        }
        for trigger in &table.triggers {
            facts.insert(format!("trigger {name}.{}", trigger.name), trigger.text());
        }
        for policy in &table.policies {
            facts.insert(format!("policy {name}.{}", policy.name), policy.text());
        }
        for (grantee, privileges) in Grant::by_grantee(&table.grants) {
            facts.insert(
                format!("grant on table {name} to {grantee}"),
                privileges.join(", "),
            );
        }
    }
    for (name, definition) in &schema.views {
        facts.insert(format!("view {name}"), definition.clone());
    }
    for (signature, function) in &schema.functions {
        facts.insert(format!("function {signature}"), function.definition.clone());
        if let Some(comment) = &function.comment {
            facts.insert(format!("comment on function {signature}"), comment.clone());
        }
        for (grantee, privileges) in Grant::by_grantee(&function.grants) {
            facts.insert(
                format!("grant on function {signature} to {grantee}"),
                privileges.join(", "),
            );
        }
    }
    facts
}
