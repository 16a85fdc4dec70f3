//! Where the tracking key ring comes from: `LONGSHORE_TRACKING_KEYS` when set (operators rotate
//! by putting a new key first and keeping the old ones after it), otherwise a key generated once
//! and kept in the database, so every API and worker process of a deployment shares it with no
//! setup. Secrets are never logged.

use sqlx::Row;

use super::tokens::{KeyError, KeyRing};
use crate::clock::now_ms;
use crate::config::Config;
use crate::db::{Db, DbError};

/// Why the key ring could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The configured ring, or the database's (generated on first use).
pub async fn load(config: &Config, db: &Db) -> Result<KeyRing, LoadError> {
    if let Some(raw) = config
        .tracking_keys
        .as_ref()
        .map(|k| k.expose())
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(KeyRing::parse(raw)?);
    }
    let secret: String = {
        let bytes: [u8; 32] = rand::random();
        hex::encode(bytes)
    };
    // Several processes may start at once: the first insert wins, everyone reads the same rows.
    sqlx::query("INSERT INTO email_tracking_keys (kid, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (kid) DO NOTHING")
        .bind("db1")
        .bind(&secret)
        .bind(now_ms())
        .execute(db.pool())
        .await
        .map_err(DbError::from)?;
    let rows = sqlx::query(
        "SELECT kid, secret FROM email_tracking_keys ORDER BY created_at DESC, kid DESC",
    )
    .fetch_all(db.pool())
    .await
    .map_err(DbError::from)?;
    let pairs = rows
        .iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(DbError::from)?;
    Ok(KeyRing::new(&pairs)?)
}
