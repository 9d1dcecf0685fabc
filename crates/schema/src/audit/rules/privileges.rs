//! Rule `privileges`: every table and column privilege held by anyone but the table's owner
//! equals the privilege model of migration 0011 (ARCHITECTURE.md, "Roles and privileges").
//! A grant too many (`GRANT UPDATE ON organizations TO crm_app`) and a grant lost (a restore
//! without the roles, `pg_restore --no-acl`) are both violations, each with the statement
//! that repairs it.

use std::collections::BTreeSet;

use crate::audit::access::{Access, GrantRow};
use crate::audit::catalog::{Catalog, Scope, Table};
use crate::roles::{APP, OWNER, READONLY, WORKER};

/// Which columns a grant covers.
#[derive(Debug, Clone, Copy)]
enum Columns {
    /// The table as a whole (a table-level grant).
    Table,
    /// Exactly these columns.
    Only(&'static [&'static str]),
    /// Every column but the credentials (hashes and ciphertexts), one by one.
    NotCredentials,
}

/// One line of the model: `role` holds `privileges` on `columns`.
#[derive(Debug, Clone, Copy)]
struct Grant {
    role: &'static str,
    privileges: &'static [&'static str],
    columns: Columns,
}

const fn grant(role: &'static str, privileges: &'static [&'static str], columns: Columns) -> Grant {
    Grant {
        role,
        privileges,
        columns,
    }
}

const DML: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE"];
const SELECT: &[&str] = &["SELECT"];
use Columns::{NotCredentials, Only, Table as Whole};

/// The model for one table.
fn model(table: &Table) -> Vec<Grant> {
    let tenant = table.scope() == Some(Scope::Tenant);
    let has_credentials = table.columns.iter().any(|c| is_credential(&c.name));
    let mut grants = match table.name.as_str() {
        "organizations" => vec![
            grant(APP, &["SELECT", "INSERT", "UPDATE"], Whole),
            grant(READONLY, SELECT, Whole),
        ],
        "users" => vec![
            grant(APP, SELECT, NotCredentials),
            grant(
                APP,
                &["INSERT"],
                Only(&[
                    "id",
                    "email",
                    "full_name",
                    "phone",
                    "locale",
                    "password_hash",
                ]),
            ),
            grant(
                APP,
                &["UPDATE"],
                Only(&["full_name", "phone", "locale", "password_hash"]),
            ),
            grant(READONLY, SELECT, NotCredentials),
            grant(OWNER, SELECT, Whole),
            grant(
                OWNER,
                &["UPDATE"],
                Only(&["password_hash", "last_login_at", "email_verified_at"]),
            ),
        ],
        "user_two_factor" => vec![
            grant(APP, SELECT, NotCredentials),
            grant(
                APP,
                &["INSERT"],
                Only(&[
                    "user_id",
                    "secret_ciphertext",
                    "encryption_key_id",
                    "backup_code_hashes",
                ]),
            ),
            grant(
                APP,
                &["UPDATE"],
                Only(&[
                    "secret_ciphertext",
                    "encryption_key_id",
                    "backup_code_hashes",
                    "enabled_at",
                    "last_used_at",
                ]),
            ),
            grant(APP, &["DELETE"], Whole),
            grant(OWNER, SELECT, Whole),
        ],
        "user_sessions" => vec![
            grant(APP, SELECT, NotCredentials),
            grant(
                APP,
                &["INSERT"],
                Only(&[
                    "user_id",
                    "refresh_token_hash",
                    "ip",
                    "user_agent",
                    "expires_at",
                ]),
            ),
            grant(APP, &["UPDATE"], Only(&["revoked_at", "last_seen_at"])),
            grant(APP, &["DELETE"], Whole),
            grant(OWNER, SELECT, Whole),
            grant(OWNER, &["UPDATE"], Only(&["revoked_at"])),
        ],
        "auth_tokens" => vec![
            grant(APP, SELECT, NotCredentials),
            grant(
                APP,
                &["INSERT"],
                Only(&["user_id", "purpose", "token_hash", "expires_at"]),
            ),
            grant(APP, &["DELETE"], Whole),
            grant(OWNER, SELECT, Whole),
            grant(
                OWNER,
                &["INSERT"],
                Only(&["user_id", "purpose", "token_hash", "expires_at"]),
            ),
            grant(OWNER, &["UPDATE"], Only(&["used_at"])),
        ],
        "provider_routes" => vec![
            grant(APP, &["SELECT", "INSERT", "DELETE"], Whole),
            grant(APP, &["UPDATE"], Only(&["config_id"])),
            grant(READONLY, SELECT, Whole),
            grant(OWNER, SELECT, Whole),
        ],
        "stripe_webhook_events" => vec![
            grant(
                APP,
                &["INSERT"],
                Only(&["stripe_event_id", "type", "payload", "received_at"]),
            ),
            grant(WORKER, SELECT, Whole),
            grant(
                WORKER,
                &["UPDATE"],
                Only(&["processed_at", "processing_error"]),
            ),
        ],
        "plans" => vec![grant(APP, SELECT, Whole), grant(READONLY, SELECT, Whole)],
        "organization_invitations" => vec![
            grant(APP, SELECT, NotCredentials),
            grant(APP, &["INSERT", "UPDATE", "DELETE"], Whole),
            grant(READONLY, SELECT, NotCredentials),
            grant(OWNER, SELECT, Whole),
            grant(OWNER, &["UPDATE"], Only(&["accepted_at"])),
        ],
        // The audit log is append-only for the application.
        "audit_logs" => vec![
            grant(APP, &["SELECT", "INSERT"], Whole),
            grant(READONLY, SELECT, Whole),
        ],
        _ if tenant => vec![
            grant(APP, DML, Whole),
            grant(
                READONLY,
                SELECT,
                if has_credentials {
                    NotCredentials
                } else {
                    Whole
                },
            ),
        ],
        // A table the model does not know: nobody but its owner.
        _ => vec![],
    };
    match table.name.as_str() {
        "leads" => grants.push(grant(OWNER, SELECT, Whole)),
        "background_jobs" => grants.push(grant(OWNER, &["SELECT", "UPDATE"], Whole)),
        _ => {}
    }
    grants
}

/// A column that holds a hash or a ciphertext of a secret.
fn is_credential(column: &str) -> bool {
    ["_hash", "_hashes", "_ciphertext"]
        .iter()
        .any(|suffix| column.ends_with(suffix))
}

/// The model of `table` as the rows [`Access::grants`] would hold.
fn expected(table: &Table) -> BTreeSet<GrantRow> {
    let mut rows = BTreeSet::new();
    for grant in model(table) {
        let columns: Vec<Option<String>> = match grant.columns {
            Columns::Table => vec![None],
            Columns::Only(names) => names.iter().map(|n| Some((*n).to_owned())).collect(),
            Columns::NotCredentials => table
                .columns
                .iter()
                .filter(|c| !is_credential(&c.name))
                .map(|c| Some(c.name.clone()))
                .collect(),
        };
        for privilege in grant.privileges {
            for column in &columns {
                rows.insert(GrantRow {
                    table: table.name.clone(),
                    grantee: grant.role.to_owned(),
                    privilege: (*privilege).to_owned(),
                    column: column.clone(),
                });
            }
        }
    }
    rows
}

/// `ON t` or `(col) ON t`, for the repair statements.
fn target(row: &GrantRow) -> String {
    match &row.column {
        None => format!("{} ON {}", row.privilege, row.table),
        Some(column) => format!("{} ({column}) ON {}", row.privilege, row.table),
    }
}

/// The violations of the audited tables and of the migration history (which nobody but
/// its owner may touch), keyed by table.
pub(crate) fn check(catalog: &Catalog, access: &Access) -> Vec<(String, String)> {
    // A table without a declared scope is the scope rule's finding; its grants are not
    // judged until it has one.
    let judged: Vec<&Table> = catalog
        .tables
        .iter()
        .filter(|t| t.scope().is_some())
        .collect();
    let mut expected: BTreeSet<GrantRow> = BTreeSet::new();
    for table in &judged {
        expected.extend(self::expected(table));
    }
    let history = crmdb_migrate::HISTORY_TABLE.trim_start_matches("public.");
    let audited = |name: &str| name == history || judged.iter().any(|t| t.name == name);
    let live: BTreeSet<GrantRow> = access
        .grants
        .iter()
        .filter(|g| audited(&g.table))
        .cloned()
        .collect();
    let mut details = Vec::new();
    for role in &access.temporary {
        details.push((
            "database".to_owned(),
            format!(
                "{role} may create temporary tables, which would shadow the CRM's tables on a \
                 pooled connection; repair: REVOKE TEMPORARY ON DATABASE <this database> FROM \
                 PUBLIC (and from {role})"
            ),
        ));
    }
    for extra in live.difference(&expected) {
        details.push((
            extra.table.clone(),
            format!(
                "{} holds {}, which the privilege model does not give; repair: REVOKE {} FROM {}",
                extra.grantee,
                target(extra),
                target(extra),
                extra.grantee
            ),
        ));
    }
    for missing in expected.difference(&live) {
        details.push((
            missing.table.clone(),
            format!(
                "{} lacks {}, which the privilege model gives; repair: GRANT {} TO {}",
                missing.grantee,
                target(missing),
                target(missing),
                missing.grantee
            ),
        ));
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::{column, table};

    fn catalog() -> Catalog {
        let mut orgs = table("organizations", "scope: global. x");
        orgs.columns = vec![column("id", "uuid"), column("name", "text")];
        let mut keys = table("api_keys", "scope: tenant. x");
        keys.columns = vec![
            column("organization_id", "uuid"),
            column("key_ciphertext", "bytea"),
        ];
        Catalog {
            tables: vec![orgs, keys],
        }
    }

    fn row(table: &str, grantee: &str, privilege: &str, column: Option<&str>) -> GrantRow {
        GrantRow {
            table: table.into(),
            grantee: grantee.into(),
            privilege: privilege.into(),
            column: column.map(Into::into),
        }
    }

    fn model_rows(catalog: &Catalog) -> Vec<GrantRow> {
        catalog.tables.iter().flat_map(expected).collect()
    }

    #[test]
    fn the_model_as_granted_is_clean() {
        let catalog = catalog();
        let access = Access {
            grants: model_rows(&catalog),
            ..Access::default()
        };
        assert_eq!(check(&catalog, &access), []);
    }

    #[test]
    fn reporting_gets_every_column_but_the_credentials() {
        let catalog = catalog();
        let rows = model_rows(&catalog);
        assert!(rows.contains(&row(
            "api_keys",
            "crm_readonly",
            "SELECT",
            Some("organization_id")
        )));
        assert!(!rows
            .iter()
            .any(|r| r.column.as_deref() == Some("key_ciphertext") && r.grantee == "crm_readonly"));
    }

    #[test]
    fn an_extra_grant_and_a_lost_one_are_reported_with_their_repair() {
        let catalog = catalog();
        let mut grants = model_rows(&catalog);
        grants.retain(|g| !(g.grantee == "crm_readonly" && g.table == "organizations"));
        grants.push(row("organizations", "crm_app", "DELETE", None));
        grants.push(row("crmdb_schema_history", "PUBLIC", "SELECT", None));
        grants.push(row("not_audited", "PUBLIC", "SELECT", None));
        let access = Access {
            grants,
            ..Access::default()
        };
        let found = check(&catalog, &access);
        assert_eq!(
            found,
            [
                (
                    "crmdb_schema_history".to_owned(),
                    "PUBLIC holds SELECT ON crmdb_schema_history, which the privilege model \
                     does not give; repair: REVOKE SELECT ON crmdb_schema_history FROM PUBLIC"
                        .to_owned()
                ),
                (
                    "organizations".to_owned(),
                    "crm_app holds DELETE ON organizations, which the privilege model does not \
                     give; repair: REVOKE DELETE ON organizations FROM crm_app"
                        .to_owned()
                ),
                (
                    "organizations".to_owned(),
                    "crm_readonly lacks SELECT ON organizations, which the privilege model \
                     gives; repair: GRANT SELECT ON organizations TO crm_readonly"
                        .to_owned()
                ),
            ]
        );
    }
}
