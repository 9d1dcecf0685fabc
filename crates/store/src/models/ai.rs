//! The AI pipeline: chatbot conversations, training data and lead-scoring models.

use crate::sql::row_struct;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as JsonValue;
use uuid::Uuid;

closed_set! {
    /// `ai_conversations.channel`.
    AiChannel {
        Whatsapp = "whatsapp",
        WebChat = "web_chat",
        Email = "email",
        Sms = "sms",
        Phone = "phone",
        Other = "other",
    }
}

closed_set! {
    /// `ai_training_data.data_type`.
    TrainingDataType {
        LeadQualification = "lead_qualification",
        Sentiment = "sentiment",
        Scoring = "scoring",
    }
}

row_struct! {
    /// A row of `ai_conversations`: a chatbot conversation (LLM) with a visitor or lead, with its
    /// qualification result and hand-off to a human.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct AiConversation {
        pub organization_id: Uuid,
        pub id: Uuid,
        /// Lead the conversation is with; NULL while the visitor is anonymous. Deleted with the
        /// lead.
        pub lead_id: Option<Uuid>,
        /// Channel session identifier (web chat session, WhatsApp wa_id...), the lookup key of the
        /// bot.
        pub session_id: String,
        pub channel: AiChannel,
        /// Chat-format array: [{"role": "user"|"assistant"|"system", "content": "..."}].
        pub messages: JsonValue,
        pub model: Option<String>,
        /// 0-100 score the model gave the lead; NULL until qualified.
        pub qualification_score: Option<i32>,
        pub handoff_triggered: bool,
        pub handoff_reason: Option<String>,
        /// Number of LLM tokens (prompt + completion) consumed: a counter for cost, not a secret.
        pub token_usage: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `ai_training_data`: the organization's own labelled examples for qualification,
    /// sentiment and scoring models.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct AiTrainingExample {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub data_type: TrainingDataType,
        pub input_data: JsonValue,
        /// Label (any JSON value) the model should produce for input_data.
        pub expected_output: JsonValue,
        /// What the model produced, for evaluation; NULL until evaluated.
        pub actual_output: Option<JsonValue>,
        /// Human feedback on actual_output, 0.00 (wrong) to 1.00 (right).
        pub feedback_score: Option<Decimal>,
        /// Conversation the example was taken from; NULL if created by hand or the conversation was
        /// deleted.
        pub conversation_id: Option<Uuid>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}

row_struct! {
    /// A row of `lead_scoring_models`: versions of the organization's lead-scoring model; at most
    /// one is active and scores new leads.
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct LeadScoringModel {
        pub organization_id: Uuid,
        pub id: Uuid,
        pub model_name: String,
        pub model_version: String,
        /// Model parameters (weights, thresholds, feature list) as an object.
        pub model_config: JsonValue,
        pub training_data_count: i32,
        /// Validation accuracy 0-1 (the baseline seed model has 0.75).
        pub accuracy_score: Option<Decimal>,
        pub is_active: bool,
        pub trained_at: Option<DateTime<Utc>>,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }
}
