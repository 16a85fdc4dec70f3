//! The scheduler loop: turns due schedule ticks into `report.build` jobs. Run by the
//! `longshore-scheduler` binary (and by `longshore-api dev`); any number may run at once.
//!
//! Each pass reads the schedules whose `next_run_at` has come (one indexed query, across
//! tenants), handles one [`step`] of each, then sleeps until the earliest `next_run_at` or the
//! refresh interval, whichever is sooner. Nothing about schedules is cached: a schedule created
//! or changed through the API (which recomputes `next_run_at`) takes effect within one refresh
//! interval, and an idle scheduler costs two small queries per interval and no memory per
//! schedule. On shutdown the loop finishes the step in progress (each is idempotent anyway)
//! and returns.

pub mod metrics;
pub mod step;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::from_ms;
use tokio_util::sync::CancellationToken;

use crate::platform::Services;
use crate::schedules::repo;
use metrics::{Metrics, TickEvent};
use step::Outcome;

/// Due schedules read per pass.
const BATCH: usize = 200;

/// Runs until `shutdown` is cancelled; returns this process's counters.
pub async fn run(services: Services, shutdown: CancellationToken) -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::default());
    crate::metrics::register_scheduler();
    let refresh = Duration::from_millis(services.config.scheduler_refresh_ms);
    let grace = chrono::Duration::milliseconds(services.config.scheduler_grace_ms as i64);
    tracing::info!(
        refresh_ms = refresh.as_millis() as u64,
        grace_ms = grace.num_milliseconds(),
        "scheduler loop started"
    );
    while !shutdown.is_cancelled() {
        let (handled, failed) = pass(&services, grace, &metrics, &shutdown).await;
        if handled >= BATCH && !failed {
            continue;
        }
        let mut wait = refresh;
        match (
            repo::earliest_next(&services.db).await,
            services.db.now_ms().await,
        ) {
            (Ok(Some(at)), Ok(now)) => {
                let until = (at - now).max(0) as u64;
                wait = wait.min(Duration::from_millis(until));
            }
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "scheduler: could not read the next tick")
            }
        }
        // A floor keeps a due schedule that keeps failing (queue down) from spinning.
        let floor = if failed {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(20)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait.max(floor)) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    let (fired, caught_up, missed, skipped, lost) = metrics.snapshot();
    tracing::info!(
        fired,
        caught_up,
        missed,
        skipped,
        lost_races = lost,
        "scheduler loop stopped"
    );
    metrics
}

/// Handles one step of every due schedule; returns how many were due and whether any failed.
async fn pass(
    services: &Services,
    grace: chrono::Duration,
    metrics: &Arc<Metrics>,
    shutdown: &CancellationToken,
) -> (usize, bool) {
    // Ticks are due by the database's clock, not this host's: a scheduler whose clock is fast
    // must not fire early, nor one that is slow late.
    let now = match services.db.now_ms().await {
        Ok(ms) => from_ms(ms),
        Err(e) => {
            tracing::warn!(error = %e, "scheduler: could not read the database's time");
            return (0, true);
        }
    };
    let due = match repo::due(&services.db, now.timestamp_millis(), BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "scheduler: could not read due schedules");
            return (0, true);
        }
    };
    let mut failed = false;
    for s in &due {
        if shutdown.is_cancelled() {
            break;
        }
        match step::step(services, s, now, grace, metrics).await {
            Ok(Outcome::Lost) => {
                tracing::debug!(schedule_id = %s.id, "another scheduler handled this tick")
            }
            Ok(_) => {}
            Err(e) => {
                failed = true;
                metrics.record(TickEvent::Failed, 1);
                tracing::warn!(schedule_id = %s.id, error = %e, "scheduler: tick not handled; retrying");
            }
        }
    }
    (due.len(), failed)
}
