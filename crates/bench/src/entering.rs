//! Entering an organization on the benchmark's own connections, which the data layer's
//! handles do for themselves: the raw path, the owner path and the benchmark's reads of every
//! organization set the organization row-level security reads.

use crmdb_pg::tenancy::ORGANIZATION_SETTING;
use crmdb_store::sql::{query, Statement};
use uuid::Uuid;

/// Sets the organization that row-level security reads for the rest of the transaction
/// (transaction-local, so it ends with it). `$1` the setting, `$2` the organization.
pub(crate) const ENTER: &str = "SELECT set_config($1, $2, true)";

/// [`ENTER`] as a statement of the data layer, for a transaction of the login itself
/// ([`crmdb_store::Db::begin_maintenance`]), which enters no role: the owner path, and the benchmark's
/// reads of every organization, which a login that row-level security applies to sees
/// only one at a time.
pub(crate) fn entering(organization: Uuid) -> Statement<'static> {
    query(ENTER)
        .bind(ORGANIZATION_SETTING)
        .bind(organization.to_string())
        .into_statement()
}
