//! Counters of what this scheduler process did: logged at shutdown, and exported to Prometheus
//! (`longshore_scheduler_*`, see `crate::metrics`). The same counts per schedule (across every
//! process) are kept on the schedule row.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::metrics::names;

/// What happened to ticks, as counted by [`Metrics::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickEvent {
    /// A run was enqueued (a catch-up run counts once).
    Fired,
    /// A catch-up run was enqueued for missed ticks.
    CaughtUp,
    /// Ticks were found past the grace period.
    Missed,
    /// Missed ticks were dropped by the `skip` policy.
    Skipped,
    /// Another scheduler (or a client change) completed the step first.
    LostRace,
    /// The step failed and will be tried again.
    Failed,
}

/// Ticks handled by this process.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Runs enqueued by ticks (a catch-up run counts once).
    pub fired: AtomicU64,
    /// Catch-up runs among them.
    pub caught_up: AtomicU64,
    /// Ticks found already past the grace period (no scheduler was running).
    pub missed: AtomicU64,
    /// Missed ticks dropped by the `skip` policy.
    pub skipped: AtomicU64,
    /// Steps another scheduler (or a client change) completed first.
    pub lost_races: AtomicU64,
    /// Steps that failed (database or queue unreachable).
    pub failures: AtomicU64,
}

impl Metrics {
    /// Adds `n` to the event's counter, here and in the Prometheus export.
    pub fn record(&self, event: TickEvent, n: u64) {
        let (counter, name) = match event {
            TickEvent::Fired => (&self.fired, names::TICKS_FIRED),
            TickEvent::CaughtUp => (&self.caught_up, names::CATCH_UP_RUNS),
            TickEvent::Missed => (&self.missed, names::TICKS_MISSED),
            TickEvent::Skipped => (&self.skipped, names::TICKS_SKIPPED),
            TickEvent::LostRace => (&self.lost_races, names::TICK_RACES_LOST),
            TickEvent::Failed => (&self.failures, names::TICK_FAILURES),
        };
        counter.fetch_add(n, Ordering::Relaxed);
        ::metrics::counter!(name).increment(n);
    }

    /// The counters as a log-friendly tuple (fired, caught_up, missed, skipped, lost_races).
    pub fn snapshot(&self) -> (u64, u64, u64, u64, u64) {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        (
            g(&self.fired),
            g(&self.caught_up),
            g(&self.missed),
            g(&self.skipped),
            g(&self.lost_races),
        )
    }
}
