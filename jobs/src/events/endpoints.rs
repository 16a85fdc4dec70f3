//! The endpoints of a tenant's app that receive events: created, changed and deleted through
//! the API, each with its own signing secret (sealed at rest, shown once, rotated with overlap)
//! and the subscription rows the fan-out reads.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::kinds::EventType;
use super::model::Endpoint;
use crate::clock::{from_ms, now_ms};
use crate::config::Secret;
use crate::db::page::{TenantPage, split_overfetch};
use crate::db::{Db, DbError};
use crate::ids::{EventEndpointId, TenantId};
use crate::outbound::{Destinations, signing};
use crate::secret_box::{SealError, SecretBox};
use crate::validation::{FieldError, Invalid};

/// Concurrent deliveries to one endpoint when not set: enough for a small app server.
pub const DEFAULT_MAX_CONCURRENT: u32 = 50;
/// The most an endpoint may ask for.
pub const MAX_CONCURRENT_LIMIT: u32 = 1000;
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 500;
const MAX_TYPES: usize = 64;

/// Why an endpoint operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("no such event endpoint")]
    NotFound,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The master key is missing or wrong: the operator's problem, not the caller's.
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// An endpoint's settings as received; what is absent keeps its current (or default) value.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    /// Event types, or `group.*`; empty: every type.
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub max_concurrent: Option<u32>,
    /// Deliveries per second at most; 0: no limit.
    pub rate_per_second: Option<f64>,
}

/// The secret sealing context: a sealed secret opens only for its own endpoint.
fn context(id: &EventEndpointId) -> String {
    format!("longshore/event-endpoint/{}", id.as_str())
}

const COLUMNS: &str = "id, tenant_id, url, description, event_types, enabled, disabled_reason, \
     disabled_at, failing_since, max_concurrent, rate_per_second, created_at, updated_at, \
     previous_valid_until";

fn decode(row: &AnyRow) -> Result<Endpoint, DbError> {
    let types: String = row.try_get(4)?;
    let rate: Option<f64> = row.try_get(10)?;
    Ok(Endpoint {
        id: EventEndpointId::from_trusted(row.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(row.try_get::<String, _>(1)?),
        url: row.try_get(2)?,
        description: row.try_get(3)?,
        event_types: serde_json::from_str(&types).map_err(|e| DbError::Internal(e.to_string()))?,
        enabled: row.try_get::<i64, _>(5)? != 0,
        disabled_reason: row.try_get(6)?,
        disabled_at: row.try_get::<Option<i64>, _>(7)?.map(from_ms),
        failing_since: row.try_get::<Option<i64>, _>(8)?.map(from_ms),
        max_concurrent: u32::try_from(row.try_get::<i64, _>(9)?).unwrap_or(1),
        rate_per_second: rate.filter(|r| *r > 0.0),
        created_at: from_ms(row.try_get(11)?),
        updated_at: from_ms(row.try_get(12)?),
        previous_secret_valid_until: row.try_get::<Option<i64>, _>(13)?.map(from_ms),
    })
}

/// An endpoint's settings, checked.
struct Settings {
    url: String,
    description: String,
    types: Vec<String>,
    enabled: bool,
    max_concurrent: u32,
    /// 0: no limit.
    rate: f64,
}

/// The settings an endpoint ends up with: `input` over `current` (or the defaults), checked.
fn settle(
    input: EndpointInput,
    current: Option<&Endpoint>,
    destinations: &Destinations,
) -> Result<Settings, Invalid> {
    let mut errors = Vec::new();
    let url = match (input.url, current) {
        (Some(url), _) => url,
        (None, Some(c)) => c.url.clone(),
        (None, None) => {
            errors.push(FieldError::new("url", "is required"));
            String::new()
        }
    };
    if !url.is_empty() {
        match url::Url::parse(&url) {
            _ if url.len() > MAX_URL => errors.push(FieldError::new(
                "url",
                format!("at most {MAX_URL} characters"),
            )),
            Ok(parsed) => {
                if let Err(why) = destinations.check_url(&parsed) {
                    errors.push(FieldError::new("url", why.to_string()));
                }
            }
            Err(e) => errors.push(FieldError::new("url", format!("not a URL: {e}"))),
        }
    }
    let description = input
        .description
        .or_else(|| current.map(|c| c.description.clone()))
        .unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION {
        errors.push(FieldError::new(
            "description",
            format!("at most {MAX_DESCRIPTION} characters"),
        ));
    }
    let mut types = input
        .event_types
        .or_else(|| current.map(|c| c.event_types.clone()))
        .unwrap_or_default();
    types.sort();
    types.dedup();
    if types.len() > MAX_TYPES {
        errors.push(FieldError::new(
            "event_types",
            format!("at most {MAX_TYPES}"),
        ));
    }
    for t in &types {
        if !is_subscribable(t) {
            errors.push(FieldError::new(
                "event_types",
                format!("unknown event type {t:?} (a type such as email.opened, or email.*)"),
            ));
        }
    }
    let enabled = input.enabled.or(current.map(|c| c.enabled)).unwrap_or(true);
    let max_concurrent = input
        .max_concurrent
        .or(current.map(|c| c.max_concurrent))
        .unwrap_or(DEFAULT_MAX_CONCURRENT);
    if !(1..=MAX_CONCURRENT_LIMIT).contains(&max_concurrent) {
        errors.push(FieldError::new(
            "max_concurrent",
            format!("must be between 1 and {MAX_CONCURRENT_LIMIT}"),
        ));
    }
    let rate = input
        .rate_per_second
        .or(current.map(|c| c.rate_per_second.unwrap_or(0.0)))
        .unwrap_or(0.0);
    if !(rate == 0.0 || (0.1..=10_000.0).contains(&rate)) {
        errors.push(FieldError::new(
            "rate_per_second",
            "must be 0 (no limit) or between 0.1 and 10000",
        ));
    }
    if errors.is_empty() {
        Ok(Settings {
            url,
            description,
            types,
            enabled,
            max_concurrent,
            rate,
        })
    } else {
        Err(Invalid(errors))
    }
}

/// Checks a new endpoint's settings as [`create`] does, without a database: for the fuzz
/// targets, not the API.
#[doc(hidden)]
pub fn check_new(input: EndpointInput, destinations: &Destinations) -> Result<(), Invalid> {
    settle(input, None, destinations).map(|_| ())
}

/// A type's word, or a known group followed by `.*`.
fn is_subscribable(t: &str) -> bool {
    match t.strip_suffix(".*") {
        Some(group) => EventType::ALL.iter().any(|k| k.group() == group),
        None => t.parse::<EventType>().is_ok(),
    }
}

/// Rewrites the endpoint's subscription rows to what it receives now (none while disabled).
async fn subscribe(
    conn: &mut AnyConnection,
    e: &EventEndpointId,
    tenant: &TenantId,
    types: &[String],
    enabled: bool,
) -> Result<(), DbError> {
    sqlx::query("DELETE FROM event_subscriptions WHERE endpoint_id = $1")
        .bind(e.as_str())
        .execute(&mut *conn)
        .await?;
    if !enabled {
        return Ok(());
    }
    let all = ["*".to_owned()];
    let rows = if types.is_empty() { &all[..] } else { types };
    for t in rows {
        sqlx::query(
            "INSERT INTO event_subscriptions (tenant_id, event_type, endpoint_id) VALUES ($1, $2, $3)",
        )
        .bind(tenant.as_str())
        .bind(t)
        .bind(e.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Creates an endpoint; returns it with its signing secret (the only time it is handed out).
pub async fn create(
    db: &Db,
    sealer: &SecretBox,
    destinations: &Destinations,
    tenant: &TenantId,
    input: EndpointInput,
) -> Result<(Endpoint, Secret), EndpointError> {
    let Settings {
        url,
        description,
        types,
        enabled,
        max_concurrent,
        rate,
    } = settle(input, None, destinations)?;
    let id = EventEndpointId::new();
    let secret = Secret::new(signing::generate_secret());
    let sealed = sealer.seal(&secret, &context(&id))?;
    let now = now_ms();
    let mut tx = db.pool().begin().await.map_err(DbError::from)?;
    sqlx::query(
        "INSERT INTO event_endpoints (id, tenant_id, url, description, event_types, enabled, \
         max_concurrent, rate_per_second, secret, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(id.as_str())
    .bind(tenant.as_str())
    .bind(&url)
    .bind(&description)
    .bind(json_list(&types))
    .bind(i64::from(enabled))
    .bind(i64::from(max_concurrent))
    .bind(rate)
    .bind(&sealed)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(DbError::from)?;
    subscribe(&mut tx, &id, tenant, &types, enabled).await?;
    tx.commit().await.map_err(DbError::from)?;
    let endpoint = get(db, tenant, &id).await?;
    Ok((endpoint, secret))
}

fn json_list(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

/// The tenant's endpoint.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: &EventEndpointId,
) -> Result<Endpoint, EndpointError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM event_endpoints WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.as_str())
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?;
    row.map(|r| decode(&r))
        .transpose()?
        .ok_or(EndpointError::NotFound)
}

/// A page of the tenant's endpoints, newest first, and the cursor of the next.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Endpoint>, Option<String>), EndpointError> {
    let rows = TenantPage::new(&format!("SELECT {COLUMNS} FROM event_endpoints"), tenant)
        .fetch(db, cursor, limit + 1)
        .await?;
    let found = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    Ok(split_overfetch(found, limit, |e| e.id.to_string()))
}

/// Changes an endpoint: what `input` gives. Enabling a disabled endpoint clears its failure
/// record; disabling it stops its deliveries (they end `failed`, and can be replayed).
pub async fn update(
    db: &Db,
    destinations: &Destinations,
    tenant: &TenantId,
    id: &EventEndpointId,
    input: EndpointInput,
) -> Result<Endpoint, EndpointError> {
    let current = get(db, tenant, id).await?;
    let Settings {
        url,
        description,
        types,
        enabled,
        max_concurrent,
        rate,
    } = settle(input, Some(&current), destinations)?;
    let now = now_ms();
    let mut tx = db.pool().begin().await.map_err(DbError::from)?;
    sqlx::query(
        "UPDATE event_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6, \
         max_concurrent = $7, rate_per_second = $8, updated_at = $9, \
         disabled_reason = CASE WHEN $6 = 1 THEN NULL ELSE COALESCE(disabled_reason, 'by request') END, \
         disabled_at = CASE WHEN $6 = 1 THEN NULL ELSE COALESCE(disabled_at, $9) END, \
         failing_since = CASE WHEN $6 = 1 AND enabled = 0 THEN NULL ELSE failing_since END \
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .bind(&url)
    .bind(&description)
    .bind(json_list(&types))
    .bind(i64::from(enabled))
    .bind(i64::from(max_concurrent))
    .bind(rate)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(DbError::from)?;
    subscribe(&mut tx, id, tenant, &types, enabled).await?;
    if !enabled && current.enabled {
        super::deliveries::fail_pending(&mut tx, id, "the endpoint was disabled", now).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    get(db, tenant, id).await
}

/// Deletes an endpoint with its subscriptions, deliveries and attempt log.
pub async fn delete(db: &Db, tenant: &TenantId, id: &EventEndpointId) -> Result<(), EndpointError> {
    let mut tx = db.pool().begin().await.map_err(DbError::from)?;
    let gone = sqlx::query("DELETE FROM event_endpoints WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(DbError::from)?;
    if gone.rows_affected() == 0 {
        return Err(EndpointError::NotFound);
    }
    for table in ["event_subscriptions", "event_deliveries", "event_attempts"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE endpoint_id = $1"
        )))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(DbError::from)?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// Gives the endpoint a new secret; the previous one keeps signing for `overlap_ms` (a second
/// rotation within it retires the oldest at once). Returns the new secret.
pub async fn rotate_secret(
    db: &Db,
    sealer: &SecretBox,
    tenant: &TenantId,
    id: &EventEndpointId,
    overlap_ms: i64,
) -> Result<(Endpoint, Secret), EndpointError> {
    let secret = Secret::new(signing::generate_secret());
    let sealed = sealer.seal(&secret, &context(id))?;
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE event_endpoints SET previous_secret = secret, previous_valid_until = $3, \
         secret = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id.as_str())
    .bind(now.saturating_add(overlap_ms))
    .bind(&sealed)
    .bind(now)
    .execute(db.pool())
    .await
    .map_err(DbError::from)?;
    if done.rows_affected() == 0 {
        return Err(EndpointError::NotFound);
    }
    Ok((get(db, tenant, id).await?, secret))
}

/// What the courier needs to send to an endpoint.
#[derive(Debug, Clone)]
pub struct Target {
    pub tenant: TenantId,
    pub url: String,
    pub enabled: bool,
    pub max_concurrent: u32,
    pub rate_per_second: Option<f64>,
    /// The secrets that sign now: the current one, and the previous one during its overlap.
    pub secrets: Vec<Secret>,
}

/// The endpoint as the courier sends to it; `None` once it is deleted.
pub async fn target(
    db: &Db,
    sealer: &SecretBox,
    id: &EventEndpointId,
    now: i64,
) -> Result<Option<Target>, EndpointError> {
    let row = sqlx::query(
        "SELECT tenant_id, url, enabled, max_concurrent, rate_per_second, secret, \
         previous_secret, previous_valid_until FROM event_endpoints WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let current: String = row.try_get(5).map_err(DbError::from)?;
    let previous: Option<String> = row.try_get(6).map_err(DbError::from)?;
    let until: Option<i64> = row.try_get(7).map_err(DbError::from)?;
    let secrets = sealer.open_signing(&current, previous.as_deref(), until, now, &context(id))?;
    let rate: Option<f64> = row.try_get(4).map_err(DbError::from)?;
    Ok(Some(Target {
        tenant: TenantId::from_trusted(row.try_get::<String, _>(0).map_err(DbError::from)?),
        url: row.try_get(1).map_err(DbError::from)?,
        enabled: row.try_get::<i64, _>(2).map_err(DbError::from)? != 0,
        max_concurrent: u32::try_from(row.try_get::<i64, _>(3).map_err(DbError::from)?)
            .unwrap_or(1),
        rate_per_second: rate.filter(|r| *r > 0.0),
        secrets,
    }))
}

/// Ends the endpoint's failure run (an attempt succeeded).
pub async fn mark_healthy(db: &Db, id: &EventEndpointId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE event_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL",
    )
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Notes a failed attempt: starts the endpoint's failure run if none is under way. Returns
/// when the run began (`None` if the endpoint is gone).
pub async fn mark_failing(db: &Db, id: &EventEndpointId, now: i64) -> Result<Option<i64>, DbError> {
    let since: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE event_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 \
         RETURNING failing_since",
    )
    .bind(id.as_str())
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    Ok(since.flatten())
}

/// Disables an enabled endpoint for `reason` (`failing`, `gone`): its subscriptions go, its
/// pending deliveries fail, and the event `announce` builds (given when its failure run began)
/// is recorded in the same transaction, reaching the tenant's other endpoints. False when it
/// was not enabled any more.
pub async fn disable(
    db: &Db,
    id: &EventEndpointId,
    reason: &str,
    now: i64,
    announce: impl FnOnce(Option<i64>) -> super::NewEvent,
) -> Result<bool, DbError> {
    let mut tx = db.pool().begin().await?;
    let row = sqlx::query(
        "UPDATE event_endpoints SET enabled = 0, disabled_reason = $2, disabled_at = $3, \
         updated_at = $3 WHERE id = $1 AND enabled = 1 RETURNING failing_since",
    )
    .bind(id.as_str())
    .bind(reason)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let failing_since: Option<i64> = row.try_get(0)?;
    sqlx::query("DELETE FROM event_subscriptions WHERE endpoint_id = $1")
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    let why = format!("the endpoint was disabled ({reason})");
    super::deliveries::fail_pending(&mut tx, id, &why, now).await?;
    super::record(&mut tx, db.dialect(), &[announce(failing_since)]).await?;
    tx.commit().await?;
    Ok(true)
}
