//! A report as stored: what it covers (kind, period, time zone), where it stands (`queued` →
//! `running` → `ready` | `failed`), and once built its summary figures and file locations.

use serde::{Deserialize, Serialize};

use crate::words::word_enum;

use crate::ids::{JobId, ReportId, ScheduleId, TenantId};

word_enum!(
    /// What a report summarises.
    ReportKind {
        /// Payments created in the period: counts and sums per currency and status, refunds, per day.
        PaymentsSummary => "payments_summary",
        /// Emails in the period: sent, bounced, unique human opens and clicks, top links.
        EmailEngagement => "email_engagement",
        /// Jobs finished in the period: per type and state, retries, dead jobs, latency percentiles.
        JobsHealth => "jobs_health",
    }
);

word_enum!(
    /// Where a report stands.
    ReportStatus {
        /// Recorded; its build job waits for a worker.
        Queued => "queued",
        /// A worker is building it.
        Running => "running",
        /// Built: summary, CSV and PDF are available.
        Ready => "ready",
        /// Could not be built; `failure_reason` says why.
        Failed => "failed",
    }
);

/// A half-open time range `[from, to)` in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

/// The scheduler ticks a report covers (one, or several for a catch-up run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticks {
    /// The first tick covered (ms); with the schedule it identifies the run.
    pub first: i64,
    /// The last tick covered (ms); the schedule resumes after it.
    pub last: i64,
    /// How many ticks are covered.
    pub count: u64,
}

/// What a report is: everything its build needs, recorded before its build job is enqueued
/// (the row is what a sweeper finds again if the queue lost the job). It is also the build
/// job's payload, which is why its serialised shape only ever grows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportOrder {
    pub report_id: ReportId,
    pub kind: ReportKind,
    pub period: Period,
    /// IANA zone for days in per-day series and labels.
    pub timezone: String,
    #[serde(default)]
    pub schedule_id: Option<ScheduleId>,
    /// The scheduler ticks covered (scheduled runs only).
    #[serde(default)]
    pub ticks: Option<Ticks>,
    /// True for a run covering ticks missed while no scheduler ran.
    #[serde(default)]
    pub catch_up: bool,
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// A report record.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub id: ReportId,
    pub tenant: TenantId,
    pub schedule: Option<ScheduleId>,
    pub kind: ReportKind,
    pub status: ReportStatus,
    pub period: Period,
    /// The IANA zone days are counted in (per-day series, PDF labels).
    pub timezone: String,
    /// Set for scheduled runs; `count > 1` (or `catch_up`) for a catch-up run.
    pub ticks: Option<Ticks>,
    /// True when this run covers ticks missed while no scheduler ran.
    pub catch_up: bool,
    pub recipients: Vec<String>,
    pub job_id: JobId,
    /// The headline figures, once ready.
    pub summary: Option<serde_json::Value>,
    /// Where the CSV is stored, once ready.
    pub csv_key: Option<String>,
    pub csv_bytes: Option<i64>,
    /// Where the PDF is stored, once ready.
    pub pdf_key: Option<String>,
    pub pdf_bytes: Option<i64>,
    pub pdf_sha256: Option<String>,
    pub failure_reason: Option<String>,
    /// The emails carrying the files, one per recipient, once created.
    pub email_ids: Vec<String>,
    /// Why the emails could not be created.
    pub email_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl Report {
    /// The order this report was recorded from.
    pub fn order(&self) -> ReportOrder {
        ReportOrder {
            report_id: self.id.clone(),
            kind: self.kind,
            period: self.period,
            timezone: self.timezone.clone(),
            schedule_id: self.schedule.clone(),
            ticks: self.ticks,
            catch_up: self.catch_up,
            recipients: self.recipients.clone(),
        }
    }
}

/// The id of a report's build job: derived, so enqueueing it again is a no-op.
pub fn build_job_id(report: &ReportId) -> JobId {
    let suffix = report.as_str().trim_start_matches("rep_");
    JobId::from_trusted(format!("job_report-{suffix}"))
}

/// The report of a schedule's run starting at tick `first_tick_ms`: the same for every
/// scheduler process, which is what makes a tick fire exactly once.
pub fn tick_report_id(schedule: &ScheduleId, first_tick_ms: i64) -> ReportId {
    let suffix = schedule.as_str().trim_start_matches("sch_");
    ReportId::from_trusted(format!("rep_{suffix}-{first_tick_ms}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_parse_as_ids() {
        let s = ScheduleId::new();
        let r = tick_report_id(&s, 1_767_225_600_000);
        assert_eq!(r.as_str().parse::<ReportId>().unwrap(), r);
        let j = build_job_id(&r);
        assert_eq!(j.as_str().parse::<JobId>().unwrap(), j);
        assert_eq!(tick_report_id(&s, 1_767_225_600_000), r, "deterministic");
        for k in ReportKind::ALL {
            assert_eq!(k.as_str().parse::<ReportKind>().unwrap(), *k);
        }
    }
}
