//! Schedules in the database (SQL shared by PostgreSQL and SQLite). Client-reachable reads and
//! writes are scoped by tenant; the scheduler's reads span tenants and its writes are
//! compare-and-set on (`next_run_at`, `version`), so any number of schedulers agree.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::model::{Decision, MissedRuns, Schedule, Target};
use crate::db::{Db, DbError};
use crate::ids::{ReportId, ScheduleId, TaskId, TenantId};

const COLUMNS: &str = "id, tenant_id, name, cron, timezone, report_kind, period, recipients, \
    missed_runs, enabled, next_run_at, last_tick_at, last_report_id, fired_count, missed_count, \
    skipped_count, version, created_at, updated_at, task_target, last_task_id";

fn corrupt(what: impl std::fmt::Display) -> DbError {
    DbError::Unavailable(format!("corrupt schedule row: {what}"))
}

fn from_row(r: &AnyRow) -> Result<Schedule, DbError> {
    let text = |i: usize| r.try_get::<String, _>(i);
    Ok(Schedule {
        id: ScheduleId::from_trusted(text(0)?),
        tenant: TenantId::from_trusted(text(1)?),
        name: text(2)?,
        cron: text(3)?.parse().map_err(corrupt)?,
        timezone: text(4)?.parse().map_err(corrupt)?,
        target: target_from_row(r)?,
        missed_runs: text(8)?.parse().map_err(corrupt)?,
        enabled: r.try_get::<i64, _>(9)? != 0,
        next_run_at: r.try_get(10)?,
        last_tick_at: r.try_get(11)?,
        last_report: r
            .try_get::<Option<String>, _>(12)?
            .map(ReportId::from_trusted),
        fired: r.try_get(13)?,
        missed: r.try_get(14)?,
        skipped: r.try_get(15)?,
        version: r.try_get(16)?,
        created_at: r.try_get(17)?,
        updated_at: r.try_get(18)?,
        last_task: r
            .try_get::<Option<String>, _>(20)?
            .map(TaskId::from_trusted),
    })
}

/// A task template (JSON) when there is one, otherwise the report columns.
fn target_from_row(r: &AnyRow) -> Result<Target, DbError> {
    if let Some(task) = r.try_get::<Option<String>, _>(19)? {
        return Ok(Target::Task(serde_json::from_str(&task).map_err(corrupt)?));
    }
    let text = |i: usize| -> Result<String, DbError> {
        r.try_get::<Option<String>, _>(i)?
            .ok_or_else(|| corrupt("a report schedule without its report"))
    };
    Ok(Target::Report {
        kind: text(5)?.parse().map_err(corrupt)?,
        period: text(6)?.parse().map_err(corrupt)?,
        recipients: serde_json::from_str(&text(7)?).map_err(corrupt)?,
    })
}

/// The target's columns: report kind, period, recipients (JSON), task template (JSON).
type TargetColumns = (
    Option<&'static str>,
    Option<&'static str>,
    Option<String>,
    Option<String>,
);

fn target_columns(s: &Schedule) -> Result<TargetColumns, DbError> {
    fn json(v: &impl serde::Serialize) -> Result<String, DbError> {
        serde_json::to_string(v).map_err(|e| DbError::Internal(e.to_string()))
    }
    Ok(match &s.target {
        Target::Report {
            kind,
            period,
            recipients,
        } => (
            Some(kind.as_str()),
            Some(period.as_str()),
            Some(json(recipients)?),
            None,
        ),
        Target::Task(t) => (None, None, None, Some(json(t)?)),
    })
}

/// Records a new schedule.
pub async fn insert(db: &Db, s: &Schedule) -> Result<(), DbError> {
    let (kind, period, recipients, task) = target_columns(s)?;
    sqlx::query(
        "INSERT INTO schedules (id, tenant_id, name, cron, timezone, report_kind, period, recipients, missed_runs, enabled, next_run_at, version, created_at, updated_at, task_target) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(s.id.as_str())
    .bind(s.tenant.as_str())
    .bind(&s.name)
    .bind(s.cron.as_str())
    .bind(s.timezone.name())
    .bind(kind)
    .bind(period)
    .bind(recipients)
    .bind(s.missed_runs.as_str())
    .bind(i64::from(s.enabled))
    .bind(s.next_run_at)
    .bind(s.version)
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(task)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// One of a tenant's schedules.
pub async fn get(db: &Db, tenant: &TenantId, id: &ScheduleId) -> Result<Option<Schedule>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM schedules WHERE tenant_id = $1 AND id = $2"
    ));
    let row = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(id.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A page of a tenant's schedules, newest first, after `cursor` (an id).
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Vec<Schedule>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM schedules WHERE tenant_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3"
    ));
    let rows = sqlx::query(sql)
        .bind(tenant.as_str())
        .bind(cursor.unwrap_or(""))
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Writes a client's change, fenced by the version read; false when someone else changed it.
pub async fn update(db: &Db, s: &Schedule, read_version: i64) -> Result<bool, DbError> {
    let (kind, period, recipients, task) = target_columns(s)?;
    let done = sqlx::query(
        "UPDATE schedules SET name = $1, cron = $2, timezone = $3, report_kind = $4, period = $5, recipients = $6, \
         missed_runs = $7, enabled = $8, next_run_at = $9, version = $10, updated_at = $11, task_target = $15 \
         WHERE id = $12 AND tenant_id = $13 AND version = $14",
    )
    .bind(&s.name)
    .bind(s.cron.as_str())
    .bind(s.timezone.name())
    .bind(kind)
    .bind(period)
    .bind(recipients)
    .bind(s.missed_runs.as_str())
    .bind(i64::from(s.enabled))
    .bind(s.next_run_at)
    .bind(s.version)
    .bind(s.updated_at)
    .bind(s.id.as_str())
    .bind(s.tenant.as_str())
    .bind(read_version)
    .bind(task)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes one of a tenant's schedules; false if there was none. Its reports stay.
pub async fn delete(db: &Db, tenant: &TenantId, id: &ScheduleId) -> Result<bool, DbError> {
    let done = sqlx::query("DELETE FROM schedules WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_str())
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Enabled schedules whose next tick is at or before `now`, earliest first.
pub async fn due(db: &Db, now: i64, limit: usize) -> Result<Vec<Schedule>, DbError> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM schedules WHERE enabled = 1 AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2"
    ));
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The earliest next tick of any enabled schedule (the scheduler sleeps until then).
pub async fn earliest_next(db: &Db) -> Result<Option<i64>, DbError> {
    let row = sqlx::query("SELECT MIN(next_run_at) FROM schedules WHERE enabled = 1")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<Option<i64>, _>(0)?)
}

/// What a handled step changes on the schedule.
#[derive(Debug, Clone, Default)]
pub struct Advance {
    pub next_run_at: Option<i64>,
    /// Set when a run covered ticks up to this one.
    pub last_tick_at: Option<i64>,
    pub last_report: Option<ReportId>,
    pub last_task: Option<TaskId>,
    pub fired: i64,
    pub missed: i64,
    pub skipped: i64,
}

/// Moves a schedule past handled ticks if nobody did it first (compare-and-set on the tick
/// and version that were read); false when another scheduler or a client change won.
pub async fn advance(db: &Db, s: &Schedule, a: &Advance) -> Result<bool, DbError> {
    let done = sqlx::query(
        "UPDATE schedules SET next_run_at = $1, last_tick_at = COALESCE($2, last_tick_at), \
         last_report_id = COALESCE($3, last_report_id), fired_count = fired_count + $4, \
         missed_count = missed_count + $5, skipped_count = skipped_count + $6, \
         last_task_id = COALESCE($10, last_task_id) \
         WHERE id = $7 AND next_run_at = $8 AND version = $9",
    )
    .bind(a.next_run_at)
    .bind(a.last_tick_at)
    .bind(a.last_report.as_ref().map(|r| r.as_str().to_owned()))
    .bind(a.fired)
    .bind(a.missed)
    .bind(a.skipped)
    .bind(s.id.as_str())
    .bind(s.next_run_at)
    .bind(s.version)
    .bind(a.last_task.as_ref().map(|t| t.as_str().to_owned()))
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a missed-run decision unless one starting at the same tick exists; returns the
/// decision that stands (another scheduler's, if it was first).
pub async fn record_decision(
    db: &Db,
    schedule: &ScheduleId,
    d: &Decision,
) -> Result<Decision, DbError> {
    sqlx::query(
        "INSERT INTO schedule_decisions (schedule_id, first_tick, last_tick, ticks, action, report_id, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (schedule_id, first_tick) DO NOTHING",
    )
    .bind(schedule.as_str())
    .bind(d.first_tick)
    .bind(d.last_tick)
    .bind(d.ticks)
    .bind(d.action.as_str())
    .bind(d.report.as_ref().map(|r| r.as_str().to_owned()))
    .bind(d.decided_at)
    .execute(db.pool())
    .await?;
    let rows = decisions_where(db, schedule, Some(d.first_tick), 1).await?;
    rows.into_iter()
        .next()
        .ok_or_else(|| corrupt("decision vanished after insert"))
}

/// A schedule's latest missed-run decisions, newest first.
pub async fn decisions(
    db: &Db,
    schedule: &ScheduleId,
    limit: usize,
) -> Result<Vec<Decision>, DbError> {
    decisions_where(db, schedule, None, limit).await
}

async fn decisions_where(
    db: &Db,
    schedule: &ScheduleId,
    first_tick: Option<i64>,
    limit: usize,
) -> Result<Vec<Decision>, DbError> {
    let rows = sqlx::query(
        "SELECT action, first_tick, last_tick, ticks, report_id, decided_at FROM schedule_decisions \
         WHERE schedule_id = $1 AND ($2 < 0 OR first_tick = $2) ORDER BY first_tick DESC LIMIT $3",
    )
    .bind(schedule.as_str())
    .bind(first_tick.unwrap_or(-1))
    .bind(limit as i64)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Decision {
                action: r
                    .try_get::<String, _>(0)?
                    .parse::<MissedRuns>()
                    .map_err(corrupt)?,
                first_tick: r.try_get(1)?,
                last_tick: r.try_get(2)?,
                ticks: r.try_get(3)?,
                report: r
                    .try_get::<Option<String>, _>(4)?
                    .map(ReportId::from_trusted),
                decided_at: r.try_get(5)?,
            })
        })
        .collect()
}
