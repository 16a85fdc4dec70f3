//! Issue 4's figures: one-page certificates with a QR code, through the API and the `documents`
//! queue, rendered by one worker process. Reports certificates/s end to end (first request to
//! last `ready`), bytes per certificate, and the worker's peak resident memory (`VmHWM`) and CPU
//! time per certificate. Two ways in: one `POST /v1/documents` per certificate (16 at a time),
//! and one `POST /v1/certificate-batches`.
//!
//! `--render-only` skips the stack and times the renderer itself in this process, on one
//! thread: CPU ms per certificate for the whole render and for its QR code and hash.

use std::time::{Duration, Instant};

use futures::StreamExt;
use longshore_tests::{Client, Mode};
use serde_json::{Value, json};

use crate::measure::peak_rss_kib;

/// Options of the documents scenario.
#[derive(clap::Args)]
pub struct Args {
    /// Certificates per run.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// `production` (PostgreSQL + Redis) or `embedded` (SQLite).
    #[arg(long, default_value = "production")]
    mode: String,
    /// Time only the renderer, in this process (no servers, no queue).
    #[arg(long)]
    render_only: bool,
    /// With `--render-only`: also write one certificate's PDF here, to inspect.
    #[arg(long)]
    save_sample: Option<std::path::PathBuf>,
}

/// Runs the scenario and prints one JSON object.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.render_only {
        return render_only(args.count, args.save_sample.as_deref());
    }
    let mode = match args.mode.as_str() {
        "production" => Mode::Production,
        "embedded" => Mode::Embedded,
        other => anyhow::bail!("--mode must be production or embedded, not {other}"),
    };
    let stack = crate::bench_stack(mode)
        .workers(1)
        .env("RUST_LOG", "warn")
        .start()
        .await;
    let worker_pid = stack.workers[0].pid();
    let client = stack.tenant("bench").await;

    // Warm-up: a few certificates so connections and fonts are loaded.
    let warm = submit_each(&client, 10, "warm").await?;
    wait_all_ready(&client, &warm).await?;

    let api_pid = stack.api_pid();
    let cpu_before = cpu_ms(worker_pid);
    let api_before = cpu_ms(api_pid);
    let started = Instant::now();
    let ids = submit_each(&client, args.count, "each").await?;
    let submitted = started.elapsed().as_secs_f64();
    let sizes = wait_all_ready(&client, &ids).await?;
    let each_secs = started.elapsed().as_secs_f64();
    let cpu_each = cpu_ms(worker_pid).zip(cpu_before).map(|(a, b)| a - b);
    let api_each = cpu_ms(api_pid).zip(api_before).map(|(a, b)| a - b);

    let started = Instant::now();
    let batch = submit_batch(&client, args.count).await?;
    let batch_secs = started.elapsed().as_secs_f64();
    let batch_sizes = batch_sizes(&client, &batch).await?;

    let bytes: Vec<f64> = sizes
        .iter()
        .chain(batch_sizes.iter())
        .map(|b| *b as f64)
        .collect();
    let report = json!({
        "scenario": "documents",
        "mode": args.mode,
        "build_profile": crate::measure::build_profile(),
        "certificates": args.count,
        "worker_processes": 1,
        "individual_requests": {
            "certificates_per_sec": round(args.count as f64 / each_secs),
            "seconds": round(each_secs),
            "submit_seconds": round(submitted),
            "worker_cpu_ms_per_certificate": cpu_each.map(|ms| round(ms / args.count as f64)),
            "api_cpu_ms_per_certificate": api_each.map(|ms| round(ms / args.count as f64)),
        },
        "batch": {
            "certificates_per_sec": round(args.count as f64 / batch_secs),
            "seconds": round(batch_secs),
        },
        "bytes_per_certificate": {
            "mean": round(bytes.iter().sum::<f64>() / bytes.len().max(1) as f64),
            "max": bytes.iter().cloned().fold(0.0, f64::max),
        },
        "worker_peak_rss_mib": peak_rss_kib(worker_pid).map(|k| round(k as f64 / 1024.0)),
        "load_average_at_end": std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().and_then(|x| x.parse::<f64>().ok())),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Renders `count` certificates (after a warm-up) on this thread and prints CPU ms per stage.
fn render_only(count: usize, save_sample: Option<&std::path::Path>) -> anyhow::Result<()> {
    use longshore_jobs::documents::code::VerificationCode;
    use longshore_jobs::documents::kinds::{DocumentData, DocumentKind};
    use longshore_jobs::documents::render::{RenderInput, qr::QrMatrix, render};

    let inputs: Vec<RenderInput> = (0..count)
        .map(|n| {
            let body = certificate(n, "render");
            let data = DocumentData::parse(DocumentKind::Certificate, "data", &body["data"])
                .map_err(|e| anyhow::anyhow!("fixture: {e:?}"))?;
            let code = VerificationCode::generate();
            let url = format!("https://docs.example.com/v/{}", code.grouped());
            Ok(RenderInput {
                data,
                issuer: "Harbour Academy".into(),
                verification: Some((code, url)),
                receipt_number: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    for input in inputs.iter().take(20) {
        render(input).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let me = std::process::id();
    // Each stage, timed over all inputs: (CPU ms from /proc, wall seconds).
    let timed = |f: &dyn Fn(&RenderInput)| {
        let cpu = cpu_ms(me);
        let wall = Instant::now();
        for input in &inputs {
            f(input);
        }
        let secs = wall.elapsed().as_secs_f64();
        (cpu_ms(me).zip(cpu).map(|(a, b)| a - b), secs)
    };
    let mut bytes = 0usize;
    let (render_cpu, render_secs) = timed(&|i| {
        std::hint::black_box(render(i).ok());
    });
    for input in &inputs {
        bytes += render(input).map(|r| r.pdf.len()).unwrap_or(0);
    }
    let (qr_cpu, qr_secs) = timed(&|i| {
        let url = &i
            .verification
            .as_ref()
            .map(|v| v.1.clone())
            .unwrap_or_default();
        std::hint::black_box(QrMatrix::encode(url).ok());
    });
    let sample = render(&inputs[0]).map_err(|e| anyhow::anyhow!("{e}"))?.pdf;
    if let Some(path) = save_sample {
        std::fs::write(path, &sample)?;
    }
    let (hash_cpu, hash_secs) = timed(&|_| {
        std::hint::black_box(longshore_jobs::storage::sha256_hex(&sample));
    });
    let per = |cpu: Option<f64>, secs: f64| {
        json!({
            "cpu_ms": cpu.map(|ms| round3(ms / count as f64)),
            "wall_ms": round3(secs * 1000.0 / count as f64),
        })
    };
    let report = json!({
        "scenario": "documents --render-only",
        "certificates": count,
        "threads": 1,
        "render": per(render_cpu, render_secs),
        "of_which_qr_code": per(qr_cpu, qr_secs),
        "sha256_of_the_pdf": per(hash_cpu, hash_secs),
        "certificates_per_sec_per_core": round(count as f64 / render_secs),
        "bytes_per_certificate": round(bytes as f64 / count as f64),
        "load_average_at_end": std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().and_then(|x| x.parse::<f64>().ok())),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// User + system CPU time of a process in ms (from /proc/<pid>/stat; 100 ticks per second).
fn cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks * 10.0)
}

fn certificate(n: usize, tag: &str) -> Value {
    json!({"kind": "certificate", "data": {
        "recipient_name": format!("Zoë Ñúñez {tag}-{n}"), "course_title": "Harbour Safety Refresher 2026",
        "issued_on": "2026-05-01", "credits": 1.5
    }})
}

async fn submit_each(client: &Client, count: usize, tag: &str) -> anyhow::Result<Vec<String>> {
    let replies: Vec<_> = futures::stream::iter(0..count)
        .map(|n| {
            let client = client.clone();
            let body = certificate(n, tag);
            async move { client.post("/v1/documents", &body).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    replies
        .into_iter()
        .map(|r| {
            anyhow::ensure!(r.status == 202, "submit failed: {} {}", r.status, r.text);
            Ok(r.body["id"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Polls the listing until every id is ready; returns their sizes.
async fn wait_all_ready(client: &Client, ids: &[String]) -> anyhow::Result<Vec<u64>> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut sizes = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/documents?kind=certificate&limit=100&cursor={c}"),
                None => "/v1/documents?kind=certificate&limit=100".to_owned(),
            };
            let r = client.get(&path).await;
            anyhow::ensure!(r.status == 200, "list failed: {}", r.text);
            for d in r.body["data"].as_array().into_iter().flatten() {
                let id = d["id"].as_str().unwrap_or_default();
                if wanted.contains(id) && d["status"] == "ready" {
                    sizes.push(d["bytes"].as_u64().unwrap_or(0));
                }
                anyhow::ensure!(d["status"] != "failed", "a certificate failed: {d}");
            }
            cursor = r.body["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        if sizes.len() == ids.len() {
            return Ok(sizes);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "certificates not ready after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn submit_batch(client: &Client, count: usize) -> anyhow::Result<Value> {
    let recipients: Vec<Value> = (0..count)
        .map(|n| json!({"name": format!("Łukasz Wróbel batch-{n}")}))
        .collect();
    let body = json!({"course_title": "Harbour Safety Refresher 2026", "issued_on": "2026-05-01", "credits": 1.5, "recipients": recipients});
    let r = client.post("/v1/certificate-batches", &body).await;
    anyhow::ensure!(r.status == 202, "batch failed: {}", r.text);
    let id = r.body["id"].as_str().unwrap_or_default().to_owned();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let r = client.get(&format!("/v1/certificate-batches/{id}")).await;
        anyhow::ensure!(r.status == 200, "batch status failed: {}", r.text);
        if r.body["status"] == "completed" {
            anyhow::ensure!(
                r.body["failed"] == 0,
                "batch had failures: {}",
                r.body["failed"]
            );
            return Ok(r.body);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "batch not complete after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sizes of a sample of a completed batch's certificates.
async fn batch_sizes(client: &Client, batch: &Value) -> anyhow::Result<Vec<u64>> {
    let mut sizes = Vec::new();
    for id in batch["document_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .step_by(25)
    {
        let r = client
            .get(&format!(
                "/v1/documents/{}",
                id.as_str().unwrap_or_default()
            ))
            .await;
        sizes.push(r.body["bytes"].as_u64().unwrap_or(0));
    }
    Ok(sizes)
}
