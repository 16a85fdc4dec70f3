//! The queue's single writer: one connection, one task, and group commit.
//!
//! SQLite admits one writer at a time. Rather than let pooled connections fight for the lock
//! (SQLite's busy handler sleeps between tries), every write of this process is sent to one task
//! that owns one connection. The task takes whatever writes are waiting (up to [`MAX_BATCH`]),
//! runs them in one `BEGIN IMMEDIATE` transaction and commits once, so a burst of writes costs
//! one commit per batch instead of one per write. A write's answer is released only after the
//! commit; if the batch fails, every write in it fails as `Unavailable` and nothing is applied.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::row::unavailable;
use crate::queue::QueueError;

/// The most writes committed together: bounds how long one batch holds the write lock.
const MAX_BATCH: usize = 256;
/// Writes waiting for the writer before senders wait too (back-pressure).
const QUEUE_DEPTH: usize = 4_096;

/// Hands a write's result to its caller; called only once the batch has committed.
type Finish = Box<dyn FnOnce() + Send>;
/// One write: runs its statements inside the batch's transaction. `Err` aborts the batch.
type Op = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<Finish, QueueError>>
        + Send,
>;

/// Sends writes to the writer task, started on first use (so it runs on the caller's runtime).
pub(super) struct Writer {
    pool: SqlitePool,
    ops: OnceLock<mpsc::Sender<Op>>,
}

impl Writer {
    /// A writer that will take its connection from `pool`.
    pub(super) fn new(pool: SqlitePool) -> Self {
        Writer {
            pool,
            ops: OnceLock::new(),
        }
    }

    fn sender(&self) -> &mpsc::Sender<Op> {
        self.ops.get_or_init(|| {
            let (send, receive) = mpsc::channel(QUEUE_DEPTH);
            let span = tracing::info_span!("sqlite_queue_writer");
            tokio::spawn(write_loop(self.pool.clone(), receive).instrument(span));
            send
        })
    }

    /// Runs `op` in the next batch and returns its result once that batch committed.
    ///
    /// `op` must only write through the connection it is given. Its `Unavailable` error aborts
    /// the whole batch; other errors (`NotFound`, `Corrupt`…) are answers and commit normally.
    pub(super) async fn run<T, F>(&self, op: F) -> Result<T, QueueError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, QueueError>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let op: Op = Box::new(move |conn| {
            Box::pin(async move {
                let result = op(conn).await;
                if let Err(QueueError::Unavailable(e)) = &result {
                    // The batch is abandoned; this write's caller at least hears why.
                    let why = e.clone();
                    let _ = answer.send(result);
                    return Err(QueueError::Unavailable(why));
                }
                Ok(Box::new(move || {
                    let _ = answer.send(result);
                }) as Finish)
            })
        });
        let stopped = || QueueError::Unavailable("sqlite queue writer stopped".into());
        self.sender().send(op).await.map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| {
            Err(QueueError::Unavailable(
                "sqlite write batch failed and was rolled back".into(),
            ))
        })
    }
}

/// Runs batches until every sender is gone (the last `SqliteQueue` clone dropped).
async fn write_loop(pool: SqlitePool, mut receive: mpsc::Receiver<Op>) {
    let mut conn: Option<PoolConnection<Sqlite>> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receive.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let size = batch.len();
        // A panicking write (a bug) must not end the writer and with it every later write.
        let ran = AssertUnwindSafe(run_batch(&pool, &mut conn, batch.drain(..)))
            .catch_unwind()
            .await;
        let failure = match ran {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "a write panicked".to_owned(),
        };
        // Dropping the unrun and unfinished writes answers them `Unavailable`. A fresh
        // connection next time, in case this one is the problem.
        tracing::warn!(error = %failure, size, "sqlite write batch failed and was rolled back");
        batch.clear();
        conn = None;
    }
}

async fn run_batch(
    pool: &SqlitePool,
    slot: &mut Option<PoolConnection<Sqlite>>,
    ops: impl Iterator<Item = Op>,
) -> Result<(), QueueError> {
    let conn = match slot {
        Some(conn) => conn,
        None => slot.insert(pool.acquire().await.map_err(unavailable)?),
    };
    // IMMEDIATE takes the write lock up front (waiting on the busy timeout for other processes):
    // a deferred transaction that reads first can fail with SQLITE_BUSY_SNAPSHOT instead.
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(unavailable)?;
    let mut finishes = Vec::with_capacity(MAX_BATCH);
    for op in ops {
        finishes.push(op(&mut tx).await?);
    }
    tx.commit().await.map_err(unavailable)?;
    for finish in finishes {
        finish();
    }
    Ok(())
}
