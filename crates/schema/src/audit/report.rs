//! What the audit reports: the violations found, each of one rule by one table (or role,
//! function, database), and the size of what was audited.

use serde::Serialize;

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
    /// A column whose name or type suggests personal data declares its classification
    /// (`pii: contact|identifier|content|none`) on the first line of its comment.
    PersonalData,
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
    /// The database's owner owns every table, sequence and function but the SECURITY
    /// DEFINER functions.
    Owners,
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
            Rule::PersonalData => "personal_data",
            Rule::RedundantIndex => "redundant_index",
            Rule::Naming => "naming",
            Rule::Roles => "roles",
            Rule::Privileges => "privileges",
            Rule::DefinerFunctions => "definer_functions",
            Rule::Owners => "owners",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
