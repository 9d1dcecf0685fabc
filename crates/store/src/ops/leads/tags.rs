//! Tags on a lead: put by name (creating the organization's tag on first use), taken off,
//! listed.

use uuid::Uuid;

use super::{require_lead, Leads};
use crate::error::{entity, Error, Result};
use crate::models::Tag;
use crate::sql::{query, query_as};
use crate::validate;

impl Leads {
    /// Puts the tag named `tag` on a lead, creating the tag (with the default colour) when
    /// the organization has none of that name. Returns the tag.
    #[tracing::instrument(name = "leads.tag", skip_all, fields(%id))]
    pub async fn tag(&self, id: Uuid, tag: &str) -> Result<Tag> {
        let tag = validate::required("tag", tag)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                require_lead(tx, org, id).await?;
                // DO UPDATE (a no-op) rather than DO NOTHING, so RETURNING yields the
                // existing tag too.
                let tag: Tag = query_as(
                    "INSERT INTO tags (organization_id, name) VALUES ($1, $2) \
                     ON CONFLICT (organization_id, name) DO UPDATE SET name = EXCLUDED.name \
                     RETURNING *",
                )
                .bind(org)
                .bind(&tag)
                .fetch_one(&mut **tx)
                .await?;
                query(
                    "INSERT INTO lead_tags (organization_id, lead_id, tag_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(org)
                .bind(id)
                .bind(tag.id)
                .execute(&mut **tx)
                .await?;
                Ok(tag)
            })
            .await
    }

    /// Takes a tag off a lead.
    #[tracing::instrument(name = "leads.untag", skip_all, fields(%id, %tag_id))]
    pub async fn untag(&self, id: Uuid, tag_id: Uuid) -> Result<()> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let removed = query(
                    "DELETE FROM lead_tags WHERE organization_id = $1 AND lead_id = $2 AND tag_id = $3",
                )
                .bind(org)
                .bind(id)
                .bind(tag_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if removed == 0 {
                    return Err(Error::not_found(entity::LEAD_TAG));
                }
                Ok(())
            })
            .await
    }

    /// The tags on a lead, by name.
    #[tracing::instrument(name = "leads.tags", skip_all, fields(%id))]
    pub async fn tags(&self, id: Uuid) -> Result<Vec<Tag>> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                require_lead(tx, org, id).await?;
                query_as(
                    "SELECT t.* FROM lead_tags AS lt \
                     JOIN tags AS t ON t.organization_id = lt.organization_id AND t.id = lt.tag_id \
                     WHERE lt.organization_id = $1 AND lt.lead_id = $2 ORDER BY t.name",
                )
                .bind(org)
                .bind(id)
                .fetch_all(&mut **tx)
                .await
            })
            .await
    }
}
