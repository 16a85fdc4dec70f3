//! Reading events back: the listing and one event with its deliveries.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::deliveries;
use super::kinds::EventType;
use super::model::{Delivery, Event};
use crate::clock::from_ms;
use crate::db::page::{TenantPage, split_overfetch};
use crate::db::{Db, DbError};
use crate::ids::{EventId, TenantId};

const COLUMNS: &str = "id, type, resource_id, occurred_at, created_at, body";

fn decode(row: &AnyRow) -> Result<Event, DbError> {
    let kind: String = row.try_get(1)?;
    Ok(Event {
        id: EventId::from_trusted(row.try_get::<String, _>(0)?),
        kind: kind.parse().map_err(DbError::Internal)?,
        resource_id: row.try_get(2)?,
        occurred_at: from_ms(row.try_get(3)?),
        created_at: from_ms(row.try_get(4)?),
        body: row.try_get(5)?,
    })
}

/// A page of the tenant's events, newest first, of one type and one resource when given.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    kind: Option<EventType>,
    resource: Option<&str>,
    cursor: Option<&EventId>,
    limit: usize,
) -> Result<(Vec<Event>, Option<String>), DbError> {
    let rows = TenantPage::new(&format!("SELECT {COLUMNS} FROM events"), tenant)
        .filter("type = {}", kind.map(EventType::as_str))
        .filter("resource_id = {}", resource)
        .fetch(db, cursor.map(EventId::as_str), limit + 1)
        .await?;
    let found = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(split_overfetch(found, limit, |e| e.id.to_string()))
}

/// One of the tenant's events with its deliveries; `None` for another tenant's or an unknown id.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: &EventId,
) -> Result<Option<(Event, Vec<Delivery>)>, DbError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM events WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let event = decode(&row)?;
    let deliveries = deliveries::of_event(db, tenant, id).await?;
    Ok(Some((event, deliveries)))
}
