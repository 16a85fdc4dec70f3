//! Group commit: concurrent callers hand one request each to a task that runs whatever has
//! gathered as one statement (one round trip, one commit) and hands each caller its own result.
//!
//! There is no timer: while a batch runs, the next one gathers, so under light load a request
//! runs alone at once and under heavy load batches grow by themselves. A caller waits for its
//! own batch to commit, so nothing is acknowledged before it is durable.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

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
            let mut batch = Vec::with_capacity(max);
            loop {
                batch.clear();
                if rx.recv_many(&mut batch, max).await == 0 {
                    return;
                }
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
                let (requests, replies): (Vec<Q>, Vec<Reply<R>>) = batch.drain(..).unzip();
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
