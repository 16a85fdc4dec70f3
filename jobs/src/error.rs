//! The error policy for job handlers.
//!
//! A handler returns [`JobError::Retryable`] for anything that may succeed later (a timeout, a
//! 4xx SMTP reply, a database hiccup): the queue schedules another attempt with backoff until
//! `max_attempts` is spent. [`JobError::Permanent`] (bad payload, a 5xx SMTP reply, a document
//! the font cannot draw) sends the job straight to `dead` with its reason. Panics are caught and
//! treated as retryable, so a bug never takes a worker down.

use std::time::Duration;

/// How a job attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// May succeed on a later attempt.
    #[error("{0}")]
    Retryable(String),
    /// May succeed later, and the handler knows when (e.g. a rate limit's reset).
    #[error("{error}")]
    RetryAfter { error: String, delay: Duration },
    /// Will never succeed: no more attempts.
    #[error("{0}")]
    Permanent(String),
    /// Not attempted: a limit said to come back after `delay` (a task queue's rate or
    /// concurrency, a paused queue). The attempt is given back.
    #[error("deferred for {delay:?}")]
    Defer { delay: Duration },
    /// Stopped because its job was cancelled while it ran ([`crate::registry::JobContext::cancel`]):
    /// the job ends `cancelled` with this reason, never runs again.
    #[error("{0}")]
    Cancelled(String),
}

impl JobError {
    /// A retryable error from anything printable.
    pub fn retryable(e: impl std::fmt::Display) -> Self {
        JobError::Retryable(e.to_string())
    }
    /// A permanent error from anything printable.
    pub fn permanent(e: impl std::fmt::Display) -> Self {
        JobError::Permanent(e.to_string())
    }
}
