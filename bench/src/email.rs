//! Issue 3's figures: 2,000 emails of about 20 KB of HTML with 10 links each, sent by one worker
//! process through a local SMTP sink (`testkit::SmtpSink`), on PostgreSQL + Redis (loopback,
//! optimised binaries). Reports emails/s accepted by the sink, then the tracking endpoints'
//! requests/s and latency percentiles at 32 connections, and whether every tracking event
//! reached the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use longshore_testkit::SmtpSink;
use longshore_tests::{Client, Mode};
use mail_parser::MessageParser;
use serde_json::json;

use crate::measure::{peak_rss_kib, percentile};

/// Options of the email scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Emails to send.
    #[arg(long, default_value_t = 2000)]
    emails: usize,
    /// Approximate HTML size per email, in KB.
    #[arg(long, default_value_t = 20)]
    html_kb: usize,
    /// Links per email.
    #[arg(long, default_value_t = 10)]
    links: usize,
    /// Concurrent HTTP connections (submission and tracking load).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds of tracking load.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Run on the embedded SQLite default instead of PostgreSQL + Redis.
    #[arg(long)]
    embedded: bool,
    /// `LONGSHORE_SMTP_POOL_SIZE` of the worker (the deployment default is 16; a local sink
    /// takes more concurrent conversations).
    #[arg(long, default_value_t = 64)]
    smtp_pool: u32,
    /// `LONGSHORE_WORKER_CONCURRENCY` of the worker.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// An HTML body of about `kb` KB with `links` links.
pub fn html(n: usize, kb: usize, links: usize) -> String {
    let mut out = format!("<html><body><h1>Investor update #{n}</h1>");
    let para = "<p>Throughput at the northern terminal rose again this quarter while costs stayed flat, \
                and the new berth opened on schedule; volumes from the southern corridor recovered.</p>";
    let mut i = 0;
    while out.len() < kb * 1024 {
        if i < links {
            out.push_str(&format!("<p><a href=\"https://example.com/reports/{n}/section-{i}?utm_source=mail&amp;utm_campaign=q1\">Section {i}</a></p>"));
            i += 1;
        }
        out.push_str(para);
    }
    out.push_str("</body></html>");
    out
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let sink = Arc::new(SmtpSink::start());
    let mode = if args.embedded {
        Mode::Embedded
    } else {
        Mode::Production
    };
    let mut stack = crate::bench_stack(mode)
        .workers(0)
        .env("RUST_LOG", "warn")
        .env("LONGSHORE_SMTP_URL", &sink.url())
        .env("LONGSHORE_SMTP_POOL_SIZE", &args.smtp_pool.to_string())
        // The load generator is one client measuring throughput, not a mailbox provider.
        .env("LONGSHORE_TRACKING_RATE_PER_MINUTE", "100000000")
        .env(
            "LONGSHORE_WORKER_CONCURRENCY",
            &args.concurrency.to_string(),
        )
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

    // 1. Submit every email while no worker runs.
    let submit_started = Instant::now();
    let bodies: Vec<String> = (0..args.emails)
        .map(|n| {
            json!({"to": [format!("Reader {n} <reader{n}@example.com>")], "subject": format!("Update #{n}"),
                   "html": html(n, args.html_kb, args.links), "tags": ["bench"]})
            .to_string()
        })
        .collect();
    let html_bytes = bodies.first().map(String::len).unwrap_or(0);
    let failures = futures::stream::iter(bodies)
        .map(|body| {
            let client = client.clone();
            async move {
                let r = client
                    .send(reqwest::Method::POST, "/v1/emails", |r| {
                        r.header("content-type", "application/json").body(body)
                    })
                    .await;
                r.status != 202
            }
        })
        .buffer_unordered(args.connections)
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await;
    anyhow::ensure!(failures == 0, "{failures} emails were refused");
    let submit_secs = submit_started.elapsed().as_secs_f64();

    // 2. One worker process sends them all.
    let worker_started = Instant::now();
    let worker = stack.spawn_worker();
    let waiting = sink.clone();
    let n = args.emails;
    let received =
        tokio::task::spawn_blocking(move || waiting.wait_for(n, Duration::from_secs(600))).await?;
    anyhow::ensure!(
        received.len() >= args.emails,
        "only {} of {} emails arrived",
        received.len(),
        args.emails
    );
    let first = received.iter().map(|m| m.at).min().context("no message")?;
    let last = received.iter().map(|m| m.at).max().context("no message")?;
    let span = last.duration_since(first).as_secs_f64().max(1e-9);
    let end_to_end = last.duration_since(worker_started).as_secs_f64();
    let message_bytes = received.iter().map(|m| m.data.len()).sum::<usize>() / received.len();
    let mut ids: Vec<String> = received.iter().filter_map(|m| parse_id(&m.data)).collect();
    ids.sort();
    ids.dedup();
    let worker_peak = stack.workers.get(worker).map(|w| peak_rss_kib(w.pid()));

    // 3. Tracking load: pixels and clicks of the sent messages, 32 connections.
    let mut paths = Vec::new();
    for m in received.iter().take(200) {
        let Some(msg) = MessageParser::default().parse(&m.data) else {
            continue;
        };
        let Some(html) = msg.body_html(0) else {
            continue;
        };
        for kind in ["o", "c"] {
            paths.extend(tracking_paths(&html, kind));
        }
    }
    anyhow::ensure!(!paths.is_empty(), "no tracking links in the messages");
    let paths = Arc::new(paths);
    let base = stack.base_url();
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..args.connections {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (paths, base, stop, errors) =
            (paths.clone(), base.clone(), stop.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = conn;
            while !stop.load(Ordering::Relaxed) {
                let path = &paths[n % paths.len()];
                n += 7;
                let sent = Instant::now();
                let r = http
                    .get(format!("{base}{path}"))
                    .header(
                        "user-agent",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                    )
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) => matches!(r.status().as_u16(), 200 | 302) && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
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
    latencies.sort_by(|a, b| a.total_cmp(b));
    let load_end = Instant::now();
    let recorded = events_recorded(&client, latencies.len() as u64).await;
    let api_peak = peak_rss_kib(stack.api_pid());

    let report = json!({
        "scenario": "email",
        "deployment": if args.embedded { "embedded sqlite, 1 api + 1 worker" } else { "postgres + redis on loopback, 1 api + 1 worker" },
        "build_profile": crate::measure::build_profile(),
        "emails": args.emails,
        "request_bytes": html_bytes,
        "message_bytes_avg": message_bytes,
        "links_per_email": args.links,
        "smtp_pool_size": args.smtp_pool,
        "worker_concurrency": args.concurrency,
        "submit": {"secs": submit_secs, "per_sec": (args.emails as f64 / submit_secs).round()},
        "delivery": {
            "accepted_by_sink": received.len(),
            "distinct_emails": ids.len(),
            "first_to_last_secs": span,
            "emails_per_sec": ((received.len() - 1) as f64 / span).round(),
            "worker_start_to_last_secs": end_to_end,
            "emails_per_sec_including_worker_start": (received.len() as f64 / end_to_end).round(),
            "smtp_connections": sink.connections(),
            "worker_peak_rss_kib": worker_peak.flatten(),
        },
        "tracking": {
            "connections": args.connections,
            "seconds": load_secs,
            "requests": latencies.len(),
            "errors": errors.load(Ordering::Relaxed),
            "requests_per_sec": (latencies.len() as f64 / load_secs).round(),
            "latency_ms": {
                "p50": percentile(&latencies, 50.0),
                "p90": percentile(&latencies, 90.0),
                "p99": percentile(&latencies, 99.0),
                "max": latencies.last().copied(),
            },
            "events_in_database": recorded,
            "all_events_written_within_secs": load_end.elapsed().as_secs_f64(),
            "api_peak_rss_kib": api_peak,
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The `X-Longshore-Email-Id` of a raw message.
fn parse_id(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw.get(..raw.len().min(8192))?).ok()?;
    let line = text
        .lines()
        .find(|l| l.starts_with("X-Longshore-Email-Id:"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// The tracking paths (`/t/<kind>/<token>`) in decoded HTML.
fn tracking_paths(html: &str, kind: &str) -> Vec<String> {
    let needle = format!("/t/{kind}/");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let tail = &html[at..];
            tail[..tail.find(['"', '\'', ' ', '>']).unwrap_or(tail.len())].to_owned()
        })
        .collect()
}

/// Waits (up to 2 minutes) until the tenant's bench emails hold `expected` opens and clicks.
async fn events_recorded(client: &Client, expected: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while Instant::now() < deadline {
        seen = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/emails?limit=100&cursor={c}"),
                None => "/v1/emails?limit=100".to_owned(),
            };
            let r = client.get(&path).await;
            for e in r.body["data"].as_array().into_iter().flatten() {
                let c = &e["counters"];
                for k in ["opens", "clicks"] {
                    seen += c[k].as_u64().unwrap_or(0) + c["machine"][k].as_u64().unwrap_or(0);
                }
            }
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        if seen >= expected {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    seen
}
