//! Secrets at rest: nothing written through the data layer is readable in clear anywhere in
//! the database, and a rotation leaves every secret sealed under the new key only.

use std::sync::Arc;

use chrono::Duration;
use crmdb_pg::ident::quote_ident;
use crmdb_secrets::{Key, Keyring};
use crmdb_store::models::{
    CalendarProvider, MarketingPlatform, MemberRole, VoipProvider, WhatsappProvider,
};
use crmdb_store::ops::integrations::{NewWhatsapp, OAuthTokens};
use crmdb_store::ops::organizations::NewUser;
use crmdb_store::{Db, Error};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{fixture, Fixture};

fn ring(keys: &[[u8; 32]]) -> Arc<Keyring> {
    Arc::new(Keyring::new(keys.iter().map(|k| Key::from_bytes(*k)).collect()).unwrap())
}

/// Ids of everything sealed by [`write_secrets`], to open them again.
struct Written {
    webhook: Uuid,
    api_key: Uuid,
    calendar: Uuid,
    marketing: Uuid,
    whatsapp: Uuid,
    voip: Uuid,
    user: Uuid,
    clear: Vec<String>,
}

/// Writes one secret of every kind through the layer; returns them in clear.
async fn write_secrets(f: &Fixture, db: &Db) -> Written {
    let tenant = db.tenant(f.a.id());
    let mut clear = Vec::new();
    let mut secret = |name: &str| {
        let value = format!("S3cret-{name}-{}", Uuid::now_v7().simple());
        clear.push(value.clone());
        SecretString::from(value)
    };
    let api = secret("api");
    let (access, refresh) = (secret("access"), secret("refresh"));
    let (ads_access, ads_refresh) = (secret("ads-access"), secret("ads-refresh"));
    let (wa, verify, voip, totp, password) = (
        secret("wa"),
        secret("verify"),
        secret("voip"),
        secret("totp"),
        secret("password"),
    );
    let webhook = tenant
        .webhooks()
        .create("https://hooks.example/a", &["*".to_owned()], None)
        .await
        .unwrap();
    clear.push(webhook.secret.expose_secret().to_owned());
    let invitation = tenant
        .members()
        .invite(
            "someone@a.example",
            MemberRole::Agent,
            None,
            Duration::days(1),
        )
        .await
        .unwrap();
    clear.push(invitation.token.expose_secret().to_owned());
    let api_key = tenant
        .api_keys()
        .create("openai", "main", &api, None)
        .await
        .unwrap();
    let calendar = tenant
        .integrations()
        .connect_calendar(
            f.a.agent,
            CalendarProvider::Microsoft,
            None,
            &OAuthTokens {
                access_token: access,
                refresh_token: Some(refresh),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let marketing = tenant
        .integrations()
        .connect_marketing(
            MarketingPlatform::Linkedin,
            "urn:li:1",
            &OAuthTokens {
                access_token: ads_access,
                refresh_token: Some(ads_refresh),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let whatsapp = tenant
        .integrations()
        .connect_whatsapp(&NewWhatsapp {
            provider: WhatsappProvider::BusinessApi,
            phone_number: "+5511977776666".into(),
            phone_number_id: None,
            business_account_id: None,
            credentials: wa,
            webhook_verify_token: Some(verify),
        })
        .await
        .unwrap();
    let voip = tenant
        .integrations()
        .configure_voip(VoipProvider::Twilio, "+5511966665555", &voip, Decimal::ZERO)
        .await
        .unwrap();
    let user = db
        .users()
        .create(&NewUser {
            email: "totp@example.com".into(),
            full_name: "Totp".into(),
            phone: None,
            password: Some(password),
        })
        .await
        .unwrap();
    db.users().enroll_two_factor(user.id, &totp).await.unwrap();
    Written {
        webhook: webhook.subscription.id,
        api_key: api_key.id,
        calendar: calendar.id,
        marketing: marketing.id,
        whatsapp: whatsapp.id,
        voip: voip.id,
        user: user.id,
        clear,
    }
}

/// Opens every secret of `written` through `db`; returns them in the order of `clear`
/// where they can be read back (hashed ones cannot).
async fn open_all(f: &Fixture, db: &Db, written: &Written) -> Result<Vec<String>, Error> {
    let tenant = db.tenant(f.a.id());
    let calendar = tenant
        .integrations()
        .calendar_tokens(written.calendar)
        .await?;
    let marketing = tenant
        .integrations()
        .marketing_tokens(written.marketing)
        .await?;
    let text = |s: SecretString| s.expose_secret().to_owned();
    Ok(vec![
        text(tenant.api_keys().reveal(written.api_key).await?),
        text(calendar.access_token),
        text(calendar.refresh_token.unwrap()),
        text(marketing.access_token),
        text(marketing.refresh_token.unwrap()),
        text(
            tenant
                .integrations()
                .whatsapp_credentials(written.whatsapp)
                .await?,
        ),
        text(tenant.integrations().voip_credentials(written.voip).await?),
        text(db.users().two_factor_secret(written.user).await?),
        text(tenant.webhooks().secret(written.webhook).await?),
    ])
}

/// Every (table, column) of a type that can hold a secret: text, bytea, jsonb, arrays.
async fn searchable_columns(f: &Fixture) -> Vec<(String, String, String)> {
    let mut conn = f.test_db.connect().await;
    sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text \
         FROM information_schema.columns AS c \
         JOIN information_schema.tables AS t USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
           AND c.data_type IN ('text', 'bytea', 'jsonb', 'json', 'ARRAY', 'character varying') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

#[tokio::test]
async fn no_secret_written_through_the_layer_is_stored_in_clear() {
    let f = fixture().await;
    let written = write_secrets(&f, &f.db).await;
    let opened = open_all(&f, &f.db, &written).await.unwrap();
    assert!(
        opened.iter().all(|s| written.clear.contains(s)),
        "every secret opens again"
    );

    let columns = searchable_columns(&f).await;
    assert!(
        columns.len() > 100,
        "the scan covers the schema ({} columns)",
        columns.len()
    );
    let mut conn = f.test_db.connect().await;
    for (table, column, data_type) in &columns {
        let (t, c) = (quote_ident(table).unwrap(), quote_ident(column).unwrap());
        // bytea is searched for the raw bytes; everything else as its text form.
        let sql = if data_type == "bytea" {
            format!("SELECT count(*) FROM {t} WHERE position(convert_to($1, 'UTF8') IN {c}) > 0")
        } else {
            format!("SELECT count(*) FROM {t} WHERE position($1 IN {c}::text) > 0")
        };
        for secret in &written.clear {
            let found: i64 = sqlx::query_scalar(&sql)
                .bind(secret)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(found, 0, "{table}.{column} holds a secret in clear");
        }
    }
}

#[tokio::test]
async fn after_rotation_every_secret_opens_with_the_new_key_only() {
    let f = fixture().await;
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let db_old = Db::connect(f.test_db.url())
        .await
        .unwrap()
        .with_keyring(ring(&[old]));
    let written = write_secrets(&f, &db_old).await;
    let before = open_all(&f, &db_old, &written).await.unwrap();

    let only_new = Db::connect(f.test_db.url())
        .await
        .unwrap()
        .with_keyring(ring(&[new]));
    assert!(
        matches!(
            crmdb_store::rotation::rotate(&only_new, 10).await,
            Err(Error::Secret(_))
        ),
        "a ring without the old key cannot rotate"
    );

    let rotating = Db::connect(f.test_db.url())
        .await
        .unwrap()
        .with_keyring(ring(&[new, old]));
    let report = crmdb_store::rotation::rotate(&rotating, 1).await.unwrap();
    // Webhook, API key, calendar, marketing, WhatsApp, Twilio, TOTP.
    assert_eq!(report.rows(), 7, "{report:?}");
    assert_eq!(report.key_id, Key::from_bytes(new).id());
    let again = crmdb_store::rotation::rotate(&rotating, 1).await.unwrap();
    assert_eq!(again.rows(), 0, "a second run has nothing left to do");

    let after = open_all(&f, &only_new, &written).await.unwrap();
    assert_eq!(
        after, before,
        "the same secrets open with the new key alone"
    );
    assert!(
        open_all(&f, &db_old, &written).await.is_err(),
        "the old key alone opens nothing"
    );

    let mut conn = f.test_db.connect().await;
    for table in crmdb_store::sealing::SEALED_TABLES {
        let sql = format!(
            "SELECT DISTINCT encryption_key_id FROM {} WHERE encryption_key_id IS NOT NULL",
            quote_ident(table.table).unwrap()
        );
        let ids: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut conn).await.unwrap();
        assert!(
            ids.iter().all(|id| id == report.key_id.as_str()),
            "{}: {ids:?}",
            table.table
        );
    }
}
