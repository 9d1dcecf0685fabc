//! Training data and lead-scoring models: examples from qualified conversations only,
//! evaluation in range, one active model version at a time even under concurrent
//! activations, and each organization's own.

use crmdb_store::models::{AiChannel, TrainingDataType};
use crmdb_store::ops::ai::NewConversation;
use crmdb_store::ops::scoring::NewScoringModel;
use crmdb_store::{Error, Tenant};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

use super::{assert_conflict, assert_forbidden, assert_invalid, assert_not_found, fixture};

const ONE_ACTIVE: &str = "uq_lead_scoring_models_organization_id_active";

async fn qualified_conversation(tenant: &Tenant, score: Option<i32>) -> Uuid {
    let conversations = tenant.conversations();
    let conversation = conversations
        .start(&NewConversation {
            session_id: format!("web-{}", Uuid::now_v7()),
            channel: AiChannel::WebChat,
            lead_id: None,
            model: Some("gpt-test".to_owned()),
        })
        .await
        .unwrap();
    conversations
        .append(
            conversation.id,
            &[
                json!({"role": "user", "content": "I need 40 seats next month"}),
                json!({"role": "assistant", "content": "What is your budget?"}),
            ],
            120,
        )
        .await
        .unwrap();
    if let Some(score) = score {
        conversations
            .qualify(conversation.id, score, None)
            .await
            .unwrap();
    }
    conversation.id
}

fn model(version: &str) -> NewScoringModel {
    NewScoringModel {
        model_name: "gradient".to_owned(),
        model_version: version.to_owned(),
        model_config: json!({"kind": "gbm", "trees": 50}),
        training_data_count: 1200,
        accuracy_score: Some(Decimal::new(8125, 4)),
        trained_at: Some(chrono::Utc::now()),
    }
}

#[tokio::test]
async fn training_examples_come_from_qualified_conversations_only() {
    let f = fixture().await;
    let training = f.tenant_a().training_data();
    let label = json!({"qualified": true, "score": 85});

    let unqualified = qualified_conversation(&f.tenant_a(), None).await;
    assert_forbidden(
        training
            .from_conversation(unqualified, TrainingDataType::LeadQualification, &label)
            .await,
    );
    assert_not_found(
        training
            .from_conversation(Uuid::now_v7(), TrainingDataType::LeadQualification, &label)
            .await,
        "conversation",
    );

    let qualified = qualified_conversation(&f.tenant_a(), Some(85)).await;
    let example = training
        .from_conversation(qualified, TrainingDataType::LeadQualification, &label)
        .await
        .unwrap();
    assert_eq!(example.conversation_id, Some(qualified));
    assert_eq!(example.data_type, TrainingDataType::LeadQualification);
    assert_eq!(example.expected_output, label);
    assert_eq!(example.input_data["channel"], "web_chat");
    assert_eq!(
        example.input_data["messages"],
        json!([
            {"role": "user", "content": "I need 40 seats next month"},
            {"role": "assistant", "content": "What is your budget?"},
        ])
    );
    assert_eq!(example.actual_output, None);
    assert_eq!(training.get(example.id).await.unwrap(), example);
    // Nothing was added by the refused attempts.
    let page = training
        .list(TrainingDataType::LeadQualification, None, 10)
        .await
        .unwrap();
    assert_eq!(page.examples, vec![example]);
}

#[tokio::test]
async fn examples_are_added_by_hand_listed_by_type_in_pages_and_evaluated() {
    let f = fixture().await;
    let training = f.tenant_a().training_data();
    assert_invalid(
        training
            .add(
                TrainingDataType::Sentiment,
                &json!(["not", "an object"]),
                &json!("x"),
            )
            .await,
        "input_data",
    );
    let mut scoring = Vec::new();
    for i in 0..3 {
        scoring.push(
            training
                .add(
                    TrainingDataType::Scoring,
                    &json!({"lead": {"source": "website", "visits": i}}),
                    &json!(40 + i),
                )
                .await
                .unwrap(),
        );
    }
    let sentiment = training
        .add(
            TrainingDataType::Sentiment,
            &json!({"text": "Great service!"}),
            &json!("positive"),
        )
        .await
        .unwrap();

    let first = training
        .list(TrainingDataType::Scoring, None, 2)
        .await
        .unwrap();
    assert_eq!(first.examples, scoring[..2]);
    let second = training
        .list(TrainingDataType::Scoring, first.next, 2)
        .await
        .unwrap();
    assert_eq!(second.examples, scoring[2..]);
    assert_eq!(second.next, None);
    let sentiments = training
        .list(TrainingDataType::Sentiment, None, 10)
        .await
        .unwrap();
    assert_eq!(sentiments.examples, vec![sentiment.clone()]);
    assert_invalid(
        training.list(TrainingDataType::Sentiment, None, 0).await,
        "limit",
    );

    let evaluated = training
        .evaluate(sentiment.id, &json!("negative"), Some(Decimal::new(25, 2)))
        .await
        .unwrap();
    assert_eq!(evaluated.actual_output, Some(json!("negative")));
    assert_eq!(evaluated.feedback_score, Some(Decimal::new(25, 2)));
    // Output re-recorded without feedback keeps the feedback given.
    let rerun = training
        .evaluate(sentiment.id, &json!("positive"), None)
        .await
        .unwrap();
    assert_eq!(rerun.actual_output, Some(json!("positive")));
    assert_eq!(rerun.feedback_score, Some(Decimal::new(25, 2)));
    for out_of_range in [Decimal::new(101, 2), Decimal::new(-1, 2)] {
        assert_invalid(
            training
                .evaluate(sentiment.id, &json!("x"), Some(out_of_range))
                .await,
            "feedback_score",
        );
    }
    assert_not_found(
        training.evaluate(Uuid::now_v7(), &json!("x"), None).await,
        "training example",
    );
}

#[tokio::test]
async fn a_new_model_version_is_activated_in_place_of_the_baseline() {
    let f = fixture().await;
    let models = f.tenant_a().scoring_models();
    // The organization's seed: the baseline model, active.
    let baseline = models.active().await.unwrap().expect("the seeded baseline");
    assert_eq!(
        (
            baseline.model_name.as_str(),
            baseline.model_version.as_str()
        ),
        ("baseline", "1.0.0")
    );
    assert_eq!(models.list().await.unwrap(), vec![baseline.clone()]);

    let v2 = models.create(&model("2.0.0")).await.unwrap();
    assert!(!v2.is_active);
    assert_eq!(v2.accuracy_score, Some(Decimal::new(8125, 4)));
    assert_conflict(
        models.create(&model("2.0.0")).await,
        "uq_lead_scoring_models_organization_id_model_name_model_version",
    );
    assert_invalid(
        models
            .create(&NewScoringModel {
                model_config: json!([1, 2]),
                ..model("3.0.0")
            })
            .await,
        "model_config",
    );
    assert_invalid(
        models
            .create(&NewScoringModel {
                accuracy_score: Some(Decimal::new(12, 1)),
                ..model("3.0.0")
            })
            .await,
        "accuracy_score",
    );
    assert_invalid(
        models
            .create(&NewScoringModel {
                model_name: " ".to_owned(),
                ..model("3.0.0")
            })
            .await,
        "model_name",
    );
    assert_invalid(
        models
            .create(&NewScoringModel {
                training_data_count: -1,
                ..model("3.0.0")
            })
            .await,
        "training_data_count",
    );
    let listed = models.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, v2.id, "newest first");

    let active = models.activate(v2.id).await.unwrap();
    assert!(active.is_active);
    assert_eq!(models.active().await.unwrap().unwrap().id, v2.id);
    assert!(!models.get(baseline.id).await.unwrap().is_active);
    // Activating the active version again changes nothing.
    assert!(models.activate(v2.id).await.unwrap().is_active);
    // An unknown version leaves the active one active.
    assert_not_found(models.activate(Uuid::now_v7()).await, "scoring model");
    assert_eq!(models.active().await.unwrap().unwrap().id, v2.id);
    // And back to the baseline.
    models.activate(baseline.id).await.unwrap();
    assert_eq!(models.active().await.unwrap().unwrap().id, baseline.id);
}

#[tokio::test]
async fn concurrent_activations_leave_exactly_one_active_version() {
    let f = fixture().await;
    let models = f.tenant_a().scoring_models();
    let v2 = models.create(&model("2.0.0")).await.unwrap();
    let v3 = models.create(&model("3.0.0")).await.unwrap();
    for round in 0..6 {
        let (first, second) = if round % 2 == 0 {
            (v2.id, v3.id)
        } else {
            (v3.id, v2.id)
        };
        let (a, b) = (f.tenant_a().scoring_models(), f.tenant_a().scoring_models());
        let (ra, rb) = tokio::join!(a.activate(first), b.activate(second));
        // The activations take turns: neither trips the one-active index.
        for result in [ra, rb] {
            match result {
                Ok(model) => assert!(model.is_active),
                Err(Error::Conflict { constraint }) if constraint == ONE_ACTIVE => {
                    panic!("round {round}: the activations did not take turns")
                }
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        let active: Vec<Uuid> = models
            .list()
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.is_active)
            .map(|m| m.id)
            .collect();
        assert_eq!(active.len(), 1, "round {round}: {active:?}");
        assert!(active[0] == v2.id || active[0] == v3.id);
        assert_eq!(models.active().await.unwrap().unwrap().id, active[0]);
    }
}

#[tokio::test]
async fn an_organization_cannot_read_or_change_another_organizations_models_or_examples() {
    let f = fixture().await;
    let b_models = f.tenant_b().scoring_models();
    let b_model = b_models.create(&model("2.0.0")).await.unwrap();
    let b_conversation = qualified_conversation(&f.tenant_b(), Some(70)).await;
    let b_example = f
        .tenant_b()
        .training_data()
        .from_conversation(b_conversation, TrainingDataType::Scoring, &json!(70))
        .await
        .unwrap();
    let b_active_before = b_models.active().await.unwrap();
    let b_list_before = b_models.list().await.unwrap();

    // As the attacker, through A's handle.
    let a_models = f.tenant_a().scoring_models();
    let a_training = f.tenant_a().training_data();
    assert_not_found(a_models.get(b_model.id).await, "scoring model");
    assert_not_found(a_models.activate(b_model.id).await, "scoring model");
    assert!(a_models
        .list()
        .await
        .unwrap()
        .iter()
        .all(|m| m.organization_id == f.a.id()));
    assert_not_found(a_training.get(b_example.id).await, "training example");
    assert_not_found(
        a_training
            .evaluate(b_example.id, &json!(0), Some(Decimal::ZERO))
            .await,
        "training example",
    );
    assert_not_found(
        a_training
            .from_conversation(b_conversation, TrainingDataType::Scoring, &json!(1))
            .await,
        "conversation",
    );
    assert!(a_training
        .list(TrainingDataType::Scoring, None, 10)
        .await
        .unwrap()
        .examples
        .is_empty());
    // A's own active model is still its baseline.
    assert_eq!(
        a_models.active().await.unwrap().unwrap().model_name,
        "baseline"
    );

    // B's rows, read as B, are unchanged.
    assert_eq!(b_models.active().await.unwrap(), b_active_before);
    assert_eq!(b_models.list().await.unwrap(), b_list_before);
    assert_eq!(
        f.tenant_b()
            .training_data()
            .get(b_example.id)
            .await
            .unwrap(),
        b_example
    );
}
