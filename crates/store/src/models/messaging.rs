//! Message templates, their usage statistics, and the WhatsApp and VoIP provider configurations.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `message_templates.category`.
    TemplateCategory {
        Greeting = "greeting",
        FollowUp = "follow_up",
        Proposal = "proposal",
        Objection = "objection",
        Closing = "closing",
        Reminder = "reminder",
        Other = "other",
    }
}

closed_set! {
    /// `message_templates.channel`.
    TemplateChannel {
        Whatsapp = "whatsapp",
        Email = "email",
        Sms = "sms",
        Any = "any",
    }
}

closed_set! {
    /// `message_templates.wa_category`.
    WaCategory {
        Marketing = "MARKETING",
        Utility = "UTILITY",
        Authentication = "AUTHENTICATION",
    }
}

closed_set! {
    /// `message_templates.parameter_format`.
    ParameterFormat {
        Positional = "positional",
        Named = "named",
    }
}

closed_set! {
    /// `message_templates.wa_status`.
    WaStatus {
        Draft = "draft",
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        Paused = "paused",
        Disabled = "disabled",
        InAppeal = "in_appeal",
        PendingDeletion = "pending_deletion",
        Archived = "archived",
    }
}

closed_set! {
    /// `template_usage_stats.success_metric`.
    SuccessMetric {
        ResponseReceived = "response_received",
        LeadAdvanced = "lead_advanced",
        MeetingBooked = "meeting_booked",
        DealWon = "deal_won",
    }
}

closed_set! {
    /// `whatsapp_configs.provider`.
    WhatsappProvider {
        BusinessApi = "business_api",
        WebApi = "web_api",
    }
}

closed_set! {
    /// `voip_configs.provider`.
    VoipProvider {
        Twilio = "twilio",
        Telnyx = "telnyx",
    }
}

row_struct! {
    /// A row of `message_templates`: reusable message bodies with {{variable}} placeholders;
    /// optionally mirrored as an approved WhatsApp template.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct MessageTemplate {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub name: String,
        pub category: TemplateCategory,
        pub channel: TemplateChannel,
        /// Body with {{variable}} placeholders (e.g. {{lead_name}}), filled in by the application.
        pub content: String,
        /// jsonb array of the placeholder names used in content; must equal
        /// template_placeholders(content) as a set.
        pub variables: JsonValue,
        /// BCP 47 tag (pt-BR); the WhatsApp API form (pt_BR) is derived by the application.
        pub language: String,
        /// Name of the WhatsApp Business template this one is submitted as; NULL if not submitted.
        pub wa_template_name: Option<String>,
        pub wa_category: Option<WaCategory>,
        /// WhatsApp parameter style of components: positional ({{1}}) or named ({{name}}).
        pub parameter_format: ParameterFormat,
        /// WhatsApp template components (header, body, footer, buttons) as sent to the Graph API.
        pub components: JsonValue,
        /// Review status reported by WhatsApp; NULL if never submitted.
        pub wa_status: Option<WaStatus>,
        pub is_active: bool,
        /// Denormalized number of uses (template_usage_stats holds the detail).
        pub usage_count: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `template_usage_stats`: one row per use of a template, later marked with the
    /// outcome it led to.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct TemplateUsage {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub template_id: Uuid,
        /// Lead the template was used on; NULL once the lead is deleted (the statistic stays).
        pub lead_id: Option<Uuid>,
        pub user_id: Option<Uuid>,
        pub used_at: DateTime<Utc>,
        /// Outcome measured for this use; NULL until one is recorded.
        pub success_metric: Option<SuccessMetric>,
        /// Whether the outcome was reached (true counts as a success in template performance).
        pub success_value: Option<bool>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `whatsapp_configs`: a WhatsApp number connected by the organization (Business API
    /// or web session), with its sealed credentials.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct WhatsappConfig {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub provider: WhatsappProvider,
        /// E.164 number; NULL until known (web_api before pairing).
        pub phone_number: Option<String>,
        /// Meta phone number id; inbound webhooks are routed by it through provider_routes.
        pub phone_number_id: Option<String>,
        pub business_account_id: Option<String>,
        /// SHA-256 of the verify token Meta echoes when (re)subscribing the webhook; only compared.
        pub webhook_verify_token_hash: Option<Vec<u8>>,
        /// AEAD-sealed provider credentials (access token, app secret...) as a JSON document.
        pub credentials_ciphertext: Option<Vec<u8>>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).
        pub encryption_key_id: Option<String>,
        pub is_active: bool,
        pub setup_completed: bool,
        pub last_sync_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `voip_configs`: voIP provider accounts (Twilio, Telnyx) of the organization; new
    /// organizations get inactive ones awaiting setup.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct VoipConfig {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub provider: VoipProvider,
        /// E.164 caller number; NULL while awaiting setup.
        pub phone_number: Option<String>,
        /// AEAD-sealed provider credentials (account SID/auth token, API key) as a JSON document.
        pub credentials_ciphertext: Option<Vec<u8>>,
        /// Id of the AEAD key that sealed the ciphertext columns of this row (key rotation).
        pub encryption_key_id: Option<String>,
        /// Provider price per minute in currency, used to pick the cheaper route.
        pub cost_per_minute: Decimal,
        pub currency: String,
        pub is_active: bool,
        pub setup_completed: bool,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
