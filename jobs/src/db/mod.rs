//! Business records in PostgreSQL (production) or SQLite (embedded), through one sqlx `Any` pool.
//!
//! Queries are written once in the SQL both dialects share (`$1` placeholders, BIGINT epoch-ms
//! times, TEXT ids); where the dialects differ, [`Dialect`] picks the statement.

pub mod api_keys;
pub mod batcher;
mod error;
pub mod idempotency;
pub mod page;
pub mod tenants;

use std::time::Duration;

pub use error::DbError;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

/// Which SQL dialect the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The database server's time in milliseconds since the epoch, as an SQL expression: the
    /// one clock ([`crate::clock`]) for statements that decide when work runs. Such a
    /// statement takes durations from the process and adds them to this, never instants.
    /// PostgreSQL's is the statement's start (stable within it, so an index can use it).
    pub const fn now_sql(self) -> &'static str {
        match self {
            Dialect::Postgres => "(EXTRACT(EPOCH FROM statement_timestamp()) * 1000)::BIGINT",
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }
}

/// The pool of business-record connections, cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
}

impl Db {
    /// Connects and applies this dialect's migrations from `migrations/`.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            Dialect::Postgres
        };
        if dialect == Dialect::Sqlite {
            ensure_sqlite_folder(url)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(5))
            // No ping before each use: it doubled the round trips of every query; a dead
            // connection fails its query instead, which callers already treat as unavailable.
            .test_before_acquire(false)
            .connect(url)
            .await?;
        let db = Db { pool, dialect };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let result = match self.dialect {
            Dialect::Postgres => {
                sqlx::migrate!("../migrations/postgres")
                    .run(&self.pool)
                    .await
            }
            Dialect::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.pool).await,
        };
        result.map_err(|e| DbError::Migration(e.to_string()))
    }

    /// The underlying pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The database server's time in milliseconds since the epoch: the one clock every
    /// scheduler agrees on, whatever its own host's clock says.
    pub async fn now_ms(&self) -> Result<i64, DbError> {
        let sql = format!("SELECT {}", self.dialect.now_sql());
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// The `(tenant_id, id)` pairs a statement selects, binding `$1` and `$2` (a cutoff and a
    /// limit, say), each id typed by `id`: what the sweeps walk.
    pub async fn tenant_ids<T>(
        &self,
        sql: &'static str,
        first: i64,
        second: i64,
        id: fn(String) -> T,
    ) -> Result<Vec<(crate::ids::TenantId, T)>, DbError> {
        let rows = sqlx::query(sql)
            .bind(first)
            .bind(second)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    crate::ids::TenantId::from_trusted(r.try_get::<String, _>(0)?),
                    id(r.try_get::<String, _>(1)?),
                ))
            })
            .collect()
    }

    /// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite, so concurrent writers queue on
    /// the database lock at the start instead of failing when a read turns into a write.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, DbError> {
        Ok(match self.dialect {
            Dialect::Postgres => self.pool.begin().await?,
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
        })
    }

    /// Succeeds when the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// A fresh database of each dialect for a test (the SQLite one lives as long as its folder).
#[cfg(test)]
pub(crate) async fn test_databases() -> Vec<(Db, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let pg = longshore_testkit::TestPostgres::shared().fresh_database();
    vec![
        (Db::connect(&sqlite).await.expect("sqlite"), Some(dir)),
        (Db::connect(&pg).await.expect("postgres"), None),
    ]
}

/// How many rows of `table` belong to `tenant` (tests).
#[cfg(test)]
pub(crate) async fn count_rows(db: &Db, table: &str, tenant: &crate::ids::TenantId) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
    let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .fetch_one(db.pool())
        .await
        .expect("count");
    row.0
}

/// Sets the `status` of row `id` of `table`, as its job would have (tests).
#[cfg(test)]
pub(crate) async fn set_status(db: &Db, table: &str, id: &str, status: &str) {
    let sql = format!("UPDATE {table} SET status = $1 WHERE id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(status)
        .bind(id)
        .execute(db.pool())
        .await
        .expect("set status");
}

fn ensure_sqlite_folder(url: &str) -> Result<(), DbError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbError::Unavailable(format!("create {}: {e}", parent.display())))?;
    }
    Ok(())
}
