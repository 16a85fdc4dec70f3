//! `job.dead` and `task.dead`: work Longshore gave up on.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The data of `job.dead`: a job used up its attempts, or failed permanently. It stays in the
/// queue as `dead` until its retention ends; `POST /v1/jobs/{id}/retry` runs it again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct JobEventData {
    /// The job's id (`job_…`).
    pub job_id: String,
    /// The job's type (`report.build`, `diagnostic.sleep`, …).
    pub job_type: String,
    /// The queue it ran on.
    pub queue: String,
    /// The attempt that died (1 for the first).
    pub attempt: u32,
    /// How many attempts it was allowed.
    pub max_attempts: u32,
    /// Why the last attempt failed (and, when they ran out, that no attempts are left).
    pub error: String,
    /// The request that created the job, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub request_id: Option<String>,
    /// When the job was created.
    pub created_at: DateTime<Utc>,
    /// When the attempt that died started.
    pub attempt_started_at: DateTime<Utc>,
}

/// The data of `task.dead`: an HTTP task ended without its endpoint accepting it (retries used
/// up, a refusal that is not retried, or its queue was deleted).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(poem_openapi::Object))]
pub struct TaskEventData {
    /// The task's id (`task_…`).
    pub task_id: String,
    /// The task queue it belonged to.
    pub queue: String,
    /// The task's name, when it was given one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub name: Option<String>,
    /// The HTTP method it called with.
    pub method: String,
    /// The URL it called.
    pub url: String,
    /// Attempts made (the last one is the one that ended it).
    pub attempts: i64,
    /// The endpoint's HTTP status on the last attempt, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", oai(skip_serializing_if_is_none))]
    pub last_error: Option<String>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
}
