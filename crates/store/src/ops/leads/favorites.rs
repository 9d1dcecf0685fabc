//! Favorites: the leads each member starred.

use uuid::Uuid;

use super::{require_lead, Leads};
use crate::error::{entity, Error, Result};
use crate::models::Lead;
use crate::sql::{query, query_as};

impl Leads {
    /// Stars a lead for a member; starring twice is the same as once.
    #[tracing::instrument(name = "leads.favorite", skip_all, fields(%id, %user_id))]
    pub async fn favorite(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                require_lead(tx, org, id).await?;
                query(
                    "INSERT INTO lead_favorites (organization_id, lead_id, user_id) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .execute(&mut **tx)
                .await
                .map_err(|e| {
                    e.missing_parent("fk_lead_favorites_organization_members", entity::MEMBER)
                })?;
                Ok(())
            })
            .await
    }

    /// Removes a member's star from a lead.
    #[tracing::instrument(name = "leads.unfavorite", skip_all, fields(%id, %user_id))]
    pub async fn unfavorite(&self, id: Uuid, user_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let removed = query(
                    "DELETE FROM lead_favorites \
                     WHERE organization_id = $1 AND lead_id = $2 AND user_id = $3",
                )
                .bind(org)
                .bind(id)
                .bind(user_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Err(Error::not_found(entity::FAVORITE));
                }
                Ok(())
            })
            .await
    }

    /// The leads a member starred, most recently starred first.
    #[tracing::instrument(name = "leads.favorites", skip_all, fields(%user_id))]
    pub async fn favorites(&self, user_id: Uuid) -> Result<Vec<Lead>> {
        let org = self.tenant.organization_id();
        query_as(
            "SELECT l.* FROM lead_favorites AS f \
                     JOIN leads AS l ON l.organization_id = f.organization_id AND l.id = f.lead_id \
                     WHERE f.organization_id = $1 AND f.user_id = $2 AND l.deleted_at IS NULL \
                     ORDER BY f.created_at DESC, l.id",
        )
        .bind(org)
        .bind(user_id)
        .fetch_all(&self.tenant)
        .await
    }
}
