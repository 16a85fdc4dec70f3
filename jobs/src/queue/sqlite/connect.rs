//! Opening the embedded database file the way the queue needs it, and migrating it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::queue::QueueError;

/// Every SQLite migration (queue and business tables), embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// How often opening or migrating a file that another process is migrating is tried again.
const MIGRATION_TRIES: u32 = 5;

/// Opens (creating if missing) the SQLite file at `path_or_url` (a path, or a `sqlite:` URL) and
/// applies the migrations in `migrations/sqlite`.
///
/// Settings, and why: WAL so readers never block the writer and several processes share the
/// file; `synchronous = NORMAL`, which in WAL mode survives process crashes (only an OS crash or
/// power loss may drop the last commits) at a fraction of FULL's fsyncs; a 5 s busy timeout so
/// writers of other processes queue instead of failing; foreign keys on for the business tables.
pub async fn connect_sqlite(path_or_url: impl AsRef<Path>) -> Result<SqlitePool, QueueError> {
    let fail =
        |what: &str, e: &dyn std::fmt::Display| QueueError::Unavailable(format!("{what}: {e}"));
    let path = path_or_url.as_ref();
    let options = match path.to_str() {
        Some(url) if url.starts_with("sqlite:") => {
            SqliteConnectOptions::from_str(url).map_err(|e| fail("sqlite url", &e))?
        }
        _ => SqliteConnectOptions::new().filename(path),
    };
    if let Some(parent) = options.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| fail("create data folder", &e))?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    // Opening switches a fresh file to WAL, which SQLite refuses at once (SQLITE_BUSY, without
    // waiting out the busy timeout) while another process holds a lock on it, as one that is
    // migrating the same fresh file does: wait a little and open again.
    let mut tries = 0;
    let pool = loop {
        tries += 1;
        match SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
        {
            Ok(pool) => break pool,
            Err(e) if tries >= MIGRATION_TRIES => return Err(fail("open sqlite", &e)),
            Err(e) => {
                tracing::debug!(error = %e, tries, "opening sqlite failed; trying again");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(tries))).await;
            }
        }
    };
    migrate(&pool).await?;
    Ok(pool)
}

/// Runs the migrations. SQLite has no migration lock in sqlx, so when processes start together
/// on a fresh file one may fail on a migration the other just applied; a second run sees it done.
async fn migrate(pool: &SqlitePool) -> Result<(), QueueError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match MIGRATOR.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if tries >= MIGRATION_TRIES => {
                return Err(QueueError::Unavailable(format!("sqlite migrations: {e}")));
            }
            Err(e) => {
                tracing::debug!(error = %e, tries, "sqlite migration failed; trying again");
                tokio::time::sleep(Duration::from_millis(50 * u64::from(tries))).await;
            }
        }
    }
}
