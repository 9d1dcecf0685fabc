//! Rule `privileges`: every table and column privilege held by anyone but the table's owner
//! equals the privilege model of migration 0011 (ARCHITECTURE.md, "Roles and privileges").
//! A grant too many (`GRANT UPDATE ON organizations TO crm_app`) and a grant lost (a restore
//! without the roles, `pg_restore --no-acl`) are both violations, each with the statement
//! that repairs it.

use std::collections::BTreeSet;

use crate::audit::access::Access;
use crate::catalog::{self, Schema, Scope, Table};
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
        // The audit log is append-only for the application, but for an erasure emptying
        // `changes` (its trigger refuses any other update).
        "audit_logs" => vec![
            grant(APP, &["SELECT", "INSERT"], Whole),
            grant(APP, &["UPDATE"], Only(&["changes"])),
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
        "webhook_delivery_logs" => {
            grants.push(grant(OWNER, SELECT, Whole));
            grants.push(grant(OWNER, &["UPDATE"], Only(&["next_retry_at"])));
        }
        _ => {}
    }
    grants
}

/// The privileges on schema `public` the model gives: using it, and creating in it for the
/// owner of the definer functions (handing a function to a role needs it). A restore into a
/// cluster without the roles loses them with every other grant.
const SCHEMA_PUBLIC: &[(&str, &str)] = &[
    (OWNER, "CREATE"),
    (OWNER, "USAGE"),
    (APP, "USAGE"),
    (WORKER, "USAGE"),
    (READONLY, "USAGE"),
];

/// The violations of schema `public`, keyed `schema public`.
fn check_public(schema: &Schema, access: &Access) -> Vec<(String, String)> {
    let holds = |role: &str, privilege: &str| {
        schema
            .public
            .grants
            .iter()
            .any(|g| g.grantee == role && g.privilege == privilege)
    };
    let mut details = Vec::new();
    if holds("PUBLIC", "CREATE") {
        details.push((
            "schema public".to_owned(),
            "PUBLIC may create objects in it, which any login could plant where the CRM's \
             functions look; repair: REVOKE CREATE ON SCHEMA public FROM PUBLIC"
                .to_owned(),
        ));
    }
    for (role, privilege) in SCHEMA_PUBLIC {
        if access.has_role(role) && !holds(role, privilege) {
            details.push((
                "schema public".to_owned(),
                format!(
                    "{role} lacks {privilege} ON SCHEMA public, which the privilege model \
                     gives; repair: GRANT {privilege} ON SCHEMA public TO {role}"
                ),
            ));
        }
    }
    details
}

/// A column that holds a hash or a ciphertext of a secret.
fn is_credential(column: &str) -> bool {
    ["_hash", "_hashes", "_ciphertext"]
        .iter()
        .any(|suffix| column.ends_with(suffix))
}

/// A privilege on a table or one of its columns: as the model gives it, or as held.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TableGrant {
    table: String,
    grant: catalog::Grant,
}

impl TableGrant {
    fn held(table: &Table) -> impl Iterator<Item = TableGrant> + '_ {
        table.grants.iter().map(|grant| TableGrant {
            table: table.name.clone(),
            grant: grant.clone(),
        })
    }

    /// `SELECT ON t` or `SELECT (col) ON t`, for the repair statements.
    fn target(&self) -> String {
        let (privilege, table) = (&self.grant.privilege, &self.table);
        match &self.grant.column {
            None => format!("{privilege} ON {table}"),
            Some(column) => format!("{privilege} ({column}) ON {table}"),
        }
    }
}

/// The model of `table`, one privilege at a time.
fn expected(table: &Table) -> BTreeSet<TableGrant> {
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
                rows.insert(TableGrant {
                    table: table.name.clone(),
                    grant: catalog::Grant {
                        grantee: grant.role.to_owned(),
                        column: column.clone(),
                        privilege: (*privilege).to_owned(),
                    },
                });
            }
        }
    }
    rows
}

/// The violations of the audited tables and of the migration history (which nobody but
/// its owner may touch), keyed by table; and of the database, by the roles that may create
/// temporary tables in it.
pub(crate) fn check(schema: &Schema, access: &Access) -> Vec<(String, String)> {
    // A table without a declared scope is the scope rule's finding; its grants are not
    // judged until it has one.
    let judged: Vec<&Table> = schema
        .tables
        .values()
        .filter(|t| t.scope().is_some())
        .collect();
    let expected: BTreeSet<TableGrant> = judged.iter().flat_map(|t| expected(t)).collect();
    let live: BTreeSet<TableGrant> = judged
        .iter()
        .copied()
        .chain(schema.history.as_ref())
        .flat_map(TableGrant::held)
        .collect();
    let mut details = check_public(schema, access);
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
        let (grantee, target) = (&extra.grant.grantee, extra.target());
        details.push((
            extra.table.clone(),
            format!(
                "{grantee} holds {target}, which the privilege model does not give; repair: \
                 REVOKE {target} FROM {grantee}"
            ),
        ));
    }
    for missing in expected
        .difference(&live)
        .filter(|m| access.has_role(&m.grant.grantee))
    {
        let (grantee, target) = (&missing.grant.grantee, missing.target());
        details.push((
            missing.table.clone(),
            format!(
                "{grantee} lacks {target}, which the privilege model gives; repair: GRANT \
                 {target} TO {grantee}"
            ),
        ));
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::{access, column, schema, table};

    fn tables() -> Schema {
        let mut orgs = table("organizations", "scope: global. x");
        orgs.columns = vec![column("id", "uuid"), column("name", "text")];
        let mut keys = table("api_keys", "scope: tenant. x");
        keys.columns = vec![
            column("organization_id", "uuid"),
            column("key_ciphertext", "bytea"),
        ];
        schema(vec![orgs, keys])
    }

    /// `schema` with each table and schema `public` granted exactly what the model gives.
    fn as_modelled(mut schema: Schema) -> Schema {
        for table in schema.tables.values_mut() {
            table.grants = expected(table).into_iter().map(|g| g.grant).collect();
        }
        schema.public.grants = SCHEMA_PUBLIC
            .iter()
            .map(|(role, privilege)| grant(role, privilege, None))
            .collect();
        schema
    }

    fn grant(grantee: &str, privilege: &str, column: Option<&str>) -> catalog::Grant {
        catalog::Grant {
            grantee: grantee.into(),
            column: column.map(Into::into),
            privilege: privilege.into(),
        }
    }

    #[test]
    fn the_model_as_granted_is_clean() {
        assert_eq!(check(&as_modelled(tables()), &access()), []);
    }

    #[test]
    fn reporting_gets_every_column_but_the_credentials() {
        let schema = tables();
        let rows: Vec<TableGrant> = schema.tables.values().flat_map(expected).collect();
        assert!(rows.contains(&TableGrant {
            table: "api_keys".into(),
            grant: grant("crm_readonly", "SELECT", Some("organization_id")),
        }));
        assert!(!rows
            .iter()
            .any(|r| r.grant.column.as_deref() == Some("key_ciphertext")
                && r.grant.grantee == "crm_readonly"));
    }

    #[test]
    fn an_extra_grant_and_a_lost_one_are_reported_with_their_repair() {
        let mut schema = as_modelled(tables());
        let orgs = schema.tables.get_mut("organizations").unwrap();
        orgs.grants.retain(|g| g.grantee != "crm_readonly");
        orgs.grants.push(grant("crm_app", "DELETE", None));
        schema.history = Some(Table {
            name: "crmdb_schema_history".into(),
            grants: vec![grant("PUBLIC", "SELECT", None)],
            ..Table::default()
        });
        let mut stray = table("not_audited", "no scope declared");
        stray.grants.push(grant("PUBLIC", "SELECT", None));
        schema.tables.insert(stray.name.clone(), stray);
        let found = check(&schema, &access());
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

    #[test]
    fn schema_public_needs_the_model_s_grants_and_no_public_create() {
        let mut schema = as_modelled(tables());
        schema.public.grants.retain(|g| g.grantee != "crm_owner");
        schema.public.grants.push(grant("PUBLIC", "CREATE", None));
        let found: Vec<String> = check(&schema, &access())
            .into_iter()
            .map(|(k, d)| format!("{k}: {}", d.split("; repair: ").nth(1).unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                "schema public: REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                "schema public: GRANT CREATE ON SCHEMA public TO crm_owner",
                "schema public: GRANT USAGE ON SCHEMA public TO crm_owner",
            ]
        );
    }

    #[test]
    fn the_grants_of_a_missing_role_are_the_roles_rule_s_finding() {
        let mut schema = as_modelled(tables());
        for table in schema.tables.values_mut() {
            table.grants.clear();
        }
        schema.public.grants.clear();
        let mut only_app = access();
        only_app.roles.retain(|r| r.name == "crm_app");
        let found = check(&schema, &only_app);
        assert!(!found.is_empty());
        assert!(
            found.iter().all(|(_, d)| d.starts_with("crm_app lacks")),
            "{found:#?}"
        );
    }
}
