//! The Rust enums of the closed sets hold exactly the values of the schema's checks.

use sqlx::Row;

#[tokio::test]
async fn every_closed_set_matches_its_check_constraint() {
    let db = crmdb_testkit::migrated_db().await;
    let mut conn = db.connect().await;
    for (table, column, values) in crmdb_store::models::closed_sets() {
        let constraint = format!("ck_{table}_{column}");
        let row = sqlx::query(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = $1::regclass AND conname = $2",
        )
        .bind(table)
        .bind(&constraint)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{constraint}: {e}"));
        let definition: String = row.get(0);
        let in_check: Vec<String> = definition
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert_eq!(in_check, values, "{table}.{column}: {definition}");
    }
}
