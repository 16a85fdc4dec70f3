//! Issue 17's fairness figure: tenant A enqueues a burst of `diagnostic.noop` jobs (50,000),
//! then tenant B enqueues 100, all on the same queue, with no worker running; then one worker
//! process starts. Prints B's wait (enqueue → start) p50/p99/max, and how long A's burst took
//! to drain: the wait B's jobs would have had behind A's burst under first-in-first-out
//! dequeue (what Longshore did before fair dequeue). On both deployments.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use longshore_tests::{Client, Mode};
use serde_json::{Value, json};

use crate::measure::{Deployments, deployment_name, percentile};

/// Options of the fairness scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Jobs in tenant A's burst.
    #[arg(long, default_value_t = 50_000)]
    burst: usize,
    /// Jobs tenant B enqueues after the burst.
    #[arg(long, default_value_t = 100)]
    small: usize,
    /// The deployments to measure.
    #[arg(long, value_enum, default_value_t = Deployments::Both)]
    mode: Deployments,
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut results = Vec::new();
    for mode in args.mode.modes() {
        results.push(one_deployment(mode, &args).await?);
    }
    let report = json!({
        "scenario": "fairness",
        "build_profile": crate::measure::build_profile(),
        "burst_jobs_tenant_a": args.burst,
        "jobs_tenant_b": args.small,
        "workers": 1,
        "deployments": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn one_deployment(mode: Mode, args: &Args) -> anyhow::Result<Value> {
    let mut stack = crate::bench_stack(mode)
        .workers(0)
        .env("RUST_LOG", "warn")
        .start()
        .await;
    let a = stack.tenant("burst").await;
    let b = stack.tenant("small").await;
    let a_ids = submit(&a, args.burst, 32).await;
    let b_ids = submit(&b, args.small, 4).await;

    let started = Instant::now();
    stack.spawn_worker();
    let mut waits = Vec::with_capacity(b_ids.len());
    for id in &b_ids {
        let job = b
            .wait_for_state(id, "succeeded", Duration::from_secs(1_800))
            .await;
        waits.push(millis_between(&job["created_at"], &job["started_at"]));
    }
    let b_done = started.elapsed().as_secs_f64();
    if let Some(last) = a_ids.last() {
        a.wait_for_state(last, "succeeded", Duration::from_secs(1_800))
            .await;
    }
    let a_drain = started.elapsed().as_secs_f64();
    waits.sort_by(f64::total_cmp);
    Ok(json!({
        "deployment": deployment_name(mode),
        "tenant_b_wait_ms": {
            "p50": percentile(&waits, 50.0),
            "p99": percentile(&waits, 99.0),
            "max": waits.last().copied(),
            "all_done_after_worker_start_s": b_done,
        },
        "tenant_a_burst_drain_s": a_drain,
        "fifo_wait_behind_the_burst_s": a_drain,
    }))
}

/// Enqueues `n` noop jobs through the API from `connections` concurrent clients; returns the
/// ids in acceptance order per client, the last accepted last.
async fn submit(client: &Client, n: usize, connections: usize) -> Vec<String> {
    let per = n.div_ceil(connections.max(1));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = client.clone();
        let count = per.min(n.saturating_sub(c * per));
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(count);
            for _ in 0..count {
                let r = client
                    .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
                    .await;
                assert_eq!(r.status, 202, "{}", r.text);
                ids.push(r.body["id"].as_str().unwrap_or_default().to_owned());
            }
            ids
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for t in tasks {
        ids.extend(t.await.unwrap_or_default());
    }
    ids
}

fn millis_between(from: &Value, to: &Value) -> f64 {
    let at =
        |v: &Value| -> DateTime<Utc> { v.as_str().unwrap_or_default().parse().unwrap_or_default() };
    (at(to) - at(from)).num_microseconds().unwrap_or(0) as f64 / 1000.0
}
