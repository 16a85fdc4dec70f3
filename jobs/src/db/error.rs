//! [`DbError`]: what a storage failure means for the caller, decided once, here.
//!
//! Every sqlx error becomes one of four kinds. Only a database that cannot be reached (or is
//! briefly busy) is `Unavailable`, the one worth retrying (the API answers 503). A uniqueness
//! constraint is a `Conflict` (409); a value the database refuses (PostgreSQL's data
//! exceptions, e.g. a NUL byte in text, a check or foreign-key constraint) is `Refused` (422);
//! anything else is a bug (`Internal`, 500). Validation should refuse bad values before they
//! get here; this classification is the backstop.

use sqlx::error::{DatabaseError, ErrorKind};

/// A storage failure, classified (see the module documentation).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached or is briefly busy; try again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
    /// A uniqueness constraint refused the write: the record already exists.
    #[error("conflicts with an existing record: {0}")]
    Conflict(String),
    /// The database refused a value (invalid text, out of range, a constraint).
    #[error("value refused by the database: {0}")]
    Refused(String),
    /// A query or decoding failure that retrying will not fix (a bug).
    #[error("database error: {0}")]
    Internal(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        let text = e.to_string();
        match &e {
            sqlx::Error::Database(db) => classify(db.as_ref(), text),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed
            | sqlx::Error::Configuration(_)
            | sqlx::Error::AnyDriverError(_) => DbError::Unavailable(text),
            _ => DbError::Internal(text),
        }
    }
}

/// Sorts an error the database itself returned, by its kind and code: a SQLSTATE for
/// PostgreSQL, an extended result code for SQLite.
fn classify(db: &dyn DatabaseError, text: String) -> DbError {
    match db.kind() {
        ErrorKind::UniqueViolation | ErrorKind::ExclusionViolation => {
            return DbError::Conflict(text);
        }
        ErrorKind::ForeignKeyViolation | ErrorKind::CheckViolation => {
            return DbError::Refused(text);
        }
        _ => {}
    }
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // SQLite: the primary result code is the low byte of the extended one.
        let primary = code.parse::<u32>().unwrap_or(0) & 0xff;
        return match primary {
            // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
            5 | 6 | 8 | 10 | 13 | 14 => DbError::Unavailable(text),
            // TOOBIG, MISMATCH, RANGE
            18 | 20 | 25 => DbError::Refused(text),
            _ => DbError::Internal(text),
        };
    }
    // PostgreSQL: the class is the SQLSTATE's first two characters.
    match code.get(..2) {
        // Data exception (22021: a NUL byte in text; 22P05: an untranslatable character;
        // 22003: out of range…) and integrity violations not classified above.
        Some("22") | Some("23") => DbError::Refused(text),
        // Connection exception, transaction rollback (serialization, deadlock), insufficient
        // resources, operator intervention (shutdown, cannot connect now).
        Some("08") | Some("40") | Some("53") | Some("57") | Some("58") => {
            DbError::Unavailable(text)
        }
        _ => DbError::Internal(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_are_classified_by_what_they_mean() {
        for (db, _dir) in crate::db::test_databases().await {
            let dialect = db.dialect();
            sqlx::query("CREATE TABLE probe (id TEXT PRIMARY KEY, n BIGINT CHECK (n >= 0))")
                .execute(db.pool())
                .await
                .unwrap();
            let insert = |id: &'static str, n: i64| {
                let db = db.clone();
                async move {
                    sqlx::query("INSERT INTO probe (id, n) VALUES ($1, $2)")
                        .bind(id)
                        .bind(n)
                        .execute(db.pool())
                        .await
                        .map_err(DbError::from)
                }
            };
            insert("a", 1).await.unwrap();
            let twice = insert("a", 1).await;
            assert!(
                matches!(twice, Err(DbError::Conflict(_))),
                "{dialect:?}: {twice:?}"
            );
            let negative = insert("b", -1).await;
            assert!(
                matches!(negative, Err(DbError::Refused(_))),
                "{dialect:?}: {negative:?}"
            );
            let bug = sqlx::query("SELECT nope FROM probe")
                .execute(db.pool())
                .await
                .map_err(DbError::from);
            assert!(
                matches!(bug, Err(DbError::Internal(_))),
                "{dialect:?}: {bug:?}"
            );
            if dialect == crate::db::Dialect::Postgres {
                // PostgreSQL text cannot hold a NUL byte.
                let nul = insert("nul\0byte", 1).await;
                assert!(matches!(nul, Err(DbError::Refused(_))), "{nul:?}");
            }
        }
    }

    #[tokio::test]
    async fn an_unreachable_database_is_unavailable() {
        sqlx::any::install_default_drivers();
        let port = longshore_testkit::free_port();
        let gone = sqlx::any::AnyPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_secs(2))
            .connect(&format!("postgres://nobody@127.0.0.1:{port}/none"))
            .await
            .map(|_| ())
            .map_err(DbError::from);
        assert!(matches!(gone, Err(DbError::Unavailable(_))), "{gone:?}");
    }
}
