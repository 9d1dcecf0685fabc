//! Pipelines and stages: creation, renaming, atomic re-ordering, deletion rules.

use crmdb_store::models::StageType;
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::pipelines::NewStage;
use crmdb_store::Error;

use super::{assert_conflict, assert_invalid, assert_not_found, fixture};

fn stages() -> Vec<NewStage> {
    vec![
        NewStage::new("Novo", StageType::Lead),
        NewStage {
            color: "#22c55e".into(),
            win_probability: 60,
            ..NewStage::new("Quente", StageType::Negotiation)
        },
        NewStage::new("Ganho", StageType::Closed),
    ]
}

#[tokio::test]
async fn a_pipeline_is_created_renamed_and_listed_after_the_default() {
    let f = fixture().await;
    let pipelines = f.tenant_a().pipelines();
    let (pipeline, created) = pipelines.create("Parcerias", &stages()).await.unwrap();
    assert_eq!(pipeline.position, 1);
    assert!(!pipeline.is_default);
    let orders: Vec<_> = created
        .iter()
        .map(|s| (s.name.as_str(), s.stage_order))
        .collect();
    assert_eq!(orders, [("Novo", 1), ("Quente", 2), ("Ganho", 3)]);
    assert_eq!(created[1].win_probability, 60);

    let renamed = pipelines.rename(pipeline.id, "Parceiros").await.unwrap();
    assert_eq!(renamed.name, "Parceiros");
    let listed: Vec<_> = pipelines
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(listed, ["Funil de Vendas", "Parceiros"]);
    assert_conflict(
        pipelines.rename(pipeline.id, "Funil de Vendas").await,
        "uq_pipelines_organization_id_name",
    );
    assert_invalid(pipelines.create(" ", &[]).await, "name");
    let bad_colour = NewStage {
        color: "red".into(),
        ..NewStage::new("X", StageType::Lead)
    };
    assert_invalid(pipelines.create("Y", &[bad_colour]).await, "color");
    assert_not_found(pipelines.get(uuid::Uuid::now_v7()).await, "pipeline");
    assert_not_found(
        pipelines.rename(uuid::Uuid::now_v7(), "Z").await,
        "pipeline",
    );
}

#[tokio::test]
async fn stages_are_added_renamed_and_reordered_atomically() {
    let f = fixture().await;
    let pipelines = f.tenant_a().pipelines();
    let (pipeline, created) = pipelines.create("P", &stages()).await.unwrap();
    let extra = pipelines
        .add_stage(pipeline.id, &NewStage::new("Perdido", StageType::Closed))
        .await
        .unwrap();
    assert_eq!(extra.stage_order, 4);
    let renamed = pipelines
        .rename_stage(extra.id, "Descartado")
        .await
        .unwrap();
    assert_eq!(renamed.name, "Descartado");
    assert_conflict(
        pipelines.rename_stage(extra.id, "Novo").await,
        "uq_pipeline_stages_organization_id_pipeline_id_name",
    );

    // Reverse the order: every position swaps, which only the deferred unique allows.
    let reversed = [extra.id, created[2].id, created[1].id, created[0].id];
    let reordered = pipelines
        .reorder_stages(pipeline.id, &reversed)
        .await
        .unwrap();
    let ids: Vec<_> = reordered.iter().map(|s| s.id).collect();
    assert_eq!(ids, reversed);
    let orders: Vec<_> = reordered.iter().map(|s| s.stage_order).collect();
    assert_eq!(orders, [1, 2, 3, 4]);

    assert_invalid(
        pipelines.reorder_stages(pipeline.id, &reversed[..3]).await,
        "stage_ids",
    );
    let foreign = [extra.id, created[2].id, created[1].id, f.a.stages[0].id];
    assert_invalid(
        pipelines.reorder_stages(pipeline.id, &foreign).await,
        "stage_ids",
    );
    assert_eq!(
        pipelines
            .stages(pipeline.id)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        reversed,
        "a refused re-order changes nothing"
    );
    assert_not_found(pipelines.stages(uuid::Uuid::now_v7()).await, "pipeline");
    assert_not_found(
        pipelines.rename_stage(uuid::Uuid::now_v7(), "x").await,
        "stage",
    );
}

#[tokio::test]
async fn a_pipeline_or_stage_holding_leads_is_not_deleted() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let pipelines = tenant.pipelines();
    let (pipeline, created) = pipelines.create("P", &stages()).await.unwrap();
    tenant
        .leads()
        .create(&NewLead {
            stage_id: Some(created[0].id),
            ..NewLead::named("Ana")
        })
        .await
        .unwrap();
    let refused = pipelines.delete_stage(created[0].id).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    let refused = pipelines.delete(pipeline.id).await;
    assert!(
        matches!(refused, Err(Error::Conflict { .. })),
        "{refused:?}"
    );
    pipelines.delete_stage(created[2].id).await.unwrap();
    assert_eq!(pipelines.stages(pipeline.id).await.unwrap().len(), 2);
    assert_not_found(pipelines.delete_stage(created[2].id).await, "stage");

    let (empty, _) = pipelines.create("Empty", &stages()).await.unwrap();
    pipelines.delete(empty.id).await.unwrap();
    assert_not_found(pipelines.delete(empty.id).await, "pipeline");
}
