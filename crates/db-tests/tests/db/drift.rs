//! `migrate verify --drift`: every kind of hand-made change to a migrated database is
//! reported against the schema the migrations build; an untouched database shows none.

use crmdb_inspect::drift::{self, Change};

async fn differences(db: &crmdb_testkit::TestDb) -> Vec<drift::Difference> {
    drift::check(&db.connect_options(), crmdb_schema::migrations().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_untouched_database_has_no_drift() {
    let db = crmdb_testkit::migrated_db().await;
    let found = differences(&db).await;
    assert!(found.is_empty(), "{found:#?}");
}

#[tokio::test]
async fn every_kind_of_hand_made_change_is_reported() {
    let db = crmdb_testkit::migrated_db().await;
    let changes: &[(&str, &str, Change)] = &[
        (
            "CREATE TABLE scratch_notes (body text)",
            "table scratch_notes",
            Change::Unexpected,
        ),
        (
            "ALTER TABLE tags ADD COLUMN legacy text",
            "column tags.legacy",
            Change::Unexpected,
        ),
        (
            "ALTER TABLE tags ALTER COLUMN color TYPE varchar(7)",
            "column tags.color",
            Change::Changed,
        ),
        (
            "ALTER TABLE leads ALTER COLUMN source DROP DEFAULT",
            "column leads.source",
            Change::Changed,
        ),
        (
            "ALTER TABLE leads DROP CONSTRAINT ck_leads_status",
            "constraint leads.ck_leads_status",
            Change::Missing,
        ),
        (
            "CREATE INDEX idx_leads_hand_made ON leads (name)",
            "index leads.idx_leads_hand_made",
            Change::Unexpected,
        ),
        (
            "DROP TRIGGER trg_tags_updated_at ON tags",
            "trigger tags.trg_tags_updated_at",
            Change::Missing,
        ),
        (
            "ALTER POLICY tenant_isolation ON tags USING (true)",
            "policy tags.tenant_isolation",
            Change::Changed,
        ),
        (
            "ALTER TABLE tags NO FORCE ROW LEVEL SECURITY",
            "row level security of tags",
            Change::Changed,
        ),
        (
            "GRANT TRUNCATE ON tags TO crm_app",
            "grant on table tags to crm_app",
            Change::Changed,
        ),
        (
            "REVOKE ALL ON pipelines FROM crm_readonly",
            "grant on table pipelines to crm_readonly",
            Change::Missing,
        ),
        (
            "CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RETURN NEW; END $$",
            "function set_updated_at()",
            Change::Changed,
        ),
        (
            "CREATE FUNCTION hand_made() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
            "function hand_made()",
            Change::Unexpected,
        ),
        (
            "COMMENT ON TABLE tags IS 'scope: global'",
            "comment on table tags",
            Change::Changed,
        ),
        (
            "ALTER FUNCTION search_leads(uuid, text, integer) OWNER TO CURRENT_USER",
            "owner of function search_leads(uuid,text,integer)",
            Change::Changed,
        ),
        (
            "REVOKE USAGE ON SCHEMA public FROM crm_readonly",
            "grant on schema public to crm_readonly",
            Change::Missing,
        ),
        (
            "DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO crm_app', \
             current_database()); END $$",
            "grant on this database to crm_app",
            Change::Unexpected,
        ),
    ];
    let mut conn = db.connect().await;
    for (sql, _, _) in changes {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    let found = differences(&db).await;
    for (sql, object, change) in changes {
        assert!(
            found
                .iter()
                .any(|d| d.object == *object && d.change == *change),
            "{sql:?} should be reported as {change:?} {object}; found:\n{found:#?}"
        );
    }
    // Besides the objects changed, only their consequences: the new table's column, owner
    // and row-level security, the new function's owner, and the colour check re-written for
    // the new type.
    let mut expected: Vec<&str> = changes.iter().map(|(_, object, _)| *object).collect();
    expected.extend([
        "column scratch_notes.body",
        "owner of table scratch_notes",
        "owner of function hand_made()",
        "row level security of scratch_notes",
        "constraint tags.ck_tags_color",
    ]);
    expected.sort_unstable();
    let reported: Vec<&str> = found.iter().map(|d| d.object.as_str()).collect();
    assert_eq!(reported, expected);

    let repair = |object: &str| {
        found
            .iter()
            .find(|d| d.object == object)
            .map(|d| d.repair.clone())
            .unwrap()
    };
    assert_eq!(
        repair("owner of function search_leads(uuid,text,integer)"),
        "ALTER FUNCTION search_leads(uuid,text,integer) OWNER TO crm_owner"
    );
    assert_eq!(
        repair("grant on table tags to crm_app"),
        "REVOKE TRUNCATE ON TABLE tags FROM crm_app"
    );
    assert_eq!(
        repair("grant on schema public to crm_readonly"),
        "GRANT USAGE ON SCHEMA public TO crm_readonly"
    );
    assert_eq!(
        repair("grant on this database to crm_app"),
        format!("REVOKE TEMPORARY ON DATABASE {} FROM crm_app", db.name())
    );
    assert_eq!(
        repair("owner of table scratch_notes"),
        "drop it, or add the migration that creates it"
    );
}
