//! LGPD data-subject requests through the data layer, as the application login, on demo
//! data: the export holds every row a catalog-driven query finds about the subject (foreign
//! keys to `leads`, the audit log's entity references, and the personal-data map of the
//! column comments), and the erasure leaves no trace of them while every other subject and
//! organization stays byte-identical.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crmdb_demo::{DemoOptions, NoProgress};
use crmdb_secrets::{Key, Keyring};
use crmdb_store::ops::privacy::{Subject, ERASED_ACTION};
use crmdb_store::Db;
use crmdb_testkit::TestDb;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

async fn demo_db() -> TestDb {
    let db = crmdb_testkit::migrated_db().await;
    crmdb_demo::load(
        &db.superuser_url().parse().unwrap(),
        Keyring::new(vec![Key::from_bytes([7; 32])]).unwrap(),
        &DemoOptions {
            organizations: 2,
            leads_per_org: 30,
            seed: 42,
            connections: 2,
        },
        Arc::new(NoProgress),
        std::future::pending(),
    )
    .await
    .unwrap();
    db
}

/// A tenant table as the catalog describes it: primary key, the columns of its foreign keys
/// to `leads`, and its personal-data columns (`pii:` other than `none`).
struct CatalogTable {
    name: String,
    pk: Vec<String>,
    lead_columns: Vec<String>,
    personal: Vec<String>,
    text_columns: Vec<String>,
    entity_ref: bool,
    /// `column table` for each foreign key to another table's `id`, other than `leads`.
    id_refs: Vec<String>,
}

async fn catalog(conn: &mut PgConnection) -> Vec<CatalogTable> {
    let rows = sqlx::query(
        "SELECT c.relname::text AS name,
                ARRAY(SELECT a.attname::text FROM unnest(pk.conkey) WITH ORDINALITY k(n, i)
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n ORDER BY k.i) AS pk,
                ARRAY(SELECT a.attname::text FROM pg_constraint f
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.conkey[array_length(f.conkey, 1)]
                      WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.confrelid = 'leads'::regclass) AS lead_columns,
                ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                      AND col_description(c.oid, a.attnum) ~ '^pii: (contact|identifier|content)') AS personal,
                ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                      AND NOT a.attisdropped
                      AND (a.atttypid IN ('text'::regtype, 'jsonb'::regtype, 'json'::regtype, 'inet'::regtype)
                           OR a.attndims > 0)) AS text_columns,
                EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'entity_id') AS entity_ref,
                ARRAY(SELECT a.attname::text || ' ' || f.confrelid::regclass::text FROM pg_constraint f
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.conkey[array_length(f.conkey, 1)]
                      JOIN pg_attribute r ON r.attrelid = f.confrelid AND r.attnum = f.confkey[array_length(f.confkey, 1)]
                      WHERE f.conrelid = c.oid AND f.contype = 'f' AND r.attname = 'id'
                        AND f.confrelid <> 'leads'::regclass) AS id_refs
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
         WHERE c.relkind = 'r' AND obj_description(c.oid, 'pg_class') LIKE 'scope: tenant%'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .unwrap();
    rows.iter()
        .map(|r| CatalogTable {
            name: r.get("name"),
            pk: r.get("pk"),
            lead_columns: r.get("lead_columns"),
            personal: r.get("personal"),
            text_columns: r.get("text_columns"),
            entity_ref: r.get("entity_ref"),
            id_refs: r.get("id_refs"),
        })
        .collect()
}

fn q(name: &str) -> String {
    crmdb_pg::ident::quote_ident(name).unwrap()
}

fn pk_json(table: &CatalogTable) -> String {
    let pairs: Vec<String> = table
        .pk
        .iter()
        .map(|c| format!("{}, t.{}", crmdb_pg::ident::quote_literal(c), q(c)))
        .collect();
    format!("jsonb_build_object({})::text", pairs.join(", "))
}

/// Table → primary keys (as JSON text) of the rows about the leads `leads` or mentioning one
/// of `needles` in a personal-data column: the expected content of an export.
async fn expected(
    conn: &mut PgConnection,
    tables: &[CatalogTable],
    org: Uuid,
    leads: &[Uuid],
    needles: &[String],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut found = BTreeMap::new();
    for table in tables {
        let mut tests = Vec::new();
        if table.name == "leads" {
            tests.push("t.id = ANY($2)".to_owned());
        }
        for c in &table.lead_columns {
            tests.push(format!("t.{} = ANY($2)", q(c)));
        }
        if table.entity_ref {
            tests.push("(t.entity_type = 'lead' AND t.entity_id = ANY($2))".to_owned());
        }
        // A row that references a row pointing at the leads is about them too.
        for reference in &table.id_refs {
            let (column, parent) = reference.split_once(' ').unwrap();
            let Some(parent) = tables.iter().find(|t| t.name == parent) else {
                continue;
            };
            if parent.lead_columns.is_empty() {
                continue;
            }
            let parent_tests: Vec<String> = parent
                .lead_columns
                .iter()
                .map(|c| format!("p.{} = ANY($2)", q(c)))
                .collect();
            tests.push(format!(
                "t.{} IN (SELECT p.id FROM {} p WHERE p.organization_id = $1 AND ({}))",
                q(column),
                q(parent.name.as_str()),
                parent_tests.join(" OR ")
            ));
        }
        for c in &table.personal {
            tests.push(format!(
                "EXISTS (SELECT FROM unnest($3::text[]) n WHERE strpos(lower(t.{}::text), n) > 0)",
                q(c)
            ));
        }
        if tests.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT {} FROM {} t WHERE t.organization_id = $1 AND ({})",
            pk_json(table),
            q(&table.name),
            tests.join(" OR ")
        );
        let keys: BTreeSet<String> = sqlx::query_scalar(&sql)
            .bind(org)
            .bind(leads)
            .bind(needles)
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .into_iter()
            .collect();
        if !keys.is_empty() {
            found.insert(table.name.clone(), keys);
        }
    }
    found
}

/// Every row of every tenant table of the organization, as JSON text by primary key.
async fn snapshot(
    conn: &mut PgConnection,
    tables: &[CatalogTable],
    org: Uuid,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = BTreeMap::new();
    for table in tables {
        let sql = format!(
            "SELECT {}, to_jsonb(t)::text FROM {} t WHERE t.organization_id = $1",
            pk_json(table),
            q(&table.name)
        );
        let rows: Vec<(String, String)> = sqlx::query_as(&sql)
            .bind(org)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        all.insert(table.name.clone(), rows.into_iter().collect());
    }
    all
}

/// A subject of organization A with communications, and what names them.
struct Person {
    org: Uuid,
    other_org: Uuid,
    lead: Uuid,
    second_lead: Uuid,
    name: String,
    email: String,
    phone: String,
}

async fn person(conn: &mut PgConnection) -> Person {
    let (org, lead, name, email, phone): (Uuid, Uuid, String, String, String) = sqlx::query_as(
        "SELECT l.organization_id, l.id, l.name, l.email, l.phone FROM leads l
         WHERE l.email IS NOT NULL AND l.phone IS NOT NULL
           AND (SELECT count(*) FROM communications c WHERE c.lead_id = l.id) >= 3
         ORDER BY l.organization_id, l.id LIMIT 1",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let other_org: Uuid = sqlx::query_scalar("SELECT id FROM organizations WHERE id <> $1")
        .bind(org)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    // The same person came in again as a second lead (same e-mail and phone), the audit log recorded a change of their e-mail,
    // and a note on another lead quotes it.
    let second_lead: Uuid = sqlx::query_scalar(
        "INSERT INTO leads (organization_id, pipeline_id, stage_id, name, email, phone)
         SELECT organization_id, pipeline_id, stage_id, name || ' (site)', $2, $3
         FROM leads WHERE id = $1 RETURNING id",
    )
    .bind(lead)
    .bind(&email)
    .bind(&phone)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_logs (organization_id, action, entity_type, entity_id, changes)
         VALUES ($1, 'lead.updated', 'lead', $2, jsonb_build_object('email', jsonb_build_object('old', NULL, 'new', $3::text)))",
    )
    .bind(org)
    .bind(lead)
    .bind(&email)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO lead_notes (organization_id, lead_id, body)
         SELECT organization_id, id, 'Indicado por ' || $2::text FROM leads
         WHERE organization_id = $1 AND id <> $3 AND id <> $4 ORDER BY id LIMIT 1",
    )
    .bind(org)
    .bind(&email)
    .bind(lead)
    .bind(second_lead)
    .execute(&mut *conn)
    .await
    .unwrap();
    Person {
        org,
        other_org,
        lead,
        second_lead,
        name,
        email,
        phone,
    }
}

fn needles(p: &Person, leads: &[Uuid]) -> Vec<String> {
    let digits: String = p.phone.chars().filter(char::is_ascii_digit).collect();
    let mut n = vec![p.email.to_lowercase(), p.phone.clone(), digits];
    n.extend(leads.iter().map(Uuid::to_string));
    n
}

async fn app(db: &TestDb) -> Db {
    Db::connect(&db.app_url().await).await.unwrap()
}

fn keys(
    export: &crmdb_store::ops::privacy::SubjectExport,
    tables: &[CatalogTable],
) -> BTreeMap<String, BTreeSet<String>> {
    export
        .tables
        .iter()
        .map(|(name, rows)| {
            let table = tables.iter().find(|t| &t.name == name).unwrap();
            let keys = rows
                .iter()
                .map(|row| {
                    let pk: serde_json::Map<String, serde_json::Value> = table
                        .pk
                        .iter()
                        .map(|c| (c.clone(), row[c].clone()))
                        .collect();
                    serde_json::Value::Object(pk).to_string()
                })
                .collect();
            (name.clone(), keys)
        })
        .collect()
}

/// PostgreSQL's jsonb text puts a space after `:` and `,`; serde_json does not.
fn normalise(keys: BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    keys.into_iter()
        .map(|(t, ks)| {
            (
                t,
                ks.into_iter()
                    .map(|k| {
                        serde_json::from_str::<serde_json::Value>(&k)
                            .unwrap()
                            .to_string()
                    })
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_export_by_email_holds_every_row_the_catalog_finds_about_the_subject() {
    let db = demo_db().await;
    let mut conn = db.superuser_connect().await;
    let tables = catalog(&mut conn).await;
    let p = person(&mut conn).await;
    let export = app(&db)
        .await
        .tenant(p.org)
        .privacy()
        .export(&Subject::Email(p.email.to_uppercase()))
        .await
        .unwrap();
    let mut leads = vec![p.lead, p.second_lead];
    leads.sort();
    assert_eq!(export.leads, leads, "both leads of the e-mail");
    let want = normalise(expected(&mut conn, &tables, p.org, &leads, &needles(&p, &leads)).await);
    assert_eq!(normalise(keys(&export, &tables)), want);
    for table in [
        "leads",
        "communications",
        "lead_notes",
        "audit_logs",
        "notifications",
    ] {
        assert!(
            export.tables.contains_key(table),
            "{table} in {:?}",
            export.tables.keys()
        );
    }
    assert!(export.tables["communications"].len() >= 3);
    assert_eq!(
        export.schema_version,
        crmdb_schema::migrations().unwrap().latest_version(),
        "the export names the schema it was taken from"
    );
    assert!(export.tables["leads"][0].get("name").is_some());
    // By phone (formatted otherwise) and by lead, the same person.
    let tenant = app(&db).await.tenant(p.org);
    let by_phone = tenant
        .privacy()
        .export(&Subject::Phone(format!("({})", p.phone)))
        .await
        .unwrap();
    assert_eq!(by_phone.leads, leads);
    let by_lead = tenant
        .privacy()
        .export(&Subject::Lead(p.lead))
        .await
        .unwrap();
    assert_eq!(by_lead.leads, [p.lead]);
    // Another organization has no such person.
    let elsewhere = app(&db)
        .await
        .tenant(p.other_org)
        .privacy()
        .export(&Subject::Lead(p.lead))
        .await
        .unwrap();
    assert!(
        elsewhere.leads.is_empty() && elsewhere.tables.is_empty(),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn erasure_leaves_no_trace_of_the_subject_and_touches_nothing_else() {
    let db = demo_db().await;
    let mut conn = db.superuser_connect().await;
    let tables = catalog(&mut conn).await;
    let p = person(&mut conn).await;
    let leads = {
        let mut l = vec![p.lead, p.second_lead];
        l.sort();
        l
    };
    let about = expected(&mut conn, &tables, p.org, &leads, &needles(&p, &leads)).await;
    let other_org_before = snapshot(&mut conn, &tables, p.other_org).await;
    let org_before = snapshot(&mut conn, &tables, p.org).await;
    let tenant = app(&db).await.tenant(p.org);
    let subject = Subject::Email(p.email.clone());

    let dry = tenant.privacy().erase(&subject, true).await.unwrap();
    assert!(dry.dry_run);
    assert_eq!(
        snapshot(&mut conn, &tables, p.org).await,
        org_before,
        "a dry run changes nothing"
    );

    let erased = tenant.privacy().erase(&subject, false).await.unwrap();
    assert_eq!(
        erased.tables, dry.tables,
        "the dry run counted what the erasure did"
    );
    assert_eq!(erased.leads, leads);
    assert_eq!(erased.tables["leads"].deleted, 2);
    assert!(erased.tables["communications"].deleted >= 3);
    assert!(erased.tables["audit_logs"].anonymised >= 1);
    assert_eq!(
        erased.tables["lead_notes"].anonymised, 1,
        "the other lead's note quoting the e-mail"
    );

    // Every other row of the organization is byte-identical, the erasure's own record aside.
    let org_after = snapshot(&mut conn, &tables, p.org).await;
    for (table, before) in &org_before {
        let skip = about.get(table);
        let keep = |rows: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            rows.iter()
                .filter(|(k, _)| !skip.is_some_and(|s| s.contains(*k)))
                .filter(|(_, v)| !v.contains(ERASED_ACTION))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(
            keep(&org_after[table]),
            keep(before),
            "{table}: other subjects"
        );
    }
    assert_eq!(
        snapshot(&mut conn, &tables, p.other_org).await,
        other_org_before
    );

    // A scan of every text, JSON and array column: no e-mail or phone anywhere in the
    // organization, no name in a row that was about them.
    let digits: String = p.phone.chars().filter(char::is_ascii_digit).collect();
    for table in &tables {
        for column in &table.text_columns {
            let sql = format!(
                "SELECT {} FROM {} t WHERE t.organization_id = $1 AND (strpos(lower(t.{c}::text), $2) > 0 \
                 OR strpos(t.{c}::text, $3) > 0 OR strpos(regexp_replace(t.{c}::text, '\\D', '', 'g'), $4) > 0 \
                 OR strpos(t.{c}::text, $5) > 0)",
                pk_json(table),
                q(&table.name),
                c = q(column)
            );
            let hits: Vec<String> = sqlx::query_scalar(&sql)
                .bind(p.org)
                .bind(p.email.to_lowercase())
                .bind(&p.phone)
                .bind(&digits)
                .bind(&p.name)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            for hit in hits {
                let was_about = about.get(&table.name).is_some_and(|s| s.contains(&hit));
                let row = &org_after[&table.name][&hit];
                let personal = row.contains(&p.email.to_lowercase())
                    || row.contains(&p.phone)
                    || row.contains(&digits);
                assert!(!personal && !was_about, "{}.{column}: {row}", table.name);
            }
        }
    }

    // The erasure is recorded without personal data, once.
    let records: Vec<(String, Option<Uuid>)> = sqlx::query_as(
        "SELECT changes::text, entity_id FROM audit_logs WHERE organization_id = $1 AND action = $2",
    )
    .bind(p.org)
    .bind(ERASED_ACTION)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(records.len(), 1);
    let (changes, entity_id) = &records[0];
    assert_eq!(*entity_id, None);
    for needle in needles(&p, &leads).iter().chain([&p.name]) {
        assert!(!changes.contains(needle.as_str()), "{needle} in {changes}");
    }

    // Idempotent: nothing left to erase, nothing changes.
    let settled = snapshot(&mut conn, &tables, p.org).await;
    let again = tenant.privacy().erase(&subject, false).await.unwrap();
    assert!(again.is_empty() && again.leads.is_empty(), "{again:?}");
    assert_eq!(snapshot(&mut conn, &tables, p.org).await, settled);
    let export = tenant.privacy().export(&subject).await.unwrap();
    assert!(export.tables.is_empty(), "{:?}", export.tables);
}

#[tokio::test]
async fn the_audit_log_takes_only_an_update_that_empties_changes() {
    let db = demo_db().await;
    let mut conn = db.superuser_connect().await;
    for sql in [
        "UPDATE audit_logs SET changes = '{\"x\": 1}'",
        "UPDATE audit_logs SET changes = '{}', action = 'lead.rewritten'",
        "UPDATE audit_logs SET changes = '{}', ip = '10.0.0.1'",
    ] {
        let refused = sqlx::raw_sql(sql).execute(&mut conn).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{sql}: {refused}"
        );
    }
    let emptied = sqlx::raw_sql("UPDATE audit_logs SET changes = '{}'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(emptied.rows_affected() > 0);
}
