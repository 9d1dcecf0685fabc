//! Schema drift: the live database's schema against the one its migrations produce, built in
//! a scratch database on the same server (`crm_drift_<random>`, dropped afterwards). Each
//! schema is flattened into named facts (`column leads.name` → its type, nullability and
//! default; `owner of function f()` → its owner; `grant on table t to r` → the privileges);
//! a fact missing, unexpected or different is one difference, with its repair.
//!
//! Owners and privileges are part of the schema: a `pg_restore --no-owner` hands the
//! SECURITY DEFINER functions to the restoring login, and a restore into a cluster without
//! crmdb's roles drops every grant to them. Building the reference migrates the scratch
//! database, and the migrations create the roles when they are missing; roles are
//! cluster-wide, so a drift check first looks for them and reports the missing ones instead
//! of building anything.

use std::collections::BTreeMap;

use crmdb_migrate::{Migrations, Migrator, Options};
use rand::Rng;
use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crmdb_schema::catalog::{Grant, Schema};
use crmdb_schema::roles::RESTORE_ROLES;

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
    /// The statement that makes the live database agree with the migrations, or the step
    /// to take when no statement can.
    pub repair: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.change {
            Change::Missing => write!(f, "missing {}", self.object)?,
            Change::Unexpected => write!(f, "unexpected {}", self.object)?,
            Change::Changed => write!(
                f,
                "changed {}: expected {} but found {}",
                self.object,
                self.expected.as_deref().unwrap_or_default(),
                self.actual.as_deref().unwrap_or_default()
            )?,
        }
        write!(f, "; repair: {}", self.repair)
    }
}

/// Compares the live database with a scratch database migrated from `migrations`. When
/// roles of the privilege model are missing from the cluster, those are the differences,
/// and nothing else is compared: the scratch database's migrations would create them.
pub async fn check(
    live: &PgConnectOptions,
    migrations: Migrations,
) -> Result<Vec<Difference>, Error> {
    let mut conn = PgConnection::connect_with(live)
        .await
        .map_err(Error::Catalog)?;
    let missing = crmdb_schema::roles::missing_roles(&mut conn).await;
    let actual = Schema::read(&mut conn).await.map_err(Error::Catalog);
    conn.close().await.ok();
    let missing = missing?;
    if !missing.is_empty() {
        return Ok(missing.into_iter().map(missing_role).collect());
    }
    let expected = scratch_schema(live, migrations).await?;
    Ok(diff(&expected, &actual?))
}

/// A role of the model the cluster lacks.
fn missing_role(role: &str) -> Difference {
    Difference {
        object: format!("role {role}"),
        change: Change::Missing,
        expected: Some("a NOLOGIN role of the privilege model".to_owned()),
        actual: None,
        repair: format!(
            "{RESTORE_ROLES}; on a database that never had them, crmdb migrate apply creates \
             them. The rest of the schema is compared once they exist: drift does not create \
             roles"
        ),
    }
}

/// The schema `migrations` produce: applied to a new scratch database on the server of
/// `server`, read, and the database dropped again. The roles of the privilege model must
/// exist ([`crmdb_schema::roles::RolesError::MissingRole`] otherwise): they are never
/// created here.
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
    crmdb_schema::roles::prepare_database_with_existing_roles(&scratch).await?;
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
    let expected_facts = facts(expected);
    let mut actual_facts = facts(actual);
    let mut differences = Vec::new();
    let mut differ = |object: String, fact: &Fact, want: Option<String>, have: Option<String>| {
        let change = match (&want, &have) {
            (Some(_), None) => Change::Missing,
            (None, _) => Change::Unexpected,
            (Some(_), Some(_)) => Change::Changed,
        };
        let repair = fact.repair(
            change,
            want.as_deref(),
            have.as_deref(),
            &actual.database.owner,
            &actual.database.name,
        );
        differences.push(Difference {
            object,
            change,
            expected: want,
            actual: have,
            repair,
        });
    };
    for (object, (fact, want)) in expected_facts {
        match actual_facts.remove(&object) {
            None => differ(object, &fact, Some(want), None),
            Some((_, have)) if have != want => differ(object, &fact, Some(want), Some(have)),
            Some(_) => {}
        }
    }
    for (object, (fact, have)) in actual_facts {
        differ(object, &fact, None, Some(have));
    }
    differences.sort_by(|a, b| a.object.cmp(&b.object));
    differences
}

/// What a fact is about, as far as its repair needs to know.
#[derive(Debug, Clone)]
enum Fact {
    /// A definition only a migration changes.
    Definition,
    /// The owner of an object: `ALTER <kind> <name> OWNER TO`.
    Owner { kind: &'static str, name: String },
    /// The privileges of one grantee (on one column, or the whole object).
    Grant {
        /// `TABLE leads`, `FUNCTION f(uuid)`, `SCHEMA public`.
        on: String,
        grantee: String,
        column: Option<String>,
    },
    /// The privileges of one grantee on the database read, whose name the repair takes
    /// from the live database.
    DatabaseGrant { grantee: String },
}

/// How an owner reads in a fact: the owner of the database is the owner the migrations
/// give every object they create, whichever login ran them, so it reads the same in the
/// scratch database and the live one.
const DATABASE_OWNER: &str = "the database owner";

impl Fact {
    fn repair(
        &self,
        change: Change,
        want: Option<&str>,
        have: Option<&str>,
        database_owner: &str,
        database_name: &str,
    ) -> String {
        match self {
            Fact::Definition => match change {
                Change::Missing => "create it as the migrations define it, in a new migration \
                                    (or restore it from a backup)"
                    .to_owned(),
                Change::Unexpected => "drop it, or add the migration that creates it".to_owned(),
                Change::Changed => {
                    "a new migration that gives it the expected definition".to_owned()
                }
            },
            Fact::Owner { kind, name } => match want {
                Some(DATABASE_OWNER) => format!("ALTER {kind} {name} OWNER TO {database_owner}"),
                Some(owner) => format!("ALTER {kind} {name} OWNER TO {owner}"),
                None => "drop it, or add the migration that creates it".to_owned(),
            },
            Fact::Grant {
                on,
                grantee,
                column,
            } => grant_repair(on, grantee, column.as_deref(), want, have),
            Fact::DatabaseGrant { grantee } => grant_repair(
                &format!("DATABASE {database_name}"),
                grantee,
                None,
                want,
                have,
            ),
        }
    }
}

/// The GRANTs and REVOKEs that turn the privileges `have` of `grantee` on `on` (one column
/// of it, with `column`) into `want`.
fn grant_repair(
    on: &str,
    grantee: &str,
    column: Option<&str>,
    want: Option<&str>,
    have: Option<&str>,
) -> String {
    let want = privileges(want);
    let have = privileges(have);
    let target = |privilege: &str| match column {
        None => format!("{privilege} ON {on}"),
        Some(column) => format!("{privilege} ({column}) ON {on}"),
    };
    let mut statements: Vec<String> = want
        .iter()
        .filter(|p| !have.contains(p))
        .map(|p| format!("GRANT {} TO {grantee}", target(p)))
        .collect();
    statements.extend(
        have.iter()
            .filter(|p| !want.contains(p))
            .map(|p| format!("REVOKE {} FROM {grantee}", target(p))),
    );
    statements.join("; ")
}

/// The privileges of a grant fact's value (`SELECT, UPDATE`).
fn privileges(value: Option<&str>) -> Vec<&str> {
    value.map_or_else(Vec::new, |v| v.split(", ").collect())
}

/// Each holder of `grants`, a grantee on the whole object or on one column, with its
/// privileges as a fact's value: `SELECT, UPDATE`.
fn by_holder(grants: &[Grant]) -> BTreeMap<(&str, Option<&str>), String> {
    let mut by_holder: BTreeMap<(&str, Option<&str>), Vec<&str>> = BTreeMap::new();
    for grant in grants {
        by_holder
            .entry((&grant.grantee, grant.column.as_deref()))
            .or_default()
            .push(&grant.privilege);
    }
    by_holder
        .into_iter()
        .map(|(holder, mut privileges)| {
            privileges.sort_unstable();
            privileges.dedup();
            (holder, privileges.join(", "))
        })
        .collect()
}

/// One fact per holder of `grants` on the object `kind name`: `grant on table leads to
/// crm_app` → `SELECT, UPDATE`.
fn grant_facts(facts: &mut Facts, kind: &str, name: &str, grants: &[Grant]) {
    for ((grantee, column), privileges) in by_holder(grants) {
        let holder = match column {
            None => grantee.to_owned(),
            Some(column) => format!("{grantee} (column {column})"),
        };
        let fact = Fact::Grant {
            on: format!("{} {name}", kind.to_uppercase()),
            grantee: grantee.to_owned(),
            column: column.map(str::to_owned),
        };
        facts.insert(
            format!("grant on {kind} {name} to {holder}"),
            (fact, privileges),
        );
    }
}

/// The owner fact of the object `kind name` (`kind` as SQL spells it: `TABLE`).
fn owner_fact(facts: &mut Facts, schema: &Schema, kind: &'static str, name: &str, owner: &str) {
    let owner = if owner == schema.database.owner {
        DATABASE_OWNER.to_owned()
    } else {
        owner.to_owned()
    };
    let fact = Fact::Owner {
        kind,
        name: name.to_owned(),
    };
    facts.insert(
        format!("owner of {} {name}", kind.to_lowercase()),
        (fact, owner),
    );
}

/// Fact name → what it is about and its value.
type Facts = BTreeMap<String, (Fact, String)>;

/// The schema as named facts: one per object, whose value is its definition, owner or
/// privileges.
fn facts(schema: &Schema) -> Facts {
    let mut facts = Facts::new();
    let mut define = |object: String, value: String| {
        facts.insert(object, (Fact::Definition, value));
    };
    for (name, table) in &schema.tables {
        define(format!("table {name}"), "table".to_owned());
        let rls = match (table.rls_enabled, table.rls_forced) {
            (true, true) => "enabled, forced",
            (true, false) => "enabled",
            (false, true) => "forced but not enabled",
            (false, false) => "disabled",
        };
        define(format!("row level security of {name}"), rls.to_owned());
        if let Some(comment) = &table.comment {
            define(format!("comment on table {name}"), comment.clone());
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
            define(format!("column {name}.{}", column.name), definition);
            if let Some(comment) = &column.comment {
                define(
                    format!("comment on column {name}.{}", column.name),
                    comment.clone(),
                );
            }
        }
        for constraint in &table.constraints {
            define(
                format!("constraint {name}.{}", constraint.name),
                constraint.definition.clone(),
            );
        }
        for index in &table.indexes {
            define(format!("index {name}.{}", index.name), index.text());
        }
        for trigger in &table.triggers {
            define(format!("trigger {name}.{}", trigger.name), trigger.text());
        }
        for policy in &table.policies {
            define(format!("policy {name}.{}", policy.name), policy.text());
        }
    }
    for (name, definition) in &schema.views {
        define(format!("view {name}"), definition.clone());
    }
    for (signature, function) in &schema.functions {
        define(format!("function {signature}"), function.definition.clone());
        if let Some(comment) = &function.comment {
            define(format!("comment on function {signature}"), comment.clone());
        }
    }
    for (name, table) in &schema.tables {
        owner_fact(&mut facts, schema, "TABLE", name, &table.owner);
        grant_facts(&mut facts, "table", name, &table.grants);
    }
    for (signature, function) in &schema.functions {
        owner_fact(&mut facts, schema, "FUNCTION", signature, &function.owner);
        grant_facts(&mut facts, "function", signature, &function.grants);
    }
    for (name, sequence) in &schema.sequences {
        owner_fact(&mut facts, schema, "SEQUENCE", name, &sequence.owner);
        grant_facts(&mut facts, "sequence", name, &sequence.grants);
    }
    owner_fact(&mut facts, schema, "SCHEMA", "public", &schema.public.owner);
    grant_facts(&mut facts, "schema", "public", &schema.public.grants);
    database_facts(&mut facts, schema);
    facts
}

/// The privileges on the database itself. Its name differs between the scratch database
/// and the live one, so they are keyed as `this database`, and repaired by the live name.
fn database_facts(facts: &mut Facts, schema: &Schema) {
    for ((grantee, _), privileges) in by_holder(&schema.database.grants) {
        let fact = Fact::DatabaseGrant {
            grantee: grantee.to_owned(),
        };
        facts.insert(
            format!("grant on this database to {grantee}"),
            (fact, privileges),
        );
    }
}
