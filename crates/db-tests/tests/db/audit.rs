//! `crmdb audit` on real catalogs: the migrated schema passes, and each rule fires on a
//! database broken on purpose for it — and only that rule, on only that table.

use crmdb_schema::audit::{self, AuditReport, Rule, NOT_SECRET};
use crmdb_testkit::TestDb;

async fn audit(db: &TestDb) -> AuditReport {
    audit::run(&mut db.connect().await)
        .await
        .expect("the audit reads the catalog")
}

/// The audit of a migrated database after `sql`.
async fn audit_broken(sql: &str) -> AuditReport {
    let db = crmdb_testkit::migrated_db().await;
    sqlx::raw_sql(sql)
        .execute(&mut db.connect().await)
        .await
        .expect("breaking the fixture");
    audit(&db).await
}

/// The (table, rule, detail) triples of a report, for exact comparison.
fn found(report: &AuditReport) -> Vec<(&str, Rule, &str)> {
    report
        .violations
        .iter()
        .map(|v| (v.table.as_str(), v.rule, v.detail.as_str()))
        .collect()
}

#[tokio::test]
async fn the_migrated_schema_passes() {
    let report = audit(&crmdb_testkit::migrated_db().await).await;
    assert_eq!(found(&report), [], "{}", report.summary());
    assert_eq!(report.tables, 40, "the catalog's 40 tables");
    assert_eq!(report.tenant_tables, 32, "all but the 8 global tables");
    assert!(report.policies >= report.tenant_tables);
    assert_eq!(
        report.summary(),
        "audit: 40 tables (32 tenant), 0 violations"
    );
}

#[tokio::test]
async fn every_not_secret_entry_names_a_column() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.connect().await;
    for entry in NOT_SECRET {
        let (table, column) = entry.column.split_once('.').unwrap();
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT FROM information_schema.columns
                            WHERE table_schema = 'public' AND table_name = $1
                              AND column_name = $2)",
        )
        .bind(table)
        .bind(column)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(
            exists,
            "{} is listed as not secret but does not exist",
            entry.column
        );
    }
}

#[tokio::test]
async fn scope_fires_on_a_table_without_its_scope() {
    let report = audit_broken("COMMENT ON TABLE tags IS 'Labels.'").await;
    assert_eq!(
        found(&report),
        [(
            "tags",
            Rule::Scope,
            "the table comment does not start with `scope: tenant` or `scope: global`"
        )]
    );
    let report = audit_broken("COMMENT ON TABLE tags IS NULL").await;
    assert_eq!(
        found(&report),
        [(
            "tags",
            Rule::Scope,
            "no COMMENT ON TABLE declaring `scope: tenant` or `scope: global`"
        )]
    );
    assert_eq!(report.tenant_tables, 31);
}

#[tokio::test]
async fn scope_fires_on_a_tenant_table_without_organization_id() {
    let report = audit_broken(
        "CREATE TABLE widgets (id uuid CONSTRAINT pk_widgets PRIMARY KEY);
         COMMENT ON TABLE widgets IS 'scope: tenant. Broken on purpose.';
         ALTER TABLE widgets ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
         CREATE POLICY widgets_all ON widgets USING (true);",
    )
    .await;
    assert_eq!(
        found(&report),
        [
            (
                "widgets",
                Rule::Scope,
                "no foreign key (organization_id) REFERENCES organizations (id)"
            ),
            (
                "widgets",
                Rule::Scope,
                "primary key pk_widgets (id) does not start with organization_id"
            ),
            (
                "widgets",
                Rule::Scope,
                "tenant table without an organization_id column"
            ),
        ]
    );
}

#[tokio::test]
async fn scope_fires_on_a_foreign_key_to_organizations_that_does_not_cascade() {
    let report = audit_broken(
        "ALTER TABLE tags DROP CONSTRAINT fk_tags_organizations;
         ALTER TABLE tags ADD CONSTRAINT fk_tags_organizations
             FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE RESTRICT;",
    )
    .await;
    assert_eq!(
        found(&report),
        [(
            "tags",
            Rule::Scope,
            "foreign key fk_tags_organizations to organizations is not ON DELETE CASCADE"
        )]
    );
}

#[tokio::test]
async fn tenant_fk_fires_on_a_single_column_key_to_a_tenant_table() {
    let report = audit_broken(
        "ALTER TABLE tags ADD CONSTRAINT uq_tags_id UNIQUE (id);
         ALTER TABLE tasks ADD COLUMN tag_id uuid;
         ALTER TABLE tasks ADD CONSTRAINT fk_tasks_tags FOREIGN KEY (tag_id) REFERENCES tags (id);
         CREATE INDEX idx_tasks_tag_id ON tasks (tag_id);",
    )
    .await;
    assert_eq!(
        found(&report),
        [(
            "tasks",
            Rule::TenantFk,
            "foreign key fk_tasks_tags (tag_id) -> tags (id) does not start with organization_id"
        )]
    );
}

#[tokio::test]
async fn fk_index_fires_on_a_foreign_key_without_a_full_index() {
    const ADD_KEY: &str = "
        ALTER TABLE tasks ADD COLUMN reviewer_user_id uuid;
        ALTER TABLE tasks ADD CONSTRAINT fk_tasks_reviewer
            FOREIGN KEY (organization_id, reviewer_user_id)
            REFERENCES organization_members (organization_id, user_id);";
    let expected = [(
        "tasks",
        Rule::FkIndex,
        "foreign key fk_tasks_reviewer (organization_id, reviewer_user_id) has no index that \
         starts with its columns",
    )];
    assert_eq!(found(&audit_broken(ADD_KEY).await), expected);

    let partial = format!(
        "{ADD_KEY} CREATE INDEX idx_tasks_reviewer ON tasks (organization_id, reviewer_user_id)
                   WHERE reviewer_user_id IS NOT NULL;"
    );
    assert_eq!(
        found(&audit_broken(&partial).await),
        expected,
        "a partial index does not serve"
    );

    let reversed = format!(
        "{ADD_KEY} CREATE INDEX idx_tasks_reviewer ON tasks (reviewer_user_id, organization_id);"
    );
    assert_eq!(
        found(&audit_broken(&reversed).await),
        expected,
        "the order must match"
    );

    let full = format!(
        "{ADD_KEY} CREATE INDEX idx_tasks_reviewer
                       ON tasks (organization_id, reviewer_user_id, due_at);"
    );
    assert_eq!(found(&audit_broken(&full).await), []);
}

#[tokio::test]
async fn rls_fires_when_not_forced_disabled_or_without_policy() {
    let report = audit_broken("ALTER TABLE leads NO FORCE ROW LEVEL SECURITY").await;
    assert_eq!(
        found(&report),
        [("leads", Rule::Rls, "row-level security is not forced")]
    );

    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.connect().await;
    let policies: Vec<String> =
        sqlx::query_scalar("SELECT polname::text FROM pg_policy WHERE polrelid = 'tags'::regclass")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for policy in policies {
        let sql = format!(
            "DROP POLICY {} ON tags",
            crmdb_schema::ident::quote_ident(&policy).unwrap()
        );
        sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
    }
    sqlx::raw_sql("ALTER TABLE tags DISABLE ROW LEVEL SECURITY")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        found(&audit(&db).await),
        [
            ("tags", Rule::Rls, "no row-level security policy"),
            ("tags", Rule::Rls, "row-level security is not enabled"),
        ]
    );
}

#[tokio::test]
async fn updated_at_trigger_fires_when_the_trigger_is_gone_disabled_or_narrowed() {
    const MISSING: &str = "no enabled BEFORE UPDATE FOR EACH ROW trigger calls set_updated_at()";
    for sql in [
        "DROP TRIGGER trg_tags_updated_at ON tags",
        "ALTER TABLE tags DISABLE TRIGGER trg_tags_updated_at",
        "DROP TRIGGER trg_tags_updated_at ON tags;
         CREATE TRIGGER trg_tags_updated_at BEFORE UPDATE OF name ON tags
             FOR EACH ROW EXECUTE FUNCTION set_updated_at();",
    ] {
        assert_eq!(
            found(&audit_broken(sql).await),
            [("tags", Rule::UpdatedAtTrigger, MISSING)],
            "{sql}"
        );
    }
}

#[tokio::test]
async fn secret_columns_fires_on_clear_text_and_on_text_ciphertext() {
    let report = audit_broken(
        "ALTER TABLE whatsapp_configs ADD COLUMN api_token text;
         ALTER TABLE whatsapp_configs ADD COLUMN extra_ciphertext text;",
    )
    .await;
    assert_eq!(
        found(&report),
        [
            (
                "whatsapp_configs",
                Rule::SecretColumns,
                "column api_token is named like a secret (\"token\") but is not a _hash, \
                 _ciphertext, _hint or _prefix column, nor listed as not secret"
            ),
            (
                "whatsapp_configs",
                Rule::SecretColumns,
                "column extra_ciphertext is text; a _ciphertext column must be bytea"
            ),
        ]
    );
}

#[tokio::test]
async fn redundant_index_fires_on_duplicate_and_prefix_indexes() {
    let report = audit_broken(
        "CREATE UNIQUE INDEX uq_leads_copy ON leads (organization_id, id);
         CREATE INDEX idx_leads_organization ON leads (organization_id);",
    )
    .await;
    assert_eq!(
        found(&report),
        [
            (
                "leads",
                Rule::RedundantIndex,
                "index idx_leads_organization is a leading prefix of pk_leads, which serves the \
                 same queries"
            ),
            (
                "leads",
                Rule::RedundantIndex,
                "index uq_leads_copy duplicates pk_leads"
            ),
        ]
    );
}

#[tokio::test]
async fn naming_fires_on_badly_named_constraints_indexes_and_triggers() {
    let report = audit_broken(
        "ALTER TABLE tags ADD CONSTRAINT tags_name_length CHECK (length(name) <= 200);
         CREATE INDEX tags_color_idx ON tags (organization_id, color);
         CREATE TRIGGER tags_touch BEFORE INSERT ON tags
             FOR EACH ROW EXECUTE FUNCTION set_updated_at();",
    )
    .await;
    assert_eq!(
        found(&report),
        [
            (
                "tags",
                Rule::Naming,
                "check constraint tags_name_length should be named ck_tags_..."
            ),
            (
                "tags",
                Rule::Naming,
                "index tags_color_idx should be named idx_tags_..."
            ),
            (
                "tags",
                Rule::Naming,
                "trigger tags_touch should be named trg_tags_..."
            ),
        ]
    );
}

/// A small schema of its own, so the snapshot does not move with the CRM's migrations.
const BROKEN_SCHEMA: &str = "
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;

CREATE TABLE organizations (
    id uuid CONSTRAINT pk_organizations PRIMARY KEY,
    name text NOT NULL
);
COMMENT ON TABLE organizations IS 'scope: global. The tenants.';

CREATE TABLE crmdb_schema_history (version bigint PRIMARY KEY);

CREATE TABLE contacts (
    organization_id uuid NOT NULL,
    id uuid NOT NULL,
    email text,
    api_key text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_contacts PRIMARY KEY (organization_id, id),
    CONSTRAINT fk_contacts_organizations
        FOREIGN KEY (organization_id) REFERENCES organizations (id) ON DELETE CASCADE,
    CONSTRAINT contacts_email_check CHECK (email = lower(email))
);
COMMENT ON TABLE contacts IS 'scope: tenant. People.';
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
CREATE INDEX idx_contacts_org ON contacts (organization_id);

CREATE TABLE notes (
    organization_id uuid,
    id uuid CONSTRAINT notes_pkey PRIMARY KEY,
    contact_id uuid,
    CONSTRAINT fk_notes_contacts FOREIGN KEY (organization_id, contact_id)
        REFERENCES contacts (organization_id, id),
    CONSTRAINT fk_notes_contact_only FOREIGN KEY (contact_id) REFERENCES notes (id)
);
COMMENT ON TABLE notes IS 'scope: tenant';
";

#[tokio::test]
async fn the_report_of_a_broken_schema() {
    let db = crmdb_testkit::empty_db().await;
    sqlx::raw_sql(BROKEN_SCHEMA)
        .execute(&mut db.connect().await)
        .await
        .unwrap();
    let report = audit(&db).await;
    insta::assert_json_snapshot!(report);
    assert_eq!(
        report.summary(),
        format!(
            "audit: 3 tables (2 tenant), {} violations",
            report.violations.len()
        )
    );
}
