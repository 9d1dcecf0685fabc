//! The SQL of the schema catalog's hot queries, shared by the operations that run
//! them and by `crmdb bench`, which times the same text as raw SQL and checks its plan.
//! Each names, in [`HOT_QUERIES`], the index it is meant to use.

/// Hot query 1, kanban column, first page: open leads of one stage by score.
/// `$1` organization, `$2` stage, `$3` page size.
pub const KANBAN_COLUMN: &str = "SELECT * FROM leads \
     WHERE organization_id = $1 AND stage_id = $2 AND status = 'open' AND deleted_at IS NULL \
     ORDER BY lead_score DESC, id LIMIT $3";

/// Hot query 1, kanban column, a following page: after the cursor (`$3` score, `$4` id) in
/// (score descending, id ascending) order. `lead_score <= $3` bounds the index range; the
/// rest only skips the equal scores already shown.
pub const KANBAN_COLUMN_AFTER: &str = "SELECT * FROM leads \
     WHERE organization_id = $1 AND stage_id = $2 AND status = 'open' AND deleted_at IS NULL \
       AND lead_score <= $3 AND (lead_score < $3 OR id > $4) \
     ORDER BY lead_score DESC, id LIMIT $5";

/// Hot query 2, my leads: leads assigned to one member, most recently updated first.
/// `$1` organization, `$2` user, `$3` page size.
pub const MY_LEADS: &str = "SELECT * FROM leads \
     WHERE organization_id = $1 AND assigned_user_id = $2 AND deleted_at IS NULL \
     ORDER BY updated_at DESC LIMIT $3";

/// Hot query 3, lead timeline, first page: communications of one lead, newest first.
/// `$1` organization, `$2` lead, `$3` page size.
pub const LEAD_TIMELINE: &str = "SELECT * FROM communications \
     WHERE organization_id = $1 AND lead_id = $2 \
     ORDER BY occurred_at DESC, id DESC LIMIT $3";

/// Hot query 3, lead timeline, a following page before the cursor (`$3` time, `$4` id).
pub const LEAD_TIMELINE_BEFORE: &str = "SELECT * FROM communications \
     WHERE organization_id = $1 AND lead_id = $2 \
       AND occurred_at <= $3 AND (occurred_at < $3 OR id < $4) \
     ORDER BY occurred_at DESC, id DESC LIMIT $5";

/// Hot query 4, kanban board summary: count and total value of the open leads of each
/// stage of one pipeline. `$1` organization, `$2` pipeline.
pub const KANBAN_SUMMARY: &str = "SELECT s.id AS stage_id, s.name, s.stage_order, \
            count(l.id) AS lead_count, coalesce(sum(l.value), 0) AS total_value \
     FROM pipeline_stages AS s \
     LEFT JOIN leads AS l \
       ON l.organization_id = s.organization_id AND l.pipeline_id = s.pipeline_id \
      AND l.stage_id = s.id AND l.status = 'open' AND l.deleted_at IS NULL \
     WHERE s.organization_id = $1 AND s.pipeline_id = $2 \
     GROUP BY s.id, s.name, s.stage_order \
     ORDER BY s.stage_order";

/// Hot query 5, lead search, through the `SECURITY DEFINER` function that can use the
/// trigram index under row-level security. `$1` organization, `$2` text, `$3` limit.
pub const LEAD_SEARCH: &str = "SELECT * FROM search_leads($1, $2, $3)";

/// The statement `search_leads` runs, for checking its plan (`EXPLAIN` cannot look inside
/// a function call). Same parameters as [`LEAD_SEARCH`].
pub const LEAD_SEARCH_BODY: &str = "SELECT l.id, l.name, l.email, l.phone, l.company, \
            l.pipeline_id, l.stage_id, l.lead_score, l.status \
     FROM leads AS l \
     WHERE l.organization_id = $1 AND l.deleted_at IS NULL \
       AND lead_search_document(l.name, l.email, l.phone, l.company) ILIKE '%' || $2 || '%' \
     ORDER BY word_similarity($2, lead_search_document(l.name, l.email, l.phone, l.company)) DESC, \
              l.lead_score DESC, l.id \
     LIMIT $3";

/// Hot query 6, template performance: uses and successes per template since `$2`.
/// `$1` organization.
pub const TEMPLATE_PERFORMANCE: &str = "SELECT t.id AS template_id, t.name, \
            count(u.template_id) AS uses, \
            count(u.template_id) FILTER (WHERE u.success_value) AS successes \
     FROM message_templates AS t \
     LEFT JOIN template_usage_stats AS u \
       ON u.organization_id = t.organization_id AND u.template_id = t.id \
      AND u.used_at >= $2 \
     WHERE t.organization_id = $1 \
     GROUP BY t.id, t.name \
     ORDER BY uses DESC, t.name";

/// Hot query 7a, AI conversation by session, latest first. `$1` organization, `$2`
/// session, `$3` limit.
pub const AI_SESSION: &str = "SELECT * FROM ai_conversations \
     WHERE organization_id = $1 AND session_id = $2 \
     ORDER BY created_at DESC LIMIT $3";

/// Hot query 7b, analytics events of one type since a time, newest first. `$1`
/// organization, `$2` event type, `$3` since, `$4` limit.
pub const ANALYTICS_EVENTS: &str = "SELECT * FROM analytics_events \
     WHERE organization_id = $1 AND event_type = $2 AND occurred_at >= $3 \
     ORDER BY occurred_at DESC LIMIT $4";

/// Hot query 8, next background job, through the `SECURITY DEFINER` function that claims
/// across organizations for a worker running as the application role (row-level security
/// hides every job from it otherwise). `$1` queue, `$2` worker.
pub const CLAIM_JOB: &str = "SELECT * FROM claim_background_job($1, $2)";

/// The statement `claim_background_job` runs, for checking its plan (`EXPLAIN` cannot look
/// inside a function call) and for running it as a role that bypasses row-level security:
/// claims the next due queued job of queue `$1` for worker `$2`, across organizations,
/// skipping jobs other workers hold.
pub const NEXT_JOB: &str = "UPDATE background_jobs AS j \
     SET status = 'running', locked_at = now(), locked_by = $2, attempts = j.attempts + 1 \
     FROM (SELECT organization_id, id FROM background_jobs \
           WHERE queue = $1 AND status = 'queued' AND run_at <= now() \
           ORDER BY priority, run_at \
           LIMIT 1 FOR UPDATE SKIP LOCKED) AS next \
     WHERE j.organization_id = next.organization_id AND j.id = next.id \
     RETURNING j.*";

/// The next due webhook delivery of any organization, through the `SECURITY DEFINER`
/// function that claims across organizations for the worker role, leased for `$1` seconds
/// (its `next_retry_at` moves to the end of the lease).
pub const CLAIM_WEBHOOK_DELIVERY: &str =
    "SELECT * FROM claim_webhook_delivery(make_interval(secs => $1))";

/// The statement `claim_webhook_delivery` runs, for checking its plan (`EXPLAIN` cannot
/// look inside a function call) and for running it as a role that bypasses row-level
/// security: leases the earliest due pending delivery of any organization for `$1` seconds
/// (bounded to 1 second to 1 hour, as the function bounds its lease), skipping deliveries
/// other workers hold.
pub const NEXT_WEBHOOK_DELIVERY: &str = "UPDATE webhook_delivery_logs AS d \
     SET next_retry_at = now() + least(greatest(make_interval(secs => $1), interval '1 second'), \
                                       interval '1 hour') \
     FROM (SELECT w.organization_id, w.id FROM webhook_delivery_logs AS w \
           WHERE w.status = 'pending' AND w.next_retry_at <= now() \
           ORDER BY w.next_retry_at \
           LIMIT 1 FOR UPDATE SKIP LOCKED) AS next \
     WHERE d.organization_id = next.organization_id AND d.id = next.id \
     RETURNING d.*";

/// A refresh token's live session, through the `SECURITY DEFINER` function that matches the
/// token's SHA-256 (`$1`) without the application role reading any hash: run on every
/// authenticated request that refreshes its access token.
pub const SESSION_BY_TOKEN: &str = "SELECT * FROM session_by_token($1)";

/// The statement `session_by_token` runs, for checking its plan (`EXPLAIN` cannot look
/// inside a function call), under the column names the function returns. Same parameter
/// as [`SESSION_BY_TOKEN`].
pub const SESSION_BY_TOKEN_BODY: &str = "SELECT s.id AS session_id, s.user_id, s.expires_at \
     FROM user_sessions AS s \
     JOIN users AS u ON u.id = s.user_id \
     WHERE s.refresh_token_hash = $1 \
       AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active";

/// The unread badge: how many notifications of one member are unread, counted from the
/// partial index `idx_notifications_organization_id_user_id_created_at_unread` alone.
/// `$1` organization, `$2` user.
pub const UNREAD_NOTIFICATIONS: &str = "SELECT count(*) FROM notifications \
     WHERE organization_id = $1 AND user_id = $2 AND read_at IS NULL";

/// Which hot query an entry of [`HOT_QUERIES`] is. Code that handles every hot query
/// (`crmdb bench` binds each one's parameters) matches on it without a catch-all, so a new
/// hot query does not compile until that code says how to call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HotQueryId {
    KanbanColumn,
    MyLeads,
    LeadTimeline,
    KanbanSummary,
    LeadSearch,
    TemplatePerformance,
    AiSession,
    AnalyticsEvents,
    NextJob,
    SessionLookup,
    UnreadNotifications,
    NextWebhookDelivery,
}

/// A hot query: its name in `crmdb bench`, its SQL, and the index its plan must use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotQuery {
    pub id: HotQueryId,
    pub name: &'static str,
    pub sql: &'static str,
    /// The statement whose plan is checked, when it differs from `sql`.
    pub plan_sql: &'static str,
    pub index: &'static str,
}

/// The catalog's hot queries in its order, under the names `crmdb bench` reports.
pub const HOT_QUERIES: &[HotQuery] = &[
    HotQuery {
        id: HotQueryId::KanbanColumn,
        name: "kanban_column",
        sql: KANBAN_COLUMN,
        plan_sql: KANBAN_COLUMN,
        index: "idx_leads_organization_id_stage_id_lead_score_open",
    },
    HotQuery {
        id: HotQueryId::MyLeads,
        name: "my_leads",
        sql: MY_LEADS,
        plan_sql: MY_LEADS,
        index: "idx_leads_organization_id_assigned_user_id_updated_at",
    },
    HotQuery {
        id: HotQueryId::LeadTimeline,
        name: "lead_timeline",
        sql: LEAD_TIMELINE,
        plan_sql: LEAD_TIMELINE,
        index: "idx_communications_organization_id_lead_id_occurred_at",
    },
    HotQuery {
        id: HotQueryId::KanbanSummary,
        name: "kanban_summary",
        sql: KANBAN_SUMMARY,
        plan_sql: KANBAN_SUMMARY,
        index: "idx_leads_organization_id_pipeline_id_stage_id",
    },
    HotQuery {
        id: HotQueryId::LeadSearch,
        name: "lead_search",
        sql: LEAD_SEARCH,
        plan_sql: LEAD_SEARCH_BODY,
        index: "idx_leads_organization_id_search_trgm",
    },
    HotQuery {
        id: HotQueryId::TemplatePerformance,
        name: "template_performance",
        sql: TEMPLATE_PERFORMANCE,
        plan_sql: TEMPLATE_PERFORMANCE,
        index: "idx_template_usage_stats_organization_id_template_id_used_at",
    },
    HotQuery {
        id: HotQueryId::AiSession,
        name: "ai_session",
        sql: AI_SESSION,
        plan_sql: AI_SESSION,
        index: "idx_ai_conversations_organization_id_session_id_created_at",
    },
    HotQuery {
        id: HotQueryId::AnalyticsEvents,
        name: "analytics_events",
        sql: ANALYTICS_EVENTS,
        plan_sql: ANALYTICS_EVENTS,
        index: "idx_analytics_events_organization_id_event_type_occurred_at",
    },
    HotQuery {
        id: HotQueryId::NextJob,
        name: "next_job",
        sql: NEXT_JOB,
        plan_sql: NEXT_JOB,
        index: "idx_background_jobs_queue_priority_run_at_queued",
    },
    HotQuery {
        id: HotQueryId::SessionLookup,
        name: "session_lookup",
        sql: SESSION_BY_TOKEN,
        plan_sql: SESSION_BY_TOKEN_BODY,
        index: "uq_user_sessions_refresh_token_hash",
    },
    HotQuery {
        id: HotQueryId::UnreadNotifications,
        name: "unread_notifications",
        sql: UNREAD_NOTIFICATIONS,
        plan_sql: UNREAD_NOTIFICATIONS,
        index: "idx_notifications_organization_id_user_id_created_at_unread",
    },
    HotQuery {
        id: HotQueryId::NextWebhookDelivery,
        name: "next_webhook_delivery",
        sql: CLAIM_WEBHOOK_DELIVERY,
        plan_sql: NEXT_WEBHOOK_DELIVERY,
        index: "idx_webhook_delivery_logs_next_retry_at_pending",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hot_query_is_listed_once_in_declaration_order() {
        for (position, query) in HOT_QUERIES.iter().enumerate() {
            assert_eq!(query.id as usize, position, "{}", query.name);
        }
    }
}
