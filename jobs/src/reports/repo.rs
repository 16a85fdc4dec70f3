//! Reports in the database (SQL shared by PostgreSQL and SQLite). Client reads are scoped by
//! tenant. A report row is recorded idempotently from its build job's payload, by whoever gets
//! there first: the API, the scheduler, or the job itself.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Period, Report, ReportOrder, Ticks, build_job_id};
use crate::clock::now_ms;
use crate::db::{Db, DbError};
use crate::events::{self, EventType, NewEvent};
use crate::ids::{JobId, ReportId, ScheduleId, TenantId};
use crate::reports::event_data::ReportEventData;

const COLUMNS: &str = "id, tenant_id, schedule_id, kind, status, period_from, period_to, timezone, \
    first_tick, last_tick, ticks, catch_up, recipients, job_id, summary, csv_key, csv_bytes, \
    pdf_key, pdf_bytes, pdf_sha256, failure_reason, created_at, updated_at, finished_at, \
    email_ids, email_error";

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("corrupt report row: {what}"))
}

fn from_row(r: &AnyRow) -> Result<Report, DbError> {
    let first: Option<i64> = r.try_get(8)?;
    let last: Option<i64> = r.try_get(9)?;
    let count: Option<i64> = r.try_get(10)?;
    let ticks = match (first, last, count) {
        (Some(first), Some(last), Some(count)) => Some(Ticks {
            first,
            last,
            count: count.max(0) as u64,
        }),
        _ => None,
    };
    let summary: Option<String> = r.try_get(14)?;
    Ok(Report {
        id: ReportId::from_trusted(r.try_get::<String, _>(0)?),
        tenant: TenantId::from_trusted(r.try_get::<String, _>(1)?),
        schedule: r
            .try_get::<Option<String>, _>(2)?
            .map(ScheduleId::from_trusted),
        kind: r.try_get::<String, _>(3)?.parse().map_err(corrupt)?,
        status: r.try_get::<String, _>(4)?.parse().map_err(corrupt)?,
        period: Period {
            from: r.try_get(5)?,
            to: r.try_get(6)?,
        },
        timezone: r.try_get(7)?,
        ticks,
        catch_up: r.try_get::<i64, _>(11)? != 0,
        recipients: serde_json::from_str(&r.try_get::<String, _>(12)?).map_err(corrupt)?,
        job_id: JobId::from_trusted(r.try_get::<String, _>(13)?),
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        csv_key: r.try_get(15)?,
        csv_bytes: r.try_get(16)?,
        pdf_key: r.try_get(17)?,
        pdf_bytes: r.try_get(18)?,
        pdf_sha256: r.try_get(19)?,
        failure_reason: r.try_get(20)?,
        created_at: r.try_get(21)?,
        updated_at: r.try_get(22)?,
        finished_at: r.try_get(23)?,
        email_ids: r
            .try_get::<Option<String>, _>(24)?
            .map(|t| serde_json::from_str(&t).map_err(corrupt))
            .transpose()?
            .unwrap_or_default(),
        email_error: r.try_get(25)?,
    })
}

/// Records an ordered report, unless a report with its id is already recorded (the first
/// order recorded under an id is the report: a second scheduler's identical tick finds it).
pub async fn ensure(db: &Db, tenant: &TenantId, job: &ReportOrder) -> Result<(), DbError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO reports (id, tenant_id, schedule_id, kind, status, period_from, period_to, timezone, first_tick, last_tick, ticks, catch_up, recipients, job_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) ON CONFLICT (id) DO NOTHING",
    )
    .bind(job.report_id.as_str())
    .bind(tenant.as_str())
    .bind(job.schedule_id.as_ref().map(|s| s.as_str().to_owned()))
    .bind(job.kind.as_str())
    .bind(job.period.from)
    .bind(job.period.to)
    .bind(&job.timezone)
    .bind(job.ticks.map(|t| t.first))
    .bind(job.ticks.map(|t| t.last))
    .bind(job.ticks.map(|t| t.count as i64))
    .bind(i64::from(job.catch_up))
    .bind(serde_json::to_string(&job.recipients).unwrap_or_else(|_| "[]".into()))
    .bind(build_job_id(&job.report_id).as_str())
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// One of a tenant's reports.
pub async fn get(db: &Db, tenant: &TenantId, id: &ReportId) -> Result<Option<Report>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM reports WHERE tenant_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Reports still waiting on their build job (`queued` or `running`) that have not changed since
/// `before` (ms), oldest first: what the recovery sweep hands to the queue again.
pub async fn stalled(db: &Db, before: i64, limit: i64) -> Result<Vec<Report>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM reports WHERE status IN ('queued', 'running') AND updated_at < $1 ORDER BY updated_at LIMIT $2"
    ));
    let rows = sqlx::query(sql)
        .bind(before)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// True when a report with this id is recorded (for any tenant).
pub async fn exists(db: &Db, id: &ReportId) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT 1 FROM reports WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}

/// A page of a tenant's reports, newest first, optionally of one schedule.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    schedule: Option<&ScheduleId>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Report>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM reports WHERE tenant_id = $1 AND ($2 = '' OR schedule_id = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(schedule.map(|s| s.as_str()).unwrap_or(""))
        .bind(cursor.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Moves a report to `running` as its build starts. A `ready` report stays `ready`: a build
/// job that runs again (its delivery failed and is retried) rebuilds the same files, and the
/// report neither goes back nor becomes ready (and tells the app so) a second time.
pub async fn mark_running(db: &Db, id: &ReportId) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE reports SET status = 'running', updated_at = $1 WHERE id = $2 AND status <> 'ready'",
    )
    .bind(now_ms())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// What a finished build stored.
#[derive(Debug, Clone)]
pub struct Built {
    pub summary: serde_json::Value,
    pub csv_key: String,
    pub csv_bytes: i64,
    pub pdf_key: String,
    pub pdf_bytes: i64,
    pub pdf_sha256: String,
}

/// Records a built report with its `report.ready` event, in one transaction. A report that was
/// ready already (its build ran again) gets the rebuilt files' figures and records nothing; a
/// failed one stays failed (a build that finishes after its job died elsewhere is fenced off).
/// True when this call made it ready.
pub async fn mark_ready(db: &Db, id: &ReportId, b: &Built) -> Result<bool, DbError> {
    const SET: &str = "UPDATE reports SET status = 'ready', summary = $1, csv_key = $2, csv_bytes = $3, \
         pdf_key = $4, pdf_bytes = $5, pdf_sha256 = $6, failure_reason = NULL, updated_at = $7";
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let bind = |sql: String| {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(b.summary.to_string())
            .bind(b.csv_key.clone())
            .bind(b.csv_bytes)
            .bind(b.pdf_key.clone())
            .bind(b.pdf_bytes)
            .bind(b.pdf_sha256.clone())
            .bind(now)
            .bind(id.as_str().to_owned())
    };
    let became = bind(format!(
        "{SET}, finished_at = $7 WHERE id = $8 AND status IN ('queued', 'running') RETURNING {COLUMNS}"
    ))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = became else {
        bind(format!("{SET} WHERE id = $8 AND status = 'ready'"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        return Ok(false);
    };
    let report = from_row(&row)?;
    events::record(
        &mut tx,
        db.dialect(),
        &[report_event(EventType::ReportReady, &report)],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Records why a report could not be built with its `report.failed` event, in one
/// transaction; a failure already recorded is not recorded again. True when this call made it
/// fail.
pub async fn mark_failed(db: &Db, id: &ReportId, reason: &str) -> Result<bool, DbError> {
    fail_where(db, id, reason, "status <> 'failed'").await
}

/// [`mark_failed`] for a report not built yet (`queued` or `running`); a `ready` one stays so.
pub async fn fail_unfinished(db: &Db, id: &ReportId, reason: &str) -> Result<bool, DbError> {
    fail_where(db, id, reason, "status IN ('queued', 'running')").await
}

async fn fail_where(
    db: &Db,
    id: &ReportId,
    reason: &str,
    condition: &'static str,
) -> Result<bool, DbError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE reports SET status = 'failed', failure_reason = $1, updated_at = $2, finished_at = $2 \
         WHERE id = $3 AND {condition} RETURNING {COLUMNS}"
    )))
    .bind(reason)
    .bind(now_ms())
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let report = from_row(&row)?;
    events::record(
        &mut tx,
        db.dialect(),
        &[report_event(EventType::ReportFailed, &report)],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The event of a report that just became ready or failed: one per change (the statements
/// above are fenced), identified by the report and the time of the change.
fn report_event(kind: EventType, report: &Report) -> NewEvent {
    NewEvent::of_change(
        &report.tenant,
        kind,
        report.id.as_str(),
        report.updated_at,
        report.id.as_str(),
        &ReportEventData::from(report),
    )
}

/// Records the emails that carry a report's files, or why they could not be created.
pub async fn set_emails(
    db: &Db,
    id: &ReportId,
    email_ids: &[String],
    error: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query(
        "UPDATE reports SET email_ids = $1, email_error = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(serde_json::to_string(email_ids).unwrap_or_else(|_| "[]".into()))
    .bind(error)
    .bind(now_ms())
    .bind(id.as_str())
    .execute(db.pool())
    .await?;
    Ok(())
}
