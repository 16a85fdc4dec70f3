//! `report.build` on the `reports` queue: aggregates a period, stores CSV and PDF, records the
//! summary. The payload is the whole [`ReportOrder`], so a worker never needs the row to know
//! what to build; the logic lives in `reports::build`.

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::registry::{JobContext, JobKind};
use crate::reports::model::ReportOrder;
use crate::validation::Invalid;

/// Builds one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BuildReport(pub ReportOrder);

impl JobKind for BuildReport {
    const NAME: &'static str = "report.build";
    const QUEUE: &'static str = "reports";
    const MAX_ATTEMPTS: u32 = 5;

    fn validate(&self) -> Result<(), Invalid> {
        crate::reports::service::check_period(&self.0.period, &self.0.timezone)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let s = &ctx.services;
        let deps = crate::reports::build::Deps {
            db: &s.db,
            storage: s.storage.as_ref(),
            out: s.out.as_ref(),
            public_base: &s.config.public_base(),
        };
        crate::reports::build::run(&deps, &ctx.meta, self.0).await
    }

    async fn on_dead(self, ctx: JobContext, error: String) -> Result<(), JobError> {
        crate::reports::build::fail_dead(&ctx.services.db, &self.0.report_id, &error).await
    }
}
