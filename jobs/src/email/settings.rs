//! A tenant's email settings: sender defaults (from, reply-to) used when an email names none,
//! and its delivery retry policy (first delay, longest delay, give-up time), each falling back
//! to the deployment's defaults (`LONGSHORE_EMAIL_RETRY_*`).

use std::time::Duration;

use sqlx::Row;

use crate::clock::now_ms;
use crate::config::Config;
use crate::db::{Db, DbError};
use crate::ids::TenantId;

/// What a tenant stored; `None` means "the default".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub retry_base_ms: Option<u64>,
    pub retry_max_ms: Option<u64>,
    pub give_up_secs: Option<u64>,
}

/// The retry policy in force for a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
    pub give_up: Duration,
}

impl Settings {
    /// The tenant's policy, defaults filled in from `config`.
    pub fn policy(&self, config: &Config) -> RetryPolicy {
        let base = self
            .retry_base_ms
            .unwrap_or(config.email_retry_base_ms)
            .max(1);
        let max = self
            .retry_max_ms
            .unwrap_or(config.email_retry_max_ms)
            .max(base);
        RetryPolicy {
            base: Duration::from_millis(base),
            max: Duration::from_millis(max),
            give_up: Duration::from_secs(self.give_up_secs.unwrap_or(config.email_give_up_secs)),
        }
    }
}

impl RetryPolicy {
    /// The delay after the `n`th deferral (1-based): doubling from `base`, capped, ±20 % jitter.
    pub fn delay_after(&self, n: u32) -> Duration {
        crate::retry::RetryPolicy {
            base: self.base,
            factor: 2.0,
            cap: self.max,
            jitter: 0.2,
        }
        .delay_after(n)
    }
}

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|n| u64::try_from(n).ok())
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// The tenant's settings (all defaults if never set).
pub async fn get(db: &Db, tenant: &TenantId) -> Result<Settings, DbError> {
    let row = sqlx::query("SELECT from_addr, reply_to, retry_base_ms, retry_max_ms, give_up_secs FROM email_settings WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else {
        return Ok(Settings::default());
    };
    Ok(Settings {
        from: r.try_get(0)?,
        reply_to: r.try_get(1)?,
        retry_base_ms: opt_u64(r.try_get(2)?),
        retry_max_ms: opt_u64(r.try_get(3)?),
        give_up_secs: opt_u64(r.try_get(4)?),
    })
}

/// Replaces the tenant's settings.
pub async fn put(db: &Db, tenant: &TenantId, s: &Settings) -> Result<(), DbError> {
    sqlx::query(
        "INSERT INTO email_settings (tenant_id, from_addr, reply_to, retry_base_ms, retry_max_ms, give_up_secs, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id) DO UPDATE SET from_addr = excluded.from_addr, \
         reply_to = excluded.reply_to, retry_base_ms = excluded.retry_base_ms, retry_max_ms = excluded.retry_max_ms, \
         give_up_secs = excluded.give_up_secs, updated_at = excluded.updated_at",
    )
    .bind(tenant.as_str())
    .bind(s.from.as_deref())
    .bind(s.reply_to.as_deref())
    .bind(opt_i64(s.retry_base_ms))
    .bind(opt_i64(s.retry_max_ms))
    .bind(opt_i64(s.give_up_secs))
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}
