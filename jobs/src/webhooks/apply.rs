//! Applying one inbox row, exactly once, in one database transaction.
//!
//! The transaction locks the inbox row first (PostgreSQL `FOR UPDATE`; SQLite `BEGIN IMMEDIATE`)
//! and does nothing unless it is still `received`: a job that runs twice (a re-delivered lease, a
//! sweeper re-enqueue racing the first run) finds it handled. It then locks the payment, runs the
//! state machine with the event's own creation time, writes the state, the history line, the
//! receipt outbox row and the row's new status, and commits all of it or nothing. A worker killed
//! mid-way leaves no trace; the job runs again after its lease and applies the event once.
//!
//! A refund that arrives before its payment succeeded is `deferred`: the row is parked with the
//! payment id, and the transaction that applies the success re-applies the parked rows (oldest
//! first) before it commits, so the refund is neither lost nor dependent on retry timing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::inbox::{self, Claimed};
use super::normalize::{self, GatewayEvent};
use crate::db::{Db, DbError, Dialect};
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::job_types::payments::enqueue_receipt;
use crate::payments::machine::{self, Decision, PaymentEvent};
use crate::payments::repo::{self, Decided, Locked, Tx};
use crate::payments::{HistoryOutcome, effects, expenses, payouts};
use crate::platform::Services;

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The row was already handled (or is not this tenant's): nothing done.
    AlreadyHandled,
    /// Marked with this inbox status (`processed`, `ignored`, `deferred` or `failed`).
    Marked(&'static str),
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue instead of failing).
pub async fn begin(db: &Db) -> Result<Tx, DbError> {
    Ok(match db.dialect() {
        Dialect::Postgres => db.pool().begin().await?,
        Dialect::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
    })
}

/// Applies inbox row `id` of `tenant`.
pub async fn apply_event(
    services: &Services,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Applied, DbError> {
    let db = &services.db;
    let mut tx = begin(db).await?;
    let Some(row) = inbox::claim(&mut tx, db.dialect(), tenant, id).await? else {
        return Ok(Applied::AlreadyHandled);
    };
    if row.status != "received" {
        return Ok(Applied::AlreadyHandled);
    }
    let (status, receipt_for) = handle(&mut tx, db.dialect(), tenant, &row).await?;
    let pause = services.config.payments_apply_pause_ms;
    if pause > 0 {
        tracing::info!(event = %id, pause_ms = pause, "apply paused before commit (fault injection)");
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    tx.commit().await?;
    if let Some(payment) = receipt_for
        && let Err(e) = enqueue_receipt(services, tenant, &payment).await
    {
        // The outbox row is committed: the sweeper relays it.
        tracing::warn!(payment = %payment, error = %e, "receipt enqueue failed; the sweeper will relay it");
    }
    Ok(Applied::Marked(status))
}

/// Most events one batched transaction applies.
const MAX_BATCH: usize = 64;

/// [`apply_event`], sharing one transaction with the concurrent applies of this process.
///
/// Concurrent apply jobs hand their row to one applier task, which locks all rows of a batch
/// with one statement and applies them one after the other, exactly as [`apply_event`] would
/// in sequence, inside one transaction; each job is answered after that transaction committed.
/// The guarantees do not change: a row is applied only if it is still `received` under its
/// lock, and its effects commit together with its new status. If the batch fails, each of its
/// rows is applied on its own, so one bad row cannot hold the others back.
pub async fn apply_event_batched(
    services: &Services,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Applied, DbError> {
    if services.config.payments_apply_pause_ms > 0 {
        // Fault injection pauses one event's transaction: keep it alone in it.
        return apply_event(services, tenant, id).await;
    }
    let (reply, answer) = oneshot::channel();
    let pending = Pending {
        tenant: tenant.clone(),
        id: id.clone(),
        reply,
    };
    if applier(services).send(pending).await.is_ok()
        && let Ok(result) = answer.await
    {
        return result;
    }
    // The applier task is gone (its runtime is shutting down): applying again is harmless,
    // the row's lock and status decide.
    apply_event(services, tenant, id).await
}

struct Pending {
    tenant: TenantId,
    id: WebhookEventId,
    reply: oneshot::Sender<Result<Applied, DbError>>,
}

/// The applier task of these services (one per process and platform instance).
fn applier(services: &Services) -> mpsc::Sender<Pending> {
    static APPLIERS: OnceLock<Mutex<HashMap<usize, mpsc::Sender<Pending>>>> = OnceLock::new();
    let key = Arc::as_ptr(&services.config) as usize;
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
    // The task holds the services, so the key's allocation lives as long as the task.
    tokio::spawn(run_applier(services.clone(), rx));
    map.insert(key, tx.clone());
    tx
}

async fn run_applier(services: Services, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        if batch.len() == 1 {
            let p = batch.pop().expect("one");
            let _ = p.reply.send(apply_event(&services, &p.tenant, &p.id).await);
            continue;
        }
        match apply_batch(&services, &batch).await {
            Ok((outcomes, receipts)) => {
                for (p, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = p.reply.send(Ok(outcome));
                }
                for (tenant, payment) in receipts {
                    if let Err(e) = enqueue_receipt(&services, &tenant, &payment).await {
                        // The outbox row is committed: the sweeper relays it.
                        tracing::warn!(payment = %payment, error = %e, "receipt enqueue failed; the sweeper will relay it");
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, size = batch.len(), "batched apply failed; applying one by one");
                for p in batch {
                    let _ = p.reply.send(apply_event(&services, &p.tenant, &p.id).await);
                }
            }
        }
    }
}

/// Applies a batch in one transaction; one outcome per item, and the receipts to enqueue.
async fn apply_batch(
    services: &Services,
    batch: &[Pending],
) -> Result<(Vec<Applied>, Vec<(TenantId, PaymentId)>), DbError> {
    let db = &services.db;
    let mut tx = begin(db).await?;
    let ids: Vec<&WebhookEventId> = batch.iter().map(|p| &p.id).collect();
    let mut rows: HashMap<String, (TenantId, Claimed)> =
        inbox::claim_many(&mut tx, db.dialect(), &ids)
            .await?
            .into_iter()
            .map(|(t, c)| (c.id.as_str().to_owned(), (t, c)))
            .collect();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut receipts = Vec::new();
    for p in batch {
        // Taken out of the map: the same row twice in a batch is handled once.
        let Some((tenant, row)) = rows.remove(p.id.as_str()) else {
            outcomes.push(Applied::AlreadyHandled);
            continue;
        };
        if tenant != p.tenant || row.status != "received" {
            outcomes.push(Applied::AlreadyHandled);
            continue;
        }
        let (status, receipt_for) = handle(&mut tx, db.dialect(), &tenant, &row).await?;
        if let Some(payment) = receipt_for {
            receipts.push((tenant, payment));
        }
        outcomes.push(Applied::Marked(status));
    }
    tx.commit().await?;
    Ok((outcomes, receipts))
}

/// Decides and records one row; returns its status and the payment owing a receipt, if any.
async fn handle(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &TenantId,
    row: &Claimed,
) -> Result<(&'static str, Option<PaymentId>), DbError> {
    let at = row.occurred_at.unwrap_or(row.received_at);
    let event = match read(row) {
        Ok(e) => e,
        Err(why) => {
            inbox::finish(tx, &row.id, "failed", Some(&why), None).await?;
            return Ok(("failed", None));
        }
    };
    let mut marked = false;
    let (status, reason, payment, receipt) = match event {
        GatewayEvent::Unknown(t) => (
            "ignored",
            Some(format!("event type `{t}` is not one Longshore acts on")),
            None,
            None,
        ),
        GatewayEvent::Payout(p) => match payouts::record(tx, tenant, &p, at).await? {
            true => ("processed", None, None, None),
            false => (
                "ignored",
                Some("a newer event already set this payout's status".to_owned()),
                None,
                None,
            ),
        },
        GatewayEvent::Expense(e) => match expenses::record(tx, tenant, &e, at).await? {
            true => ("processed", None, None, None),
            false => (
                "ignored",
                Some("this expense was already recorded".to_owned()),
                None,
                None,
            ),
        },
        GatewayEvent::Payment { target, event } => {
            match repo::lock(tx, dialect, tenant, &target).await? {
                None => (
                    "failed",
                    Some(format!(
                        "no payment matches {target:?}; replay once it exists"
                    )),
                    None,
                    None,
                ),
                Some(mut payment) => {
                    // The history write marks the inbox row too (one round trip).
                    marked = true;
                    let was_captured = payment.state.status.is_captured();
                    let (status, reason) =
                        decide(tx, &mut payment, &row.id, &event, at, true).await?;
                    let mut receipt = None;
                    if !was_captured && payment.state.status.is_captured() {
                        apply_parked(tx, &mut payment).await?;
                        if payment.customer_email.is_some()
                            && effects::schedule(tx, tenant, &payment.id, effects::RECEIPT).await?
                        {
                            receipt = Some(payment.id.clone());
                        }
                    }
                    (status, reason, Some(payment.id), receipt)
                }
            }
        }
    };
    if !marked {
        inbox::finish(tx, &row.id, status, reason.as_deref(), payment.as_ref()).await?;
    }
    Ok((status, receipt))
}

/// Parses and normalises a stored body.
fn read(row: &Claimed) -> Result<GatewayEvent, String> {
    let body: Value =
        serde_json::from_str(&row.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    normalize::normalize(row.provider, &row.event_type, &body).map_err(|e| e.0)
}

/// Runs the state machine and records the decision in the payment's history.
async fn decide(
    tx: &mut Tx,
    payment: &mut Locked,
    event_id: &WebhookEventId,
    event: &PaymentEvent,
    at: i64,
    mark_inbox: bool,
) -> Result<(&'static str, Option<String>), DbError> {
    let (outcome, reason, status) = match machine::apply(&payment.state, event, at) {
        Decision::Applied(next) => {
            payment.state = next;
            (HistoryOutcome::Applied, None, "processed")
        }
        Decision::Ignored(why) => (HistoryOutcome::Ignored, Some(why), "ignored"),
        Decision::Deferred(why) => (HistoryOutcome::Deferred, Some(why), "deferred"),
    };
    let decided = Decided {
        event: event_id,
        kind: event.name(),
        amount: event.amount(),
        occurred_at: at,
        outcome,
        reason: reason.as_deref(),
        inbox_status: mark_inbox.then_some(status),
    };
    repo::record(tx, payment, decided).await?;
    Ok((status, reason))
}

/// Re-applies the payment's parked (deferred) rows, oldest event first.
async fn apply_parked(tx: &mut Tx, payment: &mut Locked) -> Result<(), DbError> {
    for row in inbox::deferred_for(tx, &payment.id).await? {
        let at = row.occurred_at.unwrap_or(row.received_at);
        let (status, reason) = match read(&row) {
            Ok(GatewayEvent::Payment { event, .. }) => {
                decide(tx, payment, &row.id, &event, at, false).await?
            }
            Ok(_) => (
                "failed",
                Some("a parked event is no longer a payment event".to_owned()),
            ),
            Err(why) => ("failed", Some(why)),
        };
        inbox::finish(tx, &row.id, status, reason.as_deref(), Some(&payment.id)).await?;
    }
    Ok(())
}
