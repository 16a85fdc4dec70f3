//! Nothing is lost: a worker killed mid-job, a worker stopped with SIGTERM, Redis restarted.

use std::time::Duration;

use longshore_tests::{Mode, Stack, eventually};
use serde_json::json;

use crate::in_both_modes;

async fn killed_worker(mode: Mode) {
    // A short lease so the takeover happens quickly; the default is 30 s.
    let mut stack = Stack::builder(mode)
        .env("LONGSHORE_LEASE_SECS", "3")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 4000}}))
        .await;
    let running = client
        .wait_for_state(&id, "running", Duration::from_secs(30))
        .await;
    let first_worker = running["attempts"].clone();
    assert_eq!(first_worker, 1);
    stack.workers[0].kill();
    stack.spawn_worker();
    let job = client
        .wait_for_state(&id, "succeeded", Duration::from_secs(60))
        .await;
    assert_eq!(job["attempts"], 2, "the re-run counts as an attempt");
    // The worker that took over counts the lost lease.
    let worker = crate::metrics::admin(stack.workers[1].admin_port);
    let labels = [("job_type", "diagnostic.sleep"), ("then", "retried")];
    crate::metrics::wait_for(&worker, LEASES_EXPIRED, &labels, 1.0).await;
}

const LEASES_EXPIRED: &str = "longshore_job_leases_expired_total";
in_both_modes!(job_of_a_killed_worker_runs_again, killed_worker);

async fn sigterm_drains(mode: Mode) {
    let mut stack = Stack::start(mode).await;
    let client = stack.tenant("acme").await;
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 1500}}))
        .await;
    client
        .wait_for_state(&id, "running", Duration::from_secs(30))
        .await;
    let status = stack.workers[0]
        .terminate(Duration::from_secs(30))
        .expect("worker exits");
    assert!(status.success(), "worker exited with {status}");
    let job = client.job(&id).await;
    assert_eq!(
        job["state"], "succeeded",
        "the running job finished before exit"
    );
    assert_eq!(job["attempts"], 1);
}
in_both_modes!(sigterm_lets_running_jobs_finish, sigterm_drains);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_loses_no_job() {
    let mut stack = Stack::start(Mode::Production).await;
    let client = stack.tenant("acme").await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(
            client
                .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 2000}}))
                .await,
        );
    }
    client
        .wait_for_state(&ids[0], "running", Duration::from_secs(30))
        .await;
    stack.redis().stop();
    // While the queue is down the API says so, and nothing is accepted that could be lost.
    let r = client
        .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
        .await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, 503);
    tokio::time::sleep(Duration::from_secs(2)).await;
    stack.redis().start_again();
    // Clients retry a 503; the API reconnects by itself and becomes ready again.
    eventually(
        Duration::from_secs(30),
        "readiness after the restart",
        || async { (client.get("/readyz").await.status == 200).then_some(()) },
    )
    .await;
    for _ in 0..50 {
        ids.push(client.submit(json!({"type": "diagnostic.noop"})).await);
    }
    for id in &ids {
        client
            .wait_for_state(id, "succeeded", Duration::from_secs(90))
            .await;
    }
    assert!(
        stack.workers[0].is_running(),
        "the worker survived the restart"
    );
}

/// A worker killed during a job's last attempt: once the lease lapses another worker buries the
/// job (never runs it again): `dead`, naming the lost lease, with its `job.dead` event told to
/// the tenant's app, exactly as a job that failed its last attempt.
async fn killed_on_the_last_attempt(mode: Mode) {
    use crate::events::{body, endpoint, wait_received};
    let app = longshore_tests::receiver::Receiver::start().await;
    let mut stack = crate::events::stack(mode)
        .env("LONGSHORE_LEASE_SECS", "3")
        .start()
        .await;
    let client = stack.tenant("acme").await;
    endpoint(&client, &app.url("/ok"), json!(["job.dead"])).await;
    let id = client
        .submit(json!({"type": "diagnostic.sleep", "payload": {"ms": 60000}, "max_attempts": 1}))
        .await;
    client
        .wait_for_state(&id, "running", Duration::from_secs(30))
        .await;
    stack.workers[0].kill();
    stack.spawn_worker();
    let job = client
        .wait_for_state(&id, "dead", Duration::from_secs(60))
        .await;
    assert_eq!(job["attempts"], 1, "buried, not run again: {job}");
    let error = job["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("lease expired"), "{job}");
    let worker = crate::metrics::admin(stack.workers[1].admin_port);
    let labels = [("job_type", "diagnostic.sleep"), ("then", "dead")];
    crate::metrics::wait_for(&worker, LEASES_EXPIRED, &labels, 1.0).await;
    let got = wait_received(&app, "/ok", 1).await;
    let event = body(&got[0]);
    assert_eq!(event["type"], "job.dead");
    assert_eq!(event["data"]["job_id"], id.as_str());
    assert_eq!(event["data"]["attempt"], 1);
    assert_eq!(event["data"]["error"], error);
    let listed = client.get("/v1/events?type=job.dead").await;
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );
}
in_both_modes!(
    a_job_whose_worker_dies_on_its_last_attempt_is_buried_with_its_event,
    killed_on_the_last_attempt
);
