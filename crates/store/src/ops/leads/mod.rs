//! Leads: the [`Leads`] handle, one file per concern — `crud` creates, reads, updates,
//! soft-deletes, restores, moves and assigns a lead; `favorites` keeps the members' stars;
//! `tags` the tags on a lead; `kanban` the board's reads (column pages, board summary, a
//! member's leads, search).

mod crud;
mod favorites;
mod kanban;
mod tags;

use uuid::Uuid;

use crate::db::{Tenant, TenantTx};
use crate::error::{entity, Error, Result};
use crate::sql::query_scalar;

pub use crud::{LeadChanges, NewLead};
pub use kanban::{KanbanCursor, KanbanPage, LeadHit, StageSummary, SEARCH_TEXT_MAX_BYTES};

/// The leads of one organization.
#[derive(Debug, Clone)]
pub struct Leads {
    tenant: Tenant,
}

impl Tenant {
    /// Leads.
    pub fn leads(&self) -> Leads {
        Leads {
            tenant: self.clone(),
        }
    }
}

/// Fails with "lead not found" unless the lead exists and is not deleted.
pub(crate) async fn require_lead(tx: &mut TenantTx, org: Uuid, id: Uuid) -> Result<()> {
    let exists: bool = query_scalar(
        "SELECT EXISTS (SELECT 1 FROM leads \
                        WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL)",
    )
    .bind(org)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if !exists {
        return Err(Error::not_found(entity::LEAD));
    }
    Ok(())
}
