//! One step of one due schedule: fire its next tick, or handle the ticks that passed while no
//! scheduler ran (one catch-up run under `run_once`, none under `skip`, the decision recorded).
//!
//! Identity, not locks, makes a tick fire once: a step's report id (and so its job id) is
//! derived from (schedule, first tick covered), recording it is idempotent, and the schedule
//! then moves past *what actually landed* (the recorded report, which may be another
//! scheduler's identical or wider order) with a compare-and-set on the tick that was read. A
//! scheduler that stops anywhere in a step leaves nothing half done: the next pass repeats the
//! step under the same ids. The report row is written before the schedule moves on, so a build
//! job the queue lost is found again from it by the recovery sweep. A schedule that creates
//! HTTP tasks works the same way: its tick's task id and name derive from (schedule, tick).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::metrics::{Metrics, TickEvent};
use crate::clock::{from_ms, now_ms};
use crate::platform::Services;
use crate::reports::ReportsError;
use crate::reports::model::{ReportOrder, Ticks, tick_report_id};
use crate::reports::service::order;
use crate::schedules::model::{Decision, MissedRuns, Schedule, Target};
use crate::schedules::period::covering;
use crate::schedules::repo::{self, Advance};
use crate::tasks::TasksError;
use crate::tasks::service::record_tick;

/// Most ticks counted one by one when a schedule has been missed for long.
const COUNT_CAP: u64 = 100_000;

/// The last tick in `[first, until]` and how many there are (saturating at [`COUNT_CAP`]).
pub fn ticks_until(
    s: &Schedule,
    first: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (DateTime<Utc>, u64) {
    let (mut last, mut count) = (first, 1);
    while let Some(t) = s.cron.next_after(s.timezone, last) {
        if t > until {
            return (last, count);
        }
        last = t;
        count += 1;
        if count >= COUNT_CAP {
            break;
        }
    }
    // Too many to count: find the last tick before `until` in a growing window.
    for window in [1, 24, 24 * 40, 24 * 400] {
        let mut at = (until - Duration::hours(window)).max(last);
        let mut found = None;
        while let Some(t) = s.cron.next_after(s.timezone, at) {
            if t > until {
                break;
            }
            found = Some(t);
            at = t;
        }
        if let Some(t) = found {
            return (t, count);
        }
    }
    (last, count)
}

/// What a step did, for the loop's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Fired,
    CaughtUp,
    Skipped,
    /// Another scheduler or a client change moved the schedule first.
    Lost,
}

/// Handles the schedule's next due tick (`next_run_at <= now`). Ticks older than `grace` were
/// missed.
pub async fn step(
    services: &Services,
    s: &Schedule,
    now: DateTime<Utc>,
    grace: Duration,
    metrics: &Arc<Metrics>,
) -> Result<Outcome, ReportsError> {
    let Some(next) = s.next_run_at else {
        return Ok(Outcome::Lost);
    };
    let first = from_ms(next);
    let cutoff = now - grace;
    if first >= cutoff {
        return fire(services, s, first, first, 1, false, metrics).await;
    }
    let (last, count) = ticks_until(s, first, cutoff);
    match s.missed_runs {
        MissedRuns::RunOnce => fire(services, s, first, last, count, true, metrics).await,
        MissedRuns::Skip => skip(services, s, first, last, count, metrics).await,
    }
}

async fn fire(
    services: &Services,
    s: &Schedule,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
    catch_up: bool,
    metrics: &Arc<Metrics>,
) -> Result<Outcome, ReportsError> {
    let ticks = Ticks {
        first: first.timestamp_millis(),
        last: last.timestamp_millis(),
        count,
    };
    // What the tick created: a report, or an HTTP task.
    let (landed, report_id, task_id) = match &s.target {
        Target::Report {
            kind,
            period,
            recipients,
        } => {
            let report_id = tick_report_id(&s.id, first.timestamp_millis());
            let previous = s.last_tick_at.unwrap_or(s.created_at);
            let job = ReportOrder {
                report_id: report_id.clone(),
                kind: *kind,
                period: covering(*period, s.timezone, first, last, previous),
                timezone: s.timezone.name().to_owned(),
                schedule_id: Some(s.id.clone()),
                ticks: Some(ticks),
                catch_up,
                recipients: recipients.clone(),
            };
            // A report already recorded under this id means the step ran before: its build
            // is handed over again only while it is still queued (a no-op when the job
            // exists).
            let landed = order(&services.db, services.out.as_ref(), &s.tenant, &job, None)
                .await?
                .ticks
                .unwrap_or(Ticks {
                    first: next_ms(s),
                    last: next_ms(s),
                    count: 1,
                });
            (landed, Some(report_id), None)
        }
        Target::Task(template) => {
            // The task's id and name derive from (schedule, first tick): recording it again
            // finds it, and its delivery is handed over again only while it is open.
            let task = record_tick(
                &services.db,
                services.out.as_ref(),
                &s.tenant,
                &s.id,
                template,
                ticks.first,
            )
            .await
            .map_err(|e| match e {
                TasksError::Db(db) => ReportsError::Db(db),
                TasksError::Queue(q) => ReportsError::Queue(q),
                other => ReportsError::Conflict(other.to_string()),
            })?;
            (ticks, None, Some(task.id))
        }
    };
    let run_name = report_id
        .as_ref()
        .map(ToString::to_string)
        .or(task_id.as_ref().map(ToString::to_string))
        .unwrap_or_default();
    let caught_up = landed.count > 1 || catch_up;
    if caught_up {
        let decision = Decision {
            action: MissedRuns::RunOnce,
            first_tick: landed.first,
            last_tick: landed.last,
            ticks: landed.count as i64,
            report: report_id.clone(),
            decided_at: now_ms(),
        };
        repo::record_decision(&services.db, &s.id, &decision).await?;
    }
    let advance = Advance {
        next_run_at: s
            .cron
            .next_after(s.timezone, from_ms(landed.last))
            .map(|t| t.timestamp_millis()),
        last_tick_at: Some(landed.last),
        last_report: report_id.clone(),
        last_task: task_id.clone(),
        fired: 1,
        missed: if caught_up { landed.count as i64 } else { 0 },
        skipped: 0,
    };
    if !repo::advance(&services.db, s, &advance).await? {
        metrics.record(TickEvent::LostRace, 1);
        return Ok(Outcome::Lost);
    }
    metrics.record(TickEvent::Fired, 1);
    if caught_up {
        metrics.record(TickEvent::CaughtUp, 1);
        metrics.record(TickEvent::Missed, landed.count);
        tracing::info!(schedule_id = %s.id, run = %run_name, missed = landed.count, "missed runs: one catch-up run enqueued");
        return Ok(Outcome::CaughtUp);
    }
    tracing::debug!(schedule_id = %s.id, run = %run_name, tick = %first, "tick fired");
    Ok(Outcome::Fired)
}

fn next_ms(s: &Schedule) -> i64 {
    s.next_run_at.unwrap_or_default()
}

async fn skip(
    services: &Services,
    s: &Schedule,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    count: u64,
    metrics: &Arc<Metrics>,
) -> Result<Outcome, ReportsError> {
    let proposed = Decision {
        action: MissedRuns::Skip,
        first_tick: first.timestamp_millis(),
        last_tick: last.timestamp_millis(),
        ticks: count as i64,
        report: None,
        decided_at: now_ms(),
    };
    let standing = repo::record_decision(&services.db, &s.id, &proposed).await?;
    let skipped = if standing.action == MissedRuns::Skip {
        standing.ticks
    } else {
        0
    };
    let advance = Advance {
        next_run_at: s
            .cron
            .next_after(s.timezone, from_ms(standing.last_tick))
            .map(|t| t.timestamp_millis()),
        last_tick_at: None,
        last_report: None,
        last_task: None,
        fired: 0,
        missed: standing.ticks,
        skipped,
    };
    if !repo::advance(&services.db, s, &advance).await? {
        metrics.record(TickEvent::LostRace, 1);
        return Ok(Outcome::Lost);
    }
    metrics.record(TickEvent::Skipped, skipped.max(0) as u64);
    metrics.record(TickEvent::Missed, standing.ticks.max(0) as u64);
    tracing::info!(schedule_id = %s.id, skipped, "missed runs skipped (policy skip); decision recorded");
    Ok(Outcome::Skipped)
}
