//! Issue 5's figures: signed Stripe-style events of about 1.5 KB with unique ids, from 32
//! connections for 20 s, against the API on PostgreSQL + Redis (loopback, optimised binaries).
//! Reports accepted webhooks/s, latency percentiles, and the time from the end of the load until
//! one worker has processed every accepted event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use longshore_tests::gateway::{Gateway, now_secs, stripe_signature};
use longshore_tests::{Client, Mode};
use serde_json::json;

use crate::http1::Connection;
use crate::measure::{cpu_by_process, cpu_ms_per_unit, percentile};

/// Options of the webhooks scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    secs: u64,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Payments the events are spread over (each gets one success, then ignored repeats).
    #[arg(long, default_value_t = 1000)]
    payments: usize,
    /// Start the worker only when the load ends: measures intake alone, then the drain.
    #[arg(long)]
    worker_after_load: bool,
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let workers = if args.worker_after_load { 0 } else { 1 };
    let mut stack = crate::bench_stack(Mode::Production)
        .env("RUST_LOG", "warn")
        // The load generator is one client measuring throughput, not a gateway.
        .env("LONGSHORE_HOOKS_RATE_PER_MINUTE", "100000000")
        .workers(workers)
        .start()
        .await;
    let client = stack.tenant("bench").await;
    let gw = Gateway::create(&client, &stack.base_url(), "stripe").await;
    let mut payments = Vec::new();
    for i in 0..args.payments {
        let r = client
            .post(
                "/v1/payments",
                &json!({"amount": 2500, "currency": "EUR", "reference": format!("order-{i}")}),
            )
            .await;
        anyhow::ensure!(r.status == 201, "create payment: {}", r.text);
        payments.push(r.body["id"].as_str().unwrap_or_default().to_owned());
    }
    // Bodies are prebuilt per payment so the load generator spends little CPU per request.
    let templates: Arc<Vec<String>> =
        Arc::new(payments.iter().map(|p| event_body(ID_SLOT, p)).collect());
    let base = stack.base_url();
    let sample = event_body("evt_sample", &payments[0]);

    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_by_process();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let mut http = Connection::open(&base).await?;
        let (base, path) = (base.clone(), gw.path.clone());
        let (secret, templates) = (gw.secret.clone(), templates.clone());
        let (stop, errors) = (stop.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = templates[(conn * 7919 + n) % templates.len()]
                    .replacen(ID_SLOT, &format!("evt_b{conn}x{n}"), 1)
                    .replacen(CREATED_SLOT, &now_secs().to_string(), 1);
                let signature = stripe_signature(&secret, now_secs(), body.as_bytes());
                let headers = [
                    ("Content-Type", "application/json"),
                    ("Stripe-Signature", signature.as_str()),
                ];
                let sent = Instant::now();
                match http.send("POST", &path, &headers, body.as_bytes()).await {
                    Ok(200) => latencies.push(sent.elapsed().as_secs_f64() * 1000.0),
                    Ok(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        // The connection is unusable; count it and open another.
                        errors.fetch_add(1, Ordering::Relaxed);
                        match Connection::open(&base).await {
                            Ok(fresh) => http = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let load_secs = started.elapsed().as_secs_f64();
    let cpu_after = cpu_by_process();
    let load_end = Instant::now();
    if args.worker_after_load {
        stack.spawn_worker();
    }
    let drained = drain(&client).await;
    let drain_secs = load_end.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let accepted = latencies.len();
    let report = json!({
        "scenario": "webhooks",
        "deployment": "postgres + redis on loopback, 1 api + 1 worker",
        "build_profile": crate::measure::build_profile(),
        "worker_started_after_load": args.worker_after_load,
        "event_bytes": sample.len(),
        "connections": args.connections,
        "seconds": load_secs,
        "accepted": accepted,
        "errors": errors.load(Ordering::Relaxed),
        "accepted_per_sec": (accepted as f64 / load_secs).round(),
        "latency_ms": {
            "p50": percentile(&latencies, 50.0),
            "p90": percentile(&latencies, 90.0),
            "p99": percentile(&latencies, 99.0),
            "max": latencies.last().copied(),
        },
        "cpu_ms_per_accepted_event": cpu_ms_per_unit(&cpu_before, &cpu_after, latencies.len()),
        "all_processed": drained,
        "processed_within_secs_of_load_end": drain_secs,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Waits until no event is left `received` (each is processed, ignored or failed); false after 10 min.
async fn drain(client: &Client) -> bool {
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        let r = client
            .get("/v1/webhook-events?status=received&limit=1")
            .await;
        if r.status == 200 && r.body["data"].as_array().is_some_and(Vec::is_empty) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

const ID_SLOT: &str = "@@ID@@";
const CREATED_SLOT: &str = "1111111111";

/// A Stripe `payment_intent.succeeded` event of about 1.5 KB, with slots for id and time.
fn event_body(id: &str, payment: &str) -> String {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1111111111,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": "req_8f3kD02mQa9x1Z", "idempotency_key": "6a1f0c1e-3d2b-4c55-9a8e-5b7d9c1f2e3a"},
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": "pi_3PqLk2Hc8sYtV1nR0a1b2c3d",
            "object": "payment_intent",
            "amount": 2500,
            "amount_capturable": 0,
            "amount_received": 2500,
            "capture_method": "automatic_async",
            "client_secret": "pi_3PqLk2Hc8sYtV1nR0a1b2c3d_secret_Zq8vN3mX7kL2pQ9wE4rT6yU1i",
            "confirmation_method": "automatic",
            "created": now_secs() - 3,
            "currency": "eur",
            "customer": "cus_QhF7sK2lM9nB4v",
            "description": "Order from the Longshore webhook benchmark: two items, express shipping",
            "latest_charge": "ch_3PqLk2Hc8sYtV1nR0x9y8w7v",
            "livemode": false,
            "metadata": {"longshore_payment_id": payment, "cart": "c_18873", "channel": "web"},
            "payment_method": "pm_1PqLk1Hc8sYtV1nRaBcDeFgH",
            "payment_method_options": {"card": {"installments": null, "mandate_options": null, "network": null, "request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "receipt_email": "customer@example.com",
            "shipping": {"address": {"city": "Rotterdam", "country": "NL", "line1": "Wilhelminakade 123", "line2": null, "postal_code": "3072 AP", "state": null}, "carrier": "PostNL", "name": "Ada Lovelace", "phone": "+31 10 123 4567", "tracking_number": "3SABCD0123456789"},
            "statement_descriptor": "LONGSHORE BENCH",
            "status": "succeeded"
        }}
    })
    .to_string()
}
