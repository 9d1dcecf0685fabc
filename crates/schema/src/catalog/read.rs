//! Fills a [`Schema`] from a live database: the tables first, then each kind of part for
//! all of them at once, in one snapshot.

use std::collections::{BTreeMap, HashMap};

use sqlx::postgres::types::Oid;
use sqlx::postgres::PgRow;
use sqlx::{Connection, FromRow, PgConnection, Row};

use super::constraint::CONSTRAINTS;
use super::database::{
    Database, Namespace, DATABASE, DATABASE_GRANTS, NAMESPACE, NAMESPACE_GRANTS,
};
use super::function::{Function, FUNCTIONS};
use super::grant::{Grant, FUNCTION_GRANTS, TABLE_GRANTS};
use super::index::INDEXES;
use super::policy::POLICIES;
use super::schema::Schema;
use super::sequence::{Sequence, SEQUENCES, SEQUENCE_GRANTS};
use super::table::{Table, COLUMNS, TABLES};
use super::trigger::TRIGGERS;

const VIEWS: &str = "
SELECT c.relname::text, pg_get_viewdef(c.oid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')";

impl Schema {
    /// Reads the schema of the database `conn` is connected to, in one read-only,
    /// repeatable-read transaction, so a migration running beside it cannot show it half a
    /// table.
    pub async fn read(conn: &mut PgConnection) -> Result<Schema, sqlx::Error> {
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let schema = Schema::read_within(&mut tx).await?;
        tx.commit().await?;
        Ok(schema)
    }

    /// [`Schema::read`] inside the caller's open transaction (or none), whatever its
    /// isolation: it sees the transaction's own uncommitted changes.
    pub async fn read_within(conn: &mut PgConnection) -> Result<Schema, sqlx::Error> {
        let mut tables: HashMap<Oid, Table> = HashMap::new();
        for row in sqlx::query(TABLES).fetch_all(&mut *conn).await? {
            tables.insert(row.try_get("oid")?, Table::from_row(&row)?);
        }
        let oids: Vec<Oid> = tables.keys().copied().collect();
        for (oid, column) in parts(conn, COLUMNS, &oids).await? {
            of(&mut tables, oid).columns.push(column);
        }
        for (oid, constraint) in parts(conn, CONSTRAINTS, &oids).await? {
            of(&mut tables, oid).constraints.push(constraint);
        }
        for (oid, index) in parts(conn, INDEXES, &oids).await? {
            of(&mut tables, oid).indexes.push(index);
        }
        for (oid, trigger) in parts(conn, TRIGGERS, &oids).await? {
            of(&mut tables, oid).triggers.push(trigger);
        }
        for (oid, policy) in parts(conn, POLICIES, &oids).await? {
            of(&mut tables, oid).policies.push(policy);
        }
        for (oid, grant) in parts(conn, TABLE_GRANTS, &oids).await? {
            of(&mut tables, oid).grants.push(grant);
        }

        let mut schema = Schema::default();
        for mut table in tables.into_values() {
            sort_parts(&mut table);
            if table.name == history_table() {
                schema.history = Some(table);
            } else {
                schema.tables.insert(table.name.clone(), table);
            }
        }
        let views: Vec<(String, String)> = sqlx::query_as(VIEWS).fetch_all(&mut *conn).await?;
        schema.views = views.into_iter().collect();
        schema.functions = functions(conn).await?;
        schema.sequences = sequences(conn).await?;
        schema.database = database(conn).await?;
        schema.public = namespace(conn).await?;
        Ok(schema)
    }
}

async fn sequences(conn: &mut PgConnection) -> Result<BTreeMap<String, Sequence>, sqlx::Error> {
    let owners: Vec<(String, String)> = sqlx::query_as(SEQUENCES).fetch_all(&mut *conn).await?;
    let mut sequences: BTreeMap<String, Sequence> = owners
        .into_iter()
        .map(|(name, owner)| {
            (
                name,
                Sequence {
                    owner,
                    grants: Vec::new(),
                },
            )
        })
        .collect();
    for row in sqlx::query(SEQUENCE_GRANTS).fetch_all(&mut *conn).await? {
        let name: String = row.try_get("name")?;
        if let Some(sequence) = sequences.get_mut(&name) {
            sequence.grants.push(Grant::from_row(&row)?);
        }
    }
    for sequence in sequences.values_mut() {
        sequence.grants.sort();
        sequence.grants.dedup();
    }
    Ok(sequences)
}

async fn database(conn: &mut PgConnection) -> Result<Database, sqlx::Error> {
    let (name, owner): (String, String) = sqlx::query_as(DATABASE).fetch_one(&mut *conn).await?;
    Ok(Database {
        name,
        owner,
        grants: grants(conn, DATABASE_GRANTS).await?,
    })
}

async fn namespace(conn: &mut PgConnection) -> Result<Namespace, sqlx::Error> {
    let owner: String = sqlx::query_scalar(NAMESPACE).fetch_one(&mut *conn).await?;
    Ok(Namespace {
        owner,
        grants: grants(conn, NAMESPACE_GRANTS).await?,
    })
}

/// The grants `sql` selects, sorted, once each whoever granted them.
async fn grants(conn: &mut PgConnection, sql: &'static str) -> Result<Vec<Grant>, sqlx::Error> {
    let mut grants: Vec<Grant> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    grants.sort();
    grants.dedup();
    Ok(grants)
}

async fn functions(conn: &mut PgConnection) -> Result<BTreeMap<String, Function>, sqlx::Error> {
    let mut functions = BTreeMap::new();
    for row in sqlx::query(FUNCTIONS).fetch_all(&mut *conn).await? {
        let signature: String = row.try_get("signature")?;
        functions.insert(signature, Function::from_row(&row)?);
    }
    for row in sqlx::query(FUNCTION_GRANTS).fetch_all(&mut *conn).await? {
        let signature: String = row.try_get("signature")?;
        // Extension members have grants too, but are no function of the schema's.
        if let Some(function) = functions.get_mut(&signature) {
            function.grants.push(Grant::from_row(&row)?);
        }
    }
    for function in functions.values_mut() {
        function.grants.sort();
        function.grants.dedup();
    }
    Ok(functions)
}

/// The name of the runner's history table, in schema `public`.
fn history_table() -> &'static str {
    crmdb_migrate::HISTORY_TABLE
        .rsplit('.')
        .next()
        .unwrap_or(crmdb_migrate::HISTORY_TABLE)
}

/// By name (byte order, whatever the database's collation), so the same schema always
/// compares equal; grants once each, whoever granted them.
fn sort_parts(table: &mut Table) {
    table.constraints.sort_by(|a, b| a.name.cmp(&b.name));
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    table.triggers.sort_by(|a, b| a.name.cmp(&b.name));
    table.policies.sort_by(|a, b| a.name.cmp(&b.name));
    table.grants.sort();
    table.grants.dedup();
}

/// The parts `sql` selects of the tables `oids` (its parameter `$1`), each with the oid of
/// its table (column `table_oid`).
async fn parts<T>(
    conn: &mut PgConnection,
    sql: &'static str,
    oids: &[Oid],
) -> Result<Vec<(Oid, T)>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow>,
{
    let rows = sqlx::query(sql).bind(oids).fetch_all(conn).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("table_oid")?, T::from_row(row)?)))
        .collect()
}

/// The table whose oid a part carries: always one of those read.
fn of(tables: &mut HashMap<Oid, Table>, oid: Oid) -> &mut Table {
    tables.get_mut(&oid).expect("parts only of the tables read")
}
