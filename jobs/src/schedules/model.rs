//! A schedule as stored, and the words of its settings (period, missed-run policy).

use chrono_tz::Tz;

use super::cron::CronExpr;
use crate::ids::{ReportId, ScheduleId, TaskId, TenantId};
use crate::reports::model::ReportKind;
use crate::tasks::model::TaskTemplate;
use crate::words::word_enum;

word_enum!(
    /// Which stretch of time each run reports on, relative to its tick in the schedule's zone.
    PeriodKind {
        /// The local calendar day before the tick's day.
        PreviousDay => "previous_day",
        /// The ISO week (Monday to Sunday) before the tick's week.
        PreviousWeek => "previous_week",
        /// The calendar month before the tick's month.
        PreviousMonth => "previous_month",
        /// From the previous run's tick (or the schedule's creation) to this tick.
        SinceLastRun => "since_last_run",
    }
);

word_enum!(
    /// What the scheduler does with ticks that passed while no scheduler was running.
    MissedRuns {
        /// Drop them; the decision is recorded.
        Skip => "skip",
        /// One catch-up run covering every missed tick's period; the decision is recorded.
        RunOnce => "run_once",
    }
);

/// A schedule record. Times are milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: ScheduleId,
    pub tenant: TenantId,
    pub name: String,
    pub cron: CronExpr,
    pub timezone: Tz,
    /// What each run does.
    pub target: Target,
    pub missed_runs: MissedRuns,
    pub enabled: bool,
    /// The next tick not yet handled; `None` while disabled or when the expression never fires.
    pub next_run_at: Option<i64>,
    /// The last tick a run covered (the start of a `since_last_run` period).
    pub last_tick_at: Option<i64>,
    pub last_report: Option<ReportId>,
    /// The task the last run created (task schedules).
    pub last_task: Option<TaskId>,
    /// Runs enqueued by ticks (a catch-up run counts once).
    pub fired: i64,
    /// Ticks that passed unobserved (scheduler down) before being handled.
    pub missed: i64,
    /// Missed ticks that got no run (policy `skip`).
    pub skipped: i64,
    /// Bumped by every change through the API; the scheduler's updates are fenced by it.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What each run of a schedule does.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Build a report of `kind` over `period`, emailed to `recipients`.
    Report {
        kind: ReportKind,
        period: PeriodKind,
        recipients: Vec<String>,
    },
    /// Create an HTTP task from this template (celery beat's periodic tasks).
    Task(TaskTemplate),
}

/// A recorded missed-run decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `run_once` (a catch-up run was enqueued) or `skip`.
    pub action: MissedRuns,
    pub first_tick: i64,
    pub last_tick: i64,
    pub ticks: i64,
    /// The catch-up run, for `run_once`.
    pub report: Option<ReportId>,
    pub decided_at: i64,
}
