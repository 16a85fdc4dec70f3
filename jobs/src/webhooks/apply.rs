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

use super::Hooks;
use super::claims::{self, Claimed};
use super::inbox::InboxStatus;
use super::normalize::{self, GatewayEvent};
use super::record::Decided;
use crate::db::{Db, DbError, Dialect};
use crate::events::{self, NewEvent};
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::payments::events as payment_events;
use crate::payments::machine::{self, Decision, PaymentEvent};
use crate::payments::payouts::PayoutWrite;
use crate::payments::repo::{self, Locked, PaymentRef, Tx};
use crate::payments::{HistoryOutcome, effects, expenses, payouts};

pub use super::applier::apply_event_batched;

/// How an apply ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The row was already handled (or is not this tenant's): nothing done.
    AlreadyHandled,
    /// Marked with this inbox status (`processed`, `ignored`, `deferred` or `failed`).
    Marked(InboxStatus),
}

/// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite, so writers queue instead of failing).
pub async fn begin(db: &Db) -> Result<Tx, DbError> {
    db.begin_write().await
}

/// Applies inbox row `id` of `tenant`.
pub async fn apply_event(
    hooks: &Hooks,
    tenant: &TenantId,
    id: &WebhookEventId,
) -> Result<Applied, DbError> {
    let db = &hooks.db;
    let mut tx = begin(db).await?;
    let Some(row) = claims::claim(&mut tx, db.dialect(), tenant, id).await? else {
        return Ok(Applied::AlreadyHandled);
    };
    if row.status != InboxStatus::Received {
        return Ok(Applied::AlreadyHandled);
    }
    let (status, receipt_for) = handle(&mut tx, db.dialect(), tenant, &row).await?;
    let pause = hooks.config.payments_apply_pause_ms;
    if pause > 0 {
        tracing::info!(event = %id, pause_ms = pause, "apply paused before commit (fault injection)");
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    tx.commit().await?;
    if let Some(payment) = receipt_for
        && let Err(e) = hooks
            .out
            .dispatch(effects::receipt_intent(tenant, &payment))
            .await
    {
        // The outbox row is committed: the sweeper relays it.
        tracing::warn!(payment = %payment, error = %e, "receipt enqueue failed; the sweeper will relay it");
    }
    Ok(Applied::Marked(status))
}

/// Decides and records one row; returns its status and the payment owing a receipt, if any.
async fn handle(
    tx: &mut Tx,
    dialect: Dialect,
    tenant: &TenantId,
    row: &Claimed,
) -> Result<(InboxStatus, Option<PaymentId>), DbError> {
    let at = row.occurred_at.unwrap_or(row.received_at);
    let event = match read(row) {
        Ok(e) => e,
        Err(why) => {
            claims::finish(tx, &row.id, InboxStatus::Failed, Some(&why), None).await?;
            return Ok((InboxStatus::Failed, None));
        }
    };
    let mut marked = false;
    let (status, reason, payment, receipt) = match event {
        GatewayEvent::Payment { target, event } => {
            match repo::lock(tx, dialect, tenant, &target).await? {
                None => (InboxStatus::Failed, Some(no_payment(&target)), None, None),
                Some(mut payment) => {
                    // The history write marks the inbox row too (one round trip).
                    marked = true;
                    let was_captured = payment.state.status.is_captured();
                    let (status, reason) =
                        decide(tx, dialect, &mut payment, &row.id, &event, at, true).await?;
                    let mut receipt = None;
                    if !was_captured && payment.state.status.is_captured() {
                        apply_parked(tx, dialect, &mut payment).await?;
                        if payment.customer_email.is_some()
                            && effects::schedule(
                                tx,
                                tenant,
                                &payment.id,
                                effects::EffectKind::Receipt,
                            )
                            .await?
                        {
                            receipt = Some(payment.id.clone());
                        }
                    }
                    (status, reason, Some(payment.id), receipt)
                }
            }
        }
        other => {
            let (status, reason, change) = record_other(tx, tenant, other, at).await?;
            if let Some(change) = change {
                events::record(tx, dialect, &[change]).await?;
            }
            (status, reason, None, None)
        }
    };
    if !marked {
        claims::finish(tx, &row.id, status, reason.as_deref(), payment.as_ref()).await?;
    }
    Ok((status, receipt))
}

/// The reason of a payment event whose payment does not exist.
pub(super) fn no_payment(target: &PaymentRef) -> String {
    format!("no payment matches {target:?}; replay once it exists")
}

/// Records an event that is not about a payment (payout, expense, unknown type); returns the
/// row's status and reason, and the event the change causes for the tenant's app (the caller
/// records it in this transaction).
pub(super) async fn record_other(
    tx: &mut Tx,
    tenant: &TenantId,
    event: GatewayEvent,
    at: i64,
) -> Result<(InboxStatus, Option<String>, Option<NewEvent>), DbError> {
    Ok(match event {
        GatewayEvent::Unknown(t) => (
            InboxStatus::Ignored,
            Some(format!("event type `{t}` is not one Longshore acts on")),
            None,
        ),
        GatewayEvent::Payout(p) => match payouts::record(tx, tenant, &p, at).await? {
            PayoutWrite::Stored(event) => (InboxStatus::Processed, None, event),
            PayoutWrite::Stale => (
                InboxStatus::Ignored,
                Some("a newer event already set this payout's status".to_owned()),
                None,
            ),
        },
        GatewayEvent::Expense(e) => match expenses::record(tx, tenant, &e, at).await? {
            Some(event) => (InboxStatus::Processed, None, Some(event)),
            None => (
                InboxStatus::Ignored,
                Some("this expense was already recorded".to_owned()),
                None,
            ),
        },
        GatewayEvent::Payment { .. } => (
            InboxStatus::Failed,
            Some("internal: a payment event reached record_other".to_owned()),
            None,
        ),
    })
}

/// What the state machine decided about one event, and what the app is told of it.
pub(super) struct Judged {
    pub outcome: HistoryOutcome,
    pub reason: Option<String>,
    pub status: InboxStatus,
    /// `payment.succeeded`, `payment.failed` or `payment.refunded` when the event changed the
    /// payment in a way the app is told of.
    pub event: Option<NewEvent>,
}

/// Runs the state machine on a locked payment (in memory) for gateway event `event` (inbox row
/// `webhook`, created at `at`): moves its state when the event applies.
pub(super) fn judge(
    payment: &mut Locked,
    webhook: &WebhookEventId,
    event: &PaymentEvent,
    at: i64,
) -> Judged {
    match machine::apply(&payment.state, event, at) {
        Decision::Applied(next) => {
            let before = std::mem::replace(&mut payment.state, next);
            Judged {
                outcome: HistoryOutcome::Applied,
                reason: None,
                status: InboxStatus::Processed,
                event: payment_events::payment_event(&before, payment, webhook, event, at),
            }
        }
        Decision::Ignored(why) => Judged {
            outcome: HistoryOutcome::Ignored,
            reason: Some(why),
            status: InboxStatus::Ignored,
            event: None,
        },
        Decision::Deferred(why) => Judged {
            outcome: HistoryOutcome::Deferred,
            reason: Some(why),
            status: InboxStatus::Deferred,
            event: None,
        },
    }
}

/// Parses and normalises a stored body.
pub(super) fn read(row: &Claimed) -> Result<GatewayEvent, String> {
    normalize::parse(row.provider, &row.event_type, &row.body).map_err(|e| e.0)
}

/// Runs the state machine and records the decision in the payment's history, with the event
/// it causes for the tenant's app.
async fn decide(
    tx: &mut Tx,
    dialect: Dialect,
    payment: &mut Locked,
    event_id: &WebhookEventId,
    event: &PaymentEvent,
    at: i64,
    mark_inbox: bool,
) -> Result<(InboxStatus, Option<String>), DbError> {
    let judged = judge(payment, event_id, event, at);
    let decided = Decided {
        event: event_id,
        kind: event.name(),
        amount: event.amount(),
        occurred_at: at,
        outcome: judged.outcome,
        reason: judged.reason.as_deref(),
        inbox_status: mark_inbox.then_some(judged.status),
    };
    super::record::record(tx, payment, decided).await?;
    if let Some(change) = &judged.event {
        events::record(tx, dialect, std::slice::from_ref(change)).await?;
    }
    Ok((judged.status, judged.reason))
}

/// Re-applies the payment's parked (deferred) rows, oldest event first.
async fn apply_parked(tx: &mut Tx, dialect: Dialect, payment: &mut Locked) -> Result<(), DbError> {
    for row in claims::deferred_for(tx, &payment.id).await? {
        let at = row.occurred_at.unwrap_or(row.received_at);
        let (status, reason) = match read(&row) {
            Ok(GatewayEvent::Payment { event, .. }) => {
                decide(tx, dialect, payment, &row.id, &event, at, false).await?
            }
            Ok(_) => (
                InboxStatus::Failed,
                Some("a parked event is no longer a payment event".to_owned()),
            ),
            Err(why) => (InboxStatus::Failed, Some(why)),
        };
        claims::finish(tx, &row.id, status, reason.as_deref(), Some(&payment.id)).await?;
    }
    Ok(())
}
