//! Expenses (fees, charges the gateway bills the tenant) as the gateway reports them.
//!
//! Recorded once per gateway expense id and tenant: a second report of the same expense is
//! ignored, so a re-sent callback never counts a cost twice.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::ledger::Table;
use super::money::Currency;
use super::{ListQuery, Page};
use crate::clock::{from_ms, now_ms};
use crate::db::{Db, DbError};
use crate::events::{EventType, NewEvent};
use crate::ids::{ExpenseId, TenantId};
use crate::payments::event_data::ExpenseEventData;

/// An expense event, normalised from any provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExpenseEvent {
    /// The gateway's id for the expense.
    pub external_id: String,
    pub amount: i64,
    pub currency: Currency,
    pub description: Option<String>,
    pub category: Option<String>,
}

/// An expense as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expense {
    pub id: ExpenseId,
    pub external_id: String,
    pub amount: i64,
    pub currency: String,
    pub description: Option<String>,
    pub category: Option<String>,
    /// When the gateway recorded it (epoch ms).
    pub occurred_at: i64,
    pub created_at: i64,
}

/// Records an expense, in the caller's transaction; returns its `expense.recorded` event, or
/// `None` if this gateway id was already recorded for the tenant (nothing new to tell).
pub async fn record(
    tx: &mut AnyConnection,
    tenant: &TenantId,
    e: &ExpenseEvent,
    at: i64,
) -> Result<Option<NewEvent>, DbError> {
    let id = ExpenseId::new();
    let done = sqlx::query(
        "INSERT INTO expenses (id, tenant_id, external_id, amount, currency, description, category, occurred_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(&e.external_id)
    .bind(e.amount)
    .bind(e.currency.code())
    .bind(e.description.as_deref())
    .bind(e.category.as_deref())
    .bind(at)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let data = ExpenseEventData {
        expense_id: id.to_string(),
        external_id: e.external_id.clone(),
        amount: e.amount,
        currency: e.currency.code().to_owned(),
        description: e.description.clone(),
        category: e.category.clone(),
        occurred_at: from_ms(at),
    };
    // Keyed by the gateway's id: the expense is recorded once per tenant and gateway id.
    Ok(Some(NewEvent::of_change(
        tenant,
        EventType::ExpenseRecorded,
        id.as_str(),
        at,
        &e.external_id,
        &data,
    )))
}

const COLUMNS: &str =
    "id, external_id, amount, currency, description, category, occurred_at, created_at";

const TABLE: Table<Expense> = Table {
    name: "expenses",
    columns: COLUMNS,
    filter: "category",
    decode,
    id_of: |row| row.id.to_string(),
};

/// One expense of `tenant`.
pub async fn get(db: &Db, tenant: &TenantId, id: &ExpenseId) -> Result<Option<Expense>, DbError> {
    TABLE.get(db, tenant, id.as_str()).await
}

/// A page of `tenant`'s expenses, newest first.
pub async fn list(db: &Db, tenant: &TenantId, q: &ListQuery) -> Result<Page<Expense>, DbError> {
    TABLE.list(db, tenant, q).await
}

fn decode(r: &AnyRow) -> Result<Expense, DbError> {
    Ok(Expense {
        id: ExpenseId::from_trusted(r.try_get::<String, _>(0)?),
        external_id: r.try_get(1)?,
        amount: r.try_get(2)?,
        currency: r.try_get(3)?,
        description: r.try_get(4)?,
        category: r.try_get(5)?,
        occurred_at: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}
