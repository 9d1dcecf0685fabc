//! `crmdb audit`: reads the live catalog of a database and reports, per table, every breach
//! of the schema conventions (docs: the schema catalog's "Conventions"). One rule per module
//! of `audit/rules/`.

mod access;
mod catalog;
mod rules;

use serde::Serialize;
use sqlx::PgConnection;

pub use rules::secret_columns::{NotSecret, NOT_SECRET};

/// What the audit found. The field names are part of the `--json` contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// Audited tables: schema `public`, without the migration history and extension tables.
    pub tables: usize,
    pub tenant_tables: usize,
    /// Indexes, constraints (primary key, foreign key, unique, check, exclusion), policies
    /// and user triggers of the audited tables: the size of the schema, for the record.
    pub indexes: usize,
    pub constraints: usize,
    pub policies: usize,
    pub triggers: usize,
    /// Sorted by table, rule name, detail.
    pub violations: Vec<Violation>,
}

/// One breach of one rule by one table (or, for the privilege rules, by one role or
/// function: `role crm_app`, `function search_leads(uuid,text,integer)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub table: String,
    pub rule: Rule,
    pub detail: String,
}

/// The audit's rules; serialized as their stable snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The comment declares the scope; a tenant table has `organization_id uuid NOT NULL`,
    /// its cascading foreign key to organizations, and a primary key that starts with it.
    Scope,
    /// A foreign key to a tenant table starts with `organization_id` on both sides.
    TenantFk,
    /// A foreign key is served by a full index that starts with its columns.
    FkIndex,
    /// A tenant table has row-level security enabled, forced, and at least one policy.
    Rls,
    /// A table with `updated_at` has a BEFORE UPDATE row trigger calling `set_updated_at()`.
    UpdatedAtTrigger,
    /// A column named like a secret stores a hash, a ciphertext (`bytea`) or a hint.
    SecretColumns,
    /// No index duplicates another, or is a leading prefix of another.
    RedundantIndex,
    /// Constraints, indexes and triggers are named `pk_`, `fk_`, `uq_`, `ck_`, `ex_`, `idx_`,
    /// `trg_` + table.
    Naming,
    /// The roles exist, none is SUPERUSER, BYPASSRLS or LOGIN; the logins handed out are
    /// NOINHERIT.
    Roles,
    /// Table and column privileges equal the privilege model.
    Privileges,
    /// The SECURITY DEFINER functions are the model's: owned by crm_owner, `search_path`
    /// pinned, executable by their role only.
    DefinerFunctions,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Scope => "scope",
            Rule::TenantFk => "tenant_fk",
            Rule::FkIndex => "fk_index",
            Rule::Rls => "rls",
            Rule::UpdatedAtTrigger => "updated_at_trigger",
            Rule::SecretColumns => "secret_columns",
            Rule::RedundantIndex => "redundant_index",
            Rule::Naming => "naming",
            Rule::Roles => "roles",
            Rule::Privileges => "privileges",
            Rule::DefinerFunctions => "definer_functions",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The audit could not read the catalog.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("could not read the database catalog")]
    Catalog(#[from] sqlx::Error),
}

/// Audits the database `conn` is connected to. Reads only; any role that can read the
/// system catalogs may run it.
pub async fn run(conn: &mut PgConnection) -> Result<AuditReport, AuditError> {
    let catalog = catalog::load(conn).await?;
    let access = access::load(conn).await?;
    Ok(check(&catalog, &access))
}

/// Audits inside the caller's open transaction, seeing its uncommitted changes: a test can
/// break something cluster-wide (a role) and roll it back without anyone else seeing it.
pub async fn run_within(tx: &mut PgConnection) -> Result<AuditReport, AuditError> {
    let catalog = catalog::load_within(tx).await?;
    let access = access::load(tx).await?;
    Ok(check(&catalog, &access))
}

fn check(catalog: &catalog::Catalog, access: &access::Access) -> AuditReport {
    let mut violations = rules::check(catalog);
    violations.extend(rules::check_access(catalog, access));
    violations.sort_by(|a, b| {
        (&a.table, a.rule.as_str(), &a.detail).cmp(&(&b.table, b.rule.as_str(), &b.detail))
    });
    let count = |f: fn(&catalog::Table) -> usize| catalog.tables.iter().map(f).sum();
    AuditReport {
        tables: catalog.tables.len(),
        tenant_tables: catalog
            .tables
            .iter()
            .filter(|t| t.scope() == Some(catalog::Scope::Tenant))
            .count(),
        indexes: count(|t| t.indexes.len()),
        constraints: count(|t| {
            t.constraints
                .iter()
                .filter(|c| c.kind != catalog::ConstraintKind::Other)
                .count()
        }),
        policies: count(|t| t.policies.len()),
        triggers: count(|t| t.triggers.len()),
        violations,
    }
}

impl AuditReport {
    /// One line for `crmdb up` and the top of `crmdb audit`:
    /// `audit: 40 tables (35 tenant), 0 violations`.
    pub fn summary(&self) -> String {
        let n = self.violations.len();
        format!(
            "audit: {} tables ({} tenant), {n} violation{}",
            self.tables,
            self.tenant_tables,
            if n == 1 { "" } else { "s" }
        )
    }

    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}
