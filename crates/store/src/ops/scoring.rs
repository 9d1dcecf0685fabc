//! The organization's own machine learning: labelled training examples (taken from
//! qualified AI conversations or added by hand, then evaluated) and the versions of its
//! lead-scoring model, of which at most one is active.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value as JsonValue;
use uuid::Uuid;

use crate::db::Tenant;
use crate::error::{entity, Error, Result};
use crate::models::{AiTrainingExample, LeadScoringModel, TrainingDataType};
use crate::ops::common::{next_cursor, page_size};
use crate::sql::{query, query_as, query_scalar};
use crate::validate;

/// One page of training examples, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainingPage {
    pub examples: Vec<AiTrainingExample>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next: Option<Uuid>,
}

/// A version of the lead-scoring model to record (inactive until activated).
#[derive(Debug, Clone)]
pub struct NewScoringModel {
    pub model_name: String,
    pub model_version: String,
    /// The model's parameters: a JSON object.
    pub model_config: JsonValue,
    pub training_data_count: i32,
    /// Validation accuracy, 0 to 1.
    pub accuracy_score: Option<Decimal>,
    pub trained_at: Option<DateTime<Utc>>,
}

/// The training examples of one organization.
#[derive(Debug, Clone)]
pub struct TrainingData {
    tenant: Tenant,
}

/// The lead-scoring model versions of one organization.
#[derive(Debug, Clone)]
pub struct ScoringModels {
    tenant: Tenant,
}

impl Tenant {
    /// Labelled training examples.
    pub fn training_data(&self) -> TrainingData {
        TrainingData {
            tenant: self.clone(),
        }
    }

    /// Lead-scoring model versions.
    pub fn scoring_models(&self) -> ScoringModels {
        ScoringModels {
            tenant: self.clone(),
        }
    }
}

/// `value` when it is a fraction from 0 to 1.
fn fraction(field: &'static str, value: Decimal) -> Result<Decimal> {
    if value < Decimal::ZERO || value > Decimal::ONE {
        return Err(Error::invalid(field, "must be between 0 and 1"));
    }
    Ok(value)
}

impl TrainingData {
    /// Adds an example taken from a qualified conversation: its input is the conversation
    /// (`{"channel": …, "messages": [...]}`), labelled with `expected_output`. A
    /// conversation not qualified yet is forbidden as a source: its outcome is unknown.
    #[tracing::instrument(name = "training_data.from_conversation", skip_all, fields(%conversation_id))]
    pub async fn from_conversation(
        &self,
        conversation_id: Uuid,
        data_type: TrainingDataType,
        expected_output: &JsonValue,
    ) -> Result<AiTrainingExample> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let example = query_as(
                    "INSERT INTO ai_training_data \
                         (organization_id, data_type, input_data, expected_output, conversation_id) \
                     SELECT c.organization_id, $3, \
                            jsonb_build_object('channel', c.channel, 'messages', c.messages), \
                            $4, c.id \
                     FROM ai_conversations AS c \
                     WHERE c.organization_id = $1 AND c.id = $2 \
                       AND c.qualification_score IS NOT NULL \
                     RETURNING *",
                )
                .bind(org)
                .bind(conversation_id)
                .bind(data_type)
                .bind(expected_output)
                .fetch_optional(&mut **tx)
                .await?;
                if let Some(example) = example {
                    return Ok(example);
                }
                // Nothing inserted: tell a missing conversation from an unqualified one.
                let exists: Option<bool> = query_scalar(
                    "SELECT true FROM ai_conversations WHERE organization_id = $1 AND id = $2",
                )
                .bind(org)
                .bind(conversation_id)
                .fetch_optional(&mut **tx)
                .await?;
                Err(match exists {
                    Some(_) => Error::forbidden(
                        "the conversation has not been qualified yet: only qualified \
                         conversations become training examples",
                    ),
                    None => Error::not_found(entity::CONVERSATION),
                })
            })
            .await
    }

    /// Adds an example by hand: `input_data` (a JSON object) labelled with
    /// `expected_output`.
    #[tracing::instrument(name = "training_data.add", skip_all)]
    pub async fn add(
        &self,
        data_type: TrainingDataType,
        input_data: &JsonValue,
        expected_output: &JsonValue,
    ) -> Result<AiTrainingExample> {
        if !input_data.is_object() {
            return Err(Error::invalid("input_data", "must be a JSON object"));
        }
        let org = self.tenant.organization_id();
        query_as(
            "INSERT INTO ai_training_data (organization_id, data_type, input_data, expected_output) \
             VALUES ($1, $2, $3, $4) RETURNING *",
        )
        .bind(org)
        .bind(data_type)
        .bind(input_data)
        .bind(expected_output)
        .fetch_one(&self.tenant)
        .await
    }

    /// An example.
    #[tracing::instrument(name = "training_data.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<AiTrainingExample> {
        self.tenant
            .row_by_id(
                "SELECT * FROM ai_training_data WHERE organization_id = $1 AND id = $2",
                id,
                entity::TRAINING_EXAMPLE,
            )
            .await
    }

    /// A page of the examples of `data_type`, oldest first, after the example `after`.
    #[tracing::instrument(name = "training_data.list", skip_all, fields(%data_type))]
    pub async fn list(
        &self,
        data_type: TrainingDataType,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<TrainingPage> {
        let limit = page_size(limit)?;
        let org = self.tenant.organization_id();
        // Ids are UUIDv7: their order is the order of creation.
        let examples: Vec<AiTrainingExample> = query_as(
            "SELECT * FROM ai_training_data \
             WHERE organization_id = $1 AND data_type = $2 AND ($3::uuid IS NULL OR id > $3) \
             ORDER BY id LIMIT $4",
        )
        .bind(org)
        .bind(data_type)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.tenant)
        .await?;
        let next = next_cursor(&examples, limit, |last| last.id);
        Ok(TrainingPage { examples, next })
    }

    /// Records what the model produced for an example and, when given, the human feedback
    /// on it (0 wrong to 1 right, two decimals).
    #[tracing::instrument(name = "training_data.evaluate", skip_all, fields(%id))]
    pub async fn evaluate(
        &self,
        id: Uuid,
        actual_output: &JsonValue,
        feedback_score: Option<Decimal>,
    ) -> Result<AiTrainingExample> {
        let feedback_score = validate::optional(feedback_score, |s| fraction("feedback_score", s))?;
        let org = self.tenant.organization_id();
        query_as(
            "UPDATE ai_training_data \
             SET actual_output = $3, feedback_score = coalesce($4, feedback_score) \
             WHERE organization_id = $1 AND id = $2 RETURNING *",
        )
        .bind(org)
        .bind(id)
        .bind(actual_output)
        .bind(feedback_score)
        .fetch_optional(&self.tenant)
        .await?
        .ok_or(Error::not_found(entity::TRAINING_EXAMPLE))
    }
}

impl ScoringModels {
    /// Records a new version of a model, inactive. A name and version already recorded is
    /// a conflict on `uq_lead_scoring_models_organization_id_model_name_model_version`.
    #[tracing::instrument(name = "scoring_models.create", skip_all)]
    pub async fn create(&self, new: &NewScoringModel) -> Result<LeadScoringModel> {
        let model_name = validate::required("model_name", &new.model_name)?;
        let model_version = validate::required("model_version", &new.model_version)?;
        if !new.model_config.is_object() {
            return Err(Error::invalid("model_config", "must be a JSON object"));
        }
        if new.training_data_count < 0 {
            return Err(Error::invalid(
                "training_data_count",
                "must not be negative",
            ));
        }
        let accuracy = validate::optional(new.accuracy_score, |a| fraction("accuracy_score", a))?;
        let org = self.tenant.organization_id();
        query_as(
            "INSERT INTO lead_scoring_models (organization_id, model_name, model_version, \
                 model_config, training_data_count, accuracy_score, trained_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(org)
        .bind(&model_name)
        .bind(&model_version)
        .bind(&new.model_config)
        .bind(new.training_data_count)
        .bind(accuracy)
        .bind(new.trained_at)
        .fetch_one(&self.tenant)
        .await
    }

    /// A model version.
    #[tracing::instrument(name = "scoring_models.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<LeadScoringModel> {
        self.tenant
            .row_by_id(
                "SELECT * FROM lead_scoring_models WHERE organization_id = $1 AND id = $2",
                id,
                entity::SCORING_MODEL,
            )
            .await
    }

    /// Every version, newest first.
    #[tracing::instrument(name = "scoring_models.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<LeadScoringModel>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM lead_scoring_models WHERE organization_id = $1 \
                 ORDER BY created_at DESC, id DESC",
            )
            .await
    }

    /// The version that scores new leads, if any.
    #[tracing::instrument(name = "scoring_models.active", skip_all)]
    pub async fn active(&self) -> Result<Option<LeadScoringModel>> {
        let org = self.tenant.organization_id();
        query_as("SELECT * FROM lead_scoring_models WHERE organization_id = $1 AND is_active")
            .bind(org)
            .fetch_optional(&self.tenant)
            .await
    }

    /// Makes `id` the active version and the one active before inactive, atomically.
    /// Concurrent activations take their turns (the last one wins), so the organization
    /// always has exactly one active version after either.
    #[tracing::instrument(name = "scoring_models.activate", skip_all, fields(%id))]
    pub async fn activate(&self, id: Uuid) -> Result<LeadScoringModel> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                // Every version of the organization is locked, in id order: two
                // activations take turns instead of both deactivating the same version
                // (the second would then trip the one-active index), and cannot deadlock.
                // The deactivation starts once the locks are held, so it sees what the
                // previous activation committed.
                tx.defer(
                    query(
                        "SELECT id FROM lead_scoring_models WHERE organization_id = $1 \
                         ORDER BY id FOR UPDATE",
                    )
                    .bind(org)
                    .into_statement(),
                );
                // Deactivated first: the partial unique index is checked row by row.
                tx.defer(
                    query(
                        "UPDATE lead_scoring_models SET is_active = false \
                         WHERE organization_id = $1 AND is_active AND id <> $2",
                    )
                    .bind(org)
                    .bind(id)
                    .into_statement(),
                );
                let activated = query_as(
                    "UPDATE lead_scoring_models SET is_active = true \
                     WHERE organization_id = $1 AND id = $2 RETURNING *",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
                // An unknown id rolls the deactivation back with the transaction.
                activated.ok_or(Error::not_found(entity::SCORING_MODEL))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_from_zero_to_one() {
        assert!(fraction("f", Decimal::ZERO).is_ok());
        assert!(fraction("f", Decimal::ONE).is_ok());
        assert!(fraction("f", Decimal::new(-1, 2)).is_err());
        assert!(fraction("f", Decimal::new(101, 2)).is_err());
    }
}
