//! The write path of opens and clicks: the tracking endpoint hands each event to a bounded
//! channel and answers at once; one writer task drains the channel and inserts whatever has
//! gathered (up to [`MAX_BATCH`] rows) in one transaction, with their `email.opened` and
//! `email.clicked` app events ([`event_store::insert_on`]), so 15,000 events/s cost a few
//! hundred statements, not 15,000 commits.
//!
//! Durability: an event is in memory until its batch commits, typically a few milliseconds. A
//! crash (SIGKILL, power loss) loses what is in the channel; a graceful stop ([`EventWriter::close`])
//! writes everything first. When the channel is full the endpoint waits for room (backpressure)
//! for up to [`FULL_WAIT`], then drops the event with a warning rather than hold the request.
//! A failed batch is retried with backoff until it lands. Unsubscribes do not come this way:
//! they are written before the endpoint answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::event_store::{self, Tracked};
use crate::db::Db;

/// Events waiting for the writer, at most.
pub const CAPACITY: usize = 65_536;
/// Rows per transaction, at most.
pub const MAX_BATCH: usize = 1_000;
/// How long a request waits for room in a full channel.
pub const FULL_WAIT: Duration = Duration::from_millis(500);
/// How long [`EventWriter::close`] waits for the last events to be written.
pub const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Hands events to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct EventWriter {
    sender: mpsc::Sender<Tracked>,
    /// Events handed over and not yet committed (or dropped).
    pending: Arc<AtomicUsize>,
}

impl EventWriter {
    /// Starts the writer task over `db`.
    pub fn start(db: Db) -> EventWriter {
        let (sender, rx) = mpsc::channel(CAPACITY);
        let pending = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write_loop(db, rx, pending.clone()));
        EventWriter { sender, pending }
    }

    /// Queues an event for writing (waits briefly if the channel is full).
    pub async fn record(&self, event: Tracked) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        let sent = match self.sender.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(event)) => {
                tokio::time::timeout(FULL_WAIT, self.sender.send(event))
                    .await
                    .is_ok_and(|r| r.is_ok())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        };
        if !sent {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!("tracking event dropped: the event writer is behind or stopped");
        }
    }

    /// Events handed over and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Waits (up to [`CLOSE_WAIT`]) until every event handed over so far is written: call it on
    /// graceful shutdown after the server stopped taking requests.
    pub async fn close(&self) {
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        while self.pending() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if self.pending() > 0 {
            tracing::warn!(
                events = self.pending(),
                "tracking events not written before shutdown"
            );
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Tracked>, pending: Arc<AtomicUsize>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let mut backoff = Duration::from_millis(50);
        while let Err(e) = event_store::insert_batch(&db, &batch).await {
            tracing::warn!(error = %e, events = batch.len(), "could not write tracking events; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
        pending.fetch_sub(batch.len(), Ordering::AcqRel);
    }
}
