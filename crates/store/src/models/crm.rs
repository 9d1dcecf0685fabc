//! The CRM core: pipelines and stages, leads and everything that hangs off a lead.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `pipeline_stages.stage_type`.
    StageType {
        Lead = "lead",
        Contact = "contact",
        Proposal = "proposal",
        Negotiation = "negotiation",
        Closed = "closed",
    }
}

closed_set! {
    /// `leads.source`.
    LeadSource {
        Manual = "manual",
        Whatsapp = "whatsapp",
        Website = "website",
        FacebookAds = "facebook_ads",
        GoogleAds = "google_ads",
        Linkedin = "linkedin",
        Import = "import",
        Api = "api",
        Referral = "referral",
        Other = "other",
    }
}

closed_set! {
    /// `leads.status`.
    LeadStatus {
        Open = "open",
        Won = "won",
        Lost = "lost",
    }
}

closed_set! {
    /// `communications.channel`.
    Channel {
        Whatsapp = "whatsapp",
        Email = "email",
        Phone = "phone",
        Sms = "sms",
        Meeting = "meeting",
    }
}

closed_set! {
    /// `communications.direction`.
    Direction {
        Inbound = "inbound",
        Outbound = "outbound",
    }
}

closed_set! {
    /// `communications.status`.
    CommunicationStatus {
        Queued = "queued",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
        Received = "received",
    }
}

closed_set! {
    /// `tasks.type`.
    TaskType {
        Call = "call",
        Email = "email",
        Meeting = "meeting",
        Whatsapp = "whatsapp",
        FollowUp = "follow_up",
        Other = "other",
    }
}

closed_set! {
    /// `tasks.priority`.
    TaskPriority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
}

closed_set! {
    /// `custom_field_definitions.entity`.
    CustomFieldEntity {
        Lead = "lead",
    }
}

closed_set! {
    /// `custom_field_definitions.field_type`.
    FieldType {
        Text = "text",
        Number = "number",
        Date = "date",
        Boolean = "boolean",
        Select = "select",
        Multiselect = "multiselect",
    }
}

row_struct! {
    /// A row of `pipelines`: a sales pipeline (kanban board) of the organization; exactly one may
    /// be the default.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Pipeline {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub name: String,
        pub is_default: bool,
        /// Display order among the organization's pipelines.
        pub position: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `pipeline_stages`: the ordered columns of a pipeline (Lead, Contato, Proposta,
    /// Negociação, Fechado by default).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct PipelineStage {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub pipeline_id: Uuid,
        pub name: String,
        /// 1-based position in the pipeline; unique per pipeline (deferrable for re-ordering).
        pub stage_order: i32,
        pub color: String,
        /// What the stage means for reports, independent of its display name.
        pub stage_type: StageType,
        /// Percentage (0-100) used for the weighted pipeline value.
        pub win_probability: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `leads`: a sales lead (person or company) moving through the stages of one
    /// pipeline.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Lead {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub pipeline_id: Uuid,
        /// Current stage; must belong to pipeline_id (composite FK through pipeline_stages).
        /// Changes are recorded in lead_stage_history.
        pub stage_id: Uuid,
        pub name: String,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub company: Option<String>,
        pub job_title: Option<String>,
        pub source: LeadSource,
        /// Qualification score 0-100 (manual or from the active lead_scoring_models row).
        pub lead_score: i32,
        /// Expected deal value in currency, >= 0.
        pub value: Decimal,
        pub currency: String,
        pub status: LeadStatus,
        pub lost_reason: Option<String>,
        /// user_id of the member who owns the lead; NULL when unassigned or when that member left.
        pub assigned_user_id: Option<Uuid>,
        /// Values of the organization's custom_field_definitions (entity lead), keyed by definition
        /// key.
        pub custom_fields: JsonValue,
        pub last_contacted_at: Option<DateTime<Utc>>,
        pub next_follow_up_at: Option<DateTime<Utc>>,
        /// When the lead entered its current stage (kept by trg_leads_stage_changed_at).
        pub stage_changed_at: DateTime<Utc>,
        /// Soft delete: hidden from kanban and search, kept for reports until purged.
        pub deleted_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `lead_favorites`: leads a member starred (link table, one row per lead and member).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct LeadFavorite {
        pub organization_id: Uuid,
        pub lead_id: Uuid,
        pub user_id: Uuid,
        pub created_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `lead_stage_history`: one row per stage change of a lead, written by
    /// trg_leads_stage_history (append-only by convention; no updated_at).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct LeadStageChange {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub lead_id: Uuid,
        /// Stage the lead left (NULL if that stage was deleted since).
        pub from_stage_id: Option<Uuid>,
        /// Stage the lead entered (NULL if that stage was deleted since).
        pub to_stage_id: Option<Uuid>,
        /// user_id from the transaction setting app.current_user_id (must be a member); NULL for
        /// system changes.
        pub changed_by: Option<Uuid>,
        /// When the move happened; equals created_at when written by the trigger, earlier for
        /// imported history.
        pub changed_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `communications`: every message, call or meeting with a lead, on any channel,
    /// inbound or outbound.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Communication {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub lead_id: Uuid,
        /// user_id of the member who sent/handled it; NULL for automatic or inbound-only traffic,
        /// or once the member left.
        pub user_id: Option<Uuid>,
        pub channel: Channel,
        pub direction: Direction,
        /// Message text (NULL for calls and meetings without notes).
        pub content: Option<String>,
        pub status: CommunicationStatus,
        /// Provider message/call id (WhatsApp wamid, Twilio CallSid...), unique per organization
        /// and channel.
        pub external_id: Option<String>,
        /// message_templates row used to compose it; NULL once the template is deleted.
        pub template_id: Option<Uuid>,
        pub duration_seconds: Option<i32>,
        pub recording_url: Option<String>,
        pub metadata: JsonValue,
        /// When the message was sent/received or the call happened (the timeline order), not when
        /// the row was written.
        pub occurred_at: DateTime<Utc>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `lead_notes`: free-text notes members write on a lead.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct LeadNote {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub lead_id: Uuid,
        /// user_id of the member who wrote it; NULL once that member left.
        pub author_user_id: Option<Uuid>,
        pub body: String,
        pub is_pinned: bool,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `tasks`: to-dos of members, usually about a lead (calls, follow-ups, meetings).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Task {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// Lead the task is about (NULL for general tasks); deleted with the lead.
        pub lead_id: Option<Uuid>,
        pub assigned_user_id: Option<Uuid>,
        pub title: String,
        pub description: Option<String>,
        pub r#type: TaskType,
        pub priority: TaskPriority,
        pub due_at: Option<DateTime<Utc>>,
        /// NULL while the task is open.
        pub completed_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `tags`: labels of the organization that can be put on leads.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Tag {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub name: String,
        pub color: String,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `lead_tags`: which tags are on which lead (link table).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct LeadTag {
        pub organization_id: Uuid,
        pub lead_id: Uuid,
        pub tag_id: Uuid,
        pub created_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `custom_field_definitions`: extra fields an organization defines for its leads;
    /// values live in leads.custom_fields.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct CustomFieldDefinition {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub entity: CustomFieldEntity,
        /// Property name in leads.custom_fields (snake_case); an identifier, not a secret.
        pub key: String,
        pub label: String,
        pub field_type: FieldType,
        /// Array of choices for select/multiselect fields, empty otherwise.
        pub options: JsonValue,
        pub is_required: bool,
        pub position: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `notifications`: in-app notifications of a member (lead assigned, task due, message
    /// received...).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct Notification {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub user_id: Uuid,
        /// Dotted lower-case kind, e.g. lead.assigned, task.due.
        pub r#type: String,
        pub title: String,
        pub body: Option<String>,
        /// Object with the ids the notification links to, e.g. {"lead_id": "..."}.
        pub payload: JsonValue,
        /// NULL while unread.
        pub read_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
