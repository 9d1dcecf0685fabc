//! Every table of the catalog, data-driven: with organization A entered, the application
//! login reads none of B's rows, and its updates and deletes of them touch nothing.

use super::{scene, Outcome};
use crate::schema::{catalog_tables, q};

/// How B's rows of `table` are named, from the graph of rows.
fn rows_of_b(table: &str, columns: &[String], b: &crate::schema::Graph) -> String {
    match table {
        "organizations" => format!("id = '{}'", b.org),
        "users" => format!("id = '{}'", b.user),
        "plans" => format!("id = '{}'", b.plan),
        "stripe_webhook_events" => "stripe_event_id = 'evt_b'".to_owned(),
        _ if columns.iter().any(|c| c == "organization_id") => {
            format!("organization_id = '{}'", b.org)
        }
        _ if columns.iter().any(|c| c == "user_id") => format!("user_id = '{}'", b.user),
        other => panic!("no rule names B's rows of {other}"),
    }
}

#[tokio::test]
async fn no_row_of_b_in_any_table_is_read_changed_or_deleted() {
    let mut s = scene().await;
    let tables = catalog_tables(&mut s.superuser).await;
    assert_eq!(tables.len(), 40, "the catalog's tables");
    let before = s.digest().await;
    let mut failures = Vec::new();
    for table in &tables {
        let columns: Vec<(String, bool)> = sqlx::query_as(
            "SELECT attname::text, has_column_privilege('crm_app', attrelid, attname, 'UPDATE') \
             FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped \
             ORDER BY attnum",
        )
        .bind(q(&table.name))
        .fetch_all(&mut s.superuser)
        .await
        .unwrap();
        let names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
        let filter = rows_of_b(&table.name, &names, &s.b);
        let present: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {} WHERE {filter}",
            q(&table.name)
        ))
        .fetch_one(&mut s.superuser)
        .await
        .unwrap();
        assert!(present > 0, "the graph has a row of B in {}", table.name);

        // The plan catalogue is global and readable by every organization, by design.
        if table.name != "plans" {
            let read = s
                .read_as_a::<i64>(&format!(
                    "SELECT count(*) FROM {} WHERE {filter}",
                    q(&table.name)
                ))
                .await;
            if !matches!(read.as_deref(), Ok([0]) | Err(_)) {
                failures.push(format!("{}: read {read:?}", table.name));
            }
        }
        // An updatable column if the role has one, so the policy (not only the grant) is
        // what stops the update.
        let column = columns
            .iter()
            .find(|c| c.1)
            .unwrap_or(&columns[0])
            .0
            .clone();
        for sql in [
            format!(
                "UPDATE {t} SET {c} = {c} WHERE {filter}",
                t = q(&table.name),
                c = q(&column)
            ),
            format!("DELETE FROM {} WHERE {filter}", q(&table.name)),
        ] {
            let outcome = s.as_a(&sql).await;
            if !outcome.is_harmless() {
                failures.push(format!("{sql}: {outcome:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "B's rows were reached:\n{}",
        failures.join("\n")
    );
    assert_eq!(s.digest().await, before, "no row anywhere changed");
}

#[tokio::test]
async fn a_s_own_rows_stay_reachable() {
    let s = scene().await;
    for (sql, rows) in [
        (
            format!(
                "UPDATE organizations SET name = 'A2' WHERE id = '{}'",
                s.a.org
            ),
            1,
        ),
        (
            format!(
                "UPDATE users SET full_name = 'Ana' WHERE id = '{}'",
                s.a.user
            ),
            1,
        ),
        (
            format!(
                "UPDATE provider_routes SET config_id = NULL WHERE organization_id = '{}'",
                s.a.org
            ),
            1,
        ),
        (
            format!(
                "UPDATE user_sessions SET revoked_at = now() WHERE user_id = '{}'",
                s.a.user
            ),
            1,
        ),
        (
            format!("DELETE FROM auth_tokens WHERE user_id = '{}'", s.a.user),
            1,
        ),
    ] {
        assert_eq!(s.as_a(&sql).await, Outcome::Rows(rows), "{sql}");
    }
}
