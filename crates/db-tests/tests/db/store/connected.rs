//! AI conversations, analytics events, webhooks, API keys and connected accounts.

use chrono::{Duration, Utc};
use crmdb_store::models::{
    AiChannel, CalendarProvider, CalendarSyncStatus, MarketingPlatform, VoipProvider,
    WhatsappProvider,
};
use crmdb_store::ops::ai::NewConversation;
use crmdb_store::ops::analytics::NewEvent;
use crmdb_store::ops::integrations::{NewWhatsapp, OAuthTokens};
use crmdb_store::ops::leads::NewLead;
use crmdb_store::ops::webhooks::WebhookChanges;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::{assert_conflict, assert_forbidden, assert_invalid, assert_not_found, fixture};

#[tokio::test]
async fn ai_conversations_grow_qualify_and_are_found_by_session() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let ai = tenant.conversations();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let new = NewConversation {
        session_id: "sess-1".into(),
        channel: AiChannel::WebChat,
        lead_id: Some(lead.id),
        model: Some("gpt-4o-mini".into()),
    };
    let first = ai.start(&new).await.unwrap();
    let second = ai.start(&new).await.unwrap();
    let grown = ai
        .append(
            first.id,
            &[
                json!({"role": "user", "content": "Oi"}),
                json!({"role": "assistant", "content": "Olá!"}),
            ],
            42,
        )
        .await
        .unwrap();
    assert_eq!(grown.messages.as_array().unwrap().len(), 2);
    assert_eq!(grown.token_usage, 42);
    let more = ai
        .append(first.id, &[json!({"role": "user", "content": "?"})], 8)
        .await
        .unwrap();
    assert_eq!(
        (more.messages.as_array().unwrap().len(), more.token_usage),
        (3, 50)
    );
    let qualified = ai
        .qualify(first.id, 85, Some("pediu humano"))
        .await
        .unwrap();
    assert!(qualified.handoff_triggered);
    assert_eq!(qualified.qualification_score, Some(85));
    let session: Vec<_> = ai
        .by_session("sess-1", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(session, [second.id, first.id]);
    assert_eq!(ai.get(first.id).await.unwrap(), qualified);

    assert_invalid(ai.append(first.id, &[json!("text")], 1).await, "messages");
    assert_invalid(ai.qualify(first.id, 101, None).await, "qualification_score");
    assert_invalid(
        ai.start(&NewConversation {
            session_id: " ".into(),
            ..new.clone()
        })
        .await,
        "session_id",
    );
    assert_not_found(
        ai.start(&NewConversation {
            lead_id: Some(uuid::Uuid::now_v7()),
            ..new
        })
        .await,
        "lead",
    );
    ai.delete(second.id).await.unwrap();
    assert_not_found(ai.delete(second.id).await, "conversation");
    assert_not_found(ai.append(second.id, &[], 0).await, "conversation");
}

#[tokio::test]
async fn analytics_events_are_recorded_and_read_by_type_and_time() {
    let f = fixture().await;
    let analytics = f.tenant_a().analytics();
    let now = Utc::now();
    for days in [1, 3, 10] {
        analytics
            .record(&NewEvent {
                occurred_at: Some(now - Duration::days(days)),
                event_data: Some(json!({"days": days})),
                ..NewEvent::of_type("lead.created")
            })
            .await
            .unwrap();
    }
    let other = analytics
        .record(&NewEvent::of_type("message.sent"))
        .await
        .unwrap();
    assert_eq!(analytics.get(other.id).await.unwrap(), other);
    let week = analytics
        .recent("lead.created", now - Duration::days(7), 100)
        .await
        .unwrap();
    let days: Vec<_> = week
        .iter()
        .map(|e| e.event_data["days"].as_i64().unwrap())
        .collect();
    assert_eq!(days, [1, 3]);
    assert_invalid(
        analytics.record(&NewEvent::of_type("Lead Created")).await,
        "event_type",
    );
    assert_invalid(
        analytics
            .record(&NewEvent {
                event_data: Some(json!([1])),
                ..NewEvent::of_type("a.b")
            })
            .await,
        "event_data",
    );
    assert_not_found(
        analytics
            .record(&NewEvent {
                lead_id: Some(uuid::Uuid::now_v7()),
                ..NewEvent::of_type("a.b")
            })
            .await,
        "lead",
    );
    assert_not_found(analytics.get(uuid::Uuid::now_v7()).await, "event");
}

#[tokio::test]
async fn webhook_secrets_are_shown_once_and_open_again_when_signing() {
    let f = fixture().await;
    let webhooks = f.tenant_a().webhooks();
    let events = vec!["lead.created".to_owned(), "lead.updated".to_owned()];
    let created = webhooks
        .create("https://hooks.example/crm", &events, Some("Zapier"))
        .await
        .unwrap();
    assert!(created.secret.expose_secret().starts_with("whsec_"));
    assert_eq!(
        webhooks
            .secret(created.subscription.id)
            .await
            .unwrap()
            .expose_secret(),
        created.secret.expose_secret()
    );
    let rotated = webhooks
        .rotate_secret(created.subscription.id)
        .await
        .unwrap();
    assert_ne!(
        rotated.secret.expose_secret(),
        created.secret.expose_secret()
    );
    assert_eq!(
        webhooks
            .secret(created.subscription.id)
            .await
            .unwrap()
            .expose_secret(),
        rotated.secret.expose_secret()
    );
    let paused = webhooks
        .update(
            created.subscription.id,
            &WebhookChanges {
                is_active: Some(false),
                events: Some(vec!["*".into()]),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();
    assert!(!paused.is_active);
    assert_eq!(paused.events, ["*"]);
    assert_eq!(webhooks.list().await.unwrap().len(), 1);
    assert_invalid(
        webhooks.create("http://plain.example", &events, None).await,
        "url",
    );
    assert_invalid(
        webhooks.create("https://x.example", &[], None).await,
        "events",
    );
    assert_invalid(
        webhooks
            .create("https://x.example", &["Bad Event".into()], None)
            .await,
        "events",
    );
    webhooks.delete(created.subscription.id).await.unwrap();
    assert_not_found(
        webhooks.delete(created.subscription.id).await,
        "webhook subscription",
    );
    assert_not_found(
        webhooks.secret(created.subscription.id).await,
        "webhook subscription",
    );
}

#[tokio::test]
async fn api_keys_are_sealed_hinted_and_revealed_only_while_usable() {
    let f = fixture().await;
    let keys = f.tenant_a().api_keys();
    let secret = SecretString::from("sk-proj-abcdefgh12345678wxyz");
    let key = keys
        .create("openai", "produção", &secret, None)
        .await
        .unwrap();
    assert_eq!(key.key_hint.as_deref(), Some("wxyz"));
    assert_eq!(
        keys.reveal(key.id).await.unwrap().expose_secret(),
        secret.expose_secret()
    );
    assert!(keys.get(key.id).await.unwrap().last_used_at.is_some());
    assert_conflict(
        keys.create("openai", "produção", &secret, None).await,
        "uq_api_keys_organization_id_service_name_key_name",
    );
    keys.set_active(key.id, false).await.unwrap();
    assert_forbidden(keys.reveal(key.id).await);
    let expired = keys
        .create(
            "openai",
            "antiga",
            &secret,
            Some(Utc::now() - Duration::days(1)),
        )
        .await
        .unwrap();
    assert_forbidden(keys.reveal(expired.id).await);
    assert_eq!(keys.list().await.unwrap().len(), 2);
    assert_invalid(
        keys.create("Open AI", "x", &secret, None).await,
        "service_name",
    );
    assert_invalid(
        keys.create("openai", "x", &SecretString::from("short"), None)
            .await,
        "key",
    );
    keys.delete(key.id).await.unwrap();
    assert_not_found(keys.delete(key.id).await, "api key");
    assert_not_found(keys.reveal(key.id).await, "api key");
}

fn tokens(access: &str, refresh: Option<&str>) -> OAuthTokens {
    OAuthTokens {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at: Some(Utc::now() + Duration::hours(1)),
    }
}

#[tokio::test]
async fn calendar_and_marketing_tokens_are_sealed_and_reconnecting_replaces_them() {
    let f = fixture().await;
    let integrations = f.tenant_a().integrations();
    let calendar = integrations
        .connect_calendar(
            f.a.agent,
            CalendarProvider::Google,
            Some("primary"),
            &tokens("ya29.one", Some("1//r1")),
        )
        .await
        .unwrap();
    let opened = integrations.calendar_tokens(calendar.id).await.unwrap();
    assert_eq!(opened.access_token.expose_secret(), "ya29.one");
    assert_eq!(opened.refresh_token.unwrap().expose_secret(), "1//r1");
    let again = integrations
        .connect_calendar(
            f.a.agent,
            CalendarProvider::Google,
            None,
            &tokens("ya29.two", None),
        )
        .await
        .unwrap();
    assert_eq!(
        again.id, calendar.id,
        "reconnecting updates the same integration"
    );
    assert_eq!(again.calendar_id.as_deref(), Some("primary"));
    let opened = integrations.calendar_tokens(calendar.id).await.unwrap();
    assert_eq!(opened.access_token.expose_secret(), "ya29.two");
    assert!(opened.refresh_token.is_none());
    let synced = integrations
        .record_calendar_sync(calendar.id, CalendarSyncStatus::Active, Some("cursor-1"))
        .await
        .unwrap();
    assert_eq!(synced.sync_status, CalendarSyncStatus::Active);
    assert_eq!(synced.sync_cursor.as_deref(), Some("cursor-1"));
    assert_eq!(integrations.calendars().await.unwrap().len(), 1);
    assert_not_found(
        integrations
            .connect_calendar(
                f.b.agent,
                CalendarProvider::Google,
                None,
                &tokens("x", None),
            )
            .await,
        "member",
    );
    integrations.disconnect_calendar(calendar.id).await.unwrap();
    assert_not_found(
        integrations.calendar_tokens(calendar.id).await,
        "calendar integration",
    );
    assert_not_found(
        integrations.disconnect_calendar(calendar.id).await,
        "calendar integration",
    );

    let ads = integrations
        .connect_marketing(
            MarketingPlatform::Facebook,
            "act_123",
            &tokens("EAAB-token", Some("ref")),
        )
        .await
        .unwrap();
    assert_eq!(
        integrations
            .marketing_tokens(ads.id)
            .await
            .unwrap()
            .access_token
            .expose_secret(),
        "EAAB-token"
    );
    let imported = integrations.record_import(ads.id, 12).await.unwrap();
    assert_eq!(imported.total_leads_imported, 12);
    assert_invalid(integrations.record_import(ads.id, -1).await, "imported");
    assert_invalid(
        integrations
            .connect_marketing(MarketingPlatform::Google, " ", &tokens("x", None))
            .await,
        "account_id",
    );
    integrations.disconnect_marketing(ads.id).await.unwrap();
    assert_not_found(
        integrations.marketing(ads.id).await,
        "marketing integration",
    );
}

#[tokio::test]
async fn provider_credentials_are_sealed_and_the_pending_voip_config_is_completed() {
    let f = fixture().await;
    let integrations = f.tenant_a().integrations();
    let whatsapp = integrations
        .connect_whatsapp(&NewWhatsapp {
            provider: WhatsappProvider::BusinessApi,
            phone_number: "+5511999990000".into(),
            phone_number_id: Some("1234567890".into()),
            business_account_id: Some("waba-1".into()),
            credentials: SecretString::from("EAAG-whatsapp-token"),
            webhook_verify_token: Some(SecretString::from("verify-me")),
        })
        .await
        .unwrap();
    assert!(whatsapp.is_active);
    assert_eq!(
        whatsapp.webhook_verify_token_hash,
        Some(crmdb_secrets::hash_token(&SecretString::from("verify-me")))
    );
    assert_eq!(
        integrations
            .whatsapp_credentials(whatsapp.id)
            .await
            .unwrap()
            .expose_secret(),
        "EAAG-whatsapp-token"
    );
    let twilio = integrations
        .configure_voip(
            VoipProvider::Twilio,
            "+5511988880000",
            &SecretString::from("AC123:authtoken"),
            Decimal::new(15, 3),
        )
        .await
        .unwrap();
    assert!(twilio.setup_completed && twilio.is_active);
    assert_eq!(
        integrations
            .voip_credentials(twilio.id)
            .await
            .unwrap()
            .expose_secret(),
        "AC123:authtoken"
    );
    assert_not_found(
        integrations
            .configure_voip(
                VoipProvider::Twilio,
                "+5511988880000",
                &SecretString::from("x"),
                Decimal::ZERO,
            )
            .await,
        "pending voip config",
    );
    assert_invalid(
        integrations
            .configure_voip(
                VoipProvider::Telnyx,
                "123",
                &SecretString::from("x"),
                Decimal::ZERO,
            )
            .await,
        "phone_number",
    );
    assert_not_found(
        integrations.voip_credentials(uuid::Uuid::now_v7()).await,
        "voip config",
    );
}
