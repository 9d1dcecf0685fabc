//! Each attack of the least-privilege issue, one test each, as the application login with
//! organization A entered: refused or invisible, and B's rows (the whole database) unchanged.

use super::{scene, Outcome, INSUFFICIENT_PRIVILEGE};

#[tokio::test]
async fn renaming_organization_b_touches_nothing() {
    let mut s = scene().await;
    let before = s.digest().await;
    let outcome = s
        .as_a(&format!(
            "UPDATE organizations SET name = 'pwned' WHERE id = '{}'",
            s.b.org
        ))
        .await;
    assert_eq!(outcome, Outcome::Rows(0), "B's organization is invisible");
    assert_eq!(s.digest().await, before);
}

#[tokio::test]
async fn deleting_organization_b_is_refused_and_its_data_stays() {
    let mut s = scene().await;
    let before = s.digest().await;
    let (delete_b, delete_a) = (
        format!("DELETE FROM organizations WHERE id = '{}'", s.b.org),
        format!("DELETE FROM organizations WHERE id = '{}'", s.a.org),
    );
    s.assert_denied(&[&delete_b, &delete_a, "TRUNCATE organizations CASCADE"])
        .await;
    assert_eq!(
        s.digest().await,
        before,
        "B's leads, messages and audit log stay"
    );
}

#[tokio::test]
async fn organization_b_s_whatsapp_route_cannot_be_moved_taken_or_removed() {
    let mut s = scene().await;
    let before = s.digest().await;
    let attempts = [
        format!(
            "UPDATE provider_routes SET organization_id = '{}' WHERE organization_id = '{}'",
            s.a.org, s.b.org
        ),
        "UPDATE provider_routes SET config_id = NULL WHERE external_account_id = 'pnid-b'"
            .to_owned(),
        "DELETE FROM provider_routes WHERE external_account_id = 'pnid-b'".to_owned(),
        format!(
            "INSERT INTO provider_routes (provider, external_account_id, organization_id) \
             VALUES ('twilio', 'AC-b', '{}')",
            s.b.org
        ),
    ];
    for sql in &attempts {
        let outcome = s.as_a(sql).await;
        assert!(outcome.is_harmless(), "{sql}: {outcome:?}");
    }
    assert_eq!(s.digest().await, before);
    let seen: Vec<String> = s
        .read_as_a("SELECT external_account_id FROM provider_routes")
        .await
        .unwrap();
    assert_eq!(seen, ["pnid-a"], "only A's own route is visible");
}

#[tokio::test]
async fn password_hashes_are_never_readable_and_other_users_are_invisible() {
    let s = scene().await;
    for sql in [
        "SELECT password_hash FROM users",
        "SELECT count(*) FROM users WHERE password_hash IS NOT NULL",
        "SELECT u::text FROM users AS u",
        "SELECT secret_ciphertext::text FROM user_two_factor",
        "SELECT backup_code_hashes::text FROM user_two_factor",
        "SELECT refresh_token_hash::text FROM user_sessions",
        "SELECT token_hash::text FROM auth_tokens",
    ] {
        let read = s.read_as_a::<String>(sql).await;
        assert_eq!(
            read,
            Err(INSUFFICIENT_PRIVILEGE.to_owned()),
            "{sql} must be refused"
        );
    }
    let emails: Vec<String> = s.read_as_a("SELECT email FROM users").await.unwrap();
    assert_eq!(
        emails,
        ["user-a@example.com"],
        "only A's members are visible"
    );
}

#[tokio::test]
async fn b_s_owner_cannot_be_taken_over() {
    let mut s = scene().await;
    let before = s.digest().await;
    let victim = s.b.user;
    let attempts = [
        format!("UPDATE users SET password_hash = '$argon2id$v=19$m=8,t=1,p=1$YQ$YQ' WHERE id = '{victim}'"),
        format!("UPDATE users SET full_name = 'pwned' WHERE id = '{victim}'"),
        format!("DELETE FROM users WHERE id = '{victim}'"),
        format!("DELETE FROM user_two_factor WHERE user_id = '{victim}'"),
        format!("UPDATE user_two_factor SET enabled_at = NULL WHERE user_id = '{victim}'"),
        format!("DELETE FROM user_sessions WHERE user_id = '{victim}'"),
        format!(
            "INSERT INTO user_sessions (user_id, refresh_token_hash, expires_at) \
             VALUES ('{victim}', sha256('mine'), now() + interval '1 day')"
        ),
        format!(
            "INSERT INTO auth_tokens (user_id, purpose, token_hash, expires_at) \
             VALUES ('{victim}', 'password_reset', sha256('chosen'), now() + interval '1 hour')"
        ),
        format!(
            "INSERT INTO user_two_factor (user_id, secret_ciphertext, encryption_key_id) \
             VALUES ('{victim}', '\\x00', 'k')"
        ),
        format!(
            "INSERT INTO organization_members (organization_id, user_id, role) \
             VALUES ('{}', '{victim}', 'owner')",
            s.b.org
        ),
    ];
    for sql in &attempts {
        let outcome = s.as_a(sql).await;
        assert!(outcome.is_harmless(), "{sql}: {outcome:?}");
    }
    assert_eq!(s.digest().await, before, "B's owner is untouched");
    // The chosen reset token was not stored, so it cannot be used.
    let reset: Vec<Option<uuid::Uuid>> = s
        .read_as_a("SELECT reset_password(sha256('chosen'), '$argon2id$v=19$m=8,t=1,p=1$YQ$YQ')")
        .await
        .unwrap();
    assert_eq!(reset, [None]);
    assert_eq!(s.digest().await, before);
}

#[tokio::test]
async fn the_migration_history_is_invisible_and_unchangeable() {
    let mut s = scene().await;
    let before = s.digest().await;
    s.assert_denied(&[
        "SELECT count(*) FROM crmdb_schema_history",
        "UPDATE crmdb_schema_history SET checksum = checksum",
        "DELETE FROM crmdb_schema_history",
        "INSERT INTO crmdb_schema_history (version) VALUES (99)",
    ])
    .await;
    assert_eq!(s.digest().await, before);
}

#[tokio::test]
async fn the_job_claim_is_not_the_application_s() {
    let mut s = scene().await;
    let before = s.digest().await;
    s.assert_denied(&[
        "SELECT * FROM claim_background_job('default', 'intruder')",
        "SET LOCAL ROLE crm_worker",
    ])
    .await;
    assert_eq!(s.digest().await, before, "B's job stays queued");
}

#[tokio::test]
async fn an_oversized_search_text_is_refused_before_any_work() {
    let s = scene().await;
    let huge = "a".repeat(10 * 1024 * 1024);
    let mut app = s.app().await;
    let mut tx = sqlx::Connection::begin(&mut app).await.unwrap();
    super::enter(&mut tx, Some(&s.a.org.to_string()), None).await;
    let error = sqlx::query("SELECT * FROM search_leads($1, $2, 20)")
        .bind(s.a.org)
        .bind(&huge)
        .fetch_all(&mut *tx)
        .await
        .unwrap_err();
    assert_eq!(
        crmdb_pg::sqlstate::of(&error).as_deref(),
        Some(crmdb_pg::sqlstate::INVALID_PARAMETER_VALUE)
    );
    assert!(error.to_string().contains("at most 400"), "{error}");
    drop(tx);
    // 400 bytes are still a search.
    let mut tx = sqlx::Connection::begin(&mut app).await.unwrap();
    super::enter(&mut tx, Some(&s.a.org.to_string()), None).await;
    let rows = sqlx::query("SELECT * FROM search_leads($1, $2, 20)")
        .bind(s.a.org)
        .bind("a".repeat(400))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn no_temporary_object_can_shadow_a_crm_table_for_the_next_request() {
    let mut s = scene().await;
    let before = s.digest().await;
    s.assert_denied(&[
        "CREATE TEMP TABLE leads (id uuid)",
        "CREATE TEMP VIEW users AS SELECT 1 AS id",
        "CREATE FUNCTION pg_temp.grab() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ])
    .await;
    assert_eq!(s.digest().await, before);
}

#[tokio::test]
async fn an_invitation_s_token_hash_is_not_readable_but_its_token_still_works() {
    let s = scene().await;
    let read = s
        .read_as_a::<Vec<u8>>("SELECT token_hash FROM organization_invitations")
        .await;
    assert_eq!(read, Err(INSUFFICIENT_PRIVILEGE.to_owned()));
    let own: Vec<String> = s
        .read_as_a("SELECT email FROM invitation_by_token(sha256('a-invite'))")
        .await
        .unwrap();
    assert_eq!(own, ["invitee-a@example.com"]);
    let other: Vec<String> = s
        .read_as_a("SELECT email FROM invitation_by_token(sha256('b-invite'))")
        .await
        .unwrap();
    assert!(other.is_empty(), "B's invitation is not found from A");
}

/// A session-level setting injected into one request does not reach the next user of the
/// pooled connection: the data layer resets the session when a connection comes back.
#[tokio::test]
async fn a_session_setting_does_not_outlive_its_request_in_the_pool() {
    let s = scene().await;
    let db = crmdb_store::Db::connect_with(s.app_url.parse().unwrap(), 1)
        .await
        .unwrap();
    let tenant = db.tenant(s.a.org);
    let mut tx = tenant.begin().await.unwrap();
    crmdb_store::sql::query(
        "SELECT set_config('role', 'crm_app', false), \
                set_config('app.current_organization_id', $1, false)",
    )
    .bind(s.a.org.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // The same (only) connection, used without entering a tenant.
    let mut tx = db.begin_maintenance().await.unwrap();
    let error = crmdb_store::sql::query_scalar::<i64>("SELECT count(*) FROM leads")
        .fetch_one(&mut tx)
        .await
        .unwrap_err();
    assert_eq!(
        error.sqlstate(),
        Some(INSUFFICIENT_PRIVILEGE),
        "the session role was reset"
    );
}

/// Migration 0012 lets the application empty `audit_logs.changes` (an erasure's one
/// permitted update): it must reach only the entered organization's entries.
#[tokio::test]
async fn emptying_organization_b_s_audit_changes_reaches_none_of_its_entries() {
    let mut s = scene().await;
    let before = s.digest().await;
    let outcome = s
        .as_a(&format!(
            "UPDATE audit_logs SET changes = '{{}}' WHERE organization_id = '{}'",
            s.b.org
        ))
        .await;
    assert_eq!(outcome, Outcome::Rows(0), "B's audit entries are invisible");
    assert_eq!(s.digest().await, before);
}
