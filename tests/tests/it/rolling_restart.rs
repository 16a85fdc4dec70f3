//! A rolling restart under load: two workers take a steady stream of jobs and HTTP tasks, one
//! is stopped with SIGTERM and a new one started while the stream goes on. Every accepted job
//! and task succeeds on its first attempt, and every task's endpoint is called exactly once
//! (the receiver is the record of what ran), so nothing was lost or run twice.
//!
//! Both deployments: the embedded SQLite queue is one file that several worker processes share
//! (claims are fenced transactions), so it is restarted the same way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use longshore_tests::receiver::Receiver;
use longshore_tests::{Client, Mode, eventually};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::metrics::{admin, scrape, value};

/// How long each job and each task's endpoint takes: long enough that a worker always has some
/// in hand when it is told to stop.
const WORK_MS: u64 = 300;
/// The load's pace: one submission per tick, jobs and tasks in turn (25 a second).
const PACE: Duration = Duration::from_millis(40);
const DEADLINE: Duration = Duration::from_secs(60);

const STARTED: &str = "longshore_jobs_started_total";
const PROCESSED: &str = "longshore_jobs_processed_total";
const LEASES_EXPIRED: &str = "longshore_job_leases_expired_total";
const SLEEP: [(&str, &str); 1] = [("job_type", "diagnostic.sleep")];
const SLEEP_DONE: [(&str, &str); 2] = [("job_type", "diagnostic.sleep"), ("outcome", "succeeded")];

/// What the load generator got accepted.
enum Submitted {
    Job(String),
    Task(String),
}

/// Submits jobs and tasks at [`PACE`] until stopped, each with an `Idempotency-Key` of its own
/// (a submission answered with anything but success would be sent again with the same key, so
/// a retried submit can never make a second job; here the API stays up and answers each).
struct Load {
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    handle: tokio::task::JoinHandle<Vec<Submitted>>,
}

impl Load {
    fn start(client: Client, task_url: String) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let handle = tokio::spawn({
            let stop = stop.clone();
            let accepted = accepted.clone();
            async move {
                let mut submitted = Vec::new();
                let mut tick = tokio::time::interval(PACE);
                let mut n = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    tick.tick().await;
                    n += 1;
                    let key = format!("load-{n}");
                    let s = if n.is_multiple_of(2) {
                        let body = json!({"type": "diagnostic.sleep", "payload": {"ms": WORK_MS}});
                        Submitted::Job(keyed(&client, "/v1/jobs", &key, &body, 202).await)
                    } else {
                        let body = json!({"queue": "load", "http_request": {"url": task_url}});
                        Submitted::Task(keyed(&client, "/v1/tasks", &key, &body, 201).await)
                    };
                    submitted.push(s);
                    accepted.fetch_add(1, Ordering::SeqCst);
                }
                submitted
            }
        });
        Load {
            stop,
            accepted,
            handle,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    async fn stop(self) -> Vec<Submitted> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.await.expect("the load generator")
    }
}

/// POSTs `body` with `Idempotency-Key: key`, sending it again (same key) until it is answered
/// `status`; returns the created id.
async fn keyed(client: &Client, path: &str, key: &str, body: &Value, status: u16) -> String {
    let body = body.to_string();
    for _ in 0..5 {
        let r = client
            .send(reqwest::Method::POST, path, |r| {
                r.header("content-type", "application/json")
                    .header("idempotency-key", key)
                    .body(body.clone())
            })
            .await;
        if r.status == status {
            return r.body["id"].as_str().expect("an id").to_owned();
        }
        eprintln!("{path} {key}: {} {}; sending it again", r.status, r.text);
    }
    panic!("{path} {key} was never accepted");
}

/// A counter of a worker's `/metrics`, 0 while absent.
fn count(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(text, name, labels).unwrap_or(0.0)
}

async fn rolling_restart(mode: Mode) {
    let app = Receiver::start().await;
    let mut stack = crate::http_tasks::stack(mode).workers(2).start().await;
    let (client, _secret) = crate::http_tasks::tenant(&stack).await;
    crate::http_tasks::queue(&client, "load", json!({})).await;
    let load = Load::start(client.clone(), app.url(&format!("/slow/{WORK_MS}")));

    // Both workers busy, and the one to stop holding jobs it has started and not finished.
    let old = admin(stack.workers[0].admin_port);
    let other = admin(stack.workers[1].admin_port);
    crate::metrics::wait_for(&other, PROCESSED, &SLEEP_DONE, 1.0).await;
    eventually(DEADLINE, "the first worker to be running jobs", || async {
        let text = scrape(&old, None).await?;
        (count(&text, STARTED, &SLEEP) > count(&text, PROCESSED, &SLEEP_DONE)).then_some(())
    })
    .await;

    // SIGTERM: it stops taking jobs, finishes those it runs, hands back those it had not
    // started, and exits cleanly well within its shutdown timeout (20 s in the tests).
    let mut stopping = stack.workers.remove(0);
    let (stopping, status) = tokio::task::spawn_blocking(move || {
        let status = stopping.terminate(Duration::from_secs(30));
        (stopping, status)
    })
    .await
    .expect("terminate");
    stack.workers.insert(0, stopping);
    let status = status.expect("the stopped worker exits");
    assert!(status.success(), "the stopped worker exited with {status}");
    let log = stack.workers[0].output();
    assert!(log.contains("draining"), "{log}");

    // Its replacement takes work, and the load goes on a while longer.
    let new = stack.spawn_worker();
    let new = admin(stack.workers[new].admin_port);
    crate::metrics::wait_for(&new, PROCESSED, &SLEEP_DONE, 1.0).await;
    let more = load.accepted() + 30;
    eventually(DEADLINE, "30 more submissions", || async {
        (load.accepted() >= more).then_some(())
    })
    .await;
    let submitted = load.stop().await;

    let (mut jobs, mut tasks) = (0, 0);
    for s in &submitted {
        match s {
            Submitted::Job(id) => {
                let job = client.wait_for_state(id, "succeeded", DEADLINE).await;
                assert_eq!(job["attempts"], 1, "job {id} ran more than once: {job}");
                jobs += 1;
            }
            Submitted::Task(id) => {
                let task = crate::http_tasks::wait_status(&client, id, "succeeded").await;
                assert_eq!(task["attempts"], 1, "task {id}: {task}");
                let calls = app.for_task(id);
                assert_eq!(calls.len(), 1, "task {id} called {} times", calls.len());
                tasks += 1;
            }
        }
    }
    assert_eq!(
        app.requests().len(),
        tasks,
        "the endpoint was called once per task, and for nothing else"
    );
    // Nothing was taken over from a lost lease: the stopped worker finished or handed back all
    // it held.
    for base in [&other, &new] {
        let text = scrape(base, None).await.expect("a worker's /metrics");
        assert_eq!(count(&text, LEASES_EXPIRED, &[]), 0.0, "{text}");
    }
    eprintln!("rolling restart ({mode:?}): {jobs} jobs and {tasks} tasks, each run once");
}
in_both_modes!(
    a_rolling_restart_under_load_loses_nothing_and_runs_nothing_twice,
    rolling_restart
);
