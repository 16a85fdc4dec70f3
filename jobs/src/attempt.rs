//! What a running job knows about itself, handed to the domain functions jobs call.

use crate::ids::{JobId, TenantId};

/// The attempt being run: whose job, which attempt of how many, and the request behind it.
#[derive(Debug, Clone)]
pub struct JobMeta {
    pub id: JobId,
    pub tenant: TenantId,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    pub request_id: Option<String>,
}

impl JobMeta {
    /// The metadata of `job`'s current attempt.
    pub fn of(job: &crate::queue::JobRecord) -> Self {
        JobMeta {
            id: job.id.clone(),
            tenant: job.tenant.clone(),
            attempt: job.attempts,
            max_attempts: job.max_attempts,
            request_id: job.request_id.clone(),
        }
    }
}
