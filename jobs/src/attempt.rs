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
