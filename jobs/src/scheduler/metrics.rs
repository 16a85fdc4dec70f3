//! Counters of what this scheduler process did, logged at shutdown and on every missed-run
//! decision. The same counts per schedule (across every process) are kept on the schedule row.

use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
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
