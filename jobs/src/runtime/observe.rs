//! What the worker runtime tells operators: each attempt's duration and recorded outcome (from
//! the ack path, no extra round trip), and queue depths sampled every few seconds.
//!
//! Labels come from the registry's `'static` names, so a job type this build does not know
//! (a newer producer's) is counted as `unknown` and a label set never grows with the data.

use std::time::Duration;

use ::metrics::{counter, gauge, histogram};

use super::leases::LeaseBook;
use crate::metrics::{SAMPLE_EVERY, names, outcome_label, queue_label};
use crate::platform::Services;
use crate::queue::{JobRecord, Outcome};

/// The (`queue`, `job_type`) labels of a job.
fn labels(job: &JobRecord) -> (&'static str, &'static str) {
    crate::metrics::job_labels(&job.queue, &job.job_type)
}

/// Counts an attempt starting: how long the job waited since it could run (both instants are
/// the queue backend's), and whether it is taken over from a worker that was lost (`buried`:
/// on its last attempt, so it dies; else the previous attempt's lease expired and it retries).
pub fn attempt_started(job: &JobRecord, buried: bool) {
    let (queue, job_type) = labels(job);
    if buried {
        counter!(names::LEASES_EXPIRED, "queue" => queue, "job_type" => job_type, "then" => "dead")
            .increment(1);
        return;
    }
    counter!(names::JOBS_STARTED, "queue" => queue, "job_type" => job_type).increment(1);
    if let Some(started) = job.started_at {
        let waited = (started - job.run_at).max(0) as f64 / 1000.0;
        histogram!(names::QUEUE_WAIT, "queue" => queue, "job_type" => job_type).record(waited);
    }
    let lost_before = job.attempts > 1
        && job
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(crate::queue::LEASE_EXPIRED));
    if lost_before {
        counter!(names::LEASES_EXPIRED, "queue" => queue, "job_type" => job_type, "then" => "retried")
            .increment(1);
    }
}

/// Records how long an attempt's handler ran.
pub fn attempt_ran(job: &JobRecord, took: Duration) {
    let (queue, job_type) = labels(job);
    histogram!(names::JOB_DURATION, "queue" => queue, "job_type" => job_type)
        .record(took.as_secs_f64());
}

/// Counts an outcome the queue accepted.
pub fn outcome_recorded(job: &JobRecord, outcome: &Outcome) {
    let (queue, job_type) = labels(job);
    counter!(names::JOBS_PROCESSED, "queue" => queue, "job_type" => job_type, "outcome" => outcome_label(outcome))
        .increment(1);
}

/// Counts an ack the queue refused because the lease had passed to another worker.
pub fn ack_fenced(job: &JobRecord) {
    let (queue, job_type) = labels(job);
    counter!(names::JOBS_PROCESSED, "queue" => queue, "job_type" => job_type, "outcome" => "fenced")
        .increment(1);
}

/// Samples the depth of `queues` and the leases held, every [`SAMPLE_EVERY`], until aborted.
/// One cheap read per queue (see `Queue::depth`); a failed read leaves the last value.
pub async fn sample_depths(services: Services, queues: Vec<String>, book: LeaseBook) {
    let mut interval = tokio::time::interval(SAMPLE_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        gauge!(names::WORKER_LEASES).set(book.len() as f64);
        for queue in &queues {
            let label = queue_label(queue);
            match services.queue.depth(queue).await {
                Ok(Some(d)) => {
                    for (state, n) in [
                        ("ready", d.ready),
                        ("delayed", d.delayed),
                        ("running", d.running),
                    ] {
                        gauge!(names::QUEUE_JOBS, "queue" => label, "state" => state).set(n as f64);
                    }
                    let oldest = d.oldest_ready_age_ms.unwrap_or(0) as f64 / 1000.0;
                    gauge!(names::QUEUE_OLDEST, "queue" => label).set(oldest);
                }
                Ok(None) => {}
                Err(e) => tracing::debug!(queue = %queue, error = %e, "queue depth sample failed"),
            }
        }
    }
}
