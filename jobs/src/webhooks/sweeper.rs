//! The sweeper: the part of "never lose an event" that does not depend on the queue being up.
//!
//! Runs in every worker process that serves the `payments` queue, every few seconds:
//! - inbox rows still `received` after `webhook_sweep_after_secs` are enqueued again under their
//!   derived job id (a no-op if the job exists); a row whose job is `dead` is marked `failed`
//!   with the job's last error, so it shows up for a replay instead of waiting forever;
//! - receipt outbox rows still `pending` are relayed the same way;
//! - handled inbox rows older than the retention (30 days or more) are deleted, a batch at a time.
//!
//! Several workers sweeping at once is harmless: every step is idempotent.

use std::time::Duration;

use super::inbox;
use crate::clock::now_ms;
use crate::db::DbError;
use crate::job_types::payments::{enqueue_apply, enqueue_receipt};
use crate::payments::effects;
use crate::platform::Services;
use crate::queue::JobState;

/// Rows handled per sweep and per kind.
const BATCH: i64 = 500;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub enqueued: usize,
    pub failed: usize,
    pub receipts: usize,
    pub purged: u64,
}

/// One pass of the sweeper.
pub async fn sweep_once(services: &Services) -> Result<Swept, DbError> {
    let db = &services.db;
    let cutoff = now_ms() - secs_to_ms(services.config.webhook_sweep_after_secs);
    let mut swept = Swept::default();
    for (tenant, id, replays) in inbox::stalled(db, cutoff, BATCH).await? {
        match enqueue_apply(services, &tenant, &id, replays, None).await {
            Ok(e) if e.created => swept.enqueued += 1,
            Ok(e) if e.job.state == JobState::Dead => {
                let why = format!(
                    "the apply job is dead: {}",
                    e.job.last_error.as_deref().unwrap_or("no error recorded")
                );
                if inbox::fail_if_received(db, &id, &why).await? {
                    swept.failed += 1;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "sweeper: queue unavailable; next pass retries");
                return Ok(swept);
            }
        }
    }
    for (tenant, payment) in effects::stalled(db, effects::RECEIPT, cutoff, BATCH).await? {
        match enqueue_receipt(services, &tenant, &payment).await {
            Ok(e) if e.created => swept.receipts += 1,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "sweeper: queue unavailable; next pass retries");
                return Ok(swept);
            }
        }
    }
    let keep = secs_to_ms(
        services
            .config
            .webhook_retention_days
            .saturating_mul(24 * 3600),
    );
    swept.purged = inbox::purge(db, now_ms() - keep, 1000).await?;
    Ok(swept)
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Sweeps forever at an interval suited to the configured delay (aborted with the runtime).
pub async fn run(services: Services) {
    let every = Duration::from_secs(services.config.webhook_sweep_after_secs.clamp(1, 5));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match sweep_once(&services).await {
            Ok(s) if s != Swept::default() => tracing::info!(?s, "webhook sweep"),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "webhook sweep failed; next pass retries"),
        }
    }
}
