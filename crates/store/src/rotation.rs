//! Re-sealing every secret under the current key (`crmdb secrets rotate`): table by table,
//! organization by organization, in small batches that each commit on their own, taking
//! only the rows whose key id is not the current one — so a rotation can be interrupted
//! and run again, and the CRM keeps running while it works (a batch locks only its own
//! rows, for the moment it takes to re-seal them).
//!
//! It runs as the migrating login (the tables' owner, `DATABASE_URL`): listing every
//! organization and re-sealing the global tables' secrets is maintenance, which the
//! application and worker logins may not do; each organization's batches still run as the
//! application role in that organization.
//!
//! The application servers must already hold the new keyring (new key first, old after
//! it) when the rotation runs, or they would go on sealing new values under the old key.

use crmdb_pg::ident::quote_ident;
use crmdb_secrets::{Keyring, Sealed};
use uuid::Uuid;

use crate::db::{Conn, Db};
use crate::error::{Error, Result};
use crate::sealing::{binding, SealedTable, SEALED_TABLES};
use crate::sql::{query, query_scalar};

/// What a rotation re-sealed, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    /// The id of the key everything is now sealed under.
    pub key_id: String,
    pub tables: Vec<TableRotation>,
}

/// The rows of one table re-sealed by a rotation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableRotation {
    pub table: &'static str,
    pub rows: u64,
    pub batches: u64,
}

impl RotationReport {
    /// Rows re-sealed in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// The statements of one sealed table, built from its constant description with quoted
/// identifiers.
struct Statements {
    select: String,
    update: String,
}

impl Statements {
    fn new(table: &SealedTable) -> Result<Statements> {
        let quote = |name: &str| {
            quote_ident(name).map_err(|e| Error::InvalidInput {
                field: "table".into(),
                rule: e.to_string().into(),
            })
        };
        let name = quote(table.table)?;
        let columns = table
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Result<Vec<_>>>()?;
        // Tenant tables are read organization by organization (row-level security holds);
        // the global one has no organization column.
        let scope = if table.tenant {
            "organization_id = $1"
        } else {
            "$1::uuid IS NOT NULL"
        };
        let select = format!(
            "SELECT id, encryption_key_id, {cols} FROM {name} \
             WHERE {scope} AND encryption_key_id IS DISTINCT FROM $2 \
               AND ({not_null}) \
             ORDER BY id LIMIT $3 FOR UPDATE",
            cols = columns.join(", "),
            not_null = columns
                .iter()
                .map(|c| format!("{c} IS NOT NULL"))
                .collect::<Vec<_>>()
                .join(" OR "),
        );
        let sets = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let update =
            format!("UPDATE {name} SET encryption_key_id = $3, {sets} WHERE {scope} AND id = $2");
        Ok(Statements { select, update })
    }
}

/// Re-seals every sealed value not under the keyring's current key, at most `batch_size`
/// rows per transaction. Values open with any key of the ring; rows sealed under a key
/// the ring lacks fail the rotation with [`Error::Secret`] naming that key.
#[tracing::instrument(name = "rotation.rotate", skip_all, fields(batch_size = batch_size))]
pub async fn rotate(db: &Db, batch_size: u32) -> Result<RotationReport> {
    if batch_size == 0 {
        return Err(Error::invalid("batch_size", "must be at least 1"));
    }
    let keyring = db.keyring()?;
    let mut report = RotationReport {
        key_id: keyring.current_id().to_owned(),
        tables: Vec::new(),
    };
    let organizations: Vec<Uuid> = {
        let mut tx = db.begin_maintenance().await?;
        let ids = query_scalar("SELECT id FROM organizations ORDER BY id")
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        ids
    };
    for table in SEALED_TABLES {
        let statements = Statements::new(table)?;
        let mut done = TableRotation {
            table: table.table,
            rows: 0,
            batches: 0,
        };
        let scopes: Vec<Option<Uuid>> = if table.tenant {
            organizations.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        for organization_id in scopes {
            loop {
                let rows = match organization_id {
                    Some(org) => {
                        let tenant = db.tenant(org);
                        let mut tx = tenant.begin().await?;
                        let n = batch(&mut tx, keyring, table, &statements, Some(org), batch_size)
                            .await?;
                        tx.commit().await?;
                        n
                    }
                    None => {
                        let mut tx = db.begin_maintenance().await?;
                        let n =
                            batch(&mut tx, keyring, table, &statements, None, batch_size).await?;
                        tx.commit().await?;
                        n
                    }
                };
                if rows == 0 {
                    break;
                }
                done.rows += rows;
                done.batches += 1;
                if rows < u64::from(batch_size) {
                    break;
                }
            }
        }
        report.tables.push(done);
    }
    Ok(report)
}

/// Re-seals one batch; returns how many rows it re-sealed.
async fn batch(
    conn: &mut Conn,
    keyring: &Keyring,
    table: &SealedTable,
    statements: &Statements,
    organization_id: Option<Uuid>,
    batch_size: u32,
) -> Result<u64> {
    let rows = query(statements.select.as_str())
        .bind(organization_id.unwrap_or(Uuid::nil()))
        .bind(keyring.current_id())
        .bind(i64::from(batch_size))
        .fetch_rows(&mut *conn)
        .await?;
    for row in &rows {
        let id: Uuid = row.try_get("id")?;
        let key_id: String = row.try_get("encryption_key_id")?;
        let mut update = query(statements.update.clone())
            .bind(organization_id.unwrap_or(Uuid::nil()))
            .bind(id)
            .bind(keyring.current_id().to_owned());
        for column in table.columns {
            let ciphertext: Option<Vec<u8>> = row.try_get(*column)?;
            let resealed = ciphertext
                .map(|ciphertext| -> Result<Vec<u8>> {
                    let bound = binding(organization_id, table.table, column);
                    let sealed = Sealed {
                        key_id: key_id.clone(),
                        ciphertext,
                    };
                    let plain = keyring.open(&sealed, bound)?;
                    Ok(keyring.seal(&plain, bound).ciphertext)
                })
                .transpose()?;
            update = update.bind(resealed);
        }
        // Nothing waits for an update's answer: they go out with the commit.
        conn.defer(update.into_statement());
    }
    Ok(rows.len() as u64)
}
