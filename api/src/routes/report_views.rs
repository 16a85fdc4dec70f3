//! The JSON shapes of the schedules and reports APIs, and the one mapping of their errors.

use chrono::{DateTime, Utc};
use longshore_jobs::clock::from_ms;
use longshore_jobs::reports::ReportsError;
use longshore_jobs::reports::model::{Report, ReportKind, ReportStatus};
use longshore_jobs::schedules::input::TaskTemplateInput;
use longshore_jobs::schedules::model::{Decision, MissedRuns, PeriodKind, Schedule, Target};
use longshore_jobs::schedules::service::UPCOMING;
use longshore_jobs::tasks::input::format_duration;
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::task_views::{HttpRequestBody, HttpRequestView};
use crate::problem::ApiError;

impl From<ReportsError> for ApiError {
    fn from(e: ReportsError) -> Self {
        match e {
            ReportsError::Invalid(i) => i.into(),
            ReportsError::NotFound => ApiError::not_found("no such resource"),
            ReportsError::Conflict(why) => ApiError::conflict(why),
            ReportsError::Db(db) => db.into(),
            ReportsError::Queue(q) => q.into(),
            ReportsError::Storage(s) => {
                tracing::warn!(error = %s, "report storage error");
                ApiError::unavailable("file storage")
            }
            ReportsError::Corrupt(why) => {
                tracing::error!(error = %why, "corrupt report or schedule");
                ApiError::internal()
            }
        }
    }
}

/// What a schedule's runs report on.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpecBody {
    pub kind: ReportKind,
    /// The stretch of time each run covers, relative to its tick in the schedule's zone.
    pub period: PeriodKind,
}

/// A schedule's settings. On creation `name`, `cron` and `report` are required; a change
/// (`PATCH`) sends only what changes.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// 1 to 200 characters. Required on creation.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Standard 5-field cron (`minute hour day-of-month month day-of-week`; 0 and 7 are Sunday),
    /// or 6 fields with seconds first. Required on creation. Example: `30 2 * * *`.
    #[oai(skip_serializing_if_is_none)]
    pub cron: Option<String>,
    /// IANA time zone the expression is read in (default `UTC`), e.g. `Europe/Berlin`.
    #[oai(skip_serializing_if_is_none)]
    pub timezone: Option<String>,
    /// What each run reports on; required on creation unless `task` is given.
    #[oai(skip_serializing_if_is_none)]
    pub report: Option<ReportSpecBody>,
    /// Or: the HTTP task each run creates (in a task queue, with this request). Each tick's
    /// task is named `<schedule id>-<tick ms>`, so a tick never runs twice.
    #[oai(skip_serializing_if_is_none)]
    pub task: Option<ScheduleTaskBody>,
    /// Who receives the report (up to 50 addresses).
    #[oai(skip_serializing_if_is_none)]
    pub recipients: Option<Vec<String>>,
    /// Ticks missed while no scheduler ran: one catch-up run (`run_once`, the default) or none.
    #[oai(skip_serializing_if_is_none)]
    pub missed_runs: Option<MissedRuns>,
    /// Default true.
    #[oai(skip_serializing_if_is_none)]
    pub enabled: Option<bool>,
}

/// The HTTP task a schedule creates at each run.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTaskBody {
    /// The task queue.
    pub queue: String,
    pub http_request: HttpRequestBody,
    /// How long one attempt may take, `"15s"` to `"1800s"` (default `"600s"`).
    #[oai(skip_serializing_if_is_none)]
    pub dispatch_deadline: Option<String>,
}

impl From<ScheduleTaskBody> for TaskTemplateInput {
    fn from(b: ScheduleTaskBody) -> Self {
        TaskTemplateInput {
            queue: Some(b.queue),
            http_request: Some(b.http_request.into()),
            dispatch_deadline: b.dispatch_deadline,
        }
    }
}

/// A task schedule's template as stored.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ScheduleTaskView {
    pub queue: String,
    pub http_request: HttpRequestView,
    pub dispatch_deadline: String,
}

/// How often a schedule's ticks fired, were missed and were skipped (every scheduler process).
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ScheduleCounters {
    /// Runs enqueued by ticks (a catch-up run counts once).
    pub fired: i64,
    /// Ticks that passed while no scheduler ran.
    pub missed: i64,
    /// Missed ticks dropped by the `skip` policy.
    pub skipped: i64,
}

/// A recorded missed-run decision.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct DecisionView {
    /// `run_once`: one catch-up run was enqueued; `skip`: none.
    pub action: MissedRuns,
    pub first_tick: DateTime<Utc>,
    pub last_tick: DateTime<Utc>,
    /// How many ticks were missed.
    pub ticks: i64,
    /// The catch-up report (`run_once`).
    #[oai(skip_serializing_if_is_none)]
    pub report_id: Option<String>,
    pub decided_at: DateTime<Utc>,
}

impl From<Decision> for DecisionView {
    fn from(d: Decision) -> Self {
        DecisionView {
            action: d.action,
            first_tick: from_ms(d.first_tick),
            last_tick: from_ms(d.last_tick),
            ticks: d.ticks,
            report_id: d.report.map(|r| r.to_string()),
            decided_at: from_ms(d.decided_at),
        }
    }
}

/// A schedule, its next run times and its counters.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ScheduleView {
    /// `sch_…`
    pub id: String,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    /// What each run reports on (report schedules).
    #[oai(skip_serializing_if_is_none)]
    pub report: Option<ReportSpecBody>,
    /// Who gets each report (empty for task schedules).
    pub recipients: Vec<String>,
    /// The HTTP task each run creates (task schedules).
    #[oai(skip_serializing_if_is_none)]
    pub task: Option<ScheduleTaskView>,
    pub missed_runs: MissedRuns,
    pub enabled: bool,
    /// The next 5 run times (empty while disabled).
    pub next_runs: Vec<DateTime<Utc>>,
    /// The last tick a run covered.
    #[oai(skip_serializing_if_is_none)]
    pub last_run_at: Option<DateTime<Utc>>,
    #[oai(skip_serializing_if_is_none)]
    pub last_report_id: Option<String>,
    /// The task the last run created (task schedules).
    #[oai(skip_serializing_if_is_none)]
    pub last_task_id: Option<String>,
    pub counters: ScheduleCounters,
    /// The latest missed-run decisions, newest first (on `GET /v1/schedules/{id}`).
    pub missed_run_decisions: Vec<DecisionView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ScheduleView {
    /// The view of `s`, with `decisions` if read.
    pub fn new(s: Schedule, decisions: Vec<Decision>) -> Self {
        let next_runs = match s.next_run_at {
            Some(next) if s.enabled => {
                let first = from_ms(next);
                let mut runs = vec![first];
                runs.extend(s.cron.upcoming(s.timezone, first, UPCOMING - 1));
                runs
            }
            _ => Vec::new(),
        };
        let (report, recipients, task) = match s.target {
            Target::Report {
                kind,
                period,
                recipients,
            } => (Some(ReportSpecBody { kind, period }), recipients, None),
            Target::Task(t) => (
                None,
                Vec::new(),
                Some(ScheduleTaskView {
                    queue: t.queue,
                    dispatch_deadline: format_duration(t.request.dispatch_deadline),
                    http_request: HttpRequestView::from(t.request),
                }),
            ),
        };
        ScheduleView {
            id: s.id.to_string(),
            name: s.name,
            cron: s.cron.to_string(),
            timezone: s.timezone.name().to_owned(),
            report,
            recipients,
            task,
            missed_runs: s.missed_runs,
            enabled: s.enabled,
            next_runs,
            last_run_at: s.last_tick_at.map(from_ms),
            last_report_id: s.last_report.map(|r| r.to_string()),
            last_task_id: s.last_task.map(|t| t.to_string()),
            counters: ScheduleCounters {
                fired: s.fired,
                missed: s.missed,
                skipped: s.skipped,
            },
            missed_run_decisions: decisions.into_iter().map(DecisionView::from).collect(),
            created_at: from_ms(s.created_at),
            updated_at: from_ms(s.updated_at),
        }
    }
}

/// A page of schedules, newest first.
#[derive(Debug, Object)]
pub struct ScheduleList {
    pub data: Vec<ScheduleView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// An on-demand report request.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    pub kind: ReportKind,
    /// Start of the period (inclusive), RFC 3339.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive), RFC 3339; at most 400 days after `from`.
    pub to: DateTime<Utc>,
    /// IANA zone days are counted in (default `UTC`).
    #[oai(skip_serializing_if_is_none)]
    pub timezone: Option<String>,
    /// Who gets the report by email, CSV and PDF attached (up to 50 addresses; one email each).
    #[oai(skip_serializing_if_is_none)]
    pub recipients: Option<Vec<String>>,
}

/// The time range a report covers.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct PeriodView {
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
}

/// The scheduler ticks a scheduled report covers.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct TicksView {
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub count: u64,
}

/// A report: where it stands, what it covers, its figures and files.
#[derive(Debug, Clone, Object, Serialize, Deserialize)]
pub struct ReportView {
    /// `rep_…`
    pub id: String,
    pub kind: ReportKind,
    pub status: ReportStatus,
    /// The schedule that produced it (absent for on-demand reports).
    #[oai(skip_serializing_if_is_none)]
    pub schedule_id: Option<String>,
    pub period: PeriodView,
    pub timezone: String,
    /// True for a run covering ticks missed while no scheduler ran.
    pub catch_up: bool,
    #[oai(skip_serializing_if_is_none)]
    pub ticks: Option<TicksView>,
    /// The headline figures (shape depends on `kind`), once ready.
    #[oai(skip_serializing_if_is_none)]
    pub summary: Option<serde_json::Value>,
    /// Download URL of the CSV, once ready.
    #[oai(skip_serializing_if_is_none)]
    pub csv_url: Option<String>,
    /// Download URL of the PDF, once ready. (A report's PDF is a file of the report, not a
    /// document: `/v1/documents` knows only certificates, receipts and investor updates.)
    #[oai(skip_serializing_if_is_none)]
    pub pdf_url: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub pdf_sha256: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub failure_reason: Option<String>,
    /// Who gets the report by email.
    pub recipients: Vec<String>,
    /// The emails carrying the CSV and PDF, one per recipient, once created.
    pub email_ids: Vec<String>,
    /// Why the emails could not be created (e.g. no sender default).
    #[oai(skip_serializing_if_is_none)]
    pub email_error: Option<String>,
    /// The build job (`job_report-…`).
    pub job_id: String,
    pub created_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub finished_at: Option<DateTime<Utc>>,
}

impl ReportView {
    /// The view of `r`; file URLs start with `base`.
    pub fn new(r: Report, base: &str) -> Self {
        let ready = r.status == ReportStatus::Ready;
        let url = |what: &str| ready.then(|| format!("{base}/v1/reports/{}/{what}", r.id));
        ReportView {
            csv_url: url("csv"),
            pdf_url: url("pdf"),
            id: r.id.to_string(),
            kind: r.kind,
            status: r.status,
            schedule_id: r.schedule.map(|s| s.to_string()),
            period: PeriodView {
                from: from_ms(r.period.from),
                to: from_ms(r.period.to),
            },
            timezone: r.timezone,
            catch_up: r.catch_up,
            ticks: r.ticks.map(|t| TicksView {
                first: from_ms(t.first),
                last: from_ms(t.last),
                count: t.count,
            }),
            summary: r.summary,
            pdf_sha256: r.pdf_sha256,
            failure_reason: r.failure_reason,
            recipients: r.recipients,
            email_ids: r.email_ids,
            email_error: r.email_error,
            job_id: r.job_id.to_string(),
            created_at: from_ms(r.created_at),
            finished_at: r.finished_at.map(from_ms),
        }
    }
}

/// A page of reports, newest first.
#[derive(Debug, Object)]
pub struct ReportList {
    pub data: Vec<ReportView>,
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    pub has_more: bool,
}
