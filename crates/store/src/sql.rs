//! Statements as the data layer sends them, and rows as it reads them back.
//!
//! Every parameter's PostgreSQL type is known before the statement is sent ([`Param`]), so
//! a statement travels as one unnamed Parse/Bind/Execute/Sync: no describe round trip
//! first, and no named prepared statement left on the connection — a transaction pooler
//! (PgBouncer in transaction mode) hands the server connection to another client after
//! each transaction, where a named statement either is missing or already exists. Rows are
//! decoded by column name into types that implement [`FromRow`].
//!
//! A statement runs on an open transaction (`Conn`) or as a one-statement transaction of
//! a `Tenant` (see [`Executor`]); in both cases whatever must precede it (`BEGIN`, entering the tenant,
//! deferred writes) goes out in the same write and is answered in the same round trip.
//!
//! ```no_run
//! use crmdb_store::sql::query_scalar;
//! # async fn count(tenant: &crmdb_store::Tenant) -> crmdb_store::Result<i64> {
//! let org = tenant.organization_id();
//! query_scalar("SELECT count(*) FROM leads WHERE organization_id = $1")
//!     .bind(org)
//!     .fetch_one(tenant)
//!     .await
//! # }
//! ```

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::TryStreamExt;
use rust_decimal::Decimal;
use tokio_postgres::types::{FromSqlOwned, Json, ToSql, Type};
use tokio_postgres::{Client, Row};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A Rust value bound as a statement parameter, with the PostgreSQL type it is sent as.
pub trait Param: ToSql + Sync + Send {
    /// The parameter's type in the statement's Parse message.
    const TYPE: Type;
}

macro_rules! params {
    ($($rust:ty => $pg:ident,)+) => {
        $(impl Param for $rust {
            const TYPE: Type = Type::$pg;
        })+
    };
}

params! {
    bool => BOOL,
    i16 => INT2,
    i32 => INT4,
    i64 => INT8,
    f64 => FLOAT8,
    String => TEXT,
    &str => TEXT,
    Uuid => UUID,
    DateTime<Utc> => TIMESTAMPTZ,
    NaiveDate => DATE,
    Decimal => NUMERIC,
    serde_json::Value => JSONB,
    Vec<u8> => BYTEA,
    &[u8] => BYTEA,
    Vec<Uuid> => UUID_ARRAY,
    &[Uuid] => UUID_ARRAY,
    Vec<String> => TEXT_ARRAY,
    &[String] => TEXT_ARRAY,
    &[&str] => TEXT_ARRAY,
    Vec<i32> => INT4_ARRAY,
    std::net::IpAddr => INET,
}

impl<T: Param> Param for Option<T> {
    const TYPE: Type = T::TYPE;
}

impl<T: Param> Param for &T {
    const TYPE: Type = T::TYPE;
}

impl<T: serde::Serialize + std::fmt::Debug + Sync + Send> Param for Json<T> {
    const TYPE: Type = Type::JSONB;
}

/// A type read from one row of a result.
pub trait FromRow: Sized {
    /// The value of `row`; a column missing or of another type is an error naming it.
    fn from_row(row: &Row) -> Result<Self>;
}

/// Tuples read their columns by position, for statements that select a few values.
macro_rules! tuple_from_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: FromSqlOwned),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Result<Self> {
                Ok(($(row.try_get::<_, $t>($i)?,)+))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A struct whose fields are read from the columns of the same names, for the models and
/// every other row type of the data layer.
///
/// ```ignore
/// row_struct! {
///     #[derive(Debug)]
///     pub struct Tag { pub id: Uuid, pub name: String }
/// }
/// ```
macro_rules! row_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field_vis:vis $field:ident : $ty:ty
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $(
                $(#[$field_meta])*
                $field_vis $field: $ty,
            )+
        }

        impl $crate::sql::FromRow for $name {
            fn from_row(row: &tokio_postgres::Row) -> $crate::Result<Self> {
                Ok($name {
                    $(
                        // A column named like a keyword is a raw identifier (`r#type`).
                        $field: row.try_get(stringify!($field).trim_start_matches("r#"))?,
                    )+
                })
            }
        }
    };
}

pub(crate) use row_struct;

/// What a statement returned: its rows and the number of rows it inserted, updated or
/// deleted.
#[derive(Debug, Default)]
pub struct Fetched {
    pub(crate) rows: Vec<Row>,
    pub(crate) affected: u64,
}

impl Fetched {
    /// The rows the statement changed (0 for a `SELECT`).
    pub fn rows_affected(&self) -> u64 {
        self.affected
    }

    /// The rows, decoded.
    pub fn decode<T: FromRow>(&self) -> Result<Vec<T>> {
        self.rows.iter().map(T::from_row).collect()
    }
}

/// Where a statement runs: an open transaction (`&mut Conn`), the transaction's last
/// statement (`Last`), or a tenant as a transaction of its own (`&Tenant`); the
/// implementations live with the transactions, in `db`.
pub trait Executor {
    /// Sends `statement` and returns its answer.
    fn run(self, statement: Statement<'_>) -> impl Future<Output = Result<Fetched>> + Send;
}

/// A statement and its bound parameters.
pub struct Statement<'a> {
    sql: Cow<'a, str>,
    params: Vec<(Box<dyn ToSql + Sync + Send + 'a>, Type)>,
}

impl std::fmt::Debug for Statement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Parameters may be secrets (sealed credentials, token hashes): only the SQL.
        f.debug_struct("Statement")
            .field("sql", &self.sql)
            .field("params", &self.params.len())
            .finish()
    }
}

impl<'a> Statement<'a> {
    fn new(sql: impl Into<Cow<'a, str>>) -> Statement<'a> {
        Statement {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    fn push<P: Param + 'a>(&mut self, value: P) {
        self.params.push((Box::new(value), P::TYPE));
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    pub(crate) fn params(&self) -> impl ExactSizeIterator<Item = (&(dyn ToSql + Sync), Type)> {
        self.params
            .iter()
            .map(|(value, ty)| (value.as_ref() as &(dyn ToSql + Sync), ty.clone()))
    }

    pub(crate) fn types(&self) -> Vec<Type> {
        self.params.iter().map(|(_, ty)| ty.clone()).collect()
    }

    /// Sends the statement as `prepared` (this statement, prepared on the same connection)
    /// and reads its answer: Bind/Execute/Sync only, and the server reuses its plan.
    pub(crate) async fn send_prepared(
        &self,
        client: &Client,
        prepared: &tokio_postgres::Statement,
    ) -> Result<Fetched, tokio_postgres::Error> {
        let values = self
            .params
            .iter()
            .map(|(value, _)| value.as_ref() as &(dyn ToSql + Sync));
        let stream = client.query_raw(prepared, values).await?;
        collect(stream).await
    }

    /// Sends the statement on `client` and reads its answer. The request is written when
    /// the future is first polled, which is what lets [`Conn`] pipeline several.
    pub(crate) async fn send(&self, client: &Client) -> Result<Fetched, tokio_postgres::Error> {
        let stream = client.query_typed_raw(&self.sql, self.params()).await?;
        collect(stream).await
    }
}

/// Every row of `stream` and the number of rows the statement changed.
async fn collect(stream: tokio_postgres::RowStream) -> Result<Fetched, tokio_postgres::Error> {
    futures_util::pin_mut!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream.try_next().await? {
        rows.push(row);
    }
    let affected = stream.rows_affected().unwrap_or(0);
    Ok(Fetched { rows, affected })
}

/// A statement whose outcome is the number of rows it changed.
#[must_use = "a query does nothing until it is executed"]
pub struct Query<'a>(Statement<'a>);

/// A statement whose rows are read as `T`.
#[must_use = "a query does nothing until it is fetched"]
pub struct QueryAs<'a, T>(Statement<'a>, PhantomData<fn() -> T>);

/// A statement whose rows are read as their first column, of type `T`.
#[must_use = "a query does nothing until it is fetched"]
pub struct QueryScalar<'a, T>(pub(crate) Statement<'a>, PhantomData<fn() -> T>);

/// A statement run for its effect.
pub fn query<'a>(sql: impl Into<Cow<'a, str>>) -> Query<'a> {
    Query(Statement::new(sql))
}

/// A statement whose rows are read into `T` ([`FromRow`]).
pub fn query_as<'a, T: FromRow>(sql: impl Into<Cow<'a, str>>) -> QueryAs<'a, T> {
    QueryAs(Statement::new(sql), PhantomData)
}

/// A statement whose rows are one column each, read as `T`.
pub fn query_scalar<'a, T: FromSqlOwned>(sql: impl Into<Cow<'a, str>>) -> QueryScalar<'a, T> {
    QueryScalar(Statement::new(sql), PhantomData)
}

impl<'a> Query<'a> {
    /// Binds the next parameter (`$1`, `$2`, … in order).
    pub fn bind<P: Param + 'a>(mut self, value: P) -> Self {
        self.0.push(value);
        self
    }

    /// Runs the statement; its outcome tells how many rows it changed.
    pub async fn execute(self, on: impl Executor) -> Result<Fetched> {
        on.run(self.0).await
    }

    /// Every row, as the driver's rows, for a statement whose columns are only known when
    /// it runs.
    pub async fn fetch_rows(self, on: impl Executor) -> Result<Vec<Row>> {
        Ok(on.run(self.0).await?.rows)
    }

    /// The statement, to be sent later ([`Conn::defer`]).
    pub fn into_statement(self) -> Statement<'a> {
        self.0
    }
}

impl<'a, T: FromRow> QueryAs<'a, T> {
    /// Binds the next parameter (`$1`, `$2`, … in order).
    pub fn bind<P: Param + 'a>(mut self, value: P) -> Self {
        self.0.push(value);
        self
    }

    /// Every row.
    pub async fn fetch_all(self, on: impl Executor) -> Result<Vec<T>> {
        on.run(self.0).await?.decode()
    }

    /// The first row, or `None`.
    pub async fn fetch_optional(self, on: impl Executor) -> Result<Option<T>> {
        let fetched = on.run(self.0).await?;
        fetched.rows.first().map(T::from_row).transpose()
    }

    /// The first row; none is an error.
    pub async fn fetch_one(self, on: impl Executor) -> Result<T> {
        self.fetch_optional(on).await?.ok_or(Error::NoRow)
    }
}

impl<'a, T: FromSqlOwned> QueryScalar<'a, T> {
    /// Binds the next parameter (`$1`, `$2`, … in order).
    pub fn bind<P: Param + 'a>(mut self, value: P) -> Self {
        self.0.push(value);
        self
    }

    /// The first column of every row.
    pub async fn fetch_all(self, on: impl Executor) -> Result<Vec<T>> {
        let fetched = on.run(self.0).await?;
        fetched.rows.iter().map(first_column).collect()
    }

    /// The first column of the first row, or `None` without rows.
    pub async fn fetch_optional(self, on: impl Executor) -> Result<Option<T>> {
        let fetched = on.run(self.0).await?;
        fetched.rows.first().map(first_column).transpose()
    }

    /// The first column of the first row; no row is an error.
    pub async fn fetch_one(self, on: impl Executor) -> Result<T> {
        self.fetch_optional(on).await?.ok_or(Error::NoRow)
    }
}

fn first_column<T: FromSqlOwned>(row: &Row) -> Result<T> {
    Ok(row.try_get(0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_carry_their_postgres_types() {
        let ids = vec![Uuid::nil()];
        let mut statement = Statement::new("SELECT $1, $2, $3, $4");
        statement.push(Uuid::nil());
        statement.push(Some("text"));
        statement.push(None::<i64>);
        statement.push(&ids);
        let types: Vec<Type> = statement.params.iter().map(|(_, t)| t.clone()).collect();
        assert_eq!(
            types,
            [Type::UUID, Type::TEXT, Type::INT8, Type::UUID_ARRAY]
        );
    }

    #[test]
    fn a_statement_shows_its_sql_but_not_its_parameters() {
        let mut statement = Statement::new("SELECT $1");
        statement.push("hunter2");
        let shown = format!("{statement:?}");
        assert!(shown.contains("SELECT $1"));
        assert!(!shown.contains("hunter2"));
    }
}
