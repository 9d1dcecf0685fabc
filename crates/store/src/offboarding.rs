//! The organization as a whole, for the operator: finding it by id or slug, exporting every
//! tenant table of it (portability when a customer leaves) and deleting it (offboarding).
//! The tables come from the live catalog, so a new tenant table is exported and counted
//! without a change here.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use crmdb_pg::tenancy::ORGANIZATION_SETTING;
use crmdb_schema::catalog::{Scope, Table};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::catalog_sql::{is_secret, json_object, may, order_by, quote};
use crate::db::{Db, APP_ROLE};
use crate::error::{entity, Error, Result};
use crate::sql::{query, query_scalar};

const BY_SLUG: &str = "SELECT id FROM organizations WHERE slug = $1";
const BY_ID: &str = "SELECT id FROM organizations WHERE id = $1";
const ENTER_ORGANIZATION: &str = "SELECT set_config($1, $2, true)";
const DELETE: &str = "DELETE FROM organizations WHERE id = $1";

/// The organization `key` names: its id, or its slug.
#[tracing::instrument(name = "offboarding.organization", skip_all)]
pub async fn organization_id(db: &Db, key: &str) -> Result<Uuid> {
    let mut tx = db.begin_maintenance().await?;
    let found: Option<Uuid> = match key.parse::<Uuid>() {
        Ok(id) => query_scalar(BY_ID).bind(id).fetch_optional(&mut tx).await?,
        Err(_) => {
            query_scalar(BY_SLUG)
                .bind(key)
                .fetch_optional(&mut tx)
                .await?
        }
    };
    tx.rollback().await?;
    found.ok_or(Error::not_found(entity::ORGANIZATION))
}

/// What `export` wrote: `manifest.json` in the directory says the same.
#[derive(Debug, Clone, Serialize)]
pub struct OrgManifest {
    pub organization_id: Uuid,
    /// The newest migration this data layer was built for.
    pub schema_version: Option<i64>,
    pub exported_at: DateTime<Utc>,
    /// How secrets appear in the files.
    pub secrets: &'static str,
    /// One JSON Lines file per table, the organization's own row in `organizations.jsonl`.
    pub tables: Vec<TableFile>,
}

impl OrgManifest {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableFile {
    pub table: String,
    pub file: String,
    pub rows: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Ciphertext columns, exported sealed as stored (hex of the `bytea`).
    pub sealed_columns: Vec<String>,
    /// Hash columns and columns the application role may not read, left out.
    pub excluded_columns: Vec<String>,
}

/// The manifest's word on secrets.
pub const SECRETS: &str = "ciphertext columns are exported sealed as stored (bound to the \
    organization, table and column; they open only with the key that sealed them); hash \
    columns and columns the application role may not read are left out";

/// The file name of the manifest in an export's directory.
pub const MANIFEST: &str = "manifest.json";

/// Writes every row of the organization, table by table, into `dir` (created if missing) as
/// JSON Lines ordered by primary key, all from one snapshot as the application role entered
/// into the organization (so nothing of another can be read), and the manifest last.
#[tracing::instrument(name = "offboarding.export", skip_all, fields(%organization_id))]
pub async fn export(db: &Db, organization_id: Uuid, dir: &Path) -> Result<OrgManifest> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let schema = db.catalog().await?;
    let mut tx = db.begin_snapshot(APP_ROLE, organization_id).await?;
    let mut tables = Vec::new();
    for table in schema.tables.values() {
        let filter = match (table.scope(), table.name.as_str()) {
            (Some(Scope::Tenant), _) => "t.organization_id = $1",
            (_, "organizations") => "t.id = $1",
            _ => continue,
        };
        let (exported, sealed, excluded) = columns(table);
        let sql = format!(
            "SELECT ({})::text FROM {} AS t WHERE {filter} ORDER BY {}",
            json_object(&exported)?,
            quote(&table.name)?,
            order_by(table)?
        );
        let file = format!("{}.jsonl", table.name);
        let path = dir.join(&file);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io(&path))?);
        let mut hash = Sha256::new();
        let rows = tx
            .for_each(query_scalar::<String>(&sql).bind(organization_id), |line| {
                hash.update(line.as_bytes());
                hash.update(b"\n");
                out.write_all(line.as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                    .map_err(io(&path))
            })
            .await?;
        out.flush().map_err(io(&path))?;
        tables.push(TableFile {
            table: table.name.clone(),
            file,
            rows,
            sha256: hex::encode(hash.finalize()),
            sealed_columns: sealed,
            excluded_columns: excluded,
        });
    }
    tx.rollback().await?;
    let manifest = OrgManifest {
        organization_id,
        schema_version: crmdb_schema::migrations()
            .ok()
            .and_then(|m| m.latest_version()),
        exported_at: Utc::now(),
        secrets: SECRETS,
        tables,
    };
    let path: PathBuf = dir.join(MANIFEST);
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Io {
        path: path.clone(),
        source: e.into(),
    })?;
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(manifest)
}

/// The columns exported as they are, exported sealed, and left out.
fn columns(table: &Table) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut exported = Vec::new();
    let mut sealed = Vec::new();
    let mut excluded = Vec::new();
    for c in &table.columns {
        let readable = may(table, "SELECT", &c.name);
        if !readable || (is_secret(&c.name, &c.data_type) && !c.name.ends_with("_ciphertext")) {
            excluded.push(c.name.clone());
            continue;
        }
        if c.name.ends_with("_ciphertext") {
            sealed.push(c.name.clone());
        }
        exported.push(c.name.clone());
    }
    (exported, sealed, excluded)
}

/// What `delete` removed: rows per tenant table, as counted just before the deletion in its
/// transaction.
#[derive(Debug, Clone, Serialize)]
pub struct OrgDeletion {
    pub organization_id: Uuid,
    /// Table → rows deleted; tables without rows of the organization are left out.
    pub tables: BTreeMap<String, u64>,
}

/// Deletes the organization and, through the schema's `ON DELETE CASCADE`, every row of it
/// in every tenant table, in one transaction as the tables' owner (the admin login); its
/// users stay, being the platform's, as do their memberships in other organizations.
#[tracing::instrument(name = "offboarding.delete", skip_all, fields(%organization_id))]
pub async fn delete(db: &Db, organization_id: Uuid) -> Result<OrgDeletion> {
    let schema = db.catalog().await?;
    let mut tx = db.begin_maintenance().await?;
    // Row-level security is forced on tenant tables, for their owner too: counting them
    // needs the organization entered.
    query(ENTER_ORGANIZATION)
        .bind(ORGANIZATION_SETTING)
        .bind(organization_id.to_string())
        .execute(&mut tx)
        .await?;
    let mut tables = BTreeMap::new();
    for table in schema.tables.values() {
        let filter = match (table.scope(), table.name.as_str()) {
            (Some(Scope::Tenant), _) => "organization_id",
            (_, "organizations") => "id",
            _ => continue,
        };
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {filter} = $1",
            quote(&table.name)?
        );
        let count: i64 = query_scalar(&sql)
            .bind(organization_id)
            .fetch_one(&mut tx)
            .await?;
        if count > 0 {
            tables.insert(table.name.clone(), count.unsigned_abs());
        }
    }
    let deleted = query(DELETE).bind(organization_id).execute(&mut tx).await?;
    if deleted.rows_affected() == 0 {
        return Err(Error::not_found(entity::ORGANIZATION));
    }
    tx.commit().await?;
    Ok(OrgDeletion {
        organization_id,
        tables,
    })
}
