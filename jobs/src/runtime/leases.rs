//! The lease book: every lease this worker process holds (running or prefetched), renewed in
//! one batch well before it expires. apalis sends no heartbeats of its own, so this is what keeps
//! a long PDF job from being taken over by another worker while this one is alive.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::queue::{AckStatus, LeaseRef, Queue};

/// Leases held by this process, shared by the fetch side (adds) and the ack side (removes).
#[derive(Clone, Default)]
pub struct LeaseBook {
    held: Arc<Mutex<HashSet<LeaseRef>>>,
}

impl LeaseBook {
    /// Records a lease just taken.
    pub fn add(&self, lease: LeaseRef) {
        if let Ok(mut held) = self.held.lock() {
            held.insert(lease);
        }
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
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Renews every held lease each `lease_for(queue) / 3`, until the process exits.
///
/// A lease found stale (taken over after this process stalled) is dropped from the book; the
/// running attempt's ack will then be fenced off.
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
                        if status == AckStatus::Stale {
                            tracing::warn!(job_id = %lease.id, queue = %name, "lease lost; the job was taken over");
                            book.remove(lease);
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
