//! The logins handed out: none is a superuser or bypasses row-level security; the
//! application login reads nothing until it enters a tenant, even in autocommit; reporting
//! sees one organization and no credential.

use sqlx::{Connection, PgConnection};

use super::{scene, INSUFFICIENT_PRIVILEGE};
use crate::schema::{catalog_tables, q};

#[tokio::test]
async fn the_logins_are_neither_superuser_nor_bypassrls_and_join_one_role() {
    let s = scene().await;
    for url in [
        s.app_url.clone(),
        s.db.worker_url().await,
        s.db.readonly_url().await,
    ] {
        let mut conn = PgConnection::connect(&url).await.unwrap();
        let (privileged, inherit, roles): (bool, bool, Vec<String>) = sqlx::query_as(
            "SELECT r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb, \
                    r.rolinherit, \
                    array(SELECT g.rolname::text FROM pg_auth_members m \
                          JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) \
             FROM pg_roles r WHERE r.rolname = session_user",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(!privileged && !inherit, "{url}");
        assert_eq!(roles.len(), 1, "one role: {roles:?}");
    }
}

#[tokio::test]
async fn without_entering_a_tenant_the_application_login_reads_nothing() {
    let mut s = scene().await;
    let tables = catalog_tables(&mut s.superuser).await;
    let mut app = s.app().await;
    let mut failures = Vec::new();
    for table in &tables {
        let sql = format!("SELECT count(*) FROM {}", q(&table.name));
        match sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut app).await {
            Err(e) if crmdb_pg::sqlstate::of(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => {}
            other => failures.push(format!("{}: {other:?}", table.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "readable without a tenant:\n{}",
        failures.join("\n")
    );
}

/// An application that enters the role for the session (autocommit, where `SET LOCAL` does
/// nothing) but forgets the organization sees no row of any organization or user.
#[tokio::test]
async fn in_the_role_without_an_organization_no_organization_s_row_is_visible() {
    let mut s = scene().await;
    let tables = catalog_tables(&mut s.superuser).await;
    let mut app = s.app().await;
    sqlx::raw_sql("SET ROLE crm_app")
        .execute(&mut app)
        .await
        .unwrap();
    let mut failures = Vec::new();
    for table in tables.iter().filter(|t| t.name != "plans") {
        let sql = format!("SELECT count(*) FROM {}", q(&table.name));
        match sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut app).await {
            Ok(0) => {}
            Err(e) if crmdb_pg::sqlstate::of(&e).as_deref() == Some(INSUFFICIENT_PRIVILEGE) => {}
            other => failures.push(format!("{}: {other:?}", table.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "visible without an organization:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn reporting_reads_one_organization_and_never_a_credential() {
    let s = scene().await;
    let mut conn = PgConnection::connect(&s.db.readonly_url().await)
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('role', 'crm_readonly', true), \
                set_config('app.current_organization_id', $1, true)",
    )
    .bind(s.a.org.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let organizations: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT organization_id FROM leads \
         UNION SELECT id FROM organizations UNION SELECT organization_id FROM api_keys",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(organizations, [s.a.org]);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(users, 1, "A's member only");
    drop(tx);
    for sql in [
        "SELECT password_hash FROM users",
        "SELECT key_ciphertext FROM api_keys",
        "SELECT credentials_ciphertext FROM whatsapp_configs",
        "SELECT token_hash FROM organization_invitations",
        "SELECT secret_ciphertext FROM webhook_subscriptions",
        "SELECT access_token_ciphertext FROM calendar_integrations",
        "SELECT refresh_token_ciphertext FROM marketing_integrations",
        "SELECT credentials_ciphertext FROM voip_configs",
        "SELECT count(*) FROM user_sessions",
        "SELECT count(*) FROM auth_tokens",
        "SELECT count(*) FROM user_two_factor",
        "SELECT count(*) FROM crmdb_schema_history",
        "SELECT count(*) FROM stripe_webhook_events",
    ] {
        let mut tx = conn.begin().await.unwrap();
        sqlx::raw_sql("SET LOCAL ROLE crm_readonly")
            .execute(&mut *tx)
            .await
            .unwrap();
        let error = sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap_err();
        assert_eq!(
            crmdb_pg::sqlstate::of(&error).as_deref(),
            Some(INSUFFICIENT_PRIVILEGE),
            "{sql}"
        );
    }
}
