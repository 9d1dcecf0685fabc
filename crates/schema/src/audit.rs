//! `crmdb audit`: reads the live catalog of a database and reports, per table, every breach
//! of the schema conventions (docs: the schema catalog's "Conventions"). One rule per module
//! of `audit/rules/`.

mod access;
mod report;
mod rules;

use sqlx::PgConnection;

use crate::catalog::{ConstraintKind, Schema, Scope, Table};

pub use report::{AuditReport, Rule, Violation};
pub use rules::secret_columns::{NotSecret, NOT_SECRET};

/// The audit could not read the catalog, or there is no CRM schema to audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not read the database catalog")]
    Catalog(#[from] sqlx::Error),
    #[error(
        "the database {database} was never migrated by crmdb (it has no {history} table), so \
         there is no CRM schema to audit; point --database-url (or DATABASE_URL) at the CRM's \
         database, or run `crmdb migrate apply` first"
    )]
    NeverMigrated {
        database: String,
        history: &'static str,
    },
}

/// Audits the database `conn` is connected to. Reads only; any role that can read the
/// system catalogs may run it.
pub async fn run(conn: &mut PgConnection) -> Result<AuditReport, AuditError> {
    let schema = migrated(Schema::read(conn).await?)?;
    let access = access::load(conn).await?;
    Ok(check(schema, &access))
}

/// Audits inside the caller's open transaction, seeing its uncommitted changes: a test can
/// break something cluster-wide (a role) and roll it back without anyone else seeing it.
pub async fn run_within(tx: &mut PgConnection) -> Result<AuditReport, AuditError> {
    let schema = migrated(Schema::read_within(tx).await?)?;
    let access = access::load(tx).await?;
    Ok(check(schema, &access))
}

/// The schema of a database crmdb migrated: an empty or foreign database would otherwise
/// pass every rule, having no table to break one.
fn migrated(schema: Schema) -> Result<Schema, AuditError> {
    if schema.history.is_some() {
        Ok(schema)
    } else {
        Err(AuditError::NeverMigrated {
            database: schema.database.name,
            history: crmdb_migrate::HISTORY_TABLE,
        })
    }
}

fn check(mut schema: Schema, access: &access::Access) -> AuditReport {
    // A partitioned table is judged once, as its parent.
    schema.tables.retain(|_, t| !t.is_partition);
    let mut violations = rules::check(&schema);
    violations.extend(rules::check_access(&schema, access));
    violations.sort_by(|a, b| {
        (&a.table, a.rule.as_str(), &a.detail).cmp(&(&b.table, b.rule.as_str(), &b.detail))
    });
    let tables = || schema.tables.values();
    let count = |f: fn(&Table) -> usize| tables().map(f).sum();
    AuditReport {
        tables: schema.tables.len(),
        tenant_tables: tables()
            .filter(|t| t.scope() == Some(Scope::Tenant))
            .count(),
        indexes: count(|t| t.indexes.len()),
        constraints: count(|t| {
            t.constraints
                .iter()
                .filter(|c| c.kind != ConstraintKind::Trigger && c.kind != ConstraintKind::NotNull)
                .count()
        }),
        policies: count(|t| t.policies.len()),
        triggers: count(|t| t.triggers.len()),
        violations,
    }
}
