//! Task queues and HTTP tasks as the database keeps them, and the words they are stored as.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::policy::RetryConfig;
use crate::ids::{JobId, TaskId, TenantId};
use crate::words::word_enum;

word_enum!(
    /// Whether a task queue dispatches (Cloud Tasks' queue states, less `disabled`).
    QueueState {
        /// Tasks are dispatched as they come due.
        Running => "running",
        /// Tasks are kept and not dispatched until the queue is resumed.
        Paused => "paused",
    }
);

word_enum!(
    /// Where a task's record stands. Its job's state says more while it is open (queued,
    /// running, retrying); the record keeps the final outcome for as long as the task is kept.
    TaskStatus {
        /// Waiting, running or retrying: the recovery sweep watches it.
        Open => "open",
        /// The endpoint answered 2xx.
        Succeeded => "succeeded",
        /// Out of attempts, refused, or told not to retry.
        Dead => "dead",
        /// Cancelled or purged before it ran.
        Cancelled => "cancelled",
    }
);

/// How fast a queue may dispatch (Cloud Tasks' `RateLimits`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimits {
    pub max_dispatches_per_second: f64,
    pub max_burst_size: u32,
    pub max_concurrent_dispatches: u32,
}

impl Default for RateLimits {
    /// Cloud Tasks' defaults (500/s, burst 100, 1000 at once).
    fn default() -> Self {
        RateLimits {
            max_dispatches_per_second: 500.0,
            max_burst_size: 100,
            max_concurrent_dispatches: 1000,
        }
    }
}

/// A tenant's task queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskQueue {
    pub tenant: TenantId,
    pub name: String,
    pub retry: RetryConfig,
    pub rate: RateLimits,
    pub state: QueueState,
    /// Tasks created before this time were purged.
    pub purged_at: Option<i64>,
    /// Headers added to every request (credentials the app checks), sealed at rest.
    pub auth_headers: Option<SealedHeaders>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A queue's static headers as stored: their names in clear (what the API shows) and the
/// sealed JSON of the whole list (opened only by the workers that send them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedHeaders {
    pub names: Vec<String>,
    pub sealed: String,
}

/// The request a task sends, as the client gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(with = "base64_bytes")]
    pub body: Vec<u8>,
    #[serde(rename = "dispatch_deadline_ms", with = "millis")]
    pub dispatch_deadline: Duration,
}

impl TaskRequest {
    /// The body in base64 (standard alphabet, padded): how the API shows it, as Cloud Tasks does.
    pub fn body_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.body)
    }
}

/// The task a schedule creates at each run: its queue and request (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskTemplate {
    pub queue: String,
    pub request: TaskRequest,
}

/// What a delivery job carries: everything the attempt needs, so a delivery reads no row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskOrder {
    pub task: TaskId,
    pub queue: String,
    #[serde(default)]
    pub name: Option<String>,
    pub request: TaskRequest,
    /// When the task was first due (ms since the epoch): `max_retry_duration` counts from here.
    pub due_at: i64,
}

mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// A task as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: TaskId,
    pub tenant: TenantId,
    pub queue: String,
    pub name: Option<String>,
    pub request: TaskRequest,
    /// When it is first due (ms since the epoch).
    pub schedule_time: i64,
    pub status: TaskStatus,
    /// Attempts recorded so far.
    pub attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
    /// Until when its name stays reserved (set once it has finished).
    pub name_reserved_until: Option<i64>,
    pub request_id: Option<String>,
    pub created_at: i64,
}

impl Task {
    /// A task just accepted at `now`: open, due at `due_at`, not attempted yet.
    pub fn accepted(
        id: TaskId,
        tenant: TenantId,
        name: Option<String>,
        template: TaskTemplate,
        due_at: i64,
        request_id: Option<String>,
        now: i64,
    ) -> Task {
        Task {
            id,
            tenant,
            queue: template.queue,
            name,
            request: template.request,
            schedule_time: due_at,
            status: TaskStatus::Open,
            attempts: 0,
            first_attempt_at: None,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            finished_at: None,
            name_reserved_until: None,
            request_id,
            created_at: now,
        }
    }

    /// The id of its delivery job.
    pub fn job_id(&self) -> JobId {
        delivery_job_id(&self.id)
    }

    /// What its delivery job carries.
    pub fn order(&self) -> TaskOrder {
        TaskOrder {
            task: self.id.clone(),
            queue: self.queue.clone(),
            name: self.name.clone(),
            request: self.request.clone(),
            due_at: self.schedule_time,
        }
    }
}

/// One attempt to deliver a task, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: i64,
    pub started_at: i64,
    pub latency_ms: i64,
    /// The endpoint's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, when it did (timeout, connection error, refusal, non-2xx).
    pub error: Option<String>,
    /// The first bytes of the answer's body (lossy UTF-8).
    pub excerpt: Option<String>,
}

/// The id of a task's delivery job: derived, so handing the task over again is a no-op.
pub fn delivery_job_id(task: &TaskId) -> JobId {
    let suffix = task.as_str().trim_start_matches("task_");
    JobId::from_trusted(format!("job_task-{suffix}"))
}

/// The task a delivery job delivers.
pub fn task_of_job(job: &JobId) -> Option<TaskId> {
    let suffix = job.as_str().strip_prefix("job_task-")?;
    format!("task_{suffix}").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_and_task_ids_map_both_ways() {
        let task = TaskId::new();
        let job = delivery_job_id(&task);
        assert!(job.as_str().parse::<JobId>().is_ok());
        assert_eq!(task_of_job(&job), Some(task));
        assert_eq!(task_of_job(&JobId::new()), None);
    }
}
