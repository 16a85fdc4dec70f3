//! Diagnostic jobs that operators use for smoke tests and benchmarks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::JobError;
use crate::registry::{JobContext, JobKind};
use crate::validation::Invalid;

/// Does nothing and succeeds: measures the platform's own overhead.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Noop {}

impl JobKind for Noop {
    const NAME: &'static str = "diagnostic.noop";
    const QUEUE: &'static str = "default";
    const PUBLIC: bool = true;

    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// The longest `diagnostic.sleep` allowed (10 minutes).
pub const MAX_SLEEP_MS: u64 = 600_000;

/// Sleeps `ms`, failing its first `fail_times` attempts: exercises retries, leases, shutdown and
/// cancellation. Cancelled while running it stops at once, unless `ignore_cancel` (a handler
/// that never looks): then its worker stops it after the grace period.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sleep {
    #[serde(default)]
    pub ms: u64,
    #[serde(default)]
    pub fail_times: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore_cancel: bool,
}

impl JobKind for Sleep {
    const NAME: &'static str = "diagnostic.sleep";
    const QUEUE: &'static str = "default";
    const PUBLIC: bool = true;

    fn validate(&self) -> Result<(), Invalid> {
        if self.ms > MAX_SLEEP_MS {
            return Err(Invalid::one(
                "ms",
                format!("must be at most {MAX_SLEEP_MS}"),
            ));
        }
        Ok(())
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let sleep = tokio::time::sleep(Duration::from_millis(self.ms));
        if self.ignore_cancel {
            sleep.await;
        } else {
            tokio::select! {
                () = sleep => {}
                () = ctx.cancel.cancelled() => {
                    return Err(JobError::Cancelled("the sleep was interrupted".into()));
                }
            }
        }
        if ctx.meta.attempt <= self.fail_times {
            return Err(JobError::Retryable(format!(
                "diagnostic failure {} of {}",
                ctx.meta.attempt, self.fail_times
            )));
        }
        Ok(())
    }
}
