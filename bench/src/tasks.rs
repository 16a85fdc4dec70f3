//! Issue 14's figures: HTTP tasks delivered by one worker to an endpoint on loopback that
//! answers 200 at once (tasks/s), enqueue → delivered latency at a steady 500 tasks/s, and the
//! worker's peak memory with 10,000 tasks in flight against an endpoint that takes 1 s per
//! answer. Production deployment (PostgreSQL + Redis on loopback).
//!
//! The endpoint is a small poem server in this process that counts what it receives; each
//! task's body carries the microsecond it was submitted at, so latency is measured from the
//! client's request to the app's receipt, on one clock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use longshore_tests::{Client, Mode};
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Route, Server, handler};
use serde_json::json;

use crate::measure::{cpu_by_process, cpu_ms_per_unit, peak_rss_kib, percentile};

/// Options of the tasks scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Tasks drained by one worker.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Steady rate for the latency phase, tasks/s.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Seconds of the latency phase.
    #[arg(long, default_value_t = 10)]
    latency_secs: u64,
    /// Tasks in flight against the slow endpoint.
    #[arg(long, default_value_t = 10_000)]
    in_flight: usize,
}

/// What the endpoint saw.
#[derive(Default)]
struct Seen {
    received: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// (submitted µs, received µs) of the latency phase's tasks.
    latencies: Mutex<Vec<(u64, u64)>>,
}

struct App {
    seen: Arc<Seen>,
    epoch: Instant,
}

#[handler]
async fn fast(body: String, app: Data<&Arc<App>>) -> &'static str {
    app.seen.received.fetch_add(1, Ordering::Relaxed);
    if let Ok(sent) = body.parse::<u64>() {
        let now = app.epoch.elapsed().as_micros() as u64;
        app.seen.latencies.lock().unwrap().push((sent, now));
    }
    "ok"
}

#[handler]
async fn slow(app: Data<&Arc<App>>) -> &'static str {
    let seen = &app.seen;
    let now = seen.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    seen.in_flight.fetch_sub(1, Ordering::Relaxed);
    seen.received.fetch_add(1, Ordering::Relaxed);
    "ok"
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let seen = Arc::new(Seen::default());
    let app = Arc::new(App {
        seen: seen.clone(),
        epoch: Instant::now(),
    });
    let port = longshore_testkit::free_port();
    let routes = Route::new()
        .at("/fast", poem::post(fast))
        .at("/slow", poem::post(slow))
        .data(app.clone());
    tokio::spawn(Server::new(TcpListener::bind(format!("127.0.0.1:{port}"))).run(routes));
    let endpoint = |path: &str| format!("http://127.0.0.1:{port}{path}");

    let mut stack = crate::bench_stack(Mode::Production)
        .workers(0)
        .env("RUST_LOG", "warn")
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .start()
        .await;
    let client = stack.tenant("bench").await;
    anyhow::ensure!(client.post_empty("/v1/task-signing-secret").await.status == 201);
    let unlimited = json!({"max_dispatches_per_second": 100000, "max_burst_size": 100000,
        "max_concurrent_dispatches": 100000});
    for name in ["bench", "slow"] {
        let r = client
            .post(
                "/v1/queues",
                &json!({"name": name, "rate_limits": unlimited}),
            )
            .await;
        anyhow::ensure!(r.status == 201, "queue: {}", r.text);
    }

    // 1. One worker drains tasks enqueued beforehand.
    let url = endpoint("/fast");
    let started = Instant::now();
    let last = submit_many(&client, "bench", &url, args.count, 32).await?;
    let enqueue_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let cpu_before = cpu_by_process();
    stack.spawn_worker();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.received.load(Ordering::Relaxed) < args.count as u64 {
        anyhow::ensure!(Instant::now() < deadline, "the drain did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered_secs = started.elapsed().as_secs_f64();
    let cpu = cpu_ms_per_unit(&cpu_before, &cpu_by_process(), args.count);
    wait_status(&client, &last, "succeeded").await?;
    let recorded_secs = started.elapsed().as_secs_f64();
    seen.latencies.lock().unwrap().clear();

    // 2. Latency at a steady rate, the worker idle and warm.
    let latency = steady(&client, &url, &app, args.rate, args.latency_secs).await?;

    // 3. Memory with many tasks in flight against an endpoint that takes 1 s per answer.
    stack.workers[0].kill();
    let before = seen.received.load(Ordering::Relaxed);
    let concurrency = args.in_flight.to_string();
    let slow_url = endpoint("/slow");
    submit_many(&client, "slow", &slow_url, args.in_flight, 32).await?;
    let index = stack.spawn_worker_with(&[("LONGSHORE_WORKER_CONCURRENCY", &concurrency)]);
    let pid = stack.workers[index].pid();
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen.received.load(Ordering::Relaxed) < before + args.in_flight as u64 {
        anyhow::ensure!(Instant::now() < deadline, "the slow tasks did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak = peak_rss_kib(pid).map(|k| k as f64 / 1024.0);

    let report = json!({
        "scenario": "tasks",
        "deployment": "postgres + redis on loopback, endpoint on loopback",
        "build_profile": crate::measure::build_profile(),
        "drain_one_worker": {
            "tasks": args.count,
            "enqueue_tasks_per_sec": (args.count as f64 / enqueue_secs).round(),
            "delivered_tasks_per_sec": (args.count as f64 / delivered_secs).round(),
            "recorded_tasks_per_sec": (args.count as f64 / recorded_secs).round(),
            "cpu_ms_per_task": cpu,
        },
        "latency_enqueue_to_delivered_ms": latency,
        "slow_endpoint": {
            "tasks_in_flight_target": args.in_flight,
            "max_in_flight_seen": seen.max_in_flight.load(Ordering::Relaxed),
            "worker_peak_rss_mib": peak,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Creates `count` tasks from `connections` concurrent clients; returns the last one's id.
async fn submit_many(
    client: &Client,
    queue: &str,
    url: &str,
    count: usize,
    connections: usize,
) -> anyhow::Result<String> {
    let ids: Vec<anyhow::Result<String>> = futures::stream::iter(0..count)
        .map(|_| {
            let body = json!({"queue": queue, "http_request": {"url": url, "body_text": "-"}});
            async move {
                let r = client.post("/v1/tasks", &body).await;
                anyhow::ensure!(r.status == 201, "create: {}", r.text);
                Ok(r.body["id"].as_str().unwrap_or_default().to_owned())
            }
        })
        .buffered(connections)
        .collect()
        .await;
    let mut last = String::new();
    for id in ids {
        last = id?;
    }
    Ok(last)
}

async fn wait_status(client: &Client, id: &str, status: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if client.get(&format!("/v1/tasks/{id}")).await.body["status"] == status {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "{id} never became {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits at `rate`/s for `secs`, each task's body its submission time; returns the
/// percentiles of submission → receipt.
async fn steady(
    client: &Client,
    url: &str,
    app: &Arc<App>,
    rate: u64,
    secs: u64,
) -> anyhow::Result<serde_json::Value> {
    let total = rate * secs;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pending = Vec::new();
    for _ in 0..total {
        ticker.tick().await;
        let client = client.clone();
        let sent = app.epoch.elapsed().as_micros() as u64;
        let body =
            json!({"queue": "bench", "http_request": {"url": url, "body_text": sent.to_string()}});
        pending.push(tokio::spawn(async move {
            client.post("/v1/tasks", &body).await.status
        }));
    }
    for p in pending {
        anyhow::ensure!(p.await? == 201, "a task was refused");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.seen.latencies.lock().unwrap().len() < total as usize {
        anyhow::ensure!(Instant::now() < deadline, "not every task arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut ms: Vec<f64> = app
        .seen
        .latencies
        .lock()
        .unwrap()
        .iter()
        .map(|(sent, got)| got.saturating_sub(*sent) as f64 / 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    Ok(json!({
        "rate_per_sec": rate,
        "tasks": ms.len(),
        "p50": percentile(&ms, 50.0),
        "p99": percentile(&ms, 99.0),
        "max": ms.last().copied(),
    }))
}
