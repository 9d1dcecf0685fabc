//! SQL built from the live catalog for the operations that walk every table (privacy
//! requests, organization export and offboarding): names quoted through
//! `crmdb_pg::ident`, rows as JSON objects of the columns a role may read.

use crmdb_pg::ident::{quote_ident, quote_literal};
use crmdb_schema::catalog::Table;

use crate::db::APP_ROLE;
use crate::error::{Error, Result};

/// A table or column name of the catalog, quoted.
pub(crate) fn quote(name: &str) -> Result<String> {
    quote_ident(name).map_err(|e| Error::InvalidInput {
        field: "identifier".into(),
        rule: e.to_string().into(),
    })
}

/// Whether the application role holds `privilege` on the column, by a grant on the table or
/// on the column: the invitations' token hashes, for one, are not even readable.
pub(crate) fn may(table: &Table, privilege: &str, column: &str) -> bool {
    table.grants.iter().any(|g| {
        g.grantee == APP_ROLE
            && g.privilege == privilege
            && g.column.as_deref().is_none_or(|c| c == column)
    })
}

/// Whether a column holds a secret's hash or ciphertext, which belongs to the organization
/// and opens nothing for anyone else.
pub(crate) fn is_secret(name: &str, data_type: &str) -> bool {
    data_type == "bytea" || name.ends_with("_hash") || name.ends_with("_hashes")
}

/// A JSON object of the row `t`'s `columns`, built in chunks because `jsonb_build_object`
/// takes at most 100 arguments.
pub(crate) fn json_object(columns: &[String]) -> Result<String> {
    let chunks = columns
        .chunks(40)
        .map(|chunk| {
            let pairs = chunk
                .iter()
                .map(|c| Ok(format!("{}, t.{}", quote_literal(c), quote(c)?)))
                .collect::<Result<Vec<_>>>()?;
            Ok(format!("jsonb_build_object({})", pairs.join(", ")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(if chunks.is_empty() {
        "'{}'::jsonb".to_owned()
    } else {
        chunks.join(" || ")
    })
}

/// `t.pk1, t.pk2`: the primary key, the stable order of an export.
pub(crate) fn order_by(table: &Table) -> Result<String> {
    match table.primary_key() {
        Some(pk) => Ok(pk
            .columns
            .iter()
            .map(|c| Ok(format!("t.{}", quote(c)?)))
            .collect::<Result<Vec<_>>>()?
            .join(", ")),
        None => Ok("1".to_owned()),
    }
}
