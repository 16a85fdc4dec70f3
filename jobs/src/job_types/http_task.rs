//! `task.deliver` on the `tasks` queue: one attempt at calling a tenant's endpoint with its
//! HTTP task's request. The payload is the whole [`TaskOrder`] (the body included), so an
//! attempt reads no row; the logic lives in `tasks::deliver`.
//!
//! The queue's retry policy belongs to the tenant's task queue, not to this job type: the
//! handler decides every retry and its delay, and the job's own attempt budget is only a
//! ceiling ([`crate::tasks::deliver::ATTEMPT_CEILING`]).

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::registry::{JobContext, JobKind};
use crate::tasks::model::TaskOrder;

/// Delivers one HTTP task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliverTask(pub TaskOrder);

impl JobKind for DeliverTask {
    const NAME: &'static str = "task.deliver";
    const QUEUE: &'static str = "tasks";
    const MAX_ATTEMPTS: u32 = crate::tasks::deliver::ATTEMPT_CEILING;

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        ctx.services
            .couriers
            .deliver(self.0, &ctx.meta, &ctx.cancel)
            .await
    }

    async fn on_cancelled(self, ctx: JobContext) -> Result<(), JobError> {
        ctx.services
            .couriers
            .settle_cancelled(&self.0, &ctx.meta)
            .await;
        Ok(())
    }
}
