//! The sweeper: the part of "never lose an event" that does not depend on the queue being up.
//!
//! Runs in every worker process that serves the `payments` queue, every few seconds:
//! - inbox rows still `received` after `webhook_sweep_after_secs` are enqueued again under their
//!   derived job id (a no-op if the job exists); a row whose job is `dead` is marked `failed`
//!   with the job's last error, so it shows up for a replay instead of waiting forever;
//! - receipt outbox rows still `pending` are relayed the same way;
//! - handled inbox rows older than the retention (30 days or more) are deleted, a batch at a
//!   time, every [`PURGE_EVERY`] (retention is counted in days; nothing is gained by looking
//!   every few seconds).
//!
//! Several workers sweeping at once is harmless: every step is idempotent.

use std::time::Duration;

use super::Hooks;
use super::inbox;
use crate::clock::now_ms;
use crate::db::DbError;
use crate::payments::effects;
use crate::queue::JobState;

/// Rows handled per sweep and per kind.
const BATCH: i64 = 500;
/// Rows deleted per purge statement, and statements per purge (a large backlog, after the
/// retention was shortened, is worked off over several passes rather than holding up the sweep).
const PURGE_BATCH: i64 = 1000;
const PURGE_ROUNDS: usize = 50;
/// How often expired inbox rows are purged.
const PURGE_EVERY: Duration = Duration::from_secs(300);

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub enqueued: usize,
    pub failed: usize,
    pub receipts: usize,
}

/// One pass of the sweeper.
pub async fn sweep_once(hooks: &Hooks) -> Result<Swept, DbError> {
    let db = &hooks.db;
    let cutoff = now_ms() - secs_to_ms(hooks.config.webhook_sweep_after_secs);
    let mut swept = Swept::default();
    for (tenant, id, replays) in inbox::stalled(db, cutoff, BATCH).await? {
        match hooks
            .out
            .dispatch(inbox::apply_intent(&tenant, &id, replays, None))
            .await
        {
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
    for (tenant, payment) in
        effects::stalled(db, effects::EffectKind::Receipt, cutoff, BATCH).await?
    {
        match hooks
            .out
            .dispatch(effects::receipt_intent(&tenant, &payment))
            .await
        {
            Ok(e) if e.created => swept.receipts += 1,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "sweeper: queue unavailable; next pass retries");
                return Ok(swept);
            }
        }
    }
    Ok(swept)
}

/// Deletes handled inbox rows past the retention, a batch at a time until none is left (or
/// [`PURGE_ROUNDS`] batches); returns how many.
pub async fn purge_expired(hooks: &Hooks) -> Result<u64, DbError> {
    let keep = secs_to_ms(
        hooks
            .config
            .webhook_retention_days
            .saturating_mul(24 * 3600),
    );
    let before = now_ms() - keep;
    let mut purged = 0;
    for _ in 0..PURGE_ROUNDS {
        let n = inbox::purge(&hooks.db, before, PURGE_BATCH).await?;
        purged += n;
        if n < PURGE_BATCH as u64 {
            break;
        }
    }
    Ok(purged)
}

fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}

/// Sweeps forever at an interval suited to the configured delay (aborted with the runtime).
pub async fn run(hooks: Hooks) {
    let every = Duration::from_secs(hooks.config.webhook_sweep_after_secs.clamp(1, 5));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut purged_at: Option<tokio::time::Instant> = None;
    loop {
        interval.tick().await;
        if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            match purge_expired(&hooks).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "webhook inbox retention"),
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, "webhook purge failed; next pass retries"),
            }
            purged_at = Some(tokio::time::Instant::now());
        }
        match sweep_once(&hooks).await {
            Ok(s) if s != Swept::default() => tracing::info!(?s, "webhook sweep"),
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "webhook sweep failed; next pass retries"),
        }
    }
}
