//! Applying a batch of inbox rows in one transaction, with a fixed handful of statements.
//!
//! The effect is exactly that of [`super::apply::apply_event`] run on each row in batch order,
//! committed together. The rows are read with one statement and only those still `received`
//! are applied, optimistically: a row is written back only if its status did not change
//! meanwhile, and the batch rolls back otherwise. Every payment they name is locked with one
//! statement (in id order, so concurrent batches cannot deadlock on payments); the state machine
//! then runs in memory, event after event, on the locked states; finally the history lines, the
//! changed payments and the rows' new statuses are written ([`super::batch_writes`]: one
//! statement on PostgreSQL), and the commit makes all of it visible at once or none of it. A
//! round trip per batch, not per event, is what lets one worker keep up with intake.
//!
//! Parked refunds are handled as in the single path: when a payment becomes captured, its rows
//! parked earlier (in the database, and earlier in this batch) are re-applied, oldest event first.

use super::inbox::InboxStatus;
use std::collections::HashMap;

use super::apply::{Applied, begin, judge, no_payment, read, record_other};
use super::batch_writes;
use super::claims::{self, Claimed, Finished};
use super::normalize::GatewayEvent;
use crate::db::{Db, DbError, Dialect};
use crate::events::{self, NewEvent};
use crate::ids::{PaymentId, TenantId, WebhookEventId};
use crate::payments::bulk::{self, HistoryRow};

use crate::payments::effects;
use crate::payments::machine::PaymentEvent;
use crate::payments::repo::{Locked, PaymentRef, Tx};

/// What a committed batch did: one outcome per input, in order, and the receipts to enqueue.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub outcomes: Vec<Applied>,
    pub receipts: Vec<(TenantId, PaymentId)>,
}

/// A claimed row of the batch and what it says.
struct Item {
    tenant: TenantId,
    row: Claimed,
    at: i64,
    event: Result<GatewayEvent, String>,
}

/// A payment event parked (deferred) until its payment is captured.
struct Parked {
    at: i64,
    id: WebhookEventId,
    event: PaymentEvent,
}

/// The batch's writes, gathered in memory and flushed with one statement each.
#[derive(Default)]
struct Writes {
    history: Vec<HistoryRow>,
    finished: Vec<Finished>,
    /// Index in `finished` by row id: a row parked then re-applied in the same batch is
    /// written once, with its last status.
    index: HashMap<WebhookEventId, usize>,
    /// The events the batch's changes cause for the tenants' apps, recorded with one call.
    events: Vec<NewEvent>,
}

impl Writes {
    /// Sets the new status of row `id`, which had status `expect` when it was read.
    fn finish(
        &mut self,
        id: &WebhookEventId,
        expect: InboxStatus,
        status: InboxStatus,
        reason: Option<String>,
        payment: Option<PaymentId>,
    ) {
        let mut f = Finished {
            id: id.clone(),
            status,
            reason,
            payment,
            expect,
        };
        match self.index.get(id) {
            Some(&i) => {
                // What the row had when it was read stays what the write expects.
                f.expect = self.finished[i].expect;
                self.finished[i] = f;
            }
            None => {
                self.index.insert(id.clone(), self.finished.len());
                self.finished.push(f);
            }
        }
    }

    /// Runs the machine on `payment` and records the history line; returns the row's status
    /// and reason.
    fn decide(
        &mut self,
        payment: &mut Locked,
        id: &WebhookEventId,
        event: &PaymentEvent,
        at: i64,
    ) -> (InboxStatus, Option<String>) {
        let judged = judge(payment, id, event, at);
        let (outcome, reason, status) = (judged.outcome, judged.reason, judged.status);
        self.events.extend(judged.event);
        payment.history_len += 1;
        self.history.push(HistoryRow {
            payment: payment.id.clone(),
            seq: payment.history_len,
            event: id.clone(),
            kind: event.name(),
            amount: event.amount(),
            occurred_at: at,
            outcome,
            reason: reason.clone(),
            status_after: payment.state.status,
        });
        (status, reason)
    }
}

/// Applies the rows `jobs` names (each with the tenant its job was enqueued for) in one
/// transaction. A row missing, of another tenant, or no longer `received` is
/// [`Applied::AlreadyHandled`]; the same row twice is applied once.
pub async fn apply_batch(
    db: &Db,
    jobs: &[(TenantId, WebhookEventId)],
) -> Result<BatchOutcome, DbError> {
    let dialect = db.dialect();
    let mut tx = match dialect {
        // The batch's statements have fixed texts, so PostgreSQL soon runs them on cached
        // generic plans (planning every batch afresh cost about a tenth of their time). Every one
        // of them reads a bounded set of rows by key, so the only right plan is index lookups
        // in a nested loop; the planner could pick otherwise from stale or tiny-table statistics
        // (json_to_recordset always guesses 100 rows; an inbox only just created looks small)
        // and a cached plan would keep that mistake while the table grows. (Seen: a generic plan
        // made at start scanned the whole inbox, and batches took 30 ms instead of 3.) Ruling out
        // sequential scans, hash and merge joins for this transaction makes the cached plans
        // index lookups whatever the statistics say; where no index exists PostgreSQL still
        // scans, as these switches only price other plans out.
        Dialect::Postgres => {
            db.pool()
                .begin_with(
                    "BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; \
                     SET LOCAL enable_mergejoin = off",
                )
                .await?
        }
        Dialect::Sqlite => begin(db).await?,
    };
    let ids: Vec<&WebhookEventId> = jobs.iter().map(|(_, id)| id).collect();
    let mut claimed: HashMap<WebhookEventId, (TenantId, Claimed)> =
        claims::claim_many(&mut tx, dialect, &ids)
            .await?
            .into_iter()
            .map(|(t, c)| (c.id.clone(), (t, c)))
            .collect();

    // 1. Which rows to apply, and what they say.
    let mut items: Vec<Option<Item>> = Vec::with_capacity(jobs.len());
    let mut targets: Vec<(TenantId, PaymentRef)> = Vec::new();
    let mut target_index: HashMap<(TenantId, PaymentRef), usize> = HashMap::new();
    let mut target_of: Vec<Option<usize>> = Vec::with_capacity(jobs.len());
    for (tenant, id) in jobs {
        // Taken out of the map: the same row twice in a batch is handled once.
        let item = match claimed.remove(id) {
            Some((t, row)) if &t == tenant && row.status == InboxStatus::Received => Some(Item {
                at: row.occurred_at.unwrap_or(row.received_at),
                event: read(&row),
                tenant: t,
                row,
            }),
            _ => None,
        };
        let target = match &item {
            Some(Item {
                tenant,
                event: Ok(GatewayEvent::Payment { target, .. }),
                ..
            }) => {
                let key = (tenant.clone(), target.clone());
                Some(*target_index.entry(key.clone()).or_insert_with(|| {
                    targets.push(key);
                    targets.len() - 1
                }))
            }
            _ => None,
        };
        items.push(item);
        target_of.push(target);
    }

    // 2. Every payment of the batch, locked with one statement.
    let mut locked = bulk::lock_many(&mut tx, dialect, &targets).await?;

    // 3. Decide in memory, in batch order.
    let mut w = Writes::default();
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut receipts = Vec::new();
    let mut parked: HashMap<PaymentId, Vec<Parked>> = HashMap::new();
    let mut dirty: Vec<PaymentId> = Vec::new();
    for (item, target) in items.into_iter().zip(target_of) {
        let Some(Item {
            tenant,
            row,
            at,
            event,
        }) = item
        else {
            outcomes.push(Applied::AlreadyHandled);
            continue;
        };
        let status = match event {
            Err(why) => {
                w.finish(
                    &row.id,
                    InboxStatus::Received,
                    InboxStatus::Failed,
                    Some(why),
                    None,
                );
                InboxStatus::Failed
            }
            Ok(GatewayEvent::Payment { target: by, event }) => {
                let found = target
                    .and_then(|t| locked.resolved[t].clone())
                    .and_then(|pid| locked.payments.get_mut(&pid));
                let Some(payment) = found else {
                    w.finish(
                        &row.id,
                        InboxStatus::Received,
                        InboxStatus::Failed,
                        Some(no_payment(&by)),
                        None,
                    );
                    outcomes.push(Applied::Marked(InboxStatus::Failed));
                    continue;
                };
                if !dirty.contains(&payment.id) {
                    dirty.push(payment.id.clone());
                }
                let was_captured = payment.state.status.is_captured();
                let (status, reason) = w.decide(payment, &row.id, &event, at);
                w.finish(
                    &row.id,
                    InboxStatus::Received,
                    status,
                    reason,
                    Some(payment.id.clone()),
                );
                if status == InboxStatus::Deferred {
                    parked.entry(payment.id.clone()).or_default().push(Parked {
                        at,
                        id: row.id.clone(),
                        event,
                    });
                } else if !was_captured && payment.state.status.is_captured() {
                    let earlier = parked.remove(&payment.id).unwrap_or_default();
                    apply_parked(&mut tx, &mut w, payment, earlier).await?;
                    if payment.customer_email.is_some()
                        && effects::schedule(
                            &mut tx,
                            &tenant,
                            &payment.id,
                            effects::EffectKind::Receipt,
                        )
                        .await?
                    {
                        receipts.push((tenant.clone(), payment.id.clone()));
                    }
                }
                status
            }
            Ok(other) => {
                let (status, reason, change) = record_other(&mut tx, &tenant, other, at).await?;
                w.events.extend(change);
                w.finish(&row.id, InboxStatus::Received, status, reason, None);
                status
            }
        };
        outcomes.push(Applied::Marked(status));
    }

    // 4. One statement per kind of write, then one commit.
    let changed: Vec<&Locked> = dirty
        .iter()
        .filter_map(|id| locked.payments.get(id))
        .collect();
    let written = batch_writes::write(&mut tx, dialect, &w.history, &changed, &w.finished).await?;
    if written != w.finished.len() as u64 {
        // A row changed since it was read (another transaction handled it): roll back, so
        // nothing of this batch is applied; the caller applies its rows one by one.
        return Err(DbError::Unavailable(format!(
            "{} of {} inbox rows changed during the batch",
            w.finished.len() as u64 - written.min(w.finished.len() as u64),
            w.finished.len()
        )));
    }
    events::record(&mut tx, dialect, &w.events).await?;
    tx.commit().await?;
    Ok(BatchOutcome { outcomes, receipts })
}

/// Re-applies a payment's parked rows (those in the database and those parked earlier in this
/// batch), oldest event first.
async fn apply_parked(
    tx: &mut Tx,
    w: &mut Writes,
    payment: &mut Locked,
    earlier: Vec<Parked>,
) -> Result<(), DbError> {
    let mut all: Vec<(
        i64,
        WebhookEventId,
        Result<PaymentEvent, String>,
        InboxStatus,
    )> = earlier
        .into_iter()
        .map(|p| (p.at, p.id, Ok(p.event), InboxStatus::Received))
        .collect();
    for row in claims::deferred_for(tx, &payment.id).await? {
        let event = match read(&row) {
            Ok(GatewayEvent::Payment { event, .. }) => Ok(event),
            Ok(_) => Err("a parked event is no longer a payment event".to_owned()),
            Err(why) => Err(why),
        };
        all.push((
            row.occurred_at.unwrap_or(row.received_at),
            row.id,
            event,
            InboxStatus::Deferred,
        ));
    }
    all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (at, id, event, expect) in all {
        let (status, reason) = match event {
            Ok(event) => w.decide(payment, &id, &event, at),
            Err(why) => (InboxStatus::Failed, Some(why)),
        };
        w.finish(&id, expect, status, reason, Some(payment.id.clone()));
    }
    Ok(())
}

#[cfg(test)]
#[path = "apply_batch_tests.rs"]
mod tests;
