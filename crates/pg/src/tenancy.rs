//! The names of the transaction settings that row-level security reads. The migrations
//! spell the same names in their policies (`current_setting('app.current_organization_id',
//! true)`); code binds these constants instead of writing the names again.

use sqlx::PgConnection;
use uuid::Uuid;

/// The organization a transaction has entered; every tenant policy compares with it.
pub const ORGANIZATION_SETTING: &str = "app.current_organization_id";

/// The acting user: the global tables' policies and triggers that record who changed a row
/// (`changed_by` of a lead's stage history) read it.
pub const USER_SETTING: &str = "app.current_user_id";

/// Sets the organization for the rest of the transaction (`is_local`: it ends with the
/// transaction, so a pooled connection's next user starts without one).
pub async fn set_organization(
    conn: &mut PgConnection,
    organization_id: Uuid,
) -> Result<(), sqlx::Error> {
    set_local(conn, ORGANIZATION_SETTING, organization_id).await
}

/// Sets the acting user for the rest of the transaction.
pub async fn set_user(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    set_local(conn, USER_SETTING, user_id).await
}

async fn set_local(conn: &mut PgConnection, setting: &str, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config($1, $2, true)")
        .bind(setting)
        .bind(id.to_string())
        .execute(conn)
        .await
        .map(drop)
}
