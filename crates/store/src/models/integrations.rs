//! Analytics events and the calendar and marketing integrations.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `calendar_integrations.provider`.
    CalendarProvider {
        Google = "google",
        Microsoft = "microsoft",
    }
}

closed_set! {
    /// `calendar_integrations.sync_status`.
    CalendarSyncStatus {
        NotSynced = "not_synced",
        Ongoing = "ongoing",
        Active = "active",
        FailedInsufficientPermissions = "failed_insufficient_permissions",
        FailedUnknown = "failed_unknown",
    }
}

closed_set! {
    /// `calendar_events.status`.
    CalendarEventStatus {
        Confirmed = "confirmed",
        Tentative = "tentative",
        Cancelled = "cancelled",
    }
}

closed_set! {
    /// `marketing_integrations.platform`.
    MarketingPlatform {
        Facebook = "facebook",
        Google = "google",
        Linkedin = "linkedin",
    }
}

row_struct! {
    /// A row of `analytics_events`: append-only product event stream for dashboards (no updated_at;
    /// only lead deletion touches a row, nulling lead_id).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct AnalyticsEvent {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// Dotted lower-case event name, e.g. lead.created, message.sent.
        pub event_type: String,
        pub event_data: JsonValue,
        /// User who caused the event. Deliberately no foreign key: an event log keeps the
        /// historical actor, and nulling it on every member departure would rewrite the largest
        /// table.
        pub user_id: Option<Uuid>,
        /// Lead the event is about; NULL once the lead is deleted.
        pub lead_id: Option<Uuid>,
        pub session_id: Option<String>,
        /// When the event happened (client time may precede created_at, the ingestion time);
        /// reports group by it.
        pub occurred_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `calendar_integrations`: a member's connected Google or Microsoft calendar, with
    /// AEAD-sealed OAuth tokens.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CalendarIntegration {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub user_id: Uuid,
        pub provider: CalendarProvider,
        /// OAuth access token sealed with AEAD by the application.
        pub access_token_ciphertext: Option<Vec<u8>>,
        /// OAuth refresh token sealed with AEAD by the application.
        pub refresh_token_ciphertext: Option<Vec<u8>>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed
        /// together).
        pub encryption_key_id: Option<String>,
        /// Expiry of the access token (a timestamp, not a secret).
        pub token_expires_at: Option<DateTime<Utc>>,
        pub calendar_id: Option<String>,
        /// The provider's incremental-sync token (Google syncToken, Microsoft deltaLink): a cursor,
        /// not a credential.
        pub sync_cursor: Option<String>,
        pub sync_status: CalendarSyncStatus,
        pub is_active: bool,
        pub last_sync_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `calendar_events`: calendar events mirrored from a calendar integration, optionally
    /// linked to a lead (meetings).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CalendarEvent {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub integration_id: Uuid,
        /// Lead the meeting is with; NULL if none or once the lead is deleted.
        pub lead_id: Option<Uuid>,
        /// Event id at the provider; unique per integration (upsert key of the sync).
        pub external_event_id: String,
        /// Event title; the sync substitutes the provider's placeholder for untitled events.
        pub title: String,
        pub description: Option<String>,
        pub location: Option<String>,
        pub starts_at: DateTime<Utc>,
        pub ends_at: DateTime<Utc>,
        pub status: CalendarEventStatus,
        pub meeting_url: Option<String>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
        /// Task the meeting fulfils; NULL if none or once the task is deleted.
        pub task_id: Option<Uuid>,
    }
}

row_struct! {
    /// A row of `marketing_integrations`: ad platform accounts (Facebook, Google, LinkedIn) the
    /// organization imports leads from, with AEAD-sealed OAuth tokens.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct MarketingIntegration {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub platform: MarketingPlatform,
        /// Ad account id at the platform.
        pub account_id: String,
        /// OAuth access token sealed with AEAD by the application.
        pub access_token_ciphertext: Option<Vec<u8>>,
        /// OAuth refresh token sealed with AEAD by the application.
        pub refresh_token_ciphertext: Option<Vec<u8>>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (both are re-sealed
        /// together).
        pub encryption_key_id: Option<String>,
        /// Expiry of the access token (a timestamp, not a secret).
        pub token_expires_at: Option<DateTime<Utc>>,
        pub is_active: bool,
        pub last_import_at: Option<DateTime<Utc>>,
        /// Counter of leads imported through this account (ROI reports).
        pub total_leads_imported: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
