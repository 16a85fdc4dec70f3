//! `report.build` on the `reports` queue: aggregates a period, stores CSV and PDF, records the
//! summary. The payload carries everything the report is (so the job can record the report row
//! itself if whoever enqueued it stopped before doing so); the logic lives in `reports::build`.

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::ids::{ReportId, ScheduleId};
use crate::registry::{JobContext, JobKind};
use crate::reports::model::{Period, ReportKind, Ticks};
use crate::validation::Invalid;

/// Builds one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildReport {
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

impl JobKind for BuildReport {
    const NAME: &'static str = "report.build";
    const QUEUE: &'static str = "reports";
    const MAX_ATTEMPTS: u32 = 5;

    fn validate(&self) -> Result<(), Invalid> {
        crate::reports::service::check_period(&self.period, &self.timezone)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        crate::reports::build::run(&ctx.services, &ctx.meta, self).await
    }
}
