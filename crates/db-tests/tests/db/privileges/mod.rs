//! The privilege model tried from the outside, as an attacker holding the application login
//! would: log in as it, enter organization A the documented way, go after B's rows in every
//! table, and compare the whole database before and after (read as the superuser).

mod attacks;
mod every_table;
mod logins;
mod sign_in;

use sqlx::{Connection, PgConnection};

use crate::schema::{catalog_tables, insert_graph, q, Graph};

/// A database with the full graph of rows of two organizations, A and B, each with its
/// user (A's user is the acting user of every attempt).
pub struct Scene {
    pub db: crmdb_testkit::TestDb,
    pub superuser: PgConnection,
    pub a: Graph,
    pub b: Graph,
    pub app_url: String,
}

pub async fn scene() -> Scene {
    let db = crmdb_testkit::migrated_db().await;
    let mut superuser = db.superuser_connect().await;
    let a = insert_graph(&mut superuser, "a").await;
    let b = insert_graph(&mut superuser, "b").await;
    let app_url = db.app_url().await;
    Scene {
        db,
        superuser,
        a,
        b,
        app_url,
    }
}

impl Scene {
    /// A new connection as the application login (no role entered, nothing set).
    pub async fn app(&self) -> PgConnection {
        PgConnection::connect(&self.app_url)
            .await
            .expect("logging in as the application login")
    }

    /// A digest of every row of every table (the migration history included), to compare
    /// before and after an attack.
    pub async fn digest(&mut self) -> Vec<(String, Option<String>)> {
        let mut tables: Vec<String> = catalog_tables(&mut self.superuser)
            .await
            .into_iter()
            .map(|t| t.name)
            .collect();
        tables.push("crmdb_schema_history".to_owned());
        let mut digest = Vec::new();
        for table in tables {
            let sql = format!(
                "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t",
                q(&table)
            );
            let hash: Option<String> = sqlx::query_scalar(&sql)
                .fetch_one(&mut self.superuser)
                .await
                .unwrap();
            digest.push((table, hash));
        }
        digest
    }

    /// Runs `sql` as the application login in a transaction that entered organization A the
    /// documented way (role, organization and acting user, all transaction-local), and
    /// rolls nothing back on success: an attack that worked stays done.
    pub async fn as_a(&self, sql: &str) -> Outcome {
        let mut conn = self.entered_as_a().await;
        match sqlx::query(sql).execute(&mut conn).await {
            Ok(done) => {
                sqlx::raw_sql("COMMIT").execute(&mut conn).await.unwrap();
                Outcome::Rows(done.rows_affected())
            }
            Err(e) => Outcome::Refused(crmdb_pg::sqlstate::of(&e).unwrap_or_default()),
        }
    }

    /// Asserts that each statement, run as [`Scene::as_a`], is refused for lack of privilege.
    pub async fn assert_denied(&self, statements: &[&str]) {
        for sql in statements {
            assert_eq!(
                self.as_a(sql).await,
                Outcome::Refused(INSUFFICIENT_PRIVILEGE.to_owned()),
                "{sql}"
            );
        }
    }

    /// The rows `sql` returns as the application login with organization A entered.
    pub async fn read_as_a<T>(&self, sql: &str) -> Result<Vec<T>, String>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql)
            .fetch_all(&mut self.entered_as_a().await)
            .await
            .map_err(|e| crmdb_pg::sqlstate::of(&e).unwrap_or_default())
    }

    /// An application login's connection in an open transaction that entered A.
    async fn entered_as_a(&self) -> PgConnection {
        let mut conn = self.app().await;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await.unwrap();
        let (org, user) = (self.a.org.to_string(), self.a.user.to_string());
        enter(&mut conn, Some(&org), Some(&user)).await;
        conn
    }
}

/// Enters the application role as the data layer does.
pub async fn enter(conn: &mut PgConnection, organization: Option<&str>, user: Option<&str>) {
    sqlx::query(
        "SELECT set_config('role', 'crm_app', true), \
                set_config('app.current_organization_id', $1, true), \
                set_config('app.current_user_id', $2, true)",
    )
    .bind(organization.unwrap_or_default())
    .bind(user.unwrap_or_default())
    .execute(conn)
    .await
    .unwrap();
}

/// What became of an attempted statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and touched this many rows.
    Rows(u64),
    /// PostgreSQL refused it with this SQLSTATE.
    Refused(String),
}

impl Outcome {
    /// Refused, or ran without touching a row.
    pub fn is_harmless(&self) -> bool {
        matches!(self, Outcome::Rows(0) | Outcome::Refused(_))
    }
}

/// SQLSTATE of "permission denied" and of a row refused by a policy.
pub use crmdb_pg::sqlstate::INSUFFICIENT_PRIVILEGE;
