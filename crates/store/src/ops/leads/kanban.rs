//! The kanban board's reads, the hot queries of leads: a column page by score, the board
//! summary per stage, a member's leads, and search.

use crate::sql::{query_as, row_struct};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Leads;
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::{Lead, LeadStatus};
use crate::ops::common::{limit_up_to, next_cursor, page_size};
use crate::validate;

/// The longest search text `search_leads` accepts (it refuses longer ones itself too).
pub const SEARCH_TEXT_MAX_BYTES: usize = 400;

row_struct! {
    /// A lead found by search.
    #[derive(Debug, Clone, PartialEq, serde::Serialize)]
    pub struct LeadHit {
        pub id: Uuid,
        pub name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub company: Option<String>,
        pub pipeline_id: Uuid,
        pub stage_id: Uuid,
        pub lead_score: i32,
        pub status: LeadStatus,
    }
}

/// Where a kanban column page ended: pass it back to get the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KanbanCursor {
    pub lead_score: i32,
    pub id: Uuid,
}

/// One page of a kanban column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KanbanPage {
    pub leads: Vec<Lead>,
    /// `None` on the last page.
    pub next: Option<KanbanCursor>,
}

row_struct! {
    /// One column of the kanban board summary.
    #[derive(Debug, Clone, PartialEq, serde::Serialize)]
    pub struct StageSummary {
        pub stage_id: Uuid,
        pub name: String,
        pub stage_order: i32,
        pub lead_count: i64,
        pub total_value: Decimal,
    }
}

/// The most hits one search returns (`search_leads` returns no more either).
const SEARCH_MAX_HITS: i64 = 100;

impl Leads {
    /// Leads whose name, e-mail, phone or company contains `text` (case-insensitive), best
    /// matches first, at most `limit` (1 to 100).
    #[tracing::instrument(name = "leads.search", skip_all)]
    pub async fn search(&self, text: &str, limit: i32) -> Result<Vec<LeadHit>> {
        let text = validate::required("text", text)?;
        if text.len() > SEARCH_TEXT_MAX_BYTES {
            return Err(Error::invalid("text", "must be at most 400 bytes"));
        }
        limit_up_to(i64::from(limit), SEARCH_MAX_HITS)?;
        let org = self.tenant.organization_id();
        query_as(hot::LEAD_SEARCH)
            .bind(org)
            .bind(&text)
            .bind(limit)
            .fetch_all(&self.tenant)
            .await
    }

    /// A page of a kanban column: the open leads of a stage by score (highest first), after
    /// `after` when given.
    #[tracing::instrument(name = "leads.kanban_column", skip_all, fields(%stage_id))]
    pub async fn kanban_column(
        &self,
        stage_id: Uuid,
        after: Option<KanbanCursor>,
        limit: i64,
    ) -> Result<KanbanPage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        let leads: Vec<Lead> = match after {
            None => query_as(hot::KANBAN_COLUMN).bind(org).bind(stage_id),
            Some(cursor) => query_as(hot::KANBAN_COLUMN_AFTER)
                .bind(org)
                .bind(stage_id)
                .bind(cursor.lead_score)
                .bind(cursor.id),
        }
        .bind(limit)
        .fetch_all(&self.tenant)
        .await?;
        let next = next_cursor(&leads, limit, |last| KanbanCursor {
            lead_score: last.lead_score,
            id: last.id,
        });
        Ok(KanbanPage { leads, next })
    }

    /// The kanban board summary of a pipeline: per stage, in order, the number and total
    /// value of its open leads.
    #[tracing::instrument(name = "leads.kanban_summary", skip_all, fields(%pipeline_id))]
    pub async fn kanban_summary(&self, pipeline_id: Uuid) -> Result<Vec<StageSummary>> {
        let org = self.tenant.organization_id();
        let summary: Vec<StageSummary> = query_as(hot::KANBAN_SUMMARY)
            .bind(org)
            .bind(pipeline_id)
            .fetch_all(&self.tenant)
            .await?;
        // Every pipeline has at least one stage to show; none means no such pipeline.
        if summary.is_empty() {
            return Err(Error::not_found(entity::PIPELINE));
        }
        Ok(summary)
    }

    /// The leads assigned to `user_id`, most recently updated first.
    #[tracing::instrument(name = "leads.my_leads", skip_all, fields(%user_id))]
    pub async fn my_leads(&self, user_id: Uuid, limit: i64) -> Result<Vec<Lead>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        query_as(hot::MY_LEADS)
            .bind(org)
            .bind(user_id)
            .bind(limit)
            .fetch_all(&self.tenant)
            .await
    }
}
