//! The organization as a whole, as maintenance run by the tables' owner (the migrating
//! login): finding it by id or slug, for the operator's commands that name one.

use uuid::Uuid;

use crate::db::Db;
use crate::error::{entity, Error, Result};

const BY_SLUG: &str = "SELECT id FROM organizations WHERE slug = $1";
const BY_ID: &str = "SELECT id FROM organizations WHERE id = $1";

/// The organization `key` names: its id, or its slug.
#[tracing::instrument(name = "offboarding.organization", skip_all)]
pub async fn organization_id(db: &Db, key: &str) -> Result<Uuid> {
    let mut tx = db.begin_maintenance().await?;
    let found: Option<Uuid> = match key.parse::<Uuid>() {
        Ok(id) => {
            sqlx::query_scalar(BY_ID)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        Err(_) => {
            sqlx::query_scalar(BY_SLUG)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    tx.rollback().await?;
    found.ok_or(Error::not_found(entity::ORGANIZATION))
}
