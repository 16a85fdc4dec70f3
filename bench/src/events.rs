//! Issue 15's figures, on PostgreSQL + Redis (loopback, optimised binaries):
//!
//! 1. email throughput of one worker through the SMTP sink (the email benchmark's 20 KB HTML
//!    with 10 links), without and then with an endpoint
//!    subscribed to every email event, and how long events take from their cause (the event's
//!    `timestamp`) to the endpoint (p50/p99; one clock, this host's);
//! 2. fan-out: events recorded beforehand (as domain code records them, through
//!    `longshore_jobs::events::record`), each to 10 endpoints, delivered by one worker
//!    (deliveries/s, and CPU per delivery by process).
//!
//! The endpoints are one poem server in this process that counts what it receives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use longshore_jobs::db::Db;
use longshore_jobs::events::{EventType, NewEvent};
use longshore_jobs::ids::{EventId, TenantId};
use longshore_testkit::SmtpSink;
use longshore_tests::{Client, Mode, Stack};
use poem::listener::TcpListener;
use poem::web::Data;
use poem::{EndpointExt, Route, Server, handler};
use serde_json::json;

use crate::measure::{cpu_by_process, cpu_ms_per_unit, percentile};

/// Options of the events scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Emails sent in each email run.
    #[arg(long, default_value_t = 2000)]
    emails: usize,
    /// Runs of each email variant (without, then with the endpoint, alternating).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Events fanned out in the fan-out phase.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Endpoints each fan-out event goes to.
    #[arg(long, default_value_t = 10)]
    endpoints: usize,
}

/// What the endpoints saw.
#[derive(Default)]
struct Seen {
    received: AtomicU64,
    /// Milliseconds from each event's `timestamp` to its receipt.
    lag_ms: Mutex<Vec<f64>>,
}

#[handler]
async fn receive(body: String, seen: Data<&Arc<Seen>>) -> &'static str {
    let now = chrono::Utc::now();
    seen.received.fetch_add(1, Ordering::Relaxed);
    if let Ok(event) = serde_json::from_str::<serde_json::Value>(&body)
        && let Some(at) = event["timestamp"].as_str()
        && let Ok(at) = chrono::DateTime::parse_from_rfc3339(at)
    {
        let lag = (now - at.with_timezone(&chrono::Utc))
            .num_microseconds()
            .unwrap_or(0);
        seen.lag_ms.lock().unwrap().push(lag as f64 / 1000.0);
    }
    "ok"
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let seen = Arc::new(Seen::default());
    let port = longshore_testkit::free_port();
    let routes = Route::new()
        .at("/r/*n", poem::post(receive))
        .data(seen.clone());
    tokio::spawn(Server::new(TcpListener::bind(format!("127.0.0.1:{port}"))).run(routes));
    let url = |n: usize| format!("http://127.0.0.1:{port}/r/{n}");

    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds.max(1) {
        without.push(emails(&args, None, &seen).await?);
        with.push(emails(&args, Some(url(0)), &seen).await?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mean_without, mean_with) = (mean(&without), mean(&with));
    let change = |a: f64, b: f64| ((b - a) / a * 1000.0).round() / 10.0;
    let mut lag = std::mem::take(&mut *seen.lag_ms.lock().unwrap());
    lag.sort_by(f64::total_cmp);
    let fan_out = fan_out(&args, &url, &seen).await?;

    let report = json!({
        "scenario": "events",
        "deployment": "postgres + redis on loopback, endpoints on loopback",
        "build_profile": crate::measure::build_profile(),
        "email": {
            "emails": args.emails,
            "html_kb": 20,
            "links": 10,
            "sent_per_sec_without_endpoint": without,
            "sent_per_sec_with_endpoint": with,
            "change_percent_of_means": change(mean_without, mean_with),
            "events_received": lag.len(),
            "event_lag_ms": {
                "p50": percentile(&lag, 50.0),
                "p99": percentile(&lag, 99.0),
                "max": lag.last(),
            },
        },
        "fan_out": fan_out,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// One email run: emails/s of one worker, with an endpoint for every email event when `hook`
/// is given (waiting then until every `email.sent` has arrived). No CPU figure: the shared
/// PostgreSQL's backends of earlier runs exit during a run, which makes per-name CPU sums
/// meaningless here.
async fn emails(args: &Args, hook: Option<String>, seen: &Arc<Seen>) -> anyhow::Result<f64> {
    let sink = Arc::new(SmtpSink::start());
    let mut stack = crate::bench_stack(Mode::Production)
        .workers(0)
        .env("RUST_LOG", "warn")
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_SMTP_POOL_SIZE", "64")
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .start()
        .await;
    let client = stack.tenant("bench").await;
    let r = client
        .send(reqwest::Method::PUT, "/v1/email-settings", |r| {
            r.header("content-type", "application/json")
                .body(json!({"from": "Bench <bench@longshore.example>"}).to_string())
        })
        .await;
    anyhow::ensure!(r.status == 200, "settings: {}", r.text);
    if let Some(url) = &hook {
        let r = client
            .post(
                "/v1/event-endpoints",
                &json!({"url": url, "event_types": ["email.*"]}),
            )
            .await;
        anyhow::ensure!(r.status == 201, "endpoint: {}", r.text);
    }
    submit_emails(&client, args.emails).await?;
    let before = seen.received.load(Ordering::Relaxed);
    stack.spawn_worker();
    let waiting = sink.clone();
    let n = args.emails;
    let received =
        tokio::task::spawn_blocking(move || waiting.wait_for(n, Duration::from_secs(600))).await?;
    anyhow::ensure!(
        received.len() >= n,
        "only {} emails arrived",
        received.len()
    );
    let first = received
        .iter()
        .map(|m| m.at)
        .min()
        .unwrap_or_else(std::time::Instant::now);
    let last = received.iter().map(|m| m.at).max().unwrap_or(first);
    let rate = n as f64 / last.duration_since(first).as_secs_f64().max(1e-9);
    if hook.is_some() {
        let deadline = Instant::now() + Duration::from_secs(300);
        while seen.received.load(Ordering::Relaxed) < before + n as u64 {
            anyhow::ensure!(
                Instant::now() < deadline,
                "not every email.sent event arrived"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(rate.round())
}

async fn submit_emails(client: &Client, n: usize) -> anyhow::Result<()> {
    let failures = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move {
                let body = json!({"to": [format!("Reader {i} <reader{i}@example.com>")],
                    "subject": format!("Update #{i}"), "html": crate::email::html(i, 20, 10),
                    "tags": ["bench"], "metadata": {"n": i}});
                client.post("/v1/emails", &body).await.status != 202
            }
        })
        .buffer_unordered(32)
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await;
    anyhow::ensure!(failures == 0, "{failures} emails were refused");
    Ok(())
}

/// The fan-out phase: `events` events recorded while no worker runs, each to `endpoints`
/// endpoints; one worker then delivers them all.
async fn fan_out(
    args: &Args,
    url: &dyn Fn(usize) -> String,
    seen: &Arc<Seen>,
) -> anyhow::Result<serde_json::Value> {
    let mut stack = crate::bench_stack(Mode::Production)
        .workers(0)
        .env("RUST_LOG", "warn")
        .env("LONGSHORE_OUTBOUND_ALLOW", "127.0.0.1/32")
        .start()
        .await;
    let client = stack.tenant("bench").await;
    for n in 0..args.endpoints {
        let r = client
            .post(
                "/v1/event-endpoints",
                &json!({"url": url(n + 1), "max_concurrent": 100}),
            )
            .await;
        anyhow::ensure!(r.status == 201, "endpoint: {}", r.text);
    }
    let tenant = tenant_of(&stack).await?;
    let db = Db::connect(&stack.database_url().unwrap_or_default()).await?;
    let started = Instant::now();
    for chunk in (0..args.events).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<NewEvent> = chunk
            .iter()
            .map(|i| NewEvent {
                id: EventId::new(),
                tenant: tenant.clone(),
                kind: EventType::JobDead,
                resource_id: Some(format!("job_bench{i}")),
                occurred_at: longshore_jobs::clock::now_ms(),
                data: json!({"job_id": format!("job_bench{i}"), "error": "bench"}),
            })
            .collect();
        let mut conn = db.pool().acquire().await?;
        longshore_jobs::events::record(&mut conn, db.dialect(), &batch).await?;
    }
    let record_secs = started.elapsed().as_secs_f64();
    let total = (args.events * args.endpoints) as u64;
    let before = seen.received.load(Ordering::Relaxed);
    let cpu_before = cpu_by_process();
    let started = Instant::now();
    stack.spawn_worker();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut first: Option<Instant> = None;
    while seen.received.load(Ordering::Relaxed) < before + total {
        anyhow::ensure!(Instant::now() < deadline, "the fan-out did not finish");
        if first.is_none() && seen.received.load(Ordering::Relaxed) > before {
            first = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let from_first = first.map(|f| f.elapsed().as_secs_f64()).unwrap_or(secs);
    let cpu = cpu_ms_per_unit(&cpu_before, &cpu_by_process(), total as usize);
    Ok(json!({
        "events": args.events,
        "endpoints": args.endpoints,
        "deliveries": total,
        "recorded_events_per_sec": (args.events as f64 / record_secs).round(),
        "deliveries_per_sec_from_worker_start": (total as f64 / secs).round(),
        "deliveries_per_sec_from_first_delivery": (total as f64 / from_first).round(),
        "cpu_ms_per_delivery": cpu,
    }))
}

/// The tenant's id, from the database (the only tenant of a fresh stack).
async fn tenant_of(stack: &Stack) -> anyhow::Result<TenantId> {
    let db = Db::connect(&stack.database_url().unwrap_or_default()).await?;
    let id: String = sqlx::query_scalar("SELECT id FROM tenants LIMIT 1")
        .fetch_one(db.pool())
        .await?;
    Ok(TenantId::from_trusted(id))
}
