//! Issue 2's figures: HTTP enqueue rate from 32 connections, one worker's drain rate,
//! accept-to-finished latency at a steady 500 jobs/s, and idle resident memory of each process.
//! Production deployment (PostgreSQL + Redis on loopback), `diagnostic.noop`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use longshore_tests::{Client, Mode};
use serde_json::json;

use crate::measure::{percentile, rss_kib};

/// Options of the core scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of HTTP enqueue load.
    #[arg(long, default_value_t = 10)]
    enqueue_secs: u64,
    /// Concurrent HTTP connections during the enqueue phase.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Steady rate for the latency phase, jobs/s.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Seconds of the latency phase.
    #[arg(long, default_value_t = 10)]
    latency_secs: u64,
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut stack = crate::bench_stack(Mode::Production)
        .workers(0)
        .env("RUST_LOG", "warn")
        .start()
        .await;
    let client = stack.tenant("bench").await;

    // 1. Enqueue through the HTTP API, no worker running.
    let (accepted, errors, last_id, secs) =
        enqueue_load(&client, args.connections, args.enqueue_secs).await;
    let enqueue_rate = accepted as f64 / secs;

    // 2. One worker process drains everything enqueued (FIFO: the last job finishes last).
    let started = Instant::now();
    stack.spawn_worker();
    if let Some(id) = &last_id {
        client
            .wait_for_state(id, "succeeded", Duration::from_secs(600))
            .await;
    }
    let drain_secs = started.elapsed().as_secs_f64();
    let drain_rate = accepted as f64 / drain_secs;

    // 3. Latency at a steady rate: created_at (API accept) to finished_at (ack recorded).
    let latencies = steady_latency(&client, args.rate, args.latency_secs).await;

    // 4. Idle memory after a quiet moment.
    let mut scheduler = stack.spawn_scheduler();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = json!({
        "api": rss_kib(stack.api_pid()).map(|k| k as f64 / 1024.0),
        "worker": rss_kib(stack.workers[0].pid()).map(|k| k as f64 / 1024.0),
        "scheduler": rss_kib(scheduler.pid()).map(|k| k as f64 / 1024.0),
    });
    scheduler.kill();

    let report = json!({
        "scenario": "core",
        "deployment": "postgres + redis on loopback",
        "build_profile": crate::measure::build_profile(),
        "enqueue": {
            "connections": args.connections,
            "seconds": secs,
            "accepted": accepted,
            "errors": errors,
            "jobs_per_sec": enqueue_rate.round(),
        },
        "drain_one_worker": {
            "jobs": accepted,
            "seconds": drain_secs,
            "jobs_per_sec": drain_rate.round(),
        },
        "latency_accept_to_finished_ms": {
            "rate_per_sec": args.rate,
            "jobs": latencies.len(),
            "p50": percentile(&latencies, 50.0),
            "p99": percentile(&latencies, 99.0),
            "max": latencies.last().copied(),
        },
        "idle_rss_mib": idle,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn enqueue_load(
    client: &Client,
    connections: usize,
    secs: u64,
) -> (u64, u64, Option<String>, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let client = client.clone();
        let (stop, accepted, errors) = (stop.clone(), accepted.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut last = None;
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
                    .await;
                if r.status == 202 {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    last = Some((
                        Instant::now(),
                        r.body["id"].as_str().unwrap_or_default().to_owned(),
                    ));
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            last
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut last: Option<(Instant, String)> = None;
    for t in tasks {
        if let Ok(Some(candidate)) = t.await
            && last.as_ref().is_none_or(|l| candidate.0 > l.0)
        {
            last = Some(candidate);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    (
        accepted.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        last.map(|l| l.1),
        elapsed,
    )
}

async fn steady_latency(client: &Client, rate: u64, secs: u64) -> Vec<f64> {
    let mut ids = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pending = Vec::new();
    for _ in 0..rate * secs {
        tick.tick().await;
        let client = client.clone();
        pending.push(tokio::spawn(async move {
            let r = client
                .post("/v1/jobs", &json!({"type": "diagnostic.noop"}))
                .await;
            r.body["id"].as_str().map(str::to_owned)
        }));
    }
    for p in pending {
        if let Ok(Some(id)) = p.await {
            ids.push(id);
        }
    }
    let mut latencies = Vec::new();
    for id in ids {
        let job = client
            .wait_for_state(&id, "succeeded", Duration::from_secs(60))
            .await;
        let created: chrono::DateTime<chrono::Utc> = job["created_at"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_default();
        let finished: chrono::DateTime<chrono::Utc> = job["finished_at"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_default();
        latencies.push((finished - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    latencies
}
