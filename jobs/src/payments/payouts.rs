//! Payouts (money the gateway sends to the tenant's bank) as the gateway reports them.
//!
//! One row per gateway payout id and tenant. Payout events carry their own creation time and the
//! newest one wins, so a late `paid` cannot overwrite a newer `failed` (or the reverse).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::ledger::Table;
use super::money::Currency;
use super::{ListQuery, Page};
use crate::clock::{from_ms, now_ms};
use crate::db::{Db, DbError};
use crate::events::{EventType, NewEvent};
use crate::ids::{PayoutId, TenantId};
use crate::payments::event_data::PayoutEventData;
use crate::words::word_enum;

/// A payout event, normalised from any provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PayoutEvent {
    /// The gateway's payout id.
    pub external_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub status: PayoutStatus,
    pub failure_reason: Option<String>,
}

word_enum!(
    /// Where a payout stands, as its gateway's latest event says.
    PayoutStatus {
        /// The money arrived.
        Paid => "paid",
        /// The payout failed (`failure_reason` says why).
        Failed => "failed",
    }
);

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payout {
    pub id: PayoutId,
    pub external_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: PayoutStatus,
    pub failure_reason: Option<String>,
    /// Creation time of the event that set the status (epoch ms).
    pub status_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What recording a payout event did.
#[derive(Debug, Clone, PartialEq)]
pub enum PayoutWrite {
    /// A newer event already set the payout's status: nothing written.
    Stale,
    /// Stored; with the event of the change when the payout is new or its status changed (a
    /// newer event repeating the status only refreshes the row and tells the app nothing).
    Stored(Option<NewEvent>),
}

/// Records a payout event, in the caller's transaction.
///
/// The status-changing `UPDATE` is fenced on the old status, so on PostgreSQL two concurrent
/// events of one payout cannot both see a change: the second re-reads the row after the first
/// commits and finds the status already set.
pub async fn record(
    tx: &mut AnyConnection,
    tenant: &TenantId,
    e: &PayoutEvent,
    at: i64,
) -> Result<PayoutWrite, DbError> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO payouts (id, tenant_id, external_id, amount, currency, status, failure_reason, status_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(PayoutId::new().as_str())
    .bind(tenant.as_str())
    .bind(&e.external_id)
    .bind(e.amount)
    .bind(e.currency.code())
    .bind(e.status.as_str())
    .bind(e.failure_reason.as_deref())
    .bind(at)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = inserted {
        return Ok(PayoutWrite::Stored(Some(event(
            tenant,
            row.try_get(0)?,
            e,
            at,
        ))));
    }
    const SET: &str = "UPDATE payouts SET amount = $1, status = $2, failure_reason = $3, status_at = $4, updated_at = $5 \
         WHERE tenant_id = $6 AND external_id = $7 AND status_at <= $4";
    let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SET} AND status <> $2 RETURNING id"
    )))
    .bind(e.amount)
    .bind(e.status.as_str())
    .bind(e.failure_reason.as_deref())
    .bind(at)
    .bind(now)
    .bind(tenant.as_str())
    .bind(&e.external_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = changed {
        return Ok(PayoutWrite::Stored(Some(event(
            tenant,
            row.try_get(0)?,
            e,
            at,
        ))));
    }
    let refreshed = sqlx::query(SET)
        .bind(e.amount)
        .bind(e.status.as_str())
        .bind(e.failure_reason.as_deref())
        .bind(at)
        .bind(now)
        .bind(tenant.as_str())
        .bind(&e.external_id)
        .execute(&mut *tx)
        .await?;
    Ok(if refreshed.rows_affected() == 1 {
        PayoutWrite::Stored(None)
    } else {
        PayoutWrite::Stale
    })
}

/// `payout.paid` or `payout.failed` for payout `id`, identified by the payout, its new status
/// and the gateway event's creation time `at`.
fn event(tenant: &TenantId, id: String, e: &PayoutEvent, at: i64) -> NewEvent {
    let kind = match e.status {
        PayoutStatus::Paid => EventType::PayoutPaid,
        PayoutStatus::Failed => EventType::PayoutFailed,
    };
    let data = PayoutEventData {
        payout_id: id,
        external_id: e.external_id.clone(),
        status: e.status,
        amount: e.amount,
        currency: e.currency.code().to_owned(),
        failure_reason: e.failure_reason.clone(),
        occurred_at: from_ms(at),
    };
    let key = format!("{}/{}/{at}", data.payout_id, e.status);
    NewEvent::of_change(tenant, kind, &data.payout_id, at, &key, &data)
}

const COLUMNS: &str =
    "id, external_id, amount, currency, status, failure_reason, status_at, created_at, updated_at";

const TABLE: Table<Payout> = Table {
    name: "payouts",
    columns: COLUMNS,
    filter: "status",
    decode,
    id_of: |row| row.id.to_string(),
};

/// One payout of `tenant`.
pub async fn get(db: &Db, tenant: &TenantId, id: &PayoutId) -> Result<Option<Payout>, DbError> {
    TABLE.get(db, tenant, id.as_str()).await
}

/// A page of `tenant`'s payouts, newest first.
pub async fn list(db: &Db, tenant: &TenantId, q: &ListQuery) -> Result<Page<Payout>, DbError> {
    TABLE.list(db, tenant, q).await
}

fn decode(r: &AnyRow) -> Result<Payout, DbError> {
    Ok(Payout {
        id: PayoutId::from_trusted(r.try_get::<String, _>(0)?),
        external_id: r.try_get(1)?,
        amount: r.try_get(2)?,
        currency: r.try_get(3)?,
        status: r
            .try_get::<String, _>(4)?
            .parse()
            .map_err(DbError::Unavailable)?,
        failure_reason: r.try_get(5)?,
        status_at: r.try_get(6)?,
        created_at: r.try_get(7)?,
        updated_at: r.try_get(8)?,
    })
}
