//! What the API calls for schedules: create, read, list, change, delete, and run now. Every
//! change recomputes `next_run_at` from now when the timing changes (expression, zone, enabling),
//! which is how a running scheduler picks it up: it reads `next_run_at` on every pass.

use chrono_tz::Tz;

use super::input::ScheduleInput;
use super::model::{Decision, MissedRuns, Schedule, Target};
use super::period::period_for;
use super::repo;
use crate::clock::now_ms;
use crate::db::Db;
use crate::ids::{ReportId, ScheduleId, TenantId};
use crate::intent::Dispatch;
use crate::outbound::Destinations;
use crate::reports::ReportsError;
use crate::reports::model::{Report, ReportOrder};
use crate::tasks::TasksError;
use crate::tasks::model::{Task, TaskTemplate};
use crate::validation::Invalid;

/// How many upcoming run times the API shows.
pub const UPCOMING: usize = 5;

/// The next tick after now for an enabled schedule.
fn next_from_now(s: &Schedule) -> Option<i64> {
    if !s.enabled {
        return None;
    }
    s.cron
        .next_after(s.timezone, crate::clock::now())
        .map(|t| t.timestamp_millis())
}

/// Checks a task schedule's template against what exists now: its queue, and its URL against
/// the operator's allow-list (the same checks a task gets when it is created).
async fn check_task_target(
    db: &Db,
    tenant: &TenantId,
    destinations: &Destinations,
    t: &TaskTemplate,
) -> Result<(), ReportsError> {
    let refused = url::Url::parse(&t.request.url)
        .map_err(|e| e.to_string())
        .and_then(|u| destinations.check_url(&u).map_err(|r| r.to_string()));
    if let Err(why) = refused {
        return Err(Invalid::one("task.http_request.url", why).into());
    }
    if crate::tasks::queues::get(db, tenant, &t.queue)
        .await?
        .is_none()
    {
        return Err(
            Invalid::one("task.queue", format!("no task queue named {:?}", t.queue)).into(),
        );
    }
    Ok(())
}

/// Creates a schedule from a client's settings. `id` is its id when the caller derived it
/// (from an `Idempotency-Key`): a schedule already recorded under it is returned as it is, so
/// creating it again makes no second one (nothing follows a creation but the scheduler's
/// ticks, which read the row); a fresh id is minted without it.
pub async fn create(
    db: &Db,
    destinations: &Destinations,
    tenant: &TenantId,
    id: Option<ScheduleId>,
    input: ScheduleInput,
) -> Result<Schedule, ReportsError> {
    if let Some(id) = &id
        && let Some(existing) = repo::get(db, tenant, id).await?
    {
        return Ok(existing);
    }
    let p = input.parse(true)?;
    let target = match (p.report, p.task) {
        (Some((kind, period)), None) => Target::Report {
            kind,
            period,
            recipients: p.recipients.unwrap_or_default(),
        },
        (None, Some(task)) => {
            check_task_target(db, tenant, destinations, &task).await?;
            Target::Task(task)
        }
        _ => {
            return Err(ReportsError::Corrupt(
                "a schedule's target missing after parsing".into(),
            ));
        }
    };
    let (Some(name), Some(cron)) = (p.name, p.cron) else {
        return Err(ReportsError::Corrupt(
            "required settings missing after parsing".into(),
        ));
    };
    let derived = id.is_some();
    let now = now_ms();
    let mut s = Schedule {
        id: id.unwrap_or_default(),
        tenant: tenant.clone(),
        name,
        cron,
        timezone: p.timezone.unwrap_or(Tz::UTC),
        target,
        missed_runs: p.missed_runs.unwrap_or(MissedRuns::RunOnce),
        enabled: p.enabled.unwrap_or(true),
        next_run_at: None,
        last_tick_at: None,
        last_report: None,
        last_task: None,
        fired: 0,
        missed: 0,
        skipped: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    s.next_run_at = next_from_now(&s);
    if let Err(e) = repo::insert(db, &s).await {
        // The same work running concurrently (a retry that took over a slow request's key)
        // recorded it first.
        return match repo::get(db, tenant, &s.id).await? {
            Some(existing) if derived => Ok(existing),
            _ => Err(e.into()),
        };
    }
    Ok(s)
}

/// One of the tenant's schedules.
pub async fn get(db: &Db, tenant: &TenantId, id: &ScheduleId) -> Result<Schedule, ReportsError> {
    repo::get(db, tenant, id)
        .await?
        .ok_or(ReportsError::NotFound)
}

/// A schedule's latest missed-run decisions, newest first.
pub async fn decisions(db: &Db, id: &ScheduleId) -> Result<Vec<Decision>, ReportsError> {
    Ok(repo::decisions(db, id, 10).await?)
}

/// A page of the tenant's schedules, newest first, with the next cursor when there is more.
pub async fn list(
    db: &Db,
    tenant: &TenantId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<Schedule>, Option<String>), ReportsError> {
    let items = repo::list(db, tenant, cursor, limit + 1).await?;
    Ok(crate::db::page::split_overfetch(items, limit, |s| {
        s.id.to_string()
    }))
}

/// Applies a client's change. Changing the expression, zone or enabling starts the schedule
/// afresh from now (ticks before the change are not "missed").
pub async fn update(
    db: &Db,
    destinations: &Destinations,
    tenant: &TenantId,
    id: &ScheduleId,
    input: ScheduleInput,
) -> Result<Schedule, ReportsError> {
    let p = input.parse(false)?;
    if let Some(task) = &p.task {
        check_task_target(db, tenant, destinations, task).await?;
    }
    for _ in 0..5 {
        let old = get(db, tenant, id).await?;
        let mut s = old.clone();
        if let Some(v) = p.name.clone() {
            s.name = v;
        }
        if let Some(v) = p.cron.clone() {
            s.cron = v;
        }
        if let Some(v) = p.timezone {
            s.timezone = v;
        }
        if let Some(task) = p.task.clone() {
            s.target = Target::Task(task);
        }
        if let Some((kind, period)) = p.report {
            let recipients = match &s.target {
                Target::Report { recipients, .. } => recipients.clone(),
                Target::Task(_) => Vec::new(),
            };
            s.target = Target::Report {
                kind,
                period,
                recipients,
            };
        }
        if let Some(v) = p.recipients.clone() {
            match &mut s.target {
                Target::Report { recipients, .. } => *recipients = v,
                Target::Task(_) => {
                    return Err(Invalid::one(
                        "recipients",
                        "only report schedules have recipients",
                    )
                    .into());
                }
            }
        }
        if let Some(v) = p.missed_runs {
            s.missed_runs = v;
        }
        if let Some(v) = p.enabled {
            s.enabled = v;
        }
        let timing = s.cron != old.cron || s.timezone != old.timezone || s.enabled != old.enabled;
        if timing || s.next_run_at.is_none() {
            s.next_run_at = next_from_now(&s);
        }
        s.version = old.version + 1;
        s.updated_at = now_ms();
        if repo::update(db, &s, old.version).await? {
            return Ok(s);
        }
    }
    Err(ReportsError::Conflict(
        "the schedule is being changed concurrently; try again".into(),
    ))
}

/// Deletes a schedule (its reports stay).
pub async fn delete(db: &Db, tenant: &TenantId, id: &ScheduleId) -> Result<(), ReportsError> {
    if repo::delete(db, tenant, id).await? {
        Ok(())
    } else {
        Err(ReportsError::NotFound)
    }
}

/// What running a schedule now started.
#[derive(Debug)]
pub enum Started {
    Report(Report),
    Task(Task),
}

/// Runs a schedule now, out of band: a report's period is computed as if a tick happened now,
/// a task is created from the template (under a fresh id, unnamed); the schedule's own ticks
/// are not affected.
pub async fn run_now(
    db: &Db,
    out: &dyn Dispatch,
    tenant: &TenantId,
    id: &ScheduleId,
    request_id: Option<String>,
) -> Result<Started, ReportsError> {
    let s = get(db, tenant, id).await?;
    let (kind, period, recipients) = match &s.target {
        Target::Report {
            kind,
            period,
            recipients,
        } => (kind, period, recipients),
        Target::Task(template) => {
            let task = crate::tasks::service::record_now(db, out, tenant, template, request_id)
                .await
                .map_err(|e| match e {
                    TasksError::Db(db) => ReportsError::Db(db),
                    TasksError::Queue(q) => ReportsError::Queue(q),
                    other => ReportsError::Conflict(other.to_string()),
                })?;
            return Ok(Started::Task(task));
        }
    };
    let previous = s.last_tick_at.unwrap_or(s.created_at);
    let period = period_for(*period, s.timezone, crate::clock::now(), previous);
    let order = ReportOrder {
        report_id: ReportId::new(),
        kind: *kind,
        period,
        timezone: s.timezone.name().to_owned(),
        schedule_id: Some(s.id.clone()),
        ticks: None,
        catch_up: false,
        recipients: recipients.clone(),
    };
    let report = crate::reports::service::order(db, out, tenant, &order, request_id).await?;
    Ok(Started::Report(report))
}
