//! The lease book: every lease this worker process holds (running or prefetched), renewed in
//! one batch well before it expires. apalis sends no heartbeats of its own, so this is what keeps
//! a long PDF job from being taken over by another worker while this one is alive.
//!
//! The renewal is also how a cancel reaches a running job: the queue answers that a cancel was
//! requested, and the book fires the lease's cancellation signal, which the handler sees
//! ([`crate::registry::JobContext::cancel`]) and the ack layer enforces after a grace period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::queue::{LeaseRef, LeaseStatus, Queue};

/// Leases held by this process, shared by the fetch side (adds) and the ack side (removes),
/// each with the signal that its job was cancelled.
#[derive(Clone, Default)]
pub struct LeaseBook {
    held: Arc<Mutex<HashMap<LeaseRef, CancellationToken>>>,
}

impl LeaseBook {
    /// Records a lease just taken.
    pub fn add(&self, lease: LeaseRef) {
        if let Ok(mut held) = self.held.lock() {
            held.entry(lease).or_default();
        }
    }

    /// The signal that `lease`'s job was cancelled (a fresh one that never fires if the lease
    /// is not held).
    pub fn cancel_signal(&self, lease: &LeaseRef) -> CancellationToken {
        self.held
            .lock()
            .ok()
            .and_then(|held| held.get(lease).cloned())
            .unwrap_or_default()
    }

    /// Fires `lease`'s cancellation signal; true the first time.
    fn cancel(&self, lease: &LeaseRef) -> bool {
        let Some(signal) = self.held.lock().ok().and_then(|h| h.get(lease).cloned()) else {
            return false;
        };
        let first = !signal.is_cancelled();
        signal.cancel();
        first
    }

    /// Forgets a lease that was completed or released.
    pub fn remove(&self, lease: &LeaseRef) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(lease);
        }
    }

    /// How many leases are held.
    pub fn len(&self) -> usize {
        self.held.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// True when no lease is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn snapshot(&self) -> Vec<LeaseRef> {
        self.held
            .lock()
            .map(|h| h.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Renews every held lease each `tick`, until the process exits.
///
/// A lease found lost (taken over after this process stalled) is dropped from the book; the
/// running attempt's ack will then be fenced off. One whose job was cancelled has its signal
/// fired.
pub async fn keep_leases(
    book: LeaseBook,
    queue: Arc<dyn Queue>,
    lease_for: impl Fn(&str) -> Duration + Send + 'static,
    tick: Duration,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let mut by_queue: HashMap<String, Vec<LeaseRef>> = HashMap::new();
        for lease in book.snapshot() {
            by_queue.entry(lease.queue.clone()).or_default().push(lease);
        }
        for (name, leases) in by_queue {
            match queue.renew(&leases, lease_for(&name)).await {
                Ok(statuses) => {
                    for (lease, status) in leases.iter().zip(statuses) {
                        match status {
                            LeaseStatus::Held => {}
                            LeaseStatus::CancelRequested => {
                                if book.cancel(lease) {
                                    tracing::info!(job_id = %lease.id, queue = %name, "job cancelled while running; telling its handler to stop");
                                }
                            }
                            LeaseStatus::Lost => {
                                tracing::warn!(job_id = %lease.id, queue = %name, "lease lost; the job was taken over");
                                book.remove(lease);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(queue = %name, error = %e, "lease renewal failed; will retry")
                }
            }
        }
    }
}
