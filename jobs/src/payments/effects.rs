//! The outbox of a payment's side effects (today: the receipt).
//!
//! When an event makes a payment succeed and it has a customer email, the apply transaction
//! writes a `receipt` row here, at most one per payment (primary key), in the same transaction
//! as the state change: the effect can neither be lost (a crash after commit leaves the row for
//! the sweeper to relay) nor doubled (a replayed event or re-run job finds the row already there).
//! The relay enqueues `payment.receipt` under a job id derived from the payment id, so relaying
//! twice is harmless. See `job_types::payments::SendReceipt` for the chain it starts:
//! the receipt document (id derived from the payment) and its email to the customer (id derived
//! from the document), each created at most once.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::ids::{DocumentId, JobId, PaymentId, TenantId};
use crate::intent::{Intent, Next};
use crate::words::word_enum;

word_enum!(
    /// What side effect a payment owes.
    EffectKind {
        /// The receipt: its PDF, then the email carrying it.
        Receipt => "receipt",
    }
);

word_enum!(
    /// A side effect's progress.
    EffectStatus {
        /// Waiting to be relayed to the queue, or relayed and not finished.
        Pending => "pending",
        /// Done.
        Done => "done",
        /// Could not be done until the tenant acts (`detail` says what to do); its job is dead
        /// and can be retried with `POST /v1/jobs/{id}/retry`.
        Failed => "failed",
        /// The handler ran but a capability it needs is not installed (left by older builds).
        Blocked => "blocked",
    }
);

/// A side effect's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    pub kind: EffectKind,
    pub status: EffectStatus,
    pub detail: Option<String>,
    pub updated_at: i64,
    /// The receipt document (`doc_receipt-…`), once recorded.
    pub document_id: Option<String>,
    /// The receipt email, once the document is rendered and the email created.
    pub email_id: Option<String>,
    /// Why the receipt email could not be created (e.g. no sender default).
    pub email_error: Option<String>,
}

/// The job id of a payment's receipt: one per payment, so enqueueing it again is a no-op.
pub fn receipt_job_id(payment: &PaymentId) -> Result<JobId, DbError> {
    format!("job_receipt-{payment}")
        .parse()
        .map_err(|_| DbError::Unavailable(format!("cannot derive a job id from {payment}")))
}

/// The document id of a payment's receipt: one per payment, so the chain is idempotent.
pub fn receipt_document_id(payment: &PaymentId) -> DocumentId {
    let suffix = payment.as_str().trim_start_matches("pay_");
    DocumentId::from_trusted(format!("doc_receipt-{suffix}"))
}

/// The intent that produces a payment's receipt (relayed from its outbox row).
pub fn receipt_intent(tenant: &TenantId, payment: &PaymentId) -> Next {
    let intent = Intent::SendReceipt {
        payment: payment.clone(),
    };
    Next::new(tenant, intent, None)
}

/// Records that `kind` must happen for `payment`; false if it was already recorded.
pub async fn schedule(
    tx: &mut AnyConnection,
    tenant: &TenantId,
    payment: &PaymentId,
    kind: EffectKind,
) -> Result<bool, DbError> {
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO payment_effects (payment_id, kind, tenant_id, status, detail, created_at, updated_at) VALUES ($1, $2, $3, 'pending', NULL, $4, $4) ON CONFLICT DO NOTHING",
    )
    .bind(payment.as_str())
    .bind(kind.as_str())
    .bind(tenant.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A payment's effect of `kind`, if any; for the receipt, with its document and email.
pub async fn get(
    db: &Db,
    payment: &PaymentId,
    kind: EffectKind,
) -> Result<Option<Effect>, DbError> {
    let row = sqlx::query("SELECT status, detail, updated_at FROM payment_effects WHERE payment_id = $1 AND kind = $2")
        .bind(payment.as_str())
        .bind(kind.as_str())
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    let mut effect = Effect {
        kind,
        status: r
            .try_get::<String, _>(0)?
            .parse()
            .map_err(DbError::Unavailable)?,
        detail: r.try_get(1)?,
        updated_at: r.try_get(2)?,
        document_id: None,
        email_id: None,
        email_error: None,
    };
    if kind == EffectKind::Receipt {
        let doc = receipt_document_id(payment);
        let row = sqlx::query("SELECT email_id, email_error FROM documents WHERE id = $1")
            .bind(doc.as_str())
            .fetch_optional(db.pool())
            .await?;
        if let Some(r) = row {
            effect.document_id = Some(doc.to_string());
            effect.email_id = r.try_get(0)?;
            effect.email_error = r.try_get(1)?;
        }
    }
    Ok(Some(effect))
}

/// Sets an effect's status and detail.
pub async fn mark(
    db: &Db,
    payment: &PaymentId,
    kind: EffectKind,
    status: EffectStatus,
    detail: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query("UPDATE payment_effects SET status = $1, detail = $2, updated_at = $3 WHERE payment_id = $4 AND kind = $5")
        .bind(status.as_str())
        .bind(detail)
        .bind(now_ms())
        .bind(payment.as_str())
        .bind(kind.as_str())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks a still-`pending` effect `failed` with `detail` (its job died); false if it had moved
/// on.
pub async fn fail_if_pending(
    db: &Db,
    payment: &PaymentId,
    kind: EffectKind,
    detail: &str,
) -> Result<bool, DbError> {
    let done = sqlx::query("UPDATE payment_effects SET status = 'failed', detail = $1, updated_at = $2 WHERE payment_id = $3 AND kind = $4 AND status = 'pending'")
        .bind(detail)
        .bind(now_ms())
        .bind(payment.as_str())
        .bind(kind.as_str())
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Effects still `pending` that were recorded before `before` (epoch ms): the relay's work list.
pub async fn stalled(
    db: &Db,
    kind: EffectKind,
    before: i64,
    max: i64,
) -> Result<Vec<(TenantId, PaymentId)>, DbError> {
    let rows = sqlx::query(
        "SELECT tenant_id, payment_id FROM payment_effects WHERE status = 'pending' AND kind = $1 AND updated_at < $2 ORDER BY updated_at LIMIT $3",
    )
    .bind(kind.as_str())
    .bind(before)
    .bind(max)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                TenantId::from_trusted(r.try_get::<String, _>(0)?),
                PaymentId::from_trusted(r.try_get::<String, _>(1)?),
            ))
        })
        .collect()
}
