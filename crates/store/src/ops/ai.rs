//! AI conversations: a chatbot session with a visitor or lead, its messages, token usage,
//! qualification result and hand-off to a human.

use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::{Last, Tenant};
use crate::error::{entity, Error, Result};
use crate::hot;
use crate::models::{AiChannel, AiConversation};
use crate::ops::common::page_size;
use crate::sql::query_as;
use crate::validate;

/// A conversation to start.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub session_id: String,
    pub channel: AiChannel,
    pub lead_id: Option<Uuid>,
    pub model: Option<String>,
}

/// The AI conversations of one organization.
#[derive(Debug, Clone)]
pub struct Conversations {
    tenant: Tenant,
}

impl Tenant {
    /// AI conversations.
    pub fn conversations(&self) -> Conversations {
        Conversations {
            tenant: self.clone(),
        }
    }
}

impl Conversations {
    /// Starts a conversation with no messages.
    #[tracing::instrument(name = "conversations.start", skip_all)]
    pub async fn start(&self, new: &NewConversation) -> Result<AiConversation> {
        let session_id = validate::required("session_id", &new.session_id)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "INSERT INTO ai_conversations (organization_id, lead_id, session_id, channel, model) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING *",
                )
                .bind(org)
                .bind(new.lead_id)
                .bind(&session_id)
                .bind(new.channel)
                .bind(&new.model)
                .fetch_one(Last(tx))
                .await
                .map_err(|e| e.missing_parent("fk_ai_conversations_leads", entity::LEAD))
            })
            .await
    }

    /// A conversation.
    #[tracing::instrument(name = "conversations.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<AiConversation> {
        self.tenant
            .row_by_id(
                "SELECT * FROM ai_conversations WHERE organization_id = $1 AND id = $2",
                id,
                entity::CONVERSATION,
            )
            .await
    }

    /// Appends chat messages (objects such as `{"role": "user", "content": "…"}`) and adds
    /// the tokens they cost.
    #[tracing::instrument(name = "conversations.append", skip_all, fields(%id))]
    pub async fn append(
        &self,
        id: Uuid,
        messages: &[JsonValue],
        tokens: i32,
    ) -> Result<AiConversation> {
        if messages.iter().any(|m| !m.is_object()) {
            return Err(Error::invalid(
                "messages",
                "each message must be a JSON object",
            ));
        }
        if tokens < 0 {
            return Err(Error::invalid("tokens", "must not be negative"));
        }
        let org = self.tenant.organization_id();
        let messages = JsonValue::from(messages.to_vec());
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE ai_conversations \
                     SET messages = messages || $3, token_usage = token_usage + $4 \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(&messages)
                .bind(tokens)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::CONVERSATION))
            })
            .await
    }

    /// Records the qualification score and, with a reason, the hand-off to a human.
    #[tracing::instrument(name = "conversations.qualify", skip_all, fields(%id))]
    pub async fn qualify(
        &self,
        id: Uuid,
        score: i32,
        handoff_reason: Option<&str>,
    ) -> Result<AiConversation> {
        validate::score("qualification_score", score)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                query_as(
                    "UPDATE ai_conversations SET qualification_score = $3, \
                         handoff_triggered = handoff_triggered OR $4::text IS NOT NULL, \
                         handoff_reason = coalesce($4, handoff_reason) \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .bind(score)
                .bind(handoff_reason)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or(Error::not_found(entity::CONVERSATION))
            })
            .await
    }

    /// The conversations of a chat session, latest first (hot query 7a).
    #[tracing::instrument(name = "conversations.by_session", skip_all)]
    pub async fn by_session(&self, session_id: &str, limit: i64) -> Result<Vec<AiConversation>> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        query_as(hot::AI_SESSION)
            .bind(org)
            .bind(session_id)
            .bind(limit)
            .fetch_all(&self.tenant)
            .await
    }

    /// Deletes a conversation.
    #[tracing::instrument(name = "conversations.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM ai_conversations WHERE organization_id = $1 AND id = $2",
                id,
                entity::CONVERSATION,
            )
            .await
    }
}
