//! System support: outgoing webhooks, provider routing, external API keys and the job queue.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `webhook_delivery_logs.status`.
    DeliveryStatus {
        Pending = "pending",
        Succeeded = "succeeded",
        Failed = "failed",
        Dead = "dead",
    }
}

closed_set! {
    /// `provider_routes.provider`.
    RouteProvider {
        Whatsapp = "whatsapp",
        Twilio = "twilio",
        Telnyx = "telnyx",
        Stripe = "stripe",
        Google = "google",
        Facebook = "facebook",
    }
}

closed_set! {
    /// `background_jobs.status`.
    JobStatus {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

row_struct! {
    /// A row of `webhook_subscriptions`: endpoints the organization registered to receive our
    /// events, signed with a per-subscription secret.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct WebhookSubscription {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub url: String,
        pub description: Option<String>,
        /// HMAC signing secret sealed with AEAD (it must be read back to sign each delivery).
        pub secret_ciphertext: Vec<u8>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).
        pub encryption_key_id: String,
        /// Event names delivered to this endpoint (e.g. lead.created), or * for all.
        pub events: Vec<String>,
        pub is_active: bool,
        /// Consecutive failed deliveries; reset on success, the subscription is disabled past a
        /// threshold.
        pub failure_count: i32,
        pub last_ping_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `webhook_delivery_logs`: one row per event delivery to a webhook subscription,
    /// updated on each attempt until it succeeds or is dead.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct WebhookDelivery {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub subscription_id: Uuid,
        pub event_type: String,
        pub payload: JsonValue,
        /// Number of the latest attempt (1 = first try).
        pub attempt: i32,
        /// pending (scheduled at next_retry_at), succeeded, failed (last attempt failed, no retry
        /// scheduled) or dead (gave up).
        pub status: DeliveryStatus,
        /// HTTP status of the latest attempt; NULL if no response (timeout, connection error).
        pub response_status: Option<i32>,
        pub duration_ms: Option<i32>,
        pub last_error: Option<String>,
        pub next_retry_at: Option<DateTime<Utc>>,
        pub delivered_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `provider_routes`: routes an inbound provider webhook to its organization before
    /// any organization is known; the one place where a provider account id is unique across all
    /// organizations.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct ProviderRoute {
        pub provider: RouteProvider,
        /// The provider's account id in the webhook (WhatsApp phone_number_id, Stripe customer id,
        /// Twilio AccountSid...).
        pub external_account_id: String,
        /// Organization that owns the account (this table is global: it is read before the
        /// organization is known, so it has no RLS).
        pub organization_id: Uuid,
        /// Id of the organization's config row for this provider (whatsapp_configs, voip_configs,
        /// ...); polymorphic, so no foreign key.
        pub config_id: Option<Uuid>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `api_keys`: the organization's keys for external services (e.g. its own OpenAI
    /// key), AEAD-sealed.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct ApiKey {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// External service the key is for (openai, anthropic, ...): an identifier, not a secret.
        pub service_name: String,
        /// Label the organization gave the key (e.g. "production"): not a secret.
        pub key_name: String,
        /// The external API key sealed with AEAD by the application.
        pub key_ciphertext: Vec<u8>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).
        pub encryption_key_id: String,
        /// Last characters of the key (at most 4), shown to identify it.
        pub key_hint: Option<String>,
        pub is_active: bool,
        pub expires_at: Option<DateTime<Utc>>,
        pub last_used_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `background_jobs`: the job queue: workers claim queued jobs with FOR UPDATE SKIP
    /// LOCKED, lowest priority number first.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct BackgroundJob {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub queue: String,
        pub job_type: String,
        pub payload: JsonValue,
        pub status: JobStatus,
        /// 0 (most urgent) to 1000; the dequeue orders by priority, then run_at.
        pub priority: i32,
        pub attempts: i32,
        pub max_attempts: i32,
        /// Not before this time (scheduling and retry back-off).
        pub run_at: DateTime<Utc>,
        pub locked_at: Option<DateTime<Utc>>,
        /// Identifier of the worker running the job (host:pid), for stuck-job recovery.
        pub locked_by: Option<String>,
        pub last_error: Option<String>,
        pub finished_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
