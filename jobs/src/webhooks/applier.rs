//! Group commit for apply jobs: the concurrent `payment.apply_event` jobs of a worker process
//! hand their row to one applier task, which applies them a batch at a time
//! ([`super::apply_batch`]) and answers each job once its batch committed.
//!
//! Batches form by themselves: while [`MAX_IN_FLIGHT`] batches run, new rows wait and then leave
//! together; while one batch runs, the next lingers up to [`LINGER`] to fill up. Batches may run
//! concurrently because every guarantee holds per row and per payment under the database's
//! locks: a row is written back only if it is still `received` (else its batch rolls back), and a
//! payment named by two concurrent batches is locked by the first and read afresh by the second
//! once the first committed, so two events of one payment are never applied on the same stale
//! state. On SQLite (`BEGIN IMMEDIATE` serialises writers) one batch runs at a time. If a batch
//! fails, each of its rows is applied on its own, so one bad row cannot hold the others back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::{mpsc, oneshot};

use super::Hooks;
use super::apply::{Applied, apply_event};
use super::apply_batch::apply_batch;
use crate::db::batcher::run_batches;
use crate::db::{DbError, Dialect};
use crate::ids::{TenantId, WebhookEventId};
use crate::payments::effects::receipt_intent;

/// Most rows one batch applies (two full apply jobs: statements cost about the same for 50
/// rows as for 250, so bigger batches mean fewer of them per event).
const MAX_BATCH: usize = 256;
/// Batches in flight at once on PostgreSQL (each holds one database connection).
const MAX_IN_FLIGHT: usize = 2;
/// Longest wait for more rows while another batch runs.
const LINGER: std::time::Duration = std::time::Duration::from_millis(4);

/// [`apply_event`], sharing one transaction with the concurrent applies of this process.
pub async fn apply_event_batched(
    hooks: &Hooks,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Applied, DbError> {
    if hooks.config.payments_apply_pause_ms > 0 {
        // Fault injection pauses one event's transaction: keep it alone in it.
        return apply_event(hooks, tenant, id).await;
    }
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        tenant: tenant.clone(),
        id: id.clone(),
        reply,
    };
    if applier(hooks).send(pending).await.is_ok()
        && let Ok(result) = answer.await
    {
        return result;
    }
    // The applier task is gone (its runtime is shutting down): applying again is harmless,
    // the row's lock and status decide.
    apply_event(hooks, tenant, id).await
}

struct Pending {
    tenant: TenantId,
    id: WebhookEventId,
    reply: oneshot::Sender<Result<Applied, DbError>>,
}

/// The applier task of these hooks (one per process and platform instance).
fn applier(hooks: &Hooks) -> mpsc::Sender<Pending> {
    static APPLIERS: OnceLock<Mutex<HashMap<usize, mpsc::Sender<Pending>>>> = OnceLock::new();
    let key = Arc::as_ptr(&hooks.config) as usize;
    let mut map = APPLIERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(tx) = map.get(&key)
        && !tx.is_closed()
    {
        return tx.clone();
    }
    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
    // The task holds the hooks, so the key's allocation lives as long as the task.
    tokio::spawn(run_applier(hooks.clone(), rx));
    map.insert(key, tx.clone());
    tx
}

async fn run_applier(hooks: Hooks, rx: mpsc::Receiver<Pending>) {
    let in_flight = match hooks.db.dialect() {
        Dialect::Postgres => MAX_IN_FLIGHT,
        Dialect::Sqlite => 1,
    };
    run_batches(rx, MAX_BATCH, in_flight, LINGER, move |batch| {
        let hooks = hooks.clone();
        async move { run_batch(&hooks, batch).await }
    })
    .await;
}

/// Applies one batch and answers its jobs; falls back to one transaction per row on failure.
async fn run_batch(hooks: &Hooks, batch: Vec<Pending>) {
    let jobs: Vec<(TenantId, WebhookEventId)> = batch
        .iter()
        .map(|p| (p.tenant.clone(), p.id.clone()))
        .collect();
    match apply_batch(&hooks.db, &jobs).await {
        Ok(done) => {
            for (p, outcome) in batch.into_iter().zip(done.outcomes) {
                let _ = p.reply.send(Ok(outcome));
            }
            for (tenant, payment) in done.receipts {
                if let Err(e) = hooks.out.dispatch(receipt_intent(&tenant, &payment)).await {
                    // The outbox row is committed: the sweeper relays it.
                    tracing::warn!(payment = %payment, error = %e, "receipt enqueue failed; the sweeper will relay it");
                }
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, size = batch.len(), "batched apply failed; applying one by one");
            for p in batch {
                let _ = p.reply.send(apply_event(hooks, &p.tenant, &p.id).await);
            }
        }
    }
}
