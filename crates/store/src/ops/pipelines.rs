//! Pipelines and their stages: create, rename, delete, and re-order stages atomically.

use uuid::Uuid;

use crate::db::{Tenant, TenantTx};
use crate::error::{entity, Error, Result};
use crate::models::{Pipeline, PipelineStage, StageType};
use crate::sql::{query, query_as, query_scalar};
use crate::validate;

/// A stage to add to a pipeline.
#[derive(Debug, Clone)]
pub struct NewStage {
    pub name: String,
    /// `#RRGGBB`.
    pub color: String,
    pub stage_type: StageType,
    pub win_probability: i32,
}

impl NewStage {
    /// A stage with the default grey colour and no win probability.
    pub fn new(name: impl Into<String>, stage_type: StageType) -> NewStage {
        NewStage {
            name: name.into(),
            color: "#6b7280".to_owned(),
            stage_type,
            win_probability: 0,
        }
    }
}

/// The pipelines of one organization.
#[derive(Debug, Clone)]
pub struct Pipelines {
    tenant: Tenant,
}

impl Tenant {
    /// Pipelines and stages.
    pub fn pipelines(&self) -> Pipelines {
        Pipelines {
            tenant: self.clone(),
        }
    }
}

impl Pipelines {
    /// Creates a pipeline after the existing ones, with `stages` in order.
    #[tracing::instrument(name = "pipelines.create", skip_all)]
    pub async fn create(
        &self,
        name: &str,
        stages: &[NewStage],
    ) -> Result<(Pipeline, Vec<PipelineStage>)> {
        let name = validate::required("name", name)?;
        for stage in stages {
            check_stage(stage)?;
        }
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                let pipeline: Pipeline = query_as(
                    "INSERT INTO pipelines (organization_id, name, position) \
                     SELECT $1, $2, coalesce(max(position) + 1, 0) \
                     FROM pipelines WHERE organization_id = $1 \
                     RETURNING *",
                )
                .bind(org)
                .bind(&name)
                .fetch_one(&mut **tx)
                .await?;
                let mut created = Vec::with_capacity(stages.len());
                for stage in stages {
                    created.push(insert_stage(tx, org, pipeline.id, stage).await?);
                }
                Ok((pipeline, created))
            })
            .await
    }

    /// Every pipeline, in display order.
    #[tracing::instrument(name = "pipelines.list", skip_all)]
    pub async fn list(&self) -> Result<Vec<Pipeline>> {
        self.tenant
            .rows_of_organization(
                "SELECT * FROM pipelines WHERE organization_id = $1 ORDER BY position, id",
            )
            .await
    }

    /// A pipeline.
    #[tracing::instrument(name = "pipelines.get", skip_all, fields(%id))]
    pub async fn get(&self, id: Uuid) -> Result<Pipeline> {
        self.tenant
            .row_by_id(
                "SELECT * FROM pipelines WHERE organization_id = $1 AND id = $2",
                id,
                entity::PIPELINE,
            )
            .await
    }

    /// The organization's default pipeline.
    #[tracing::instrument(name = "pipelines.default_pipeline", skip_all)]
    pub async fn default_pipeline(&self) -> Result<Pipeline> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                query_as("SELECT * FROM pipelines WHERE organization_id = $1 AND is_default")
                    .bind(org)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or(Error::not_found(entity::PIPELINE))
            })
            .await
    }

    /// Renames a pipeline.
    #[tracing::instrument(name = "pipelines.rename", skip_all, fields(%id))]
    pub async fn rename(&self, id: Uuid, name: &str) -> Result<Pipeline> {
        let name = validate::required("name", name)?;
        self.tenant
            .set_by_id(
                "UPDATE pipelines SET name = $3 WHERE organization_id = $1 AND id = $2 \
                 RETURNING *",
                id,
                &name,
                entity::PIPELINE,
            )
            .await
    }

    /// Deletes a pipeline and its stages; refused with [`Error::Conflict`] while it still
    /// holds leads.
    #[tracing::instrument(name = "pipelines.delete", skip_all, fields(%id))]
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM pipelines WHERE organization_id = $1 AND id = $2",
                id,
                entity::PIPELINE,
            )
            .await
    }

    /// The stages of a pipeline, in order.
    #[tracing::instrument(name = "pipelines.stages", skip_all, fields(%pipeline_id))]
    pub async fn stages(&self, pipeline_id: Uuid) -> Result<Vec<PipelineStage>> {
        let org = self.tenant.organization_id();
        self.tenant
            .read(async |tx| {
                require_pipeline(tx, org, pipeline_id).await?;
                stages_of(tx, org, pipeline_id).await
            })
            .await
    }

    /// Adds a stage at the end of a pipeline.
    #[tracing::instrument(name = "pipelines.add_stage", skip_all, fields(%pipeline_id))]
    pub async fn add_stage(&self, pipeline_id: Uuid, stage: &NewStage) -> Result<PipelineStage> {
        check_stage(stage)?;
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                require_pipeline(tx, org, pipeline_id).await?;
                insert_stage(tx, org, pipeline_id, stage).await
            })
            .await
    }

    /// Renames a stage.
    #[tracing::instrument(name = "pipelines.rename_stage", skip_all, fields(%stage_id))]
    pub async fn rename_stage(&self, stage_id: Uuid, name: &str) -> Result<PipelineStage> {
        let name = validate::required("name", name)?;
        self.tenant
            .set_by_id(
                "UPDATE pipeline_stages SET name = $3 \
                 WHERE organization_id = $1 AND id = $2 RETURNING *",
                stage_id,
                &name,
                entity::STAGE,
            )
            .await
    }

    /// Deletes a stage; refused with [`Error::Conflict`] while leads are in it.
    #[tracing::instrument(name = "pipelines.delete_stage", skip_all, fields(%stage_id))]
    pub async fn delete_stage(&self, stage_id: Uuid) -> Result<()> {
        self.tenant
            .delete_by_id(
                "DELETE FROM pipeline_stages WHERE organization_id = $1 AND id = $2",
                stage_id,
                entity::STAGE,
            )
            .await
    }

    /// Puts the stages of a pipeline in the order of `stage_ids`, which must list each of
    /// its stages exactly once. One statement under the deferred unique order constraint,
    /// so positions can swap and no reader ever sees a half-applied order.
    #[tracing::instrument(name = "pipelines.reorder_stages", skip_all, fields(%pipeline_id))]
    pub async fn reorder_stages(
        &self,
        pipeline_id: Uuid,
        stage_ids: &[Uuid],
    ) -> Result<Vec<PipelineStage>> {
        let org = self.tenant.organization_id();
        self.tenant
            .write(async |tx| {
                require_pipeline(tx, org, pipeline_id).await?;
                let current = stages_of(tx, org, pipeline_id).await?;
                let mut wanted = stage_ids.to_vec();
                wanted.sort();
                let mut existing: Vec<Uuid> = current.iter().map(|s| s.id).collect();
                existing.sort();
                if wanted != existing {
                    return Err(Error::invalid(
                        "stage_ids",
                        "must list every stage of the pipeline exactly once",
                    ));
                }
                query(
                    "SET CONSTRAINTS uq_pipeline_stages_organization_id_pipeline_id_stage_order \
                     DEFERRED",
                )
                .execute(&mut **tx)
                .await?;
                query(
                    "UPDATE pipeline_stages AS s SET stage_order = o.position \
                     FROM unnest($3::uuid[]) WITH ORDINALITY AS o (id, position) \
                     WHERE s.organization_id = $1 AND s.pipeline_id = $2 AND s.id = o.id",
                )
                .bind(org)
                .bind(pipeline_id)
                .bind(stage_ids)
                .execute(&mut **tx)
                .await?;
                stages_of(tx, org, pipeline_id).await
            })
            .await
    }
}

fn check_stage(stage: &NewStage) -> Result<()> {
    validate::required("name", &stage.name)?;
    let color = stage.color.strip_prefix('#').unwrap_or("");
    if color.len() != 6 || !color.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::invalid("color", "must be #RRGGBB"));
    }
    validate::score("win_probability", stage.win_probability)?;
    Ok(())
}

async fn require_pipeline(tx: &mut TenantTx, org: Uuid, id: Uuid) -> Result<()> {
    let exists: bool = query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pipelines WHERE organization_id = $1 AND id = $2)",
    )
    .bind(org)
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    if !exists {
        return Err(Error::not_found(entity::PIPELINE));
    }
    Ok(())
}

async fn stages_of(tx: &mut TenantTx, org: Uuid, pipeline_id: Uuid) -> Result<Vec<PipelineStage>> {
    query_as(
        "SELECT * FROM pipeline_stages WHERE organization_id = $1 AND pipeline_id = $2 \
         ORDER BY stage_order",
    )
    .bind(org)
    .bind(pipeline_id)
    .fetch_all(&mut **tx)
    .await
}

async fn insert_stage(
    tx: &mut TenantTx,
    org: Uuid,
    pipeline_id: Uuid,
    stage: &NewStage,
) -> Result<PipelineStage> {
    query_as(
        "INSERT INTO pipeline_stages \
             (organization_id, pipeline_id, name, stage_order, color, stage_type, win_probability) \
         SELECT $1, $2, $3, coalesce(max(stage_order) + 1, 1), $4, $5, $6 \
         FROM pipeline_stages WHERE organization_id = $1 AND pipeline_id = $2 \
         RETURNING *",
    )
    .bind(org)
    .bind(pipeline_id)
    .bind(stage.name.trim())
    .bind(&stage.color)
    .bind(stage.stage_type)
    .bind(stage.win_probability)
    .fetch_one(&mut **tx)
    .await
}
