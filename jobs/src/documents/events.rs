//! The events a document's changes cause, recorded in the transaction of the change
//! ([`crate::events::record`]).
//!
//! Each change is fenced (`ready` once, `failed` only from `queued` or `rendering`, revoked
//! once), so only the transaction that made it records its event: a render job that runs twice
//! changes nothing the second time and records nothing. The id of each event comes from the
//! document and the time of the change.
//!
//! `certificate_batch.completed` is recorded by the transaction that moves a batch's last
//! certificate to a final state. Each such transaction locks the batch row (in id order) after
//! its document writes and only then counts the batch's documents: on PostgreSQL the count runs
//! after any other finisher of the same batch committed, so two certificates finishing at once
//! cannot both miss (or both see) the completion; SQLite serialises writers anyway.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Row};

use super::model::{Document, DocumentStatus};
use crate::clock::{from_ms, now_ms};
use crate::db::{DbError, Dialect};
use crate::documents::event_data::{CertificateBatchEventData, DocumentEventData};
use crate::events::{self, EventType, NewEvent};
use crate::ids::{BatchId, TenantId};

/// The event of a document that just changed with `kind`, at the document's `updated_at`.
pub fn document_event(kind: EventType, doc: &Document) -> NewEvent {
    NewEvent::of_change(
        &doc.tenant,
        kind,
        doc.id.as_str(),
        doc.updated_at,
        doc.id.as_str(),
        &DocumentEventData::from(doc),
    )
}

/// Records `kind` for each document in `changed` (the rows a fenced statement just changed, as
/// it returned them) and, for those that reached a final state, the completion of their
/// batches: one [`events::record`] call for all of them.
pub async fn record_changes(
    conn: &mut AnyConnection,
    dialect: Dialect,
    kind: EventType,
    changed: &[Document],
) -> Result<(), DbError> {
    let mut recorded: Vec<NewEvent> = changed.iter().map(|d| document_event(kind, d)).collect();
    let finished: BTreeSet<(&str, &str)> = changed
        .iter()
        .filter(|d| matches!(d.status, DocumentStatus::Ready | DocumentStatus::Failed))
        .filter_map(|d| Some((d.batch_id.as_ref()?.as_str(), d.tenant.as_str())))
        .collect();
    for (batch, tenant) in finished {
        let batch = BatchId::from_trusted(batch.to_owned());
        let tenant = TenantId::from_trusted(tenant.to_owned());
        if let Some(done) = completion(conn, dialect, &tenant, &batch).await? {
            recorded.push(done);
        }
    }
    events::record(conn, dialect, &recorded).await?;
    Ok(())
}

/// `certificate_batch.completed` for `batch` if every one of its certificates is now final.
/// Called in id order by [`record_changes`] (a `BTreeSet`), so concurrent transactions take the
/// batch locks in the same order.
async fn completion(
    conn: &mut AnyConnection,
    dialect: Dialect,
    tenant: &TenantId,
    batch: &BatchId,
) -> Result<Option<NewEvent>, DbError> {
    let lock = match dialect {
        Dialect::Postgres => "SELECT total FROM certificate_batches WHERE id = $1 FOR UPDATE",
        Dialect::Sqlite => "SELECT total FROM certificate_batches WHERE id = $1",
    };
    let Some(row) = sqlx::query(lock)
        .bind(batch.as_str())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let total: i64 = row.try_get(0)?;
    let counts = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN status = 'ready' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) \
         FROM documents WHERE batch_id = $1",
    )
    .bind(batch.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let (rendered, failed): (i64, i64) = (counts.try_get(0)?, counts.try_get(1)?);
    // Documents are recorded in chunks while the batch expands: until all `total` exist and
    // are final, the batch is not complete, however many of those recorded are.
    if rendered + failed < total {
        return Ok(None);
    }
    let at = now_ms();
    let data = CertificateBatchEventData {
        batch_id: batch.to_string(),
        total: u32::try_from(total).unwrap_or(0),
        rendered: u32::try_from(rendered).unwrap_or(0),
        failed: u32::try_from(failed).unwrap_or(0),
        completed_at: from_ms(at),
    };
    Ok(Some(NewEvent::of_change(
        tenant,
        EventType::CertificateBatchCompleted,
        batch.as_str(),
        at,
        batch.as_str(),
        &data,
    )))
}
