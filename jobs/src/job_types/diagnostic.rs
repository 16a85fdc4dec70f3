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

/// Sleeps `ms`, failing its first `fail_times` attempts: exercises retries, leases and shutdown.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sleep {
    #[serde(default)]
    pub ms: u64,
    #[serde(default)]
    pub fail_times: u32,
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
        tokio::time::sleep(Duration::from_millis(self.ms)).await;
        if ctx.meta.attempt <= self.fail_times {
            return Err(JobError::Retryable(format!(
                "diagnostic failure {} of {}",
                ctx.meta.attempt, self.fail_times
            )));
        }
        Ok(())
    }
}
