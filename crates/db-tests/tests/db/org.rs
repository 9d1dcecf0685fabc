//! An organization as a whole (`crmdb_store::offboarding`) on demo data: the export's row
//! counts and checksums equal the database's and its files, secrets stay sealed or out, and
//! the deletion removes every row of the organization and leaves the other one
//! byte-identical.

use std::collections::BTreeMap;
use std::sync::Arc;

use crmdb_demo::{DemoOptions, NoProgress};
use crmdb_secrets::{Key, Keyring};
use crmdb_store::offboarding;
use crmdb_store::Db;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

async fn demo_db() -> crmdb_testkit::TestDb {
    let db = crmdb_testkit::migrated_db().await;
    crmdb_demo::load(
        &db.superuser_url().parse().unwrap(),
        Keyring::new(vec![Key::from_bytes([7; 32])]).unwrap(),
        &DemoOptions {
            organizations: 2,
            leads_per_org: 20,
            seed: 5,
            connections: 2,
        },
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
    .unwrap();
    db
}

/// Tenant table → every row of the organization as JSON text, sorted: read as the
/// superuser, past row-level security.
async fn rows(conn: &mut PgConnection, org: Uuid) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND obj_description(c.oid, 'pg_class') LIKE 'scope: tenant%' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut all = BTreeMap::new();
    for table in tables {
        let sql = format!(
            "SELECT to_jsonb(t)::text FROM {} t WHERE t.organization_id = $1 ORDER BY 1",
            crmdb_pg::ident::quote_ident(&table).unwrap()
        );
        let rows: Vec<String> = sqlx::query_scalar(&sql)
            .bind(org)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        all.insert(table, rows);
    }
    all
}

async fn organizations(conn: &mut PgConnection) -> (Uuid, Uuid) {
    sqlx::query_as("SELECT min(id::text)::uuid, max(id::text)::uuid FROM organizations")
        .fetch_one(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_export_counts_every_row_of_the_organization_and_checksums_its_files() {
    let db = demo_db().await;
    let mut conn = db.superuser_connect().await;
    let (a, _) = organizations(&mut conn).await;
    let expected = rows(&mut conn, a).await;
    let dir = tempfile::tempdir().unwrap();
    let app = Db::connect(&db.app_url().await).await.unwrap();
    let manifest = offboarding::export(&app, a, dir.path()).await.unwrap();

    let counted: BTreeMap<String, u64> = manifest
        .tables
        .iter()
        .filter(|t| t.table != "organizations")
        .map(|t| (t.table.clone(), t.rows))
        .collect();
    let want: BTreeMap<String, u64> = expected
        .iter()
        .map(|(t, r)| (t.clone(), r.len() as u64))
        .collect();
    assert_eq!(counted, want);
    assert_eq!(counted.len(), 32, "every tenant table");
    for file in &manifest.tables {
        let bytes = std::fs::read(dir.path().join(&file.file)).unwrap();
        assert_eq!(hex(&bytes), file.sha256, "{}", file.file);
        assert_eq!(
            bytes.iter().filter(|b| **b == b'\n').count() as u64,
            file.rows
        );
    }
    let organizations = manifest
        .tables
        .iter()
        .find(|t| t.table == "organizations")
        .unwrap();
    assert_eq!(organizations.rows, 1);

    // Secrets: ciphertexts sealed as stored, hashes left out.
    let whatsapp = manifest
        .tables
        .iter()
        .find(|t| t.table == "whatsapp_configs")
        .unwrap();
    assert_eq!(whatsapp.sealed_columns, ["credentials_ciphertext"]);
    assert_eq!(whatsapp.excluded_columns, ["webhook_verify_token_hash"]);
    let line = std::fs::read_to_string(dir.path().join("whatsapp_configs.jsonl")).unwrap();
    let row: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert!(row["credentials_ciphertext"]
        .as_str()
        .unwrap()
        .starts_with("\\x"));
    assert!(row.get("webhook_verify_token_hash").is_none());
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(offboarding::MANIFEST)).unwrap())
            .unwrap();
    assert_eq!(written["tables"].as_array().unwrap().len(), 33);
    assert_eq!(written["secrets"], offboarding::SECRETS);
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn deleting_an_organization_removes_all_of_it_and_nothing_else() {
    let db = demo_db().await;
    let mut conn = db.superuser_connect().await;
    let (a, b) = organizations(&mut conn).await;
    let of_a = rows(&mut conn, a).await;
    let of_b = rows(&mut conn, b).await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .unwrap();

    let admin = Db::connect(db.url()).await.unwrap();
    let deletion = offboarding::delete(&admin, a).await.unwrap();
    let want: BTreeMap<String, u64> = of_a
        .iter()
        .filter(|(_, r)| !r.is_empty())
        .map(|(t, r)| (t.clone(), r.len() as u64))
        .chain([("organizations".to_owned(), 1)])
        .collect();
    assert_eq!(deletion.tables, want);

    assert!(rows(&mut conn, a).await.values().all(Vec::is_empty));
    assert_eq!(
        rows(&mut conn, b).await,
        of_b,
        "the other organization is byte-identical"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, users, "users are the platform's");
    assert!(matches!(
        offboarding::delete(&admin, a).await,
        Err(crmdb_store::Error::NotFound {
            entity: "organization"
        })
    ));
}
