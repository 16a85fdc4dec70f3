//! Group commit: concurrent callers hand one request each to a task that runs whatever has
//! gathered as one statement (one round trip, one commit) and hands each caller its own result.
//!
//! [`Batcher`] runs one batch at a time and has no timer: while a batch runs, the next one
//! gathers, so under light load a request runs alone at once and under heavy load batches grow
//! by themselves. A caller waits for its own batch to commit, so nothing is acknowledged before
//! it is durable. [`run_batches`] is the same loop for tasks whose batches may overlap (webhook
//! intake, the payment applier): there a new batch lingers briefly while another one runs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::db::{Db, DbError};

/// Requests waiting for the batch task, at most (callers wait for room beyond that).
const CAPACITY: usize = 4_096;

type Reply<R> = oneshot::Sender<Result<R, DbError>>;

/// Hands requests to a batch task. Cheap to clone.
pub struct Batcher<Q, R> {
    sender: mpsc::Sender<(Q, Reply<R>)>,
}

impl<Q, R> Clone for Batcher<Q, R> {
    fn clone(&self) -> Self {
        Batcher {
            sender: self.sender.clone(),
        }
    }
}

impl<Q: Send + 'static, R: Send + 'static> Batcher<Q, R> {
    /// Starts the batch task: `run` gets up to `max` requests and returns one result per
    /// request, in order. The task ends when every [`Batcher`] is dropped.
    pub fn start<F, Fut>(db: Db, max: usize, run: F) -> Batcher<Q, R>
    where
        F: Fn(Db, Vec<Q>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, DbError>> + Send + 'static,
    {
        let (sender, mut rx) = mpsc::channel::<(Q, Reply<R>)>(CAPACITY);
        tokio::spawn(async move {
            loop {
                let Some(mut batch) = gather(&mut rx, max, || None).await else {
                    return;
                };
                // Let the callers that are running right now add theirs: one yield costs
                // microseconds and turns a trickle of one-row statements into real batches.
                if batch.len() < max {
                    tokio::task::yield_now().await;
                    while batch.len() < max {
                        match rx.try_recv() {
                            Ok(item) => batch.push(item),
                            Err(_) => break,
                        }
                    }
                }
                let (requests, replies): (Vec<Q>, Vec<Reply<R>>) = batch.into_iter().unzip();
                let n = requests.len();
                match run(db.clone(), requests).await {
                    Ok(results) if results.len() == n => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(Ok(result));
                        }
                    }
                    Ok(results) => {
                        let why = format!("batch returned {} results for {n}", results.len());
                        for reply in replies {
                            let _ = reply.send(Err(DbError::Unavailable(why.clone())));
                        }
                    }
                    Err(e) => {
                        let why = e.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(DbError::Unavailable(why.clone())));
                        }
                    }
                }
            }
        });
        Batcher { sender }
    }

    /// Runs `request` in the next batch and returns its result once the batch committed.
    pub async fn call(&self, request: Q) -> Result<R, DbError> {
        let (reply, result) = oneshot::channel();
        self.sender
            .send((request, reply))
            .await
            .map_err(|_| DbError::Unavailable("the batch writer stopped".into()))?;
        result
            .await
            .map_err(|_| DbError::Unavailable("the batch writer stopped".into()))?
    }
}

/// Takes the next batch from `rx` for a group-commit task: waits for one request, takes whatever
/// else is already waiting (up to `max`), and, when `linger` (asked once the first request is
/// in) gives a time, waits up to that long for more while the batch is not full. `None` once
/// every sender is gone.
///
/// Callers linger only while another batch of theirs is running: the database is busy anyway,
/// and per-batch costs (round trips, planning, the commit) then spread over more rows, while an
/// idle task never waits.
pub async fn gather<T>(
    rx: &mut mpsc::Receiver<T>,
    max: usize,
    linger: impl FnOnce() -> Option<Duration>,
) -> Option<Vec<T>> {
    let mut batch = Vec::with_capacity(max.min(64));
    if rx.recv_many(&mut batch, max).await == 0 {
        return None;
    }
    if batch.len() < max
        && let Some(linger) = linger()
    {
        let deadline = tokio::time::Instant::now() + linger;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(item)) => batch.push(item),
                _ => break,
            }
        }
    }
    Some(batch)
}

/// Runs `handle` on the batches gathered from `rx`, at most `in_flight` at once, each on its own
/// task; while another batch runs, a new one lingers up to `linger` to fill up (see [`gather`]).
/// Returns once every sender is gone. For group-commit tasks whose batches may overlap.
pub async fn run_batches<T, F, Fut>(
    mut rx: mpsc::Receiver<T>,
    max: usize,
    in_flight: usize,
    linger: Duration,
    handle: F,
) where
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let busy = || (slots.available_permits() + 1 < in_flight).then_some(linger);
        let Some(batch) = gather(&mut rx, max, busy).await else {
            return;
        };
        let work = handle(batch);
        tokio::spawn(async move {
            work.await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_what_waits_and_lingers_only_when_asked() {
        let (tx, mut rx) = mpsc::channel(16);
        for n in 0..5 {
            tx.send(n).await.unwrap();
        }
        assert_eq!(gather(&mut rx, 3, || None).await, Some(vec![0, 1, 2]));
        assert_eq!(gather(&mut rx, 8, || None).await, Some(vec![3, 4]));
        tx.send(5).await.unwrap();
        let late = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            late.send(6).await.unwrap();
        });
        let lingered = gather(&mut rx, 8, || Some(Duration::from_secs(5))).await;
        assert_eq!(lingered, Some(vec![5, 6]), "waited for the late request");
        drop(tx);
        assert_eq!(gather(&mut rx, 8, || None).await, None);
    }
}
