//! Payments in the database: creation and reads for the API, and the locked read / write pair
//! the apply job uses inside its transaction.

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

use super::machine::{PaymentState, PaymentStatus};
use super::money::Currency;
use super::new::NewPayment;
use super::{HistoryEntry, HistoryOutcome, ListQuery, Page, Payment, effects};
use crate::clock::now_ms;
use crate::db::{Db, DbError, Dialect};
use crate::ids::{PaymentId, TenantId, WebhookEventId};

/// An open transaction on the business database.
pub type Tx = sqlx::Transaction<'static, Any>;

const COLUMNS: &str = "id, tenant_id, amount, currency, reference, customer_email, customer_name, description, metadata, status, captured_amount, refunded_amount, created_at, updated_at";

/// Creates a pending payment. `id` is its id when the caller derived it (from an
/// `Idempotency-Key`): a payment already recorded under it is returned as it is, so creating it
/// again makes no second one; a fresh id is minted without it.
pub async fn create(
    db: &Db,
    tenant: &TenantId,
    id: Option<PaymentId>,
    new: NewPayment,
) -> Result<Payment, DbError> {
    if let Some(id) = &id
        && let Some(existing) = get(db, tenant, id).await?
    {
        return Ok(existing);
    }
    let derived = id.is_some();
    let id = id.unwrap_or_default();
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO payments (id, tenant_id, amount, currency, reference, customer_email, customer_name, description, metadata, status, captured_amount, refunded_amount, status_at, history_len, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, 0, NULL, 0, $10, $10)",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(new.amount.minor())
    .bind(new.currency.code())
    .bind(&new.reference)
    .bind(new.customer_email.as_deref())
    .bind(new.customer_name.as_deref())
    .bind(new.description.as_deref())
    .bind(new.metadata.as_ref().map(|m| m.to_string()))
    .bind(now)
    .execute(db.pool())
    .await;
    if let Err(e) = inserted {
        // The same work running concurrently (a retry that took over a slow request's key)
        // recorded it first.
        return match get(db, tenant, &id).await? {
            Some(existing) if derived => Ok(existing),
            _ => Err(e.into()),
        };
    }
    Ok(Payment {
        id,
        tenant: tenant.clone(),
        amount: new.amount.minor(),
        currency: new.currency,
        reference: new.reference,
        customer_email: new.customer_email,
        customer_name: new.customer_name,
        description: new.description,
        metadata: new.metadata,
        status: PaymentStatus::Pending,
        captured: 0,
        refunded: 0,
        created_at: now,
        updated_at: now,
        history: Vec::new(),
        receipt: None,
    })
}

/// One payment of `tenant`, with its ordered history and receipt progress.
pub async fn get(db: &Db, tenant: &TenantId, id: &PaymentId) -> Result<Option<Payment>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payments WHERE tenant_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut payment = decode(&row)?;
    let rows = sqlx::query(
        "SELECT seq, event_id, kind, amount, occurred_at, outcome, reason, status_after, recorded_at FROM payment_history WHERE payment_id = $1 ORDER BY seq",
    )
    .bind(id.as_str())
    .fetch_all(db.pool())
    .await?;
    payment.history = rows
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                seq: r.try_get(0)?,
                event: WebhookEventId::from_trusted(r.try_get::<String, _>(1)?),
                kind: r.try_get(2)?,
                amount: r.try_get(3)?,
                occurred_at: r.try_get(4)?,
                outcome: HistoryOutcome::parse(&r.try_get::<String, _>(5)?),
                reason: r.try_get(6)?,
                status_after: parse_status(&r.try_get::<String, _>(7)?)?,
                recorded_at: r.try_get(8)?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    payment.receipt = effects::get(db, id, effects::EffectKind::Receipt).await?;
    Ok(Some(payment))
}

/// A page of `tenant`'s payments, newest first (without histories).
pub async fn list(db: &Db, tenant: &TenantId, q: &ListQuery) -> Result<Page<Payment>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM payments WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(q.status.as_deref().unwrap_or(""))
        .bind(q.cursor.as_deref().unwrap_or(""))
        .bind(q.limit + 1)
        .fetch_all(db.pool())
        .await?;
    let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(items, q.limit, |p| p.id.to_string()))
}

fn decode(r: &AnyRow) -> Result<Payment, DbError> {
    let metadata: Option<String> = r.try_get(8)?;
    Ok(Payment {
        id: PaymentId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        amount: r.try_get(2)?,
        currency: parse_currency(&r.try_get::<String, _>(3)?)?,
        reference: r.try_get(4)?,
        customer_email: r.try_get(5)?,
        customer_name: r.try_get(6)?,
        description: r.try_get(7)?,
        metadata: metadata.and_then(|m| serde_json::from_str(&m).ok()),
        status: parse_status(&r.try_get::<String, _>(9)?)?,
        captured: r.try_get(10)?,
        refunded: r.try_get(11)?,
        created_at: r.try_get(12)?,
        updated_at: r.try_get(13)?,
        history: Vec::new(),
        receipt: None,
    })
}

fn parse_status(s: &str) -> Result<PaymentStatus, DbError> {
    PaymentStatus::parse(s)
        .ok_or_else(|| DbError::Unavailable(format!("corrupt payment status `{s}`")))
}

fn parse_currency(s: &str) -> Result<Currency, DbError> {
    s.parse()
        .map_err(|_| DbError::Unavailable(format!("corrupt currency `{s}`")))
}

/// How a gateway event names its payment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PaymentRef {
    /// Longshore's id, passed to the gateway as metadata.
    Id(String),
    /// The client's reference.
    Reference(String),
}

/// A payment as the apply job sees it, locked for the rest of the transaction.
#[derive(Debug, Clone)]
pub struct Locked {
    pub id: PaymentId,
    pub tenant: TenantId,
    pub state: PaymentState,
    pub customer_email: Option<String>,
    pub history_len: i64,
    /// The client's reference and metadata, which the payment's events carry.
    pub reference: String,
    pub metadata: Option<serde_json::Value>,
}

/// Finds and locks `tenant`'s payment (row lock on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already serialises writers).
pub async fn lock(
    tx: &mut AnyConnection,
    dialect: Dialect,
    tenant: &TenantId,
    by: &PaymentRef,
) -> Result<Option<Locked>, DbError> {
    let select = format!("SELECT {LOCKED_COLUMNS} FROM payments");
    let (sql, key) = match (by, dialect) {
        (PaymentRef::Id(id), Dialect::Postgres) => (
            format!("{select} WHERE tenant_id = $1 AND id = $2 FOR UPDATE"),
            id,
        ),
        (PaymentRef::Id(id), Dialect::Sqlite) => {
            (format!("{select} WHERE tenant_id = $1 AND id = $2"), id)
        }
        (PaymentRef::Reference(r), Dialect::Postgres) => (
            format!(
                "{select} WHERE tenant_id = $1 AND reference = $2 ORDER BY id DESC LIMIT 1 FOR UPDATE"
            ),
            r,
        ),
        (PaymentRef::Reference(r), Dialect::Sqlite) => (
            format!("{select} WHERE tenant_id = $1 AND reference = $2 ORDER BY id DESC LIMIT 1"),
            r,
        ),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    row.as_ref().map(decode_locked).transpose()
}

/// The columns [`decode_locked`] reads, in its order.
pub(super) const LOCKED_COLUMNS: &str = "id, amount, currency, status, captured_amount, refunded_amount, status_at, customer_email, history_len, tenant_id, reference, metadata";

/// Decodes a row of [`LOCKED_COLUMNS`].
pub(super) fn decode_locked(r: &AnyRow) -> Result<Locked, DbError> {
    Ok(Locked {
        id: PaymentId::from_trusted(r.try_get::<String, _>(0)?),
        state: PaymentState {
            amount: r.try_get(1)?,
            currency: parse_currency(&r.try_get::<String, _>(2)?)?,
            status: parse_status(&r.try_get::<String, _>(3)?)?,
            captured: r.try_get(4)?,
            refunded: r.try_get(5)?,
            status_at: r.try_get(6)?,
        },
        customer_email: r.try_get(7)?,
        history_len: r.try_get(8)?,
        tenant: TenantId::from_trusted(r.try_get::<String, _>(9)?),
        reference: r.try_get(10)?,
        metadata: r
            .try_get::<Option<String>, _>(11)?
            .and_then(|m| serde_json::from_str(&m).ok()),
    })
}
