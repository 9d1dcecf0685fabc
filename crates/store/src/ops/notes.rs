//! Notes members write on a lead.

use uuid::Uuid;

use crate::db::{Last, Tenant};
use crate::error::{entity, Result};
use crate::models::LeadNote;
use crate::ops::leads::require_lead;
use crate::ops::notifications;
use crate::sql::query_as;
use crate::validate;

/// The lead notes of one organization.
#[derive(Debug, Clone)]
pub struct Notes {
    tenant: Tenant,
}

impl Tenant {
    /// Lead notes.
    pub fn notes(&self) -> Notes {
        Notes {
            tenant: self.clone(),
        }
    }
}

impl Notes {
    /// Writes a note on a lead. Each member the note mentions (`@[<user id>]`, see
    /// [`notifications::mentions`]) other than its author is notified once (`note.mention`).
    #[tracing::instrument(
        name = "notes.create",
        skip_all,
        fields(%lead_id, author_user_id = author_user_id.map(tracing::field::display))
    )]
    pub async fn create(
        &self,
        lead_id: Uuid,
        author_user_id: Option<Uuid>,
        body: &str,
    ) -> Result<LeadNote> {
        let body = validate::required("body", body)?;
        let org = self.tenant.organization_id();
        // The id is chosen here so the mentions' notifications, which go out ahead of the
        // note's INSERT, can link to it.
        let id = Uuid::now_v7();
        let mentioned: Vec<Uuid> = notifications::mentions(&body)
            .into_iter()
            .filter(|user| Some(*user) != author_user_id)
            .collect();
        self.tenant
            .write(async |tx| {
                require_lead(tx, org, lead_id).await?;
                for user in mentioned {
                    notifications::notify(
                        tx,
                        org,
                        user,
                        notifications::NOTE_MENTION,
                        "You were mentioned in a note".to_owned(),
                        Some(notifications::excerpt(&body)),
                        serde_json::json!({ "lead_id": lead_id, "note_id": id }),
                    );
                }
                query_as(
                    "INSERT INTO lead_notes (organization_id, id, lead_id, author_user_id, body) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(lead_id)
                .bind(author_user_id)
                .bind(&body)
                .fetch_one(Last(tx))
                .await
                .map_err(|e| e.missing_parent("fk_lead_notes_organization_members", entity::MEMBER))
            })
            .await
    }

    /// A note.
    #[tracing::instrument(name = "notes.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<LeadNote> {
        self.tenant
            .row_by_id(
                "SELECT * FROM lead_notes WHERE organization_id = $1 AND id = $2",
                id,
                entity::NOTE,
            )
            .await
    }

    /// Replaces the text of a note.
    #[tracing::instrument(name = "notes.update", skip_all, fields(%id))]
    pub async fn update(&self, id: Uuid, body: &str) -> Result<LeadNote> {
        let body = validate::required("body", body)?;
        self.tenant
            .set_by_id(
                "UPDATE lead_notes SET body = $3 WHERE organization_id = $1 AND id = $2 \
                 RETURNING *",
                id,
                &body,
                entity::NOTE,
            )
            .await
    }

    /// Pins a note to the top of its lead, or unpins it.
    #[tracing::instrument(name = "notes.pin", skip_all, fields(%id))]
    pub async fn pin(&self, id: Uuid, pinned: bool) -> Result<LeadNote> {
        self.tenant
            .set_by_id(
                "UPDATE lead_notes SET is_pinned = $3 WHERE organization_id = $1 AND id = $2 \
                 RETURNING *",
                id,
                pinned,
                entity::NOTE,
            )
            .await
    }

    /// Deletes a note.
    #[tracing::instrument(name = "notes.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM lead_notes WHERE organization_id = $1 AND id = $2",
                id,
                entity::NOTE,
            )
            .await
    }

    /// The notes of a lead: pinned first, then newest first.
    #[tracing::instrument(name = "notes.list", skip_all, fields(%lead_id))]
    pub async fn list(&self, lead_id: Uuid) -> Result<Vec<LeadNote>> {
        let org = self.tenant.organization_id();
        query_as(
            "SELECT * FROM lead_notes WHERE organization_id = $1 AND lead_id = $2 \
                     ORDER BY is_pinned DESC, created_at DESC, id DESC",
        )
        .bind(org)
        .bind(lead_id)
        .fetch_all(&self.tenant)
        .await
    }
}
