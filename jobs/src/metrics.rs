//! Prometheus metrics for operators: what the worker, scheduler and API processes count, and the
//! one recorder that renders it (`/metrics` on the API port and on the admin ports).
//!
//! Code records through the `metrics` facade (`::metrics::counter!` and friends); this module
//! installs `metrics-exporter-prometheus`'s recorder once per process and renders it on demand.
//! The exporter runs no listener of its own: our poem servers serve the text.
//!
//! Labels are low-cardinality only: queue, job type, outcome, route template, status class.
//! Never a tenant, a job id, an address or a key.

use std::sync::OnceLock;
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::queue::Outcome;
use crate::queue::QUEUES;

/// Every metric name, so call sites never spell one.
pub mod names {
    /// Counter: attempts whose outcome the queue recorded (`queue`, `job_type`, `outcome`).
    pub const JOBS_PROCESSED: &str = "longshore_jobs_processed_total";
    /// Histogram: how long an attempt's handler ran, in seconds (`queue`, `job_type`).
    pub const JOB_DURATION: &str = "longshore_job_duration_seconds";
    /// Gauge: live jobs per queue and `state` (`ready`, `delayed`, `running`), sampled.
    pub const QUEUE_JOBS: &str = "longshore_queue_jobs";
    /// Gauge: leases this worker process holds (running or about to start).
    pub const WORKER_LEASES: &str = "longshore_worker_leases_held";
    /// Counter: runs enqueued by schedule ticks (a catch-up run counts once).
    pub const TICKS_FIRED: &str = "longshore_scheduler_ticks_fired_total";
    /// Counter: catch-up runs among them (`missed_runs: run_once` after downtime).
    pub const CATCH_UP_RUNS: &str = "longshore_scheduler_catch_up_runs_total";
    /// Counter: ticks found past the grace period (no scheduler was running then).
    pub const TICKS_MISSED: &str = "longshore_scheduler_ticks_missed_total";
    /// Counter: missed ticks dropped by the `skip` policy.
    pub const TICKS_SKIPPED: &str = "longshore_scheduler_ticks_skipped_total";
    /// Counter: steps another scheduler (or a client change) completed first.
    pub const TICK_RACES_LOST: &str = "longshore_scheduler_races_lost_total";
    /// Counter: steps that failed (database or queue unreachable) and will be tried again.
    pub const TICK_FAILURES: &str = "longshore_scheduler_step_failures_total";
    /// Counter: API requests (`method`, `route` template, `status` class such as `2xx`).
    pub const HTTP_REQUESTS: &str = "longshore_http_requests_total";
    /// Histogram: API request latency in seconds (`method`, `route`).
    pub const HTTP_DURATION: &str = "longshore_http_request_duration_seconds";
    /// Counter: requests to public routes refused by a per-client limit (`group`: `tracking`,
    /// `hooks`, `verify`).
    pub const RATE_LIMITED: &str = "longshore_http_rate_limited_total";
    /// Counter: webhook deliveries taken in (`outcome`: `accepted`, `duplicate`, `rejected`).
    pub const WEBHOOKS_RECEIVED: &str = "longshore_webhooks_received_total";
    /// Counter: email delivery attempts (`outcome`: `sent`, `deferred`, `bounced`, `failed`).
    pub const EMAILS: &str = "longshore_emails_total";
    /// Counter: jobs created in the queue (`queue`, `job_type`); an enqueue that found its job
    /// already there (a retried request, a re-dispatch) is not counted.
    pub const JOBS_ENQUEUED: &str = "longshore_jobs_enqueued_total";
    /// Counter: attempts started (`queue`, `job_type`).
    pub const JOBS_STARTED: &str = "longshore_jobs_started_total";
    /// Histogram: seconds from when a job could run (enqueued, or its due time for a delayed
    /// job or a retry) to when an attempt started (`queue`, `job_type`).
    pub const QUEUE_WAIT: &str = "longshore_job_queue_wait_seconds";
    /// Gauge: seconds the oldest runnable job of a queue has waited (`queue`), sampled; 0 when
    /// none waits.
    pub const QUEUE_OLDEST: &str = "longshore_queue_oldest_job_age_seconds";
    /// Counter: attempts whose worker was lost (died or stalled past its lease), found when
    /// the job was taken over (`queue`, `job_type`, `then`: `retried`, `dead`).
    pub const LEASES_EXPIRED: &str = "longshore_job_leases_expired_total";
    /// Counter: jobs the recovery sweep created again because the queue had lost them
    /// (`kind`: `email`, `document`, `batch`, `report`, `task`).
    pub const RECOVERED: &str = "longshore_recovered_jobs_total";
    /// Counter: documents rendered and stored (`ready`) or given up on (`failed`), by `outcome`.
    pub const DOCUMENTS: &str = "longshore_documents_total";
    /// Counter: event delivery attempts recorded, by what became of the delivery (`outcome`:
    /// `succeeded`, `pending` (tried again later), `failed` (no attempts left)).
    pub const EVENT_ATTEMPTS: &str = "longshore_event_attempts_total";
    /// Gauge: always 1, labelled with the build's `version`.
    pub const BUILD_INFO: &str = "longshore_build_info";
}

/// How often the worker samples queue depths (one cheap read per queue).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How often histogram samples are folded and descriptions published, scrape or not.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

const JOB_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];
/// Queue waits: from a few milliseconds (an idle worker) to an hour (a backlog).
const WAIT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (the first call does; later ones are free) so counts
/// made from now on reach `/metrics`. Binaries call it at start.
pub fn install() {
    handle();
}

fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(names::JOB_DURATION.into()), JOB_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), HTTP_BUCKETS)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(names::QUEUE_WAIT.into()), WAIT_BUCKETS)
            })
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        describe();
        let upkeep = handle.clone();
        // A plain thread: histogram samples must be folded even when nobody scrapes, and this
        // must not depend on which runtime installed the recorder.
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the metrics upkeep thread");
        }
        handle
    })
}

/// The Prometheus text exposition of everything this process has counted.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether a scrape of the API's `/metrics` may proceed: always when `LONGSHORE_METRICS_TOKEN`
/// is unset, else only with `Authorization: Bearer <token>` (compared in constant time).
pub fn scrape_allowed(config: &Config, authorization: Option<&str>) -> bool {
    let Some(token) = config
        .metrics_token
        .as_ref()
        .map(|t| t.expose())
        .filter(|t| !t.is_empty())
    else {
        return true;
    };
    let given = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("");
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

fn describe() {
    use names::*;
    describe_counter!(
        JOBS_PROCESSED,
        "Job attempts whose outcome was recorded, by queue, job type and outcome \
         (succeeded, retried, dead, released, deferred, fenced)"
    );
    describe_histogram!(
        JOB_DURATION,
        Unit::Seconds,
        "How long job attempts ran, by queue and job type"
    );
    describe_gauge!(
        QUEUE_JOBS,
        "Live jobs per queue by state (ready: runnable now, delayed: waiting for their time, \
         running: leased), sampled every 5 s by each worker serving the queue"
    );
    describe_gauge!(WORKER_LEASES, "Job leases this worker process holds");
    describe_counter!(TICKS_FIRED, "Runs enqueued by schedule ticks");
    describe_counter!(CATCH_UP_RUNS, "Catch-up runs enqueued after downtime");
    describe_counter!(TICKS_MISSED, "Ticks that passed while no scheduler ran");
    describe_counter!(TICKS_SKIPPED, "Missed ticks dropped by the skip policy");
    describe_counter!(
        TICK_RACES_LOST,
        "Schedule steps another scheduler completed first"
    );
    describe_counter!(
        TICK_FAILURES,
        "Schedule steps that failed and will be retried"
    );
    describe_counter!(
        HTTP_REQUESTS,
        "API requests by method, route template and status class"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "API request latency by method and route template"
    );
    describe_counter!(
        RATE_LIMITED,
        "Requests to public routes refused with 429 by a per-client limit, by group \
         (tracking, hooks, verify)"
    );
    describe_counter!(
        WEBHOOKS_RECEIVED,
        "Gateway webhook deliveries by outcome (accepted, duplicate, rejected)"
    );
    describe_counter!(
        EMAILS,
        "Email delivery attempts by outcome (sent, deferred, bounced, failed)"
    );
    describe_counter!(
        JOBS_ENQUEUED,
        "Jobs created in the queue, by queue and job type (a repeated enqueue of the same job \
         is not counted)"
    );
    describe_counter!(JOBS_STARTED, "Job attempts started, by queue and job type");
    describe_histogram!(
        QUEUE_WAIT,
        Unit::Seconds,
        "From when a job could run (enqueued, or due) to when its attempt started"
    );
    describe_gauge!(
        QUEUE_OLDEST,
        "Seconds the oldest runnable job of each queue has waited, sampled every 5 s (0: none)"
    );
    describe_counter!(
        LEASES_EXPIRED,
        "Attempts whose worker was lost (killed, stalled past its lease), by what happened to \
         the job then (retried, dead)"
    );
    describe_counter!(
        RECOVERED,
        "Jobs the recovery sweep created again because the queue had lost them, by kind"
    );
    describe_counter!(
        DOCUMENTS,
        "Documents (PDFs) rendered and stored (ready) or given up on (failed)"
    );
    describe_counter!(
        EVENT_ATTEMPTS,
        "Event delivery attempts to tenants' endpoints, by what became of the delivery \
         (succeeded, pending: tried again later, failed: no attempts left)"
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label names the build");
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The `outcome` label of a recorded attempt.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Retry { .. } => "retried",
        Outcome::Dead { .. } => "dead",
        Outcome::Released => "released",
        Outcome::Deferred { .. } => "deferred",
        Outcome::Cancelled { .. } => "cancelled",
    }
}

/// A queue name as a `'static` label: one of [`QUEUES`], else `other` (bounded cardinality).
pub fn queue_label(queue: &str) -> &'static str {
    QUEUES
        .iter()
        .copied()
        .find(|q| *q == queue)
        .unwrap_or("other")
}

/// Makes the scheduler's counters visible (at 0) before the first tick, so dashboards and
/// alerts see a series from the start.
pub fn register_scheduler() {
    use names::*;
    for name in [
        TICKS_FIRED,
        CATCH_UP_RUNS,
        TICKS_MISSED,
        TICKS_SKIPPED,
        TICK_RACES_LOST,
        TICK_FAILURES,
    ] {
        counter!(name).increment(0);
    }
}

/// Counts an API request and records its latency. `route` must be a route template (bounded),
/// never a raw path.
pub fn http_request(method: &'static str, route: &str, status: &'static str, took: Duration) {
    let route = ::metrics::SharedString::from(route.to_owned());
    counter!(names::HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    ::metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route)
        .record(took.as_secs_f64());
}

/// Counts a request refused by a per-client limit of a public route group (`tracking`, `hooks`,
/// `verify`).
pub fn rate_limited(group: &'static str) {
    counter!(names::RATE_LIMITED, "group" => group).increment(1);
}

/// Counts a webhook delivery taken in by the API: `accepted`, `duplicate` or `rejected`.
pub fn webhook_received(outcome: &'static str) {
    counter!(names::WEBHOOKS_RECEIVED, "outcome" => outcome).increment(1);
}

/// Counts a job the queue created (not one it already had).
pub fn job_enqueued(queue: &str, job_type: &str) {
    let (queue, job_type) = job_labels(queue, job_type);
    counter!(names::JOBS_ENQUEUED, "queue" => queue, "job_type" => job_type).increment(1);
}

/// The bounded (`queue`, `job_type`) labels of a job: the registry's `'static` names, so a
/// type this build does not know (a newer producer's) is `unknown`.
pub fn job_labels(queue: &str, job_type: &str) -> (&'static str, &'static str) {
    match crate::job_types::registry().get(job_type) {
        Some(kind) => (kind.queue, kind.name),
        None => (queue_label(queue), "unknown"),
    }
}

/// Counts jobs the recovery sweep created again, by `kind`.
pub fn recovered(kind: &'static str, n: usize) {
    if n > 0 {
        counter!(names::RECOVERED, "kind" => kind).increment(n as u64);
    }
}

/// Counts a document's render outcome (`ready` or `failed`).
pub fn document_rendered(outcome: &'static str) {
    counter!(names::DOCUMENTS, "outcome" => outcome).increment(1);
}

/// Counts an event delivery attempt by the delivery's state after it.
pub fn event_attempt(outcome: &'static str) {
    counter!(names::EVENT_ATTEMPTS, "outcome" => outcome).increment(1);
}

/// Counts an email delivery attempt: `sent`, `deferred`, `bounced` or `failed`.
pub fn email_delivery(outcome: &'static str) {
    counter!(names::EMAILS, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn without_a_token_scrapes_are_open() {
        let config = Config::default();
        assert!(scrape_allowed(&config, None));
        assert!(scrape_allowed(&config, Some("Bearer anything")));
    }

    #[test]
    fn with_a_token_only_the_right_bearer_scrapes() {
        let config = Config {
            metrics_token: Some(Secret::new("s3cret")),
            ..Config::default()
        };
        assert!(scrape_allowed(&config, Some("Bearer s3cret")));
        assert!(!scrape_allowed(&config, None));
        assert!(!scrape_allowed(&config, Some("Bearer s3cre")));
        assert!(!scrape_allowed(&config, Some("s3cret")));
    }

    #[test]
    fn queue_labels_are_bounded() {
        assert_eq!(queue_label("email"), "email");
        assert_eq!(queue_label("ten_01J-secret"), "other");
    }

    #[test]
    fn counted_jobs_render_with_their_labels() {
        install();
        counter!(names::JOBS_PROCESSED, "queue" => "default", "job_type" => "diagnostic.noop", "outcome" => "succeeded")
            .increment(2);
        ::metrics::histogram!(names::JOB_DURATION, "queue" => "default", "job_type" => "diagnostic.noop")
            .record(0.02);
        let text = render();
        assert!(
            text.contains(
                r#"longshore_jobs_processed_total{queue="default",job_type="diagnostic.noop",outcome="succeeded"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"longshore_job_duration_seconds_bucket{queue="default",job_type="diagnostic.noop",le="0.025"} 1"#),
            "histograms have buckets: {text}"
        );
        assert!(
            text.contains("# HELP longshore_jobs_processed_total"),
            "{text}"
        );
    }
}
